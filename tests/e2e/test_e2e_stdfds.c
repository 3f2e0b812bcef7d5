/*
 * End to end through the real binary, started with standard descriptors closed, as a
 * supervisor or a shell's `<&-` may start it. Before main() opened the closed ones on
 * /dev/null, the daemon's first socket took descriptor 0, and libuv, which never closes
 * a descriptor below 3, aborted the daemon at SIGTERM.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "httpc.h"
#include "waitfor.h"

#define CONFIG "{\"families\": [{\"name\": \"stdfds\", \"type\": \"counter\"}]}"

struct run {
    char dir[64];
    char config[96];
    char sock[96];
    char http[104];
    char log[96];
    pid_t pid;
};

/*
 * Start the daemon with descriptors 0 .. nclosed-1 closed and the rest of 0, 1, 2 on
 * the log file.
 */
static void run_start(struct run *r, int nclosed)
{
    FILE *f;

    snprintf(r->dir, sizeof(r->dir), "/tmp/ustatsd-stdfds-XXXXXX");
    cr_assert_not_null(mkdtemp(r->dir));
    snprintf(r->config, sizeof(r->config), "%s/config.json", r->dir);
    snprintf(r->sock, sizeof(r->sock), "%s/ingest.sock", r->dir);
    snprintf(r->http, sizeof(r->http), "unix:%s/http.sock", r->dir);
    snprintf(r->log, sizeof(r->log), "%s/daemon.log", r->dir);
    f = fopen(r->config, "w");
    cr_assert_not_null(f);
    fputs(CONFIG, f);
    fclose(f);

    const char *bin = getenv("USTATSD_BIN");
    cr_assert_not_null(bin, "USTATSD_BIN is not set");
    r->pid = fork();
    cr_assert_geq(r->pid, 0);
    if (r->pid == 0) {
        int log = open(r->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (log < 3) /* 0, 1 and 2 are the test's: the log lands above them */
            _exit(126);
        for (int fd = 0; fd <= 2; fd++) {
            if (fd < nclosed)
                close(fd);
            else
                dup2(log, fd);
        }
        execl(bin, bin, "--config", r->config, "--socket", r->sock, "--metrics-listen", r->http,
              (char *)NULL);
        _exit(127);
    }
}

static int ready(void *arg)
{
    struct run *r = arg;
    struct httpc_response resp;
    int ok = 0;

    if (httpc_get(r->http, "/-/ready", NULL, &resp) == 0) {
        ok = resp.status == 200;
        httpc_response_release(&resp);
    }
    return ok;
}

static void send_line(struct run *r, const char *line)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    cr_assert_geq(fd, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, r->sock, strlen(r->sock) + 1);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    cr_assert_eq(send(fd, line, strlen(line), 0), (ssize_t)strlen(line));
    cr_assert_eq(waitfor_sent(fd, 5000), 0);
    close(fd);
}

/* Serve a line, then stop on SIGTERM with status 0; returns the log (malloc'd). */
static char *run_serve_and_stop(struct run *r)
{
    struct httpc_response resp;
    char *log;
    int status;

    cr_assert_eq(waitfor_cond(ready, r, 10000), 0, "the daemon never became ready");
    send_line(r, "stdfds:3|c");
    cr_assert_eq(httpc_get(r->http, "/metrics", NULL, &resp), 0);
    cr_assert_eq(resp.status, 200);
    cr_assert(strstr(resp.body, "\nstdfds_total 3\n") != NULL, "no stdfds_total 3 in:\n%s",
              resp.body);
    httpc_response_release(&resp);

    cr_assert_eq(kill(r->pid, SIGTERM), 0);
    status = waitfor_exit(r->pid, 10000);
    if (status < 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
    }
    log = daemon_read_file(r->log);
    cr_assert_eq(status, 0, "exit status %d after SIGTERM; log:\n%s", status, log ? log : "(none)");
    unlink(r->log);
    unlink(r->config);
    rmdir(r->dir);
    return log;
}

Test(e2e_stdfds, stdin_closed_serves_and_stops_cleanly)
{
    struct run r;
    char *log;

    run_start(&r, 1);
    log = run_serve_and_stop(&r);
    cr_assert_not_null(log);
    cr_assert(strstr(log, "SIGTERM: stopping") != NULL, "log:\n%s", log);
    free(log);
}

Test(e2e_stdfds, every_standard_descriptor_closed_serves_and_stops_cleanly)
{
    struct run r;

    run_start(&r, 3);
    free(run_serve_and_stop(&r));
}

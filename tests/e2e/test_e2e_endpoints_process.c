/*
 * End to end through the real binary: seed 002's endpoint carries the process metrics of
 * the service it serves (a live sender of its), absent while none lives, and promhttp's
 * counts; the daemon's own process metrics describe the daemon. Run as another user, the
 * daemon shows the service's descriptors and network only with CAP_SYS_PTRACE.
 */
#include <math.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "endpoints_fixture.h"

TestSuite(e2e_endpoints, .fini = fini);

static void service_is_me(json_t *root)
{
    json_t *ep = json_array_get(json_object_get(root, "endpoints"), 0);

    json_object_set_new(json_object_get(ep, "service"), "user", json_integer((json_int_t)getuid()));
}

/* A sender that sends one line and waits to be killed: a live process of the service. */
static pid_t start_sender(const char *sock, const char *line)
{
    pid_t pid = fork();

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

        if (strlen(sock) >= sizeof(sa.sun_path))
            _exit(1);
        memcpy(sa.sun_path, sock, strlen(sock) + 1);
        if (fd < 0 || sendto(fd, line, strlen(line), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            _exit(1);
        for (;;)
            pause();
    }
    return pid;
}

/* /proc/<pid>/stat field 22 (starttime, ticks after boot) as Unix seconds. */
static double start_time_of(pid_t pid)
{
    char path[64], *text, *p;
    unsigned long long ticks = 0, btime = 0;
    FILE *f;
    char line[256];

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    text = daemon_read_file(path);
    cr_assert_not_null(text);
    p = strrchr(text, ')');
    cr_assert_not_null(p);
    /* After ") ": state is field 3, starttime field 22. */
    cr_assert_eq(sscanf(p + 2,
                        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                        "%*d %*d %llu",
                        &ticks),
                 1);
    free(text);
    f = fopen("/proc/stat", "r");
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "btime %llu", &btime) == 1)
            break;
    fclose(f);
    return (double)btime + (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

static int open_fds_of(pid_t pid)
{
    char cmd[96];
    FILE *p;
    int n = -1;

    snprintf(cmd, sizeof(cmd), "ls /proc/%d/fd | wc -l", (int)pid);
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    cr_assert_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

Test(e2e_endpoints, seed_002_the_service_process_metrics_and_promhttp)
{
    char *cfg, *m;
    pid_t child;
    double start;

    make_dir();
    cfg = seed_config("002-connaisseur", service_is_me);
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0);
    free(cfg);
    /* No sender yet: its process metrics are absent, not zero; promhttp's are there. */
    m = scrape_at("connaisseur", "/metrics");
    cr_assert_null(strstr(m, "process_"), "%s", m);
    cr_assert_eq(expo_value(m, "promhttp_metric_handler_requests_total{code=\"503\"}"), 0, "%s", m);
    free(m);

    child = start_sender(d.sock, "connaisseur_requests_total:1|c");
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 1, 5000), 1);
    m = scrape_at("connaisseur", "/metrics");
    start = start_time_of(child);
    cr_assert_eq(expo_check(m, 0), 0);
    cr_assert(fabs(expo_value(m, "process_start_time_seconds") - start) < 0.011,
              "the sender's start time %f: %s", start, m);
    cr_assert_eq(expo_value(m, "process_open_fds"), open_fds_of(child), "%s", m);
    cr_assert_geq(expo_value(m, "process_cpu_seconds_total"), 0, "%s", m);
    cr_assert_gt(expo_value(m, "process_resident_memory_bytes"), 0, "%s", m);
    cr_assert_gt(expo_value(m, "process_max_fds"), 0, "%s", m);
    cr_assert_eq(expo_value(m, "promhttp_metric_handler_requests_total{code=\"200\"}"), 1, "%s", m);
    cr_assert_eq(expo_value(m, "connaisseur_requests_total"), 1, "%s", m);
    cr_assert_null(strstr(m, "ustatsd_"), "%s", m);
    free(m);
    /* The daemon's own process metrics are where its own metrics are, and describe it. */
    m = scrape_at("ustatsd", "/metrics");
    cr_assert(fabs(expo_value(m, "process_start_time_seconds") - start_time_of(d.pid)) < 0.011,
              "%s", m);
    free(m);

    /* The sender exits: the service has no live process, its metrics go. */
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    m = scrape_at("connaisseur", "/metrics");
    cr_assert_null(strstr(m, "process_"), "%s", m);
    free(m);
}

/*
 * Under the packaged service the daemon runs as ustatsd and the service as its own user:
 * its descriptors and network namespace are another user's, which the kernel shows only
 * with CAP_SYS_PTRACE (seed 002's ustatsd.service.d/override.conf). Here the daemon runs
 * as nobody, with that capability (ambient, as systemd's AmbientCapabilities= gives it)
 * or without, and the sender as root.
 */
static void seed_002_as_another_user(int ptrace)
{
    const char *with[] = { "/usr/bin/setpriv",
                           "--reuid=65534",
                           "--regid=65534",
                           "--clear-groups",
                           "--inh-caps=-all,+sys_ptrace",
                           "--ambient-caps=+sys_ptrace",
                           NULL };
    const char *without[] = { "/usr/bin/setpriv", "--reuid=65534",   "--regid=65534",
                              "--clear-groups",   "--inh-caps=-all", NULL };
    struct daemon_options o = { .wrap = ptrace ? with : without, .owner = 65534 };
    char *cfg, *m;
    pid_t child;

    if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0)
        cr_skip_test("needs root and setpriv to run the daemon as another user");
    make_dir();
    cr_assert_eq(chown(dir, 65534, 65534), 0);
    cfg = seed_config("002-connaisseur", service_is_me);
    cr_assert_eq(daemon_start_with(&d, cfg, &o), 0);
    free(cfg);
    child = start_sender(d.sock, "connaisseur_requests_total:1|c");
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 1, 5000), 1);
    m = scrape_at("connaisseur", "/metrics");
    /* /proc/<pid>/stat and limits are anyone's: these are there either way. */
    cr_assert_gt(expo_value(m, "process_start_time_seconds"), 0, "%s", m);
    cr_assert_gt(expo_value(m, "process_max_fds"), 0, "%s", m);
    if (ptrace) {
        cr_assert_eq(expo_value(m, "process_open_fds"), open_fds_of(child), "%s", m);
        cr_assert_not_null(strstr(m, "process_network_"), "%s", m);
    } else {
        cr_assert_null(strstr(m, "process_open_fds"), "%s", m);
        cr_assert_null(strstr(m, "process_network_"), "%s", m);
    }
    free(m);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
}

Test(e2e_endpoints, seed_002_a_daemon_of_another_user_with_cap_sys_ptrace_has_them)
{
    seed_002_as_another_user(1);
}

Test(e2e_endpoints, seed_002_a_daemon_of_another_user_without_capabilities_has_not)
{
    seed_002_as_another_user(0);
}

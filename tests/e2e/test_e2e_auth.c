/*
 * End to end through the real binary: the bearer token file is read again on SIGHUP (the
 * old token stops working, the new one works), a bad new file refuses the reload and
 * keeps the old token, a bad file refuses the start; and malformed requests get 400.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "httpc.h"

static struct daemon d;
static char dir[64];

static void make_dir(void)
{
    strcpy(dir, "/tmp/ustatsd-auth-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void cleanup(void)
{
    char cmd[128];

    if (d.pid != 0)
        cr_assert_eq(daemon_stop(&d), 0, "daemon did not stop cleanly");
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

static void write_token(const void *data, size_t len)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/token", dir);
    f = fopen(path, "w");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

/* An open default endpoint (for the reload counters) and a guarded one on its own socket. */
static char *auth_config(void)
{
    static char buf[1024];

    snprintf(buf, sizeof(buf),
             "{\"families\": [{\"name\": \"jobs\", \"type\": \"counter\", \"help\": \"Jobs.\"}],"
             " \"endpoints\": [{\"name\": \"sec\", \"listen\": \"unix:%s/sec.sock\","
             "  \"path\": \"/sec\", \"bearer_token_file\": \"%s/token\"}]}",
             dir, dir);
    return buf;
}

/* The status of GET /sec with "Authorization: Bearer <token>". */
static int get_sec(const char *token)
{
    char addr[128], hdr[384];
    struct httpc_response r;
    int status;

    snprintf(addr, sizeof(addr), "unix:%s/sec.sock", dir);
    snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", token);
    cr_assert_eq(httpc_get(addr, "/sec", hdr, &r), 0);
    status = r.status;
    httpc_response_release(&r);
    return status;
}

static void reload_and_wait(const char *result, double want)
{
    char series[96];

    snprintf(series, sizeof series, "ustatsd_config_reloads_total{result=\"%s\"}", result);
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert_eq(daemon_wait_value(&d, series, want, 5000), want, "%s", series);
}

/* The debug view's daemon.reloads.last_error holds needle. */
static void last_error_has(const char *needle)
{
    char *body = NULL;

    cr_assert_eq(daemon_get(&d, "/debug?section=daemon", NULL, &body), 200);
    cr_assert_not_null(strstr(body, needle), "%s not in %s", needle, body);
    free(body);
}

Test(e2e_auth, sighup_rotates_the_bearer_token_and_refuses_a_bad_file, .fini = cleanup)
{
    char big[300];

    make_dir();
    write_token("old-token\n", 10);
    cr_assert_eq(daemon_start(&d, auth_config(), NULL), 0);
    cr_assert_eq(get_sec("old-token"), 200);
    cr_assert_eq(get_sec("new-token"), 401);

    /* Rotation: the reload that reports success is the one that swapped the token. */
    write_token("new-token\r\n", 11);
    reload_and_wait("success", 1);
    cr_assert_eq(get_sec("old-token"), 401);
    cr_assert_eq(get_sec("new-token"), 200);

    /* A NUL: the old reader took "abc". The reload is refused, the running token stays. */
    write_token("abc\0long-secret", 15);
    reload_and_wait("failure", 1);
    cr_assert_eq(get_sec("abc"), 401);
    cr_assert_eq(get_sec("new-token"), 200);
    last_error_has("$.endpoints[0].bearer_token_file (endpoint sec): bearer token file ");
    last_error_has("/token: holds a NUL byte at offset 3");

    write_token("", 0);
    reload_and_wait("failure", 2);
    last_error_has("/token: empty");
    memset(big, 'x', sizeof(big));
    write_token(big, sizeof(big));
    reload_and_wait("failure", 3);
    last_error_has("/token: longer than 256 bytes");
    write_token("two\nlines\n", 10);
    reload_and_wait("failure", 4);
    last_error_has("/token: holds a byte outside 0x21-0x7E at offset 3");
    cr_assert_eq(get_sec("new-token"), 200);

    /* 256 bytes is the documented maximum, and it works. */
    memset(big, 'y', 256);
    big[256] = '\0';
    write_token(big, 256);
    reload_and_wait("success", 2);
    cr_assert_eq(get_sec(big), 200);
    cr_assert_eq(get_sec("new-token"), 401);
}

Test(e2e_auth, a_bad_token_file_refuses_the_start, .fini = cleanup)
{
    char cfgpath[128], *out = NULL;
    FILE *f;

    make_dir();
    write_token("abc\0long-secret", 15);
    snprintf(cfgpath, sizeof(cfgpath), "%s/ustatsd.json", dir);
    f = fopen(cfgpath, "w");
    cr_assert_not_null(f);
    fputs(auth_config(), f);
    fclose(f);
    {
        char sock[128];
        const char *args[] = {
            "--config", cfgpath, "--socket", sock, "--metrics-listen", "", NULL
        };

        snprintf(sock, sizeof(sock), "%s/ingest.sock", dir);
        cr_assert_neq(daemon_run_once(args, &out), 0);
    }
    cr_assert_not_null(strstr(out, "bearer token file "), "%s", out);
    cr_assert_not_null(strstr(out, "/token: holds a NUL byte at offset 3"), "%s", out);
    free(out);
}

/* Send raw bytes on a fresh connection to the daemon's listener; the response's status. */
static int raw_status(const char *request)
{
    struct httpc h;
    struct httpc_response r;
    int status;

    cr_assert_eq(httpc_open(&h, d.http, 0), 0);
    cr_assert_eq(httpc_send(&h, request, strlen(request)), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0, "%s", request);
    status = r.status;
    httpc_response_release(&r);
    httpc_close(&h);
    return status;
}

Test(e2e_auth, malformed_header_syntax_and_control_bytes_get_400, .fini = cleanup)
{
    static const char *const bad[] = {
        "GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHo st: a\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        "GET /debug?family=jobs%00x HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /debug?section=daemon%0a HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /debug?family=jobs%7F HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /metrics?x=\t HTTP/1.1\r\nHost: a\r\n\r\n",
    };
    char *body = NULL;

    make_dir();
    cr_assert_eq(daemon_start(&d,
                              "{\"families\": [{\"name\": \"jobs\", \"type\": \"counter\","
                              " \"help\": \"Jobs.\"}]}",
                              NULL),
                 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(raw_status(bad[i]), 400, "%s", bad[i]);
    /* Still serving, and each refusal was counted as a bad request. */
    cr_assert_eq(raw_status("GET /debug?family=jobs HTTP/1.1\r\nHost: a\r\n\r\n"), 200);
    cr_assert_eq(daemon_get(&d, "/metrics", NULL, &body), 200);
    cr_assert_not_null(strstr(body, "kind=\"bad_request\"} 7"), "%s", body);
    free(body);
}

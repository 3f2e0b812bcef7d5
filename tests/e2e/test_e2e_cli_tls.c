/*
 * The subcommands that read a running daemon (`ustatsd top`, `learn`, `explain --url`)
 * reach a /debug behind TLS, a client certificate and basic auth, through the real binary
 * and a test CA made at test time (tests/lib/tlscerts.sh): with the CA, the client
 * certificate and the user's password they read it; without the CA, or with a wrong
 * password, they fail with exit status 1 and say why.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "tlsclient.h"
#include "waitfor.h"

ReportHook(PRE_ALL)(struct criterion_test_set *tests)
{
    (void)tests;
    tlscerts_share();
}

/* bcrypt, cost 4, of "prom-basic-pw" (as in test_e2e_tls.c). */
#define PROM_HASH "$2b$04$zs9qmPXI6WNv6X7RHMKpQexmeLrjEIIkQgOEZZ3wcQAAPNtxvqANa"

static struct daemon d;
static char wdir[64], url[64], ca[256], crt[256], key[256], pw[128], bad[128];

static void copy_cert(char *out, size_t size, const char *name)
{
    const char *dir = tlscerts_dir();

    cr_assert_not_null(dir, "no test certificates");
    snprintf(out, size, "%s", tlscerts_path(dir, name));
}

struct ready {
    struct tlsclient_opts o;
    const char *addr;
};

static int is_ready(void *arg)
{
    struct ready *r = arg;
    char err[512];

    return tlsclient_get(r->addr, &r->o, "/-/ready", NULL, NULL, err) == 200;
}

static void setup(void)
{
    char web[128], listen[64];
    const char *args[5];
    struct daemon_options o = { .args = args, .no_wait = 1 };
    struct ready r;
    int port = daemon_free_port();

    snprintf(wdir, sizeof(wdir), "/tmp/ustatsd-e2e-clitls-XXXXXX");
    cr_assert_not_null(mkdtemp(wdir));
    copy_cert(ca, sizeof(ca), "ca.crt");
    copy_cert(crt, sizeof(crt), "client.crt");
    copy_cert(key, sizeof(key), "client.key");
    snprintf(web, sizeof(web), "%s/web.yml", wdir);
    {
        char scrt[256], skey[256];

        copy_cert(scrt, sizeof(scrt), "server.crt");
        copy_cert(skey, sizeof(skey), "server.key");
        daemon_write_file(web,
                          "tls_server_config:\n  cert_file: %s\n  key_file: %s\n"
                          "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: %s\n"
                          "basic_auth_users:\n  prometheus: '" PROM_HASH "'\n",
                          scrt, skey, ca);
    }
    snprintf(pw, sizeof(pw), "%s/password", wdir);
    daemon_write_file(pw, "prom-basic-pw\n");
    snprintf(bad, sizeof(bad), "%s/wrong", wdir);
    daemon_write_file(bad, "not-the-password\n");
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    snprintf(url, sizeof(url), "https://localhost:%d", port);
    args[0] = "--web.config.file";
    args[1] = web;
    args[2] = "--metrics-listen";
    args[3] = listen;
    args[4] = NULL;
    cr_assert_eq(daemon_start_with(&d,
                                   "{\"families\": [{\"name\": \"e2e_cli\", \"type\": \"counter\","
                                   " \"help\": \"Sent.\"}]}",
                                   &o),
                 0);
    r.o = (struct tlsclient_opts){ .ca_file = ca, .cert_file = crt, .key_file = key };
    r.addr = listen;
    cr_assert_eq(waitfor_cond(is_ready, &r, 10000), 0, "no TLS /-/ready within 10 s");
    cr_assert_eq(daemon_connect(&d), 0);
    cr_assert_eq(daemon_sends(&d, "e2e_cli:1|c\nunknown.thing:1|c"), 0);
    cr_assert_eq(daemon_wait_read(&d, 5000), 0);
}

static void teardown(void)
{
    if (d.pid > 0)
        daemon_stop(&d);
    tlscerts_remove(wdir);
}

TestSuite(e2e_cli_tls, .init = setup, .fini = teardown, .timeout = 60);

/* Run `ustatsd CMD` with the options that reach the listener, the password from pwfile. */
static int run(char **out, const char *cmd, const char *extra, const char *cafile,
               const char *pwfile)
{
    const char *args[16];
    size_t n = 0;

    args[n++] = cmd;
    args[n++] = "--url";
    args[n++] = url;
    if (cafile != NULL) {
        args[n++] = "--cacert";
        args[n++] = cafile;
    }
    args[n++] = "--cert";
    args[n++] = crt;
    args[n++] = "--key";
    args[n++] = key;
    args[n++] = "--user";
    args[n++] = "prometheus";
    args[n++] = "--password-file";
    args[n++] = pwfile;
    if (extra != NULL) /* last: explain's lines follow its options */
        args[n++] = extra;
    args[n] = NULL;
    return daemon_run_once(args, out);
}

Test(e2e_cli_tls, top_learn_and_explain_read_a_debug_behind_tls_and_basic_auth)
{
    char *out = NULL;

    cr_expect_eq(run(&out, "top", "--json", ca, pw), 0, "%s", out);
    cr_expect(strstr(out, "\"e2e_cli_total\"") != NULL || strstr(out, "\"e2e_cli\"") != NULL, "%s",
              out);
    free(out);
    cr_expect_eq(run(&out, "learn", NULL, ca, pw), 0, "%s", out);
    cr_expect(strstr(out, "unknown_thing") != NULL, "%s", out);
    free(out);
    cr_expect_eq(run(&out, "explain", "e2e_cli:1|c", ca, pw), 0, "%s", out);
    free(out);
}

Test(e2e_cli_tls, without_the_ca_or_with_a_wrong_password_they_fail_and_say_why)
{
    char *out = NULL;

    cr_expect_eq(run(&out, "learn", NULL, NULL, pw), 1, "%s", out);
    cr_expect(strstr(out, url) != NULL, "the URL is named: %s", out);
    free(out);
    cr_expect_eq(run(&out, "learn", NULL, ca, bad), 1, "%s", out);
    cr_expect(strstr(out, "401") != NULL, "%s", out);
    free(out);
    cr_expect_eq(run(&out, "top", "--json", ca, bad), 1, "%s", out);
    free(out);
}

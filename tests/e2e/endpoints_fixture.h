/*
 * endpoints_fixture: what the end-to-end tests of scrape endpoints share
 * (test_e2e_endpoints_*): one daemon and a directory of the test's for its sockets and
 * files, removed by the suite's fini; a shipped seed config with its endpoints moved to
 * Unix sockets in that directory; a GET on an endpoint's socket; a family in an
 * exposition; rewriting the daemon's config file and reloading it. One daemon per test
 * process (Criterion runs each test in a child of its own).
 */
#ifndef USTATSD_TEST_ENDPOINTS_FIXTURE_H
#define USTATSD_TEST_ENDPOINTS_FIXTURE_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "httpc.h"
#include "waitfor.h"

static struct daemon d;
static char dir[64];

static inline void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/ustatsd-ep-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static inline void fini(void)
{
    char cmd[128];

    if (d.pid > 0)
        daemon_stop(&d);
    if (dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        cr_assert_eq(system(cmd), 0);
    }
    dir[0] = '\0';
}

/* A shipped seed config with every endpoint's listen moved to unix:<dir>/<name>.sock. */
static inline char *seed_config(const char *seed, void (*edit)(json_t *root))
{
    char path[512];
    json_error_t err;
    json_t *root, *eps, *ep;
    size_t i;
    char *text;

    snprintf(path, sizeof(path), "%s/packaging/seeds/%s/ustatsd.json", USTATSD_SOURCE_DIR, seed);
    root = json_load_file(path, 0, &err);
    cr_assert_not_null(root, "%s: %s", path, err.text);
    eps = json_object_get(root, "endpoints");
    json_array_foreach(eps, i, ep)
    {
        char listen[160];

        snprintf(listen, sizeof(listen), "unix:%s/%s.sock", dir,
                 json_string_value(json_object_get(ep, "name")));
        json_object_set_new(ep, "listen", json_string(listen));
    }
    if (edit != NULL)
        edit(root);
    text = json_dumps(root, 0);
    json_decref(root);
    return text;
}

/* GET <dir>/<endpoint>.sock path; the body (malloc'd) of a 200, else the test fails. */
static inline char *get_at(const char *endpoint, const char *path, const char *headers, int *status)
{
    char addr[160];
    struct httpc_response r;
    char *body;

    snprintf(addr, sizeof(addr), "unix:%s/%s.sock", dir, endpoint);
    cr_assert_eq(httpc_get(addr, path, headers, &r), 0, "GET %s%s", addr, path);
    if (status != NULL)
        *status = r.status;
    else
        cr_assert_eq(r.status, 200, "GET %s%s: %d %s", addr, path, r.status, r.body);
    body = strdup(r.body);
    httpc_response_release(&r);
    return body;
}

static inline char *scrape_at(const char *endpoint, const char *path)
{
    return get_at(endpoint, path, NULL, NULL);
}

static inline int has_family(const char *body, const char *name)
{
    char line[160];

    snprintf(line, sizeof(line), "# TYPE %s ", name);
    return strstr(body, line) != NULL;
}

static inline void write_config(const char *json)
{
    FILE *f = fopen(d.config, "w");

    cr_assert_not_null(f);
    fputs(json, f);
    fclose(f);
}

static inline void reload_and_wait(const char *result, double want)
{
    char series[128];

    snprintf(series, sizeof series, "ustatsd_config_reloads_total{result=\"%s\"}", result);
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert_eq(daemon_wait_value(&d, series, want, 5000), want);
}

#endif

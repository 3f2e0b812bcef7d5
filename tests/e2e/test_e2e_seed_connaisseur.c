/*
 * Seed 002, Connaisseur, served whole: its endpoint's exposition has the families of the
 * seed's document (tests/seeds/002-connaisseur/exposition.txt, a default client_golang
 * registry's go_*, process_* and promhttp_* beside Connaisseur's own), family for
 * family: the same names, TYPE and HELP, and nothing else. The values may differ.
 *
 * The daemon runs the shipped ustatsd.json (seedrun.h, seed_start_daemon()); the test
 * process is the service (endpoints[].service.user is its uid), and sends
 * tests/seeds/002-connaisseur/lines.txt once, as Connaisseur and its runtime forwarder
 * would (the go_* gauges with |g, the counters with |c, as the seed's README shows).
 * The endpoint's process_* are then the test process's, read from /proc.
 *
 * Both of the endpoint's formats pass the checkers (expo_check()): the text one
 * promtool's, OpenMetrics the Python client's parser.
 *
 * One family of the document is not served, named below with its reason; the test fails
 * when it appears, so that the list never outlives its reason.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "daemon.h"
#include "httpc.h"
#include "seeds/seedrun.h"

/*
 * client_golang's gauge go_memstats_alloc_bytes beside its counter
 * go_memstats_alloc_bytes_total (config_family.total_in_name): text 0.0.4 has both as the
 * document does; OpenMetrics, where both would be the family go_memstats_alloc_bytes
 * (client_golang issue #829), has the counter as the unknown family of its own name.
 */
static const char *const text_pair[] = {
    "# TYPE go_memstats_alloc_bytes gauge\ngo_memstats_alloc_bytes 7347368\n",
    /* The GC pauses of lines.txt, sent in ms: quantiles 0 and 1 are the exact extremes. */
    "# TYPE go_gc_duration_seconds summary\n"
    "go_gc_duration_seconds{quantile=\"0\"} 0.000120088\n",
    "go_gc_duration_seconds{quantile=\"1\"} 0.001615904\ngo_gc_duration_seconds_sum ",
    "go_gc_duration_seconds_count 5\n",
    "# TYPE go_memstats_alloc_bytes_total counter\ngo_memstats_alloc_bytes_total "
    "1048576\n",
};
static const char *const om_pair[] = {
    "# TYPE go_memstats_alloc_bytes gauge\n",
    "\ngo_memstats_alloc_bytes 7347368\n",
    "# TYPE go_memstats_alloc_bytes_total unknown\n",
    "\ngo_memstats_alloc_bytes_total 1048576\n",
};

#define MAX_FAMILIES 96

struct family {
    char name[128];
    char type[16];
    char help[512];
};

struct families {
    struct family f[MAX_FAMILIES];
    size_t n;
};

static struct family *find(struct families *fs, const char *name, size_t len)
{
    for (size_t i = 0; i < fs->n; i++)
        if (strlen(fs->f[i].name) == len && memcmp(fs->f[i].name, name, len) == 0)
            return &fs->f[i];
    return NULL;
}

/* The families of a text exposition, by its `# HELP` and `# TYPE` lines. */
static void read_families(const char *what, const char *text, struct families *fs)
{
    for (const char *p = text; *p;) {
        const char *end = strchr(p, '\n'), *name, *rest;
        size_t len = end ? (size_t)(end - p) : strlen(p), nlen;
        int help = strncmp(p, "# HELP ", 7) == 0;
        struct family *f;

        if (help || strncmp(p, "# TYPE ", 7) == 0) {
            name = p + 7;
            rest = memchr(name, ' ', len - 7);
            cr_assert_not_null(rest, "%s: %.*s", what, (int)len, p);
            nlen = (size_t)(rest - name);
            f = find(fs, name, nlen);
            if (f == NULL) {
                cr_assert_lt(fs->n, MAX_FAMILIES, "%s: too many families", what);
                f = &fs->f[fs->n++];
                snprintf(f->name, sizeof(f->name), "%.*s", (int)nlen, name);
            }
            rest++;
            snprintf(help ? f->help : f->type, help ? sizeof(f->help) : sizeof(f->type), "%.*s",
                     (int)(len - (size_t)(rest - p)), rest);
        }
        p += len + (end != NULL);
    }
}

/* The endpoint that stands for the service (it has a `service`): its test address. */
static const char *service_endpoint(struct seed_run *s, const char **path)
{
    json_t *ep;
    size_t i;

    json_array_foreach(json_object_get(s->shipped, "endpoints"), i, ep)
    {
        if (json_object_get(ep, "service") != NULL) {
            *path = seed_str_or(json_string_value(json_object_get(ep, "path")), "/metrics");
            return seed_map_listen(&s->ports, json_string_value(json_object_get(ep, "listen")));
        }
    }
    cr_assert_fail("%s: no endpoint stands for the service", s->name);
    return NULL;
}

Test(e2e_seed_connaisseur, the_endpoint_serves_the_documents_families_family_for_family,
     .timeout = 120, .fini = seed_cleanup)
{
    static struct families want, got;
    struct seed_run *s = seed_start_daemon("002-connaisseur");
    char *doc = seed_read_file(s, "exposition.txt"), *lines = seed_read_file(s, "lines.txt");
    const char *p = lines, *line, *path, *addr = service_endpoint(s, &path);
    struct httpc_response r;
    size_t len, i, served = 0;

    while ((line = seed_line(&p, &len)) != NULL)
        cr_assert_eq(daemon_send(&s->d, line, len), 0);
    cr_assert_eq(daemon_wait_read(&s->d, 10000), 0);
    cr_assert_eq(httpc_get(addr, path, NULL, &r), 0, "GET %s%s", addr, path);
    cr_assert_eq(r.status, 200, "%s", r.body);
    read_families("exposition.txt", doc, &want);
    read_families("the endpoint", r.body, &got);
    for (i = 0; i < want.n; i++) {
        const struct family *w = &want.f[i];
        const struct family *g = find(&got, w->name, strlen(w->name));

        cr_expect_not_null(g, "%s (%s) is not served", w->name, w->type);
        if (g == NULL)
            continue;
        cr_expect_str_eq(g->type, w->type, "%s: TYPE %s, the document's %s", w->name, g->type,
                         w->type);
        cr_expect_str_eq(g->help, w->help, "%s: HELP \"%s\", the document's \"%s\"", w->name,
                         g->help, w->help);
        served++;
    }
    for (i = 0; i < got.n; i++)
        cr_expect_not_null(find(&want, got.f[i].name, strlen(got.f[i].name)),
                           "%s is served, and not in the document", got.f[i].name);
    cr_assert_eq(served, want.n, "served %zu of the document's %zu families", served, want.n);
    /* Both formats are valid as served, OpenMetrics (which Prometheus asks for) too. */
    cr_expect_eq(expo_check(r.body, 0), 0, "the text exposition is not valid");
    for (i = 0; i < ARRAY_SIZE(text_pair); i++)
        cr_expect_not_null(strstr(r.body, text_pair[i]), "text: no \"%s\"", text_pair[i]);
    httpc_response_release(&r);
    cr_assert_eq(httpc_get(addr, path, "Accept: " DAEMON_OPENMETRICS "\r\n", &r), 0);
    cr_expect_eq(expo_check(r.body, 1), 0, "the OpenMetrics exposition is not valid");
    for (i = 0; i < ARRAY_SIZE(om_pair); i++)
        cr_expect_not_null(strstr(r.body, om_pair[i]), "OpenMetrics: no \"%s\"", om_pair[i]);
    cr_expect_null(strstr(r.body, "go_memstats_alloc_bytes_total_created"));
    fprintf(stderr, "002-connaisseur: %zu of the document's %zu families served, as documented\n",
            served, want.n);
    httpc_response_release(&r);
    free(doc);
    free(lines);
    seed_finish(s);
}

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "config/config.h"
#include "config/cfgload.h"
#include "base/expo.h"
#include "store/registry.h"
#include "expose/render.h"
#include "statsd.h"

static const char golden_config[] =
    "{\"limits\": {\"max_series\": 100, \"max_series_per_family\": 100},"
    " \"families\": ["
    "  {\"name\": \"connaisseur_validations_skipped\", \"type\": \"counter\","
    "   \"help\": \"Number of skipped validations.\","
    "   \"labels\": [{\"name\": \"reason\", \"max_values\": 10},"
    "              {\"name\": \"type\", \"values\": [\"notaryv1\", \"notaryv2\"]},"
    "              {\"name\": \"validator_name\", \"max_values\": 10}]},"
    "  {\"name\": \"http_request_duration_seconds\", \"type\": \"histogram\","
    "   \"help\": \"Latency with a \\\\ backslash, a \\\"quote\\\"\\nand a newline.\","
    "   \"buckets\": [0.005, 0.1, 1, 2.5, 1000000],"
    "   \"labels\": [{\"name\": \"route\", \"max_values\": 10}]},"
    "  {\"name\": \"idle_jobs\", \"type\": \"gauge\", \"help\": \"Never updated.\"},"
    "  {\"name\": \"queue_depth\", \"type\": \"gauge\", \"help\": \"Jobs waiting.\","
    "   \"labels\": [{\"name\": \"queue\", \"max_values\": 10}]},"
    "  {\"name\": \"uploads\", \"type\": \"counter\", \"help\": \"Uploads accepted.\"},"
    "  {\"name\": \"ml_latency_milliseconds\", \"type\": \"histogram\","
    "   \"unit\": \"milliseconds\", \"help\": \"Inference time.\", \"buckets\": [10, 100]}"
    " ]}";

static struct config cfg;
static struct registry reg;

static void load(const char *json)
{
    char err[512];

    memset(&cfg, 0, sizeof cfg);
    cr_assert_eq(cfgload_text(&cfg, json, strlen(json), "test", err, sizeof err), 0, "%s", err);
    cr_assert_eq(registry_init(&reg, &cfg), 0);
}

static void teardown(void)
{
    registry_release(&reg);
    cfgload_release(&cfg);
}

static int feed_at(const char *text, uint64_t now)
{
    struct statsd_line l;
    int rc = statsd_parse_line(text, strlen(text), &l);

    cr_assert_eq(rc, STATSD_OK, "parse \"%s\": %s", text, statsd_reason_name(rc));
    return registry_apply(&reg, &l, now);
}

/*
 * A counter line built by hand: the wire cannot carry a newline or some bytes in a tag
 * value, but the exposition must escape whatever the registry holds.
 */
static void feed_raw_counter(const char *name, const char *key, const char *value, double v)
{
    struct statsd_line l;

    memset(&l, 0, sizeof l);
    l.name.ptr = name;
    l.name.len = strlen(name);
    l.type = STATSD_COUNTER;
    l.nvalues = 1;
    l.values[0] = v;
    l.rate = 1;
    l.ntags = 1;
    l.tags[0].key.ptr = key;
    l.tags[0].key.len = strlen(key);
    l.tags[0].value.ptr = value;
    l.tags[0].value.len = strlen(value);
    cr_assert_eq(registry_apply(&reg, &l, 1), STATSD_OK);
}

/* The golden registry; with a clock when cb is not NULL, set before any line. */
static void fill_golden_dated(registry_clock_cb cb, void *arg)
{
    load(golden_config);
    if (cb != NULL)
        registry_set_clock(&reg, cb, arg);
    cr_assert_eq(feed_at("connaisseur.validations_skipped:2|c|#reason:automatic approval of "
                         "child image reference,type:notaryv1,validator_name:dockerhub",
                         1),
                 STATSD_OK);
    feed_raw_counter("connaisseur_validations_skipped_total", "reason",
                     "back\\slash \"quoted\"\nnew line, caf\xc3\xa9 \xe2\x9c\x93", 1);
    cr_assert_eq(feed_at("connaisseur_validations_skipped:0.5|c|@0.5|#type:notaryv2", 1),
                 STATSD_OK);
    cr_assert_eq(feed_at("http_request_duration_seconds:0.005:0.1:0.1:3:2000000|h|#route:/api/"
                         "v1/images",
                         1),
                 STATSD_OK);
    cr_assert_eq(feed_at("http_request_duration_seconds:250|ms|#route:/healthz", 1), STATSD_OK);
    cr_assert_eq(feed_at("queue_depth:3.5|g|#queue:mail", 1), STATSD_OK);
    cr_assert_eq(feed_at("queue_depth:-2|g|#queue:thumbs", 1), STATSD_OK);
    cr_assert_eq(feed_at("queue_depth:0.00001|g", 1), STATSD_OK);
    cr_assert_eq(feed_at("ml_latency_milliseconds:12.5|ms", 1), STATSD_OK);
}

static void fill_golden(void)
{
    fill_golden_dated(NULL, NULL);
}

static void render_all(struct buf *out, enum expo_format fmt, size_t step)
{
    struct render rd;
    struct expo e;
    size_t before = out->len;
    int more = 1;

    render_init(&rd, &reg, fmt);
    while (more) {
        more = render_step(&rd, out, step, 0);
        /* Every step makes progress until the end. */
        cr_assert(!more || out->len > before);
        before = out->len;
    }
    render_release(&rd);
    expo_init(&e, out, fmt);
    expo_eof(&e);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct buf b = BUF_INIT;
    char tmp[4096];
    size_t n;

    cr_assert_not_null(f, "cannot open %s", path);
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        buf_add(&b, tmp, n);
    fclose(f);
    return buf_detach(&b, len);
}

static void assert_golden(const struct buf *got, const char *file)
{
    char path[1024];
    size_t len;
    char *want;

    snprintf(path, sizeof path, "%s/tests/golden/%s", USTATSD_SOURCE_DIR, file);
    want = read_file(path, &len);
    if (got->len != len || memcmp(got->ptr, want, len) != 0) {
        /* Leave the output next to the test for a diff. */
        FILE *f = fopen(file, "wb");

        if (f != NULL) {
            fwrite(got->ptr, 1, got->len, f);
            fclose(f);
        }
        free(want);
        cr_assert_fail("%s differs from the golden file (output written to ./%s):\n%.*s", path,
                       file, (int)got->len, got->ptr);
    }
    free(want);
}

/* Run prog with the exposition on stdin; returns its exit status, its output in *lines. */
static int run_check(const char *prog, const struct buf *text, struct buf *lines)
{
    char path[] = "/tmp/ustatsd-render-XXXXXX";
    char cmd[1400], line[512];
    int fd = mkstemp(path);
    FILE *p;
    int status;

    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text->ptr, text->len), (ssize_t)text->len);
    close(fd);
    snprintf(cmd, sizeof cmd, "%s < %s 2>&1", prog, path);
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    while (fgets(line, sizeof line, p) != NULL)
        buf_adds(lines, line);
    status = pclose(p);
    unlink(path);
    return status;
}

/*
 * Whether a promtool complaint is a known artefact rather than a problem. promtool 2.42
 * parses text 0.0.4 only, and lints naming:
 *   - "x use base unit "seconds" instead of "milliseconds"": a family whose configured
 *     unit is milliseconds (services do export ms histograms, seed 003); the operator
 *     chose the name, the exposition is valid;
 *   - OpenMetrics only: it reads a counter's "x_total" samples (under "# TYPE x counter")
 *     as a family of their own without HELP: "x_total no help text", accepted when
 *     "# HELP x " is there; and it stops at the escaped quote that OpenMetrics requires
 *     in HELP ("invalid escape sequence '\\\"'"), accepted when a HELP line has one.
 * For OpenMetrics the authoritative check is tests/lib/om_check.py (a strict parser).
 */
static int promtool_artefact(const char *line, const struct buf *text, enum expo_format fmt)
{
    char name[256], tmp[300];

    int end = 0;

    /* sscanf counts conversions, not literal matches: %n says the whole line matched. */
    if (sscanf(line, "%255s use base unit \"seconds\" instead of \"milliseconds\"%n", name, &end) ==
            1 &&
        end > 0 && line[end] == '\0') {
        snprintf(tmp, sizeof tmp, "# TYPE %s histogram\n", name);
        return strstr(text->ptr, tmp) != NULL;
    }
    if (fmt != EXPO_OPENMETRICS)
        return 0;
    if (sscanf(line, "%255s no help text%n", name, &end) == 1 && end > 0 && line[end] == '\0' &&
        strlen(name) > 6 && strcmp(name + strlen(name) - 6, "_total") == 0) {
        snprintf(tmp, sizeof tmp, "# HELP %.*s ", (int)strlen(name) - 6, name);
        return strstr(text->ptr, tmp) != NULL;
    }
    if (strstr(line, "invalid escape sequence '\\\"'") != NULL) {
        const char *h;

        for (h = strstr(text->ptr, "# HELP "); h != NULL; h = strstr(h + 1, "# HELP ")) {
            const char *q = strstr(h, "\\\""), *nl = strchr(h, '\n');

            if (q != NULL && nl != NULL && q < nl)
                return 1;
        }
    }
    return 0;
}

/* OpenMetrics by its strict parser alone (promtool reads the text format only). */
static void assert_valid_openmetrics(struct buf *text)
{
    struct buf lines = BUF_INIT;
    char cmd[1024];
    int status;

    buf_addch(text, '\0');
    text->len--;
    snprintf(cmd, sizeof cmd, "%s/tests/lib/om_check.py", USTATSD_SOURCE_DIR);
    status = run_check(cmd, text, &lines);
    cr_assert_eq(status, 0, "om_check: %.*s", (int)lines.len, lines.ptr);
    buf_release(&lines);
}

static void assert_valid_exposition(struct buf *text, enum expo_format fmt)
{
    struct buf lines = BUF_INIT;
    char *line, *save = NULL;
    int status, bad = 0;

    buf_addch(text, '\0');
    text->len--;
    status = run_check("promtool check metrics", text, &lines);
    buf_addch(&lines, '\0');
    for (line = strtok_r(lines.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!promtool_artefact(line, text, fmt)) {
            cr_log_error("promtool: %s", line);
            bad++;
        }
    }
    buf_release(&lines);
    cr_assert_eq(bad, 0, "promtool reported problems");
    if (fmt == EXPO_TEXT && status != 0)
        cr_assert_neq(strstr(text->ptr, "_milliseconds"), NULL, "promtool status %d", status);
    if (fmt == EXPO_OPENMETRICS)
        assert_valid_openmetrics(text);
}

Test(render, golden_text, .fini = teardown)
{
    struct buf out = BUF_INIT;

    fill_golden();
    render_all(&out, EXPO_TEXT, 1000);
    assert_golden(&out, "render_basic.txt");
    assert_valid_exposition(&out, EXPO_TEXT);
    buf_release(&out);
}

Test(render, golden_openmetrics, .fini = teardown)
{
    struct buf out = BUF_INIT;

    fill_golden();
    render_all(&out, EXPO_OPENMETRICS, 1000);
    assert_golden(&out, "render_basic.om");
    assert_valid_exposition(&out, EXPO_OPENMETRICS);
    buf_release(&out);
}

/* A wall clock that moves 250 ms at every reading, from 2023-11-14T22:13:20Z. */
static uint64_t ticking_clock(void *arg)
{
    uint64_t *t = arg;

    *t += 250;
    return *t;
}

/*
 * With a clock, OpenMetrics ends each counter and histogram series with its creation
 * time, labels and all, ms precision; the text format is unchanged, since it has no
 * _created.
 */
Test(render, openmetrics_dates_counters_and_histograms, .fini = teardown)
{
    static uint64_t wall_ms = 1700000000000;
    struct buf out = BUF_INIT;

    fill_golden_dated(ticking_clock, &wall_ms);
    render_all(&out, EXPO_OPENMETRICS, 1000);
    assert_golden(&out, "render_created.om");
    assert_valid_exposition(&out, EXPO_OPENMETRICS);
    buf_release(&out);
    render_all(&out, EXPO_TEXT, 1000);
    assert_golden(&out, "render_basic.txt");
    buf_release(&out);
}

Test(render, one_series_per_step_equals_one_shot, .fini = teardown)
{
    enum expo_format fmts[] = { EXPO_TEXT, EXPO_OPENMETRICS };
    size_t i;

    fill_golden();
    for (i = 0; i < 2; i++) {
        struct buf one = BUF_INIT, inc = BUF_INIT;

        render_all(&one, fmts[i], 1000000);
        render_all(&inc, fmts[i], 1);
        cr_assert_eq(one.len, inc.len);
        cr_assert_eq(memcmp(one.ptr, inc.ptr, one.len), 0);
        buf_release(&one);
        buf_release(&inc);
        /* max_series 0 behaves as 1. */
        render_all(&inc, fmts[i], 0);
        render_all(&one, fmts[i], 3);
        cr_assert_eq(one.len, inc.len);
        buf_release(&one);
        buf_release(&inc);
    }
}

Test(render, empty_registry_renders_nothing, .fini = teardown)
{
    struct buf out = BUF_INIT;
    struct render rd;

    load("{\"families\": [{\"name\": \"g\", \"type\": \"gauge\", \"help\": \"G.\"}]}");
    render_init(&rd, &reg, EXPO_OPENMETRICS);
    cr_assert_eq(render_step(&rd, &out, 10, 0), 0);
    cr_assert_eq(out.len, 0);
    render_release(&rd);
    buf_release(&out);
}

/* Families of the output in the order their samples appear; checks they never interleave. */
static void assert_well_formed(const struct buf *out)
{
    char seen_types[64][160];
    size_t ntypes = 0, i;
    const char *p = out->ptr, *end = out->ptr + out->len;
    char samples[256][160];
    size_t nsamples = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)(nl - p);
        char line[160];

        cr_assert_not_null(nl);
        cr_assert_lt(len, sizeof line);
        memcpy(line, p, len);
        line[len] = '\0';
        if (strncmp(line, "# TYPE ", 7) == 0) {
            for (i = 0; i < ntypes; i++)
                cr_assert_neq(strcmp(seen_types[i], line), 0, "twice: %s", line);
            cr_assert_lt(ntypes, 64);
            snprintf(seen_types[ntypes++], sizeof seen_types[0], "%s", line);
        } else if (line[0] != '#') {
            /* A sample belongs to the latest TYPE: its name starts with "g<digit>". */
            cr_assert_gt(ntypes, 0);
            cr_assert_eq(line[1], seen_types[ntypes - 1][8], "interleaved: %s", line);
            for (i = 0; i < nsamples; i++)
                cr_assert_neq(strcmp(samples[i], line), 0, "duplicate sample %s", line);
            cr_assert_lt(nsamples, 256);
            snprintf(samples[nsamples++], sizeof samples[0], "%s", line);
        }
        p = nl + 1;
    }
}

Test(render, interleaved_updates_and_expiry_stay_valid, .fini = teardown)
{
    enum expo_format fmts[] = { EXPO_TEXT, EXPO_OPENMETRICS };
    size_t f;

    for (f = 0; f < 2; f++) {
        struct buf out = BUF_INIT;
        struct render rd;
        char line[96];
        int i, steps = 0;

        load("{\"families\": ["
             "  {\"name\": \"g0\", \"type\": \"gauge\", \"help\": \"G0.\", \"ttl_seconds\": 10,"
             "   \"labels\": [{\"name\": \"k\"}]},"
             "  {\"name\": \"g1\", \"type\": \"gauge\", \"help\": \"G1.\", \"ttl_seconds\": 10,"
             "   \"labels\": [{\"name\": \"k\"}]},"
             "  {\"name\": \"g2\", \"type\": \"gauge\", \"help\": \"G2.\","
             "   \"labels\": [{\"name\": \"k\"}]},"
             "  {\"name\": \"g3\", \"type\": \"gauge\", \"help\": \"G3.\", \"ttl_seconds\": 10,"
             "   \"labels\": [{\"name\": \"k\"}]}]}");
        /* Odd series are idle since t=0, even ones were updated at t=100 s. */
        for (i = 0; i < 6; i++) {
            snprintf(line, sizeof line, "g0:%d|g|#k:s%d", i, i);
            cr_assert_eq(feed_at(line, i % 2 ? 0 : 100000), STATSD_OK);
            line[1] = '1';
            cr_assert_eq(feed_at(line, i % 2 ? 0 : 100000), STATSD_OK);
            line[1] = '3';
            cr_assert_eq(feed_at(line, i % 2 ? 0 : 100000), STATSD_OK);
        }
        render_init(&rd, &reg, fmts[f]);
        cr_assert_eq(render_step(&rd, &out, 1, 0), 1);
        /* The cursor stands on g0{k="s1"}, which expires now, with every odd series. */
        cr_assert_eq(registry_expire(&reg, 15000, 1000), 9);
        /* New series behind the walk (g0 is current), ahead (g2 is empty so far, g3). */
        cr_assert_eq(feed_at("g0:7|g|#k:late0", 15000), STATSD_OK);
        cr_assert_eq(feed_at("g2:7|g|#k:late2", 15000), STATSD_OK);
        cr_assert_eq(feed_at("g3:7|g|#k:late3", 15000), STATSD_OK);
        while (render_step(&rd, &out, 1, 0)) {
            steps++;
            if (steps == 3) {
                /*
                 * g0 is done and the cursor stands on g1{k="s0"}: a new g0 series is
                 * behind the walk, g1's is ahead. Then everything but the two series
                 * updated at t=300 s expires, g1's current one included.
                 */
                cr_assert_eq(feed_at("g0:8|g|#k:behind", 15000), STATSD_OK);
                cr_assert_eq(feed_at("g1:8|g|#k:ahead", 300000), STATSD_OK);
                cr_assert_eq(feed_at("g3:9|g|#k:s0", 300000), STATSD_OK);
                cr_assert_eq(registry_expire(&reg, 112000, 1000), 5 + 3 + 3);
            }
        }
        render_release(&rd);
        {
            struct expo e;

            expo_init(&e, &out, fmts[f]);
            expo_eof(&e);
        }
        buf_addch(&out, '\0');
        out.len--;
        assert_well_formed(&out);
        cr_assert_not_null(strstr(out.ptr, "g0{k=\"s0\"} 0\n"));
        cr_assert_null(strstr(out.ptr, "k=\"s1\""));
        cr_assert_not_null(strstr(out.ptr, "g0{k=\"late0\"} 7\n"));
        cr_assert_null(strstr(out.ptr, "behind"));
        cr_assert_null(strstr(out.ptr, "g1{k=\"s0\"}"));
        cr_assert_not_null(strstr(out.ptr, "g1{k=\"ahead\"} 8\n"));
        cr_assert_not_null(strstr(out.ptr, "g2{k=\"late2\"} 7\n"));
        cr_assert_not_null(strstr(out.ptr, "g3{k=\"s0\"} 9\n"));
        cr_assert_null(strstr(out.ptr, "g3{k=\"s2\"}"));
        cr_assert_null(strstr(out.ptr, "late3"));
        assert_valid_exposition(&out, fmts[f]);
        buf_release(&out);
        teardown();
    }
    /* teardown() runs again as .fini: leave something to release. */
    load("{\"families\": []}");
}

/*
 * client_golang's pair, a gauge "x" beside a counter "x_total" (config_family.total_in_name):
 * text 0.0.4 writes both as the Go collector does; OpenMetrics, where the counter's family
 * would be "x", the gauge's, writes the counter as the unknown family "x_total", without
 * _created. Lines name the gauge "x" (a counter line of that name is the gauge's, so a type
 * mismatch) and the counter "x_total".
 */
Test(render, a_gauge_beside_a_counter_named_with_total, .fini = teardown)
{
    static uint64_t wall_ms = 1700000000000;
    struct buf out = BUF_INIT;

    load("{\"families\": ["
         " {\"name\": \"go_memstats_alloc_bytes_total\", \"type\": \"counter\", \"help\": \"T.\"},"
         " {\"name\": \"go_memstats_alloc_bytes\", \"type\": \"gauge\", \"help\": \"G.\"}]}");
    registry_set_clock(&reg, ticking_clock, &wall_ms);
    cr_assert_eq(feed_at("go_memstats_alloc_bytes:7|g", 1), STATSD_OK);
    cr_assert_eq(feed_at("go_memstats_alloc_bytes_total:5|c", 1), STATSD_OK);
    cr_assert_eq(feed_at("go.memstats.alloc_bytes_total:1|c", 1), STATSD_OK);
    cr_assert_eq(feed_at("go_memstats_alloc_bytes:1|c", 1), STATSD_TYPE_MISMATCH);
    cr_assert_eq(feed_at("go_memstats_alloc_bytes_total:1|g", 1), STATSD_TYPE_MISMATCH);
    cr_assert_eq(feed_at("go_memstats_alloc_bytes_total_total:1|c", 1), STATSD_UNKNOWN_FAMILY);
    render_all(&out, EXPO_TEXT, 1000);
    buf_addch(&out, '\0');
    cr_assert_str_eq(out.ptr, "# HELP go_memstats_alloc_bytes_total T.\n"
                              "# TYPE go_memstats_alloc_bytes_total counter\n"
                              "go_memstats_alloc_bytes_total 6\n"
                              "# HELP go_memstats_alloc_bytes G.\n"
                              "# TYPE go_memstats_alloc_bytes gauge\n"
                              "go_memstats_alloc_bytes 7\n");
    out.len--;
    assert_valid_exposition(&out, EXPO_TEXT);
    buf_release(&out);
    render_all(&out, EXPO_OPENMETRICS, 1000);
    buf_addch(&out, '\0');
    cr_assert_str_eq(out.ptr, "# TYPE go_memstats_alloc_bytes_total unknown\n"
                              "# HELP go_memstats_alloc_bytes_total T.\n"
                              "go_memstats_alloc_bytes_total 6\n"
                              "# TYPE go_memstats_alloc_bytes gauge\n"
                              "# HELP go_memstats_alloc_bytes G.\n"
                              "go_memstats_alloc_bytes 7\n"
                              "# EOF\n");
    out.len--;
    assert_valid_openmetrics(&out);
    buf_release(&out);
}

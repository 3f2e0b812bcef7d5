/*
 * libFuzzer target for the HTTP inputs the daemon parses besides datagrams.
 *
 * The input is split at '\n' (which no request line or header value can hold) into:
 *
 *     section=series&limit=10\napplication/openmetrics-text\ngzip;q=0.5\nfamily\nx:1|c
 *     ^ /debug query           ^ Accept                      ^ Accept-   ^ a     ^ a datagram
 *                                                              Encoding    name
 *
 * Missing parts are empty. Checked:
 *   - debug_query_parse() keeps its limits (limit in 1..DEBUG_MAX_LIMIT, sections within
 *     DEBUG_ALL, a known family or none, pretty and seen 0 or 1) or writes a NUL-terminated
 *     message, also into a small err buffer; it agrees with query_find() on limit=;
 *   - query_next() walks the query to its end, staying inside it, and tiny buffers give
 *     the same parameters or -ENOSPC;
 *   - negotiate_accept() and negotiate_gzip() return one of their values, also on the
 *     header cut to the size the server copies;
 *   - an accepted query renders, over a registry fed the datagram through the intake
 *     (rejected lines go to the rejects ring, raw), a debug document: one object whose
 *     brackets pair up outside its strings, with no raw control character; for one input
 *     in four (fuzz_full_path()), jansson parses it back, with the sections asked for and
 *     at most limit series.
 * Seeds: tests/fuzz/seeds/fuzz_query/.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "config/config.h"
#include "expose/debug.h"
#include "base/errcode.h"
#include "base/expo.h"
#include "ingest/intake.h"
#include "store/jobs.h"
#include "base/mem.h"
#include "http/negotiate.h"
#include "base/query.h"
#include "store/registry.h"
#include "ingest/rejects.h"
#include "http/request.h"
#include "expose/selfmetrics.h"
#include "statsd.h"
#include "fuzz_arena.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NPARTS    5
#define NOW_MS    1000000u
#define NOW_UNIX  1.7e9
#define MAX_STEPS 100000
/* One input in 2^FULL_PATH_BITS has its debug document parsed back by jansson. */
#define FULL_PATH_BITS 2

/*
 * Without the DogStatsD client telemetry's families (fuzz_ingest feeds them): their
 * entries were four fifths of each debug document, and of a run's time. What they show
 * that the others did not (an overflow value, folded counts, undeclared labels dropped),
 * requests_total shows.
 */
static const char config_json[] =
    "{\"families\": ["
    " {\"name\": \"requests_total\", \"type\": \"counter\", \"help\": \"Requests \\\"quoted\\\".\","
    "  \"undeclared_labels\": \"drop\","
    "  \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]},"
    "             {\"name\": \"route\", \"max_values\": 5, \"overflow\": \"__other__\"}]},"
    " {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"buckets\": [0.1, 1]},"
    " {\"name\": \"users\", \"type\": \"gauge\", \"group\": \"app\","
    "  \"labels\": [{\"name\": \"user_id\", \"max_values\": 100}]},"
    " {\"name\": \"idle\", \"type\": \"gauge\"}"
    "], \"limits\": {\"max_series\": 50}, \"clients\": {\"dogstatsd_telemetry\": false},"
    " \"jobs\": {\"list\": [\"mailer\", {\"name\": \"sync\", \"failure_threshold\": 1}]}}";

static struct config cfg;
/*
 * Built once: a run feeds the registry and ends with registry_reset(), which leaves it as
 * registry_init() does. The document's buffers keep their memory from run to run.
 */
static struct registry reg;
static struct buf doc = BUF_INIT, piece = BUF_INIT;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_builtin_config(&cfg, config_json, "fuzz_query");
    registry_init(&reg, &cfg);
    fuzz_arena_for_jansson(); /* after the config: its parse takes malloc() */
    return 0;
}

/* A NUL-terminated copy (the server's strings are C strings: a NUL ends them). */
static char *part_dup(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);

    if (s == NULL)
        mem_oom(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/*
 * Walk the query twice in step, with buffers that always fit and with tiny ones: each
 * step reads the same parameter, or the tiny walk says -ENOSPC; both stay inside the
 * query and end.
 */
static void check_query_next(const char *query)
{
    size_t qlen = strlen(query), steps = 0;
    char *name = malloc(qlen + 1), *value = malloc(qlen + 1);
    const char *p = query, *s = query;
    char sn[4], sv[4];
    int rc, rs;

    if (name == NULL || value == NULL)
        mem_oom(qlen + 1);
    do {
        rc = query_next(&p, name, qlen + 1, value, qlen + 1);
        rs = query_next(&s, sn, sizeof(sn), sv, sizeof(sv));
        assert(p >= query && p <= query + qlen && s == p);
        assert(rc == 1 || rc == 0 || rc == -EINVAL || rc == -EILSEQ);
        if (rc == 1)
            assert(strlen(name) <= qlen && strlen(value) <= qlen);
        if (rs == -ENOSPC)
            assert(rc != 0);
        else
            assert(rs == rc && (rs != 1 || (strcmp(sn, name) == 0 && strcmp(sv, value) == 0)));
        assert(++steps <= qlen + 1);
    } while (rc > 0);
    free(name);
    free(value);
}

static void check_query(const char *query, const char *name, struct debug_query *q, int *ok)
{
    char err[256], small_err[8];
    struct debug_query q2;
    int rc;

    memset(err, 'x', sizeof(err));
    rc = debug_query_parse(q, &cfg, query, err, sizeof(err));
    assert(rc == 0 || rc == ERRCODE_BADPARAM);
    *ok = rc == 0;
    if (rc == 0) {
        assert(q->limit >= 1 && q->limit <= DEBUG_MAX_LIMIT);
        assert(q->sections != 0 && (q->sections & ~(unsigned)(DEBUG_ALL | DEBUG_CONFIG)) == 0);
        assert(q->pretty == 0 || q->pretty == 1);
        assert(q->seen == 0 || q->seen == 1);
        assert(memchr(q->family, '\0', sizeof(q->family)) != NULL);
        if (q->family_index < 0) {
            assert(q->family_index == -1 && q->family[0] == '\0');
        } else {
            assert((size_t)q->family_index < cfg.nfamilies);
            assert(strcmp(q->family, cfg.families[q->family_index].name) == 0);
        }
    } else {
        assert(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
    }
    /* The same verdict with an err buffer too small for any message. */
    memset(small_err, 'x', sizeof(small_err));
    assert(debug_query_parse(&q2, &cfg, query, small_err, sizeof(small_err)) == rc);
    if (rc != 0)
        assert(memchr(small_err, '\0', sizeof(small_err)) != NULL);
    else
        assert(memcmp(&q2, q, sizeof(q2)) == 0);

    check_query_next(query);
    if (name[0] != '\0') {
        char v[64];
        int r = query_find(query, name, v, sizeof(v));

        assert(r == -ENOENT || r == -EINVAL || r == -EILSEQ || r == -ENOSPC ||
               (r >= 0 && (size_t)r < sizeof(v)));
    }
    if (rc == 0) {
        size_t qlen = strlen(query);
        char *v = malloc(qlen + 1);
        if (v == NULL)
            mem_oom(qlen + 1);
        /* A limit= found by the generic getter is the one the debug parser took. */
        if (query_find(query, "limit", v, qlen + 1) >= 0)
            assert(strtoull(v, NULL, 10) == q->limit);
        free(v);
    }
}

/* One of the outcomes negotiate.h lists, and a Content-Type that names what it says. */
static void check_negotiate(const struct negotiate *n)
{
    const char *ct = negotiate_content_type(n);

    assert(n->type >= NEGOTIATE_TEXT_0_0_4 && n->type <= NEGOTIATE_PROTOBUF);
    assert(n->esc >= EXPO_ESCAPE_UNDERSCORES && n->esc <= EXPO_ESCAPE_VALUES);
    assert(n->fmt == (n->type == NEGOTIATE_PROTOBUF            ? EXPO_PROTOBUF
                      : n->type >= NEGOTIATE_OPENMETRICS_0_0_1 ? EXPO_OPENMETRICS
                                                               : EXPO_TEXT));
    assert(ct != NULL && strstr(ct, "; escaping=") != NULL);
    assert((strstr(ct, "; charset=utf-8; escaping=") != NULL) == (n->fmt != EXPO_PROTOBUF));
    assert((strncmp(ct, "text/plain;", 11) == 0) == (n->fmt == EXPO_TEXT));
    assert((strncmp(ct,
                    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;"
                    " encoding=delimited;",
                    93) == 0) == (n->fmt == EXPO_PROTOBUF));
}

static void check_headers(const char *accept, const char *accept_encoding)
{
    char cut[REQUEST_ACCEPT_MAX];
    struct negotiate n = negotiate_accept(accept), again = negotiate_accept(accept);
    int g = negotiate_gzip(accept_encoding);

    check_negotiate(&n);
    assert(again.type == n.type && again.fmt == n.fmt && again.esc == n.esc);
    assert(g == 0 || g == 1);
    /* The server copies headers cut to a fixed size; the cut value must be safe too. */
    snprintf(cut, sizeof(cut), "%s", accept);
    n = negotiate_accept(cut);
    check_negotiate(&n);
    snprintf(cut, REQUEST_ACCEPT_ENCODING_MAX, "%s", accept_encoding);
    g = negotiate_gzip(cut);
    assert(g == 0 || g == 1);
}

static double fake_clock(void *arg)
{
    (void)arg;
    return NOW_UNIX;
}

/*
 * The check every rendered document takes: no raw control character but the newlines of
 * pretty printing (a string holds none unescaped), and outside its strings, brackets that
 * pair up to one object, closed at its end. Not instrumented: a byte loop of the harness,
 * whose branches would only echo the document's coverage.
 */
__attribute__((no_sanitize("coverage"))) static void check_shape(const struct buf *d)
{
    char stack[64];
    size_t depth = 0, i, last = 0;
    int in_string = 0;

    assert(d->len > 0 && d->ptr[0] == '{');
    for (i = 0; i < d->len; i++) {
        unsigned char c = (unsigned char)d->ptr[i];

        assert(c >= 0x20 || c == '\n');
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            assert(depth < sizeof(stack));
            stack[depth++] = c == '{' ? '}' : ']';
        } else if (c == '}' || c == ']') {
            assert(depth > 0 && stack[--depth] == c);
            if (depth == 0)
                last = i;
        }
    }
    assert(!in_string && depth == 0);
    for (i = last + 1; i < d->len; i++)
        assert(d->ptr[i] == '\n');
}

/* The full path's check: jansson parses the document back, with the sections asked for. */
static void check_parsed(const struct debug_query *q, const struct buf *d)
{
    json_error_t jerr;
    json_t *j, *series;

    /* A rejected line may hold NUL bytes, which JSON writes as \u0000 (RFC 8259 7). */
    j = json_loadb(d->ptr, d->len, JSON_ALLOW_NUL, &jerr);
    if (j == NULL) {
        fprintf(stderr, "invalid JSON at %d:%d (%s):\n%.*s\n", jerr.line, jerr.column, jerr.text,
                (int)d->len, d->ptr);
        abort();
    }
    assert(json_integer_value(json_object_get(j, "schema")) == DEBUG_SCHEMA);
    series = json_object_get(j, "series");
    assert((series != NULL) == ((q->sections & DEBUG_SERIES) != 0));
    assert((json_object_get(j, "rejects") != NULL) == ((q->sections & DEBUG_REJECTS) != 0));
    assert((json_object_get(j, "daemon") != NULL) == ((q->sections & DEBUG_DAEMON) != 0));
    if (series != NULL)
        assert(json_is_array(series) && json_array_size(series) <= q->limit &&
               json_array_size(series) <= registry_series_total(&reg));
    json_decref(j);
    fuzz_arena_empty();
}

static void check_render(const struct debug_query *q, const char *dgram, size_t dlen, int full_path)
{
    static struct rejects rj;
    struct jobs jobs;
    struct intake in;
    struct selfmetrics self;
    struct debug_render dr;
    struct intake_sender from = { 42, 1000, 1000, NULL };
    size_t steps = 0;
    int more;

    buf_reset(&doc);
    jobs_init(&jobs, &cfg, 0);
    rejects_init(&rj);
    intake_init(&in, &reg, &jobs, &rj, fake_clock, NULL);
    intake_datagram(&in, dgram, dlen, &from, NOW_MS);

    memset(&self, 0, sizeof(self));
    self.version = "0.0.0-fuzz";
    self.config_path = "fuzz.json";
    self.config_loaded_unix = NOW_UNIX - 10;
    self.start_unix = NOW_UNIX - 10;
    self.now_unix = NOW_UNIX;
    self.start_ms = NOW_MS - 10000;
    self.now_ms = NOW_MS;
    self.socket_path = "/run/ustatsd/ustatsd.sock";
    self.socket_mode = 0660;
    self.max_dgram_qlen = 512;
    self.metrics_listen = "127.0.0.1:9464";
    self.metrics_path = "/metrics";
    self.debug_listen = "127.0.0.1:9464";
    self.datagrams = 1;
    self.bytes = dlen;
    self.lines = in.count;
    self.cfg = &cfg;
    self.reg = &reg;

    debug_render_init(&dr, q, &self, &reg, &jobs, &rj);
    do {
        buf_reset(&piece);
        more = debug_render_step(&dr, &piece);
        buf_add(&doc, piece.ptr, piece.len);
        assert(++steps < MAX_STEPS);
    } while (more);
    debug_render_release(&dr);

    check_shape(&doc);
    if (full_path)
        check_parsed(q, &doc);

    jobs_release(&jobs);
    registry_reset(&reg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    char *part[NPARTS];
    size_t plen[NPARTS], i;
    struct debug_query q;
    int ok;

    for (i = 0; i < NPARTS; i++) {
        /* The last part (the datagram) takes the rest, newlines included. */
        const uint8_t *nl = i + 1 < NPARTS ? memchr(p, '\n', (size_t)(end - p)) : NULL;
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        part[i] = part_dup(p, n);
        plen[i] = n;
        p += n + (nl != NULL);
    }

    check_query(part[0], part[3], &q, &ok);
    check_headers(part[1], part[2]);
    if (ok)
        check_render(&q, part[4], plen[4], fuzz_full_path(data, size, FULL_PATH_BITS));

    for (i = 0; i < NPARTS; i++)
        free(part[i]);
    return 0;
}

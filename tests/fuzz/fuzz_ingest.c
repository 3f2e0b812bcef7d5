/*
 * libFuzzer target for the datagram pipeline: the input is one datagram, taken three
 * times by two pipelines built from the same config (one of two sets of caps, which the
 * datagram's number of lines chooses: WIDE_LINES below). One is the daemon's own, the intake
 * (intake.c: statsd_scanner_fill, registry_tag_parts and registry_find_tagged (or a staged
 * slot's lines and tags), registry_apply_found for the lines
 * the front cache knows, the full parse for the rest, jobs, counters and reject ring).
 * The other, the reference below, takes every line through the full parse only
 * (statsd_next_line, statsd_parse_line, jobs_report, then registry_apply for the lines no
 * job takes).
 *
 * Checked on every input, round after round (the later rounds hit the cache): the intake
 * counts each non-empty line once, accepted or by a reason, and puts each rejected one in
 * the ring; at the end, the series stay within the cap. One input in four, those
 * fuzz_full_path() picks, also takes the reference, checked round after round: both count
 * the same lines accepted and rejected by each reason, and hold the same reject ring,
 * entry by entry; at the end both registries render the same exposition, and both sets
 * of jobs hold the same state (and, when a job line changed it, render the same
 * exposition too).
 *
 * Runs are independent but cheap: the registries (a pair for each set of caps) are built
 * once, and each run ends with registry_reset() of the pair it used, which leaves them as
 * registry_init() does. (At the end, not the
 * start: a run then frees what it allocated, and libFuzzer suspects no leak to check.)
 * Seeds: tests/fuzz/seeds/fuzz_ingest/.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "config/config.h"
#include "base/expo.h"
#include "ingest/intake.h"
#include "store/jobs.h"
#include "store/registry.h"
#include "ingest/rejects.h"
#include "expose/render.h"
#include "statsd.h"
#include "statsd_scanner.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ROUNDS 3
/* One input in 2^FULL_PATH_BITS takes the reference, the renders and the policy counts. */
#define FULL_PATH_BITS 2
#define NOW_MS         1000
#define NOW_UNIX       1.7e9

/* Every kind of family, label and job the fast path must treat as the full parse does. */
static const char config_json[] =
    "{\"families\": ["
    " {\"name\": \"http.requests\", \"type\": \"counter\", \"undeclared_labels\": \"drop\","
    "  \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"], \"overflow\": "
    "\"_OTHER\"},"
    "             {\"name\": \"code\", \"max_values\": 4, \"pattern\": \"[1-5][0-9][0-9]\","
    "              \"overflow\": \"__other__\"}]},"
    " {\"name\": \"queue.depth\", \"type\": \"gauge\", \"updown\": true, \"ttl_seconds\": 60,"
    "  \"labels\": [{\"name\": \"queue\", \"max_values\": 3}]},"
    " {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"buckets\": [0.1, 0.5, 1],"
    "  \"labels\": [{\"name\": \"route\", \"max_values\": 3, \"pattern\": \"/[a-z]*\"}]},"
    " {\"name\": \"proc_ms\", \"type\": \"histogram\", \"unit\": \"milliseconds\","
    "  \"buckets\": [10, 100]},"
    " {\"name\": \"uploads\", \"type\": \"counter\"},"
    " {\"name\": \"rpc_seconds\", \"type\": \"summary\", \"max_age\": 60,"
    "  \"quantiles\": {\"0\": 0, \"0.5\": 0.05, \"0.99\": 0.001},"
    "  \"labels\": [{\"name\": \"route\", \"max_values\": 3}]},"
    " {\"name\": \"temperature\", \"type\": \"gauge\","
    "  \"labels\": [{\"name\": \"room\", \"max_values\": 3}]},"
    " {\"name\": \"ml.score\", \"type\": \"gauge\", \"group\": \"ml\"},"
    " {\"name\": \"peers\", \"type\": \"counter\","
    "  \"labels\": [{\"name\": \"p\", \"max_values\": 1000}]}"
    "], \"groups\": {\"exclude\": [\"ml\"]},"
    " \"clients\": {\"strip_tags\": [\"env\", \"service\"]},"
    " \"jobs\": {\"prefix\": \"bg\", \"list\": [\"mailer\", {\"name\": \"sync\", "
    "\"failure_threshold\": 1,"
    "  \"counter\": {\"name\": \"sync.runs\", \"outcome_tag\": \"result\", \"job_tag\": \"task\"}},"
    "  {\"name\": \"quiet\", \"counter\": false}]},"
    " \"limits\": {\"max_series\": %d, \"max_series_per_family\": %d,"
    "            \"max_label_value_length\": 16}}";

/*
 * Two sets of caps for the same families. A datagram of fewer than WIDE_LINES lines meets
 * the narrow ones (20 series, 8 a family), which its few lines reach; a longer one, the
 * wide ones, under which the peers family can make a couple of hundred series in 4 KB
 * ("peers:1|c|#p:123"): the front cache grows several times within one input (its first
 * table holds 48 series, each growth half more), and each growth's move of the entries,
 * a few sets a line, runs while the rest of the datagram is looked up, in the cached and
 * the staged rounds alike. Seed: peers.
 */
#define WIDE_LINES        64
#define NARROW_SERIES     20
#define NARROW_PER_FAMILY 8
#define WIDE_SERIES       260
#define WIDE_PER_FAMILY   200
#define CONFIG_TEXT_MAX   4096
static struct config cfg;      /* the narrow caps; its families, labels and jobs serve both */
static struct config cfg_wide; /* the same with the wide caps */

/* The reference: the full parse of every line, and the intake's bookkeeping spelled out. */
struct reference {
    struct registry reg;
    struct jobs jobs;
    struct rejects rejects;
    struct intake_counters count;
};

static struct registry regs[2];   /* the intake's, under each config */
static struct reference fulls[2]; /* the full parse's */
static struct jobs idle_jobs;     /* as every run's jobs start */
static size_t fresh_series;       /* the zero series a fresh registry holds */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const int caps[2][2] = { { NARROW_SERIES, NARROW_PER_FAMILY },
                                    { WIDE_SERIES, WIDE_PER_FAMILY } };
    struct config *const cfgs[2] = { &cfg, &cfg_wide };
    static char text[CONFIG_TEXT_MAX];

    (void)argc;
    (void)argv;
    for (int k = 0; k < 2; k++) {
        int n = snprintf(text, sizeof text, config_json, caps[k][0], caps[k][1]);

        assert(n > 0 && (size_t)n < sizeof text);
        fuzz_builtin_config(cfgs[k], text, "fuzz_ingest");
        registry_init(&regs[k], cfgs[k]);
        registry_init(&fulls[k].reg, cfgs[k]);
    }
    fresh_series = registry_series_total(&regs[0]);
    assert(registry_series_total(&regs[1]) == fresh_series);
    jobs_init(&idle_jobs, &cfg, 0);
    return 0;
}

static double fake_clock(void *arg)
{
    (void)arg;
    return NOW_UNIX;
}

static void take_in_full(struct reference *ref, const char *data, size_t len,
                         const struct intake_sender *from)
{
    static struct statsd_line line;
    struct statsd_view v;
    size_t pos = 0;
    int r;

    while (statsd_next_line(data, len, &pos, &v)) {
        if (v.len == 0)
            continue;
        r = statsd_parse_line(v.ptr, v.len, &line);
        if (r == STATSD_OK)
            r = jobs_report(&ref->jobs, &line, NOW_MS, NOW_UNIX);
        if (r == JOBMATCH_FAMILY)
            r = registry_apply(&ref->reg, &line, NOW_MS);
        if (r == STATSD_OK) {
            ref->count.accepted++;
            continue;
        }
        assert(r > STATSD_OK && r < STATSD_REASON_MAX);
        ref->count.rejected[r]++;
        rejects_add(&ref->rejects, NOW_UNIX, r, v.ptr, v.len, 1, from->pid, from->uid, NULL);
    }
}

static void check_counts(int round, const struct intake_counters *a,
                         const struct intake_counters *b)
{
    int r;

    if (memcmp(a, b, sizeof(*a)) == 0)
        return;
    fprintf(stderr, "round %d: accepted %llu by the intake, %llu by the full parse\n", round,
            (unsigned long long)a->accepted, (unsigned long long)b->accepted);
    for (r = 0; r < STATSD_REASON_MAX; r++)
        if (a->rejected[r] != b->rejected[r])
            fprintf(stderr, "  %s: %llu, %llu\n", statsd_reason_name(r),
                    (unsigned long long)a->rejected[r], (unsigned long long)b->rejected[r]);
    abort();
}

static void check_rejects(int round, const struct rejects *a, const struct rejects *b)
{
    size_t i;

    assert(a->total == b->total);
    for (i = 0; i < rejects_count(a); i++) {
        const struct rejects_entry *x = rejects_get(a, i), *y = rejects_get(b, i);

        if (x->reason != y->reason || x->len != y->len || x->orig_len != y->orig_len ||
            memcmp(x->line, y->line, x->len) != 0 || x->has_cred != y->has_cred ||
            x->pid != y->pid || x->uid != y->uid || x->time_unix != y->time_unix) {
            fprintf(stderr, "round %d, reject %zu from the newest: intake %s, full parse %s\n",
                    round, i, statsd_reason_name(x->reason), statsd_reason_name(y->reason));
            abort();
        }
    }
}

static void check_expositions(struct buf *a, struct buf *b)
{
    if (a->len != b->len || memcmp(a->ptr, b->ptr, a->len) != 0) {
        fprintf(stderr, "expositions differ:\n--- intake\n%.*s--- full parse\n%.*s", (int)a->len,
                a->ptr, (int)b->len, b->ptr);
        abort();
    }
}

/* What the tag policies counted: the cached path must count what the full parse does. */
static void check_policy_counts(const struct registry *a, const struct registry *b)
{
    size_t f, j;
    int why;

    for (j = 0; j < cfg.nstrip_tags; j++)
        if (registry_tags_stripped(a, j) != registry_tags_stripped(b, j)) {
            fprintf(stderr, "tags_stripped{key=%s}: intake %llu, full parse %llu\n",
                    cfg.strip_tags[j], (unsigned long long)registry_tags_stripped(a, j),
                    (unsigned long long)registry_tags_stripped(b, j));
            abort();
        }
    for (f = 0; f < cfg.nfamilies; f++) {
        if (registry_labels_dropped(a, f) != registry_labels_dropped(b, f)) {
            fprintf(stderr, "labels_dropped{family=%s} differ\n", cfg.families[f].name);
            abort();
        }
        for (j = 0; j < cfg.families[f].nlabels; j++)
            for (why = 0; why < CONFIG_FOLD_MAX; why++)
                if (registry_values_folded(a, f, j, (enum config_fold)why) !=
                    registry_values_folded(b, f, j, (enum config_fold)why)) {
                    fprintf(stderr, "folded{family=%s,label=%s,reason=%s} differ\n",
                            cfg.families[f].name, cfg.families[f].labels[j].name,
                            config_fold_name((enum config_fold)why));
                    abort();
                }
    }
}

/*
 * Whether two sets of jobs (of cfg) hold the same state: every field of every breaker,
 * and when its counters started. What jobs_render() shows is made of these and the time.
 */
static int jobs_same(const struct jobs *a, const struct jobs *b)
{
    for (size_t i = 0; i < cfg.njobs; i++) {
        const struct breaker *x = &a->breakers[i], *y = &b->breakers[i];

        if (x->threshold != y->threshold || x->open_ms != y->open_ms || x->state != y->state ||
            x->since_ms != y->since_ms || x->consecutive_failures != y->consecutive_failures ||
            memcmp(x->attempts, y->attempts, sizeof(x->attempts)) != 0 || x->errors != y->errors ||
            x->openings != y->openings || x->has_success != y->has_success ||
            x->has_error != y->has_error ||
            memcmp(&x->last_success_unix, &y->last_success_unix, sizeof(double)) != 0 ||
            memcmp(&x->last_error_unix, &y->last_error_unix, sizeof(double)) != 0 ||
            memcmp(&a->created[i], &b->created[i], sizeof(double)) != 0)
            return 0;
    }
    return 1;
}

/*
 * Both sets of jobs hold the same state; when a job line changed it, both render the same
 * exposition too (untouched, they render the text of idle_jobs, run after run).
 */
static void check_jobs(struct jobs *a, struct jobs *b)
{
    struct buf x = BUF_INIT, y = BUF_INIT;
    struct expo e;

    if (!jobs_same(a, b)) {
        fprintf(stderr, "the jobs differ between the intake and the full parse\n");
        abort();
    }
    if (jobs_same(a, &idle_jobs))
        return;
    expo_init(&e, &x, EXPO_TEXT);
    jobs_render(a, &e, NOW_MS);
    expo_init(&e, &y, EXPO_TEXT);
    jobs_render(b, &e, NOW_MS);
    check_expositions(&x, &y);
    buf_release(&x);
    buf_release(&y);
}

/* The non-empty lines of a datagram: each is counted once a round, accepted or rejected. */
static uint64_t count_lines(const char *data, size_t len)
{
    struct statsd_view v;
    size_t pos = 0;
    uint64_t n = 0;

    while (statsd_next_line(data, len, &pos, &v))
        n += v.len != 0;
    return n;
}

/* The checks every input takes: each line counted once a round, each reject in the ring. */
static void check_intake(int round, const struct intake *in, const struct rejects *rejects,
                         uint64_t lines)
{
    uint64_t rejected = intake_rejected_total(&in->count);

    if (in->count.accepted + rejected != lines * (uint64_t)(round + 1) ||
        rejects->total != rejected) {
        fprintf(stderr, "round %d: %llu lines, %llu accepted, %llu rejected, %llu in the ring\n",
                round, (unsigned long long)lines, (unsigned long long)in->count.accepted,
                (unsigned long long)rejected, (unsigned long long)rejects->total);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct intake_sender from = { 42, 1000, 1000, NULL };
    static struct rejects rejects;
    const char *dgram = (const char *)data;
    const int full_path = fuzz_full_path(data, size, FULL_PATH_BITS);
    const uint64_t lines = count_lines(dgram, size);
    const int wide = lines >= WIDE_LINES;
    struct registry *const reg = &regs[wide];
    struct reference *const full = &fulls[wide];
    struct jobs jobs;
    struct intake in;
    struct buf a = BUF_INIT, b = BUF_INIT;

    jobs_init(&jobs, &cfg, 0);
    rejects_init(&rejects);
    intake_init(&in, reg, &jobs, &rejects, fake_clock, NULL);
    if (full_path) {
        memset(&full->count, 0, sizeof(full->count));
        jobs_init(&full->jobs, &cfg, 0);
        rejects_init(&full->rejects);
    }
    for (int round = 0; round < ROUNDS; round++) {
        /*
         * Odd rounds stage the datagram first, as the daemon stages a short one of a batch
         * (intake_stage; forced on, since a small front cache is never staged): its lines
         * then come split and tagged from the slot, and must do just the same.
         */
        if (round % 2) {
            in.staging = 1;
            intake_stage(&in, dgram, size, INTAKE_SCAN);
            intake_stage(&in, dgram, size, INTAKE_FETCH);
        }
        intake_datagram(&in, dgram, size, &from, NOW_MS);
        if (round % 2)
            intake_stage(&in, NULL, 0, INTAKE_FORGET);
        check_intake(round, &in, &rejects, lines);
        if (!full_path)
            continue;
        take_in_full(full, dgram, size, &from);
        check_counts(round, &in.count, &full->count);
        check_rejects(round, &rejects, &full->rejects);
    }
    assert(registry_series_total(reg) <= registry_series_cap(reg));
    if (full_path) {
        assert(registry_series_total(reg) == registry_series_total(&full->reg));
        check_policy_counts(reg, &full->reg);
        fuzz_render_series(reg, &a, EXPO_TEXT, NOW_MS);
        fuzz_render_series(&full->reg, &b, EXPO_TEXT, NOW_MS);
        check_expositions(&a, &b);
        check_jobs(&jobs, &full->jobs);
        buf_release(&a);
        buf_release(&b);
        jobs_release(&full->jobs);
        registry_reset(&full->reg);
        assert(registry_series_total(&full->reg) == fresh_series);
    }
    jobs_release(&jobs);
    registry_reset(reg);
    assert(registry_series_total(reg) == fresh_series);
    return 0;
}

/*
 * The datagram pipeline without a socket: lines in, counters, registry, jobs and the
 * reject ring out. The wire vectors of proto/testdata run through it, and every reason
 * the daemon can give a line is counted at least once.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "config/config.h"
#include "config/cfgload.h"
#include "base/expo.h"
#include "ingest/intake.h"
#include "store/jobs.h"
#include "store/registry.h"
#include "ingest/rejects.h"
#include "expose/render.h"
#include "statsd.h"
#include "intake_fixture.h"
#include "testdata.h"

static const char config_json[] =
    "{\"limits\": {\"max_series\": 12, \"max_series_per_family\": 4,"
    "              \"max_label_value_length\": 8},"
    " \"groups\": {\"exclude\": [\"ml\"]},"
    " \"families\": ["
    "  {\"name\": \"requests\", \"type\": \"counter\","
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]},"
    "              {\"name\": \"code\", \"max_values\": 2}]},"
    "  {\"name\": \"queue_depth\", \"type\": \"gauge\","
    "   \"labels\": [{\"name\": \"queue\", \"max_values\": 10, \"pattern\": \"[a-z]+\"}]},"
    "  {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"buckets\": [0.1, 1]},"
    "  {\"name\": \"uploads\", \"type\": \"counter\"},"
    "  {\"name\": \"ml_score\", \"type\": \"gauge\", \"group\": \"ml\"},"
    "  {\"name\": \"guarded\", \"type\": \"gauge\"},"
    "  {\"name\": \"guarded_too\", \"type\": \"gauge\"},"
    "  {\"name\": \"open_to_udp\", \"type\": \"gauge\"}"
    " ],"
    " \"jobs\": {\"list\": [\"mailer\", \"deploy\"]},"
    " \"writers\": ["
    "  {\"prefix\": \"guard\", \"users\": [1001]},"
    "  {\"family\": \"guarded\", \"users\": [0], \"groups\": [2000]},"
    "  {\"family\": \"open_to_udp\", \"users\": [0], \"unauthenticated\": true},"
    "  {\"job\": \"deploy\", \"users\": [0]}"
    " ]}";

static const struct intake_sender sender = { 4242, 1001, 1002, NULL };

static void setup(void)
{
    intake_up(config_json);
}

static void teardown(void)
{
    intake_down();
}

static void take(const char *text)
{
    intake_datagram(&in, text, strlen(text), &sender, NOW_MS);
}

TestSuite(intake, .init = setup, .fini = teardown);

Test(intake, valid_lines_are_aggregated_and_read_no_clock)
{
    char *text;

    take("uploads:1|c\nuploads:2|c\r\n\nqueue_depth:7|g|#queue:mail\nlatency_seconds:0.5|h\n");
    take("uploads:4|c"); /* the same line again: the front cache's path */
    cr_assert_eq(in.count.accepted, 5);
    cr_assert_eq(intake_rejected_total(&in.count), 0);
    cr_assert_eq(rejects.total, 0);
    cr_assert_eq(clock_reads, 0, "accepted lines read the clock");
    text = intake_exposition();
    cr_assert_not_null(strstr(text, "\nuploads_total 7\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\nqueue_depth{queue=\"mail\"} 7\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\nlatency_seconds_count 1\n"), "%s", text);
    free(text);
}

Test(intake, a_datagram_longer_than_a_lookup_batch_is_taken_whole_and_in_order)
{
    struct buf d = BUF_INIT;
    char *text;
    int i;

    /* Three and a half batches of REGISTRY_FIND_MAX; a gauge keeps the last value only. */
    for (i = 0; i < REGISTRY_FIND_MAX * 7 / 2; i++)
        buf_addf(&d, "uploads:1|c\nqueue_depth:%d|g|#queue:q\n", i);
    intake_datagram(&in, d.ptr, d.len, NULL, NOW_MS);
    cr_assert_eq(in.count.accepted, (uint64_t)REGISTRY_FIND_MAX * 7);
    text = intake_exposition();
    cr_assert_not_null(strstr(text, "\nuploads_total 112\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\nqueue_depth{queue=\"q\"} 111\n"), "%s", text);
    free(text);
    buf_release(&d);
}

/* Every line of valid.tsv parses: the registry may refuse it, the parser may not. */
Test(intake, valid_tsv_lines_pass_the_parser)
{
    struct testdata t;
    struct testdata_row row;
    int r;

    testdata_open(&t, "valid.tsv");
    while (testdata_next(&t, &row)) {
        size_t len;
        char *dgram = testdata_decode(row.field[0], &len, row.lineno);
        struct intake_counters before = in.count;

        intake_datagram(&in, dgram, len, &sender, NOW_MS);
        for (r = STATSD_OK + 1; r <= STATSD_PARSER_REASON_LAST; r++)
            cr_assert_eq(in.count.rejected[r], before.rejected[r], "valid.tsv:%d: %s", row.lineno,
                         statsd_reason_name(r));
        cr_assert_eq(in.count.accepted + intake_rejected_total(&in.count),
                     before.accepted + intake_rejected_total(&before) + 1, "valid.tsv:%d",
                     row.lineno);
        free(dgram);
    }
    testdata_close(&t);
}

/* Lines the parser accepts and the daemon refuses, one per reason of the daemon's own. */
static const struct {
    const char *reason;
    const char *line;
} daemon_rejects[] = {
    { "unknown_family", "nope:1|c" },
    { "type_mismatch", "uploads:1|g" },
    { "label_not_allowed", "uploads:1|c|#k:v" },
    { "label_value_not_allowed", "requests:1|c|#method:PUT" },
    { "label_value_too_long", "requests:1|c|#code:123456789" },
    { "label_values_cap", "requests:1|c|#code:3" }, /* after codes 1 and 2 */
    { "label_value_pattern", "queue_depth:1|g|#queue:Q1" },
    { "series_cap", "queue_depth:1|g|#queue:e" }, /* after queues a to d */
    { "negative_counter", "uploads:-1|c" },
    { "non_finite_value", "uploads:1e308|c|@0.000000001" },
    { "group_excluded", "ml_score:1|g" },
    { "unknown_job", "nobody:worked|j" },
    { "invalid_job_count", "mailer:0.5|c|#outcome:worked" },
    { "sender_not_allowed", "guarded:1|g" }, /* its rule allows uid 0 and gid 2000 */
};

static void check_rejected(const char *reason, const char *line, size_t len, int lineno)
{
    int r = statsd_reason_by_name(reason);
    uint64_t before;
    const struct rejects_entry *e;

    cr_assert_gt(r, STATSD_OK, "line %d: unknown reason %s", lineno, reason);
    before = in.count.rejected[r];
    intake_datagram(&in, line, len, &sender, NOW_MS);
    cr_assert_eq(in.count.rejected[r], before + 1, "line %d: not counted as %s", lineno, reason);
    e = rejects_get(&rejects, 0);
    cr_assert_eq(e->reason, r, "line %d: the ring says %s", lineno, statsd_reason_name(e->reason));
    cr_assert_eq(e->orig_len, len);
}

Test(intake, every_reject_reason_is_counted_and_kept_in_the_ring)
{
    struct testdata t;
    struct testdata_row row;
    size_t i;
    int r;

    take("requests:1|c|#code:1\nrequests:1|c|#code:2\n"
         "queue_depth:1|g|#queue:a\nqueue_depth:1|g|#queue:b\n"
         "queue_depth:1|g|#queue:c\nqueue_depth:1|g|#queue:d\n");
    cr_assert_eq(in.count.accepted, 6);

    testdata_open(&t, "invalid.tsv");
    while (testdata_next(&t, &row)) {
        size_t len;
        char *line = testdata_decode(row.field[1], &len, row.lineno);

        check_rejected(row.field[0], line, len, row.lineno);
        free(line);
    }
    testdata_close(&t);
    for (i = 0; i < sizeof(daemon_rejects) / sizeof(daemon_rejects[0]); i++)
        check_rejected(daemon_rejects[i].reason, daemon_rejects[i].line,
                       strlen(daemon_rejects[i].line), (int)i);

    for (r = STATSD_OK + 1; r < STATSD_REASON_MAX; r++)
        cr_assert_gt(in.count.rejected[r], 0, "no line was rejected as %s", statsd_reason_name(r));
    cr_assert_eq(in.count.rejected[STATSD_OK], 0);
    cr_assert_eq(in.count.accepted, 6);
    cr_assert_eq(rejects.total, intake_rejected_total(&in.count));
}

Test(intake, the_ring_keeps_the_line_its_sender_and_the_time)
{
    const struct rejects_entry *e;
    char long_line[REJECTS_LINE_MAX + 50];

    take("uploads:1|c\nnope:1|c\nuploads:x|c\n");
    intake_datagram(&in, "anon:1|c", 8, NULL, NOW_MS);
    cr_assert_eq(rejects_count(&rejects), 3);

    e = rejects_get(&rejects, 0); /* newest first */
    cr_assert_eq(e->reason, STATSD_UNKNOWN_FAMILY);
    cr_assert_eq(e->has_cred, 0, "no credentials were given");
    cr_assert_eq(e->len, 8);
    cr_assert_eq(memcmp(e->line, "anon:1|c", 8), 0);

    e = rejects_get(&rejects, 1);
    cr_assert_eq(e->reason, STATSD_INVALID_VALUE);
    cr_assert_eq(memcmp(e->line, "uploads:x|c", 11), 0);
    cr_assert_eq(e->has_cred, 1);
    cr_assert_eq(e->pid, sender.pid);
    cr_assert_eq(e->uid, sender.uid);
    cr_assert_eq(e->time_unix, NOW_UNIX);

    e = rejects_get(&rejects, 2);
    cr_assert_eq(e->reason, STATSD_UNKNOWN_FAMILY);
    cr_assert_eq(memcmp(e->line, "nope:1|c", 8), 0);

    /* A long line is kept cut, with its length as received. */
    memset(long_line, 'a', sizeof(long_line));
    memcpy(long_line, "nope:1|c|#k:", 12);
    intake_datagram(&in, long_line, sizeof(long_line), &sender, NOW_MS);
    e = rejects_get(&rejects, 0);
    cr_assert_eq(e->len, REJECTS_LINE_MAX);
    cr_assert_eq(e->orig_len, sizeof(long_line));
}

Test(intake, job_lines_go_to_their_breaker)
{
    const struct breaker *b;

    take("mailer:worked|j\nmailer:error|j\nmailer:idle|j|#k:v\nnobody:worked|j\n");
    cr_assert_eq(in.count.accepted, 3);
    cr_assert_eq(in.count.rejected[STATSD_UNKNOWN_JOB], 1);
    b = jobs_get(&jobs, 0, NOW_MS);
    cr_assert_eq(b->attempts[0] + b->attempts[1] + b->attempts[2], 3);
    cr_assert_eq(b->errors, 1);
    cr_assert(b->has_success);
    cr_assert_eq(b->last_success_unix, NOW_UNIX, "a job report is dated by the clock");
}

/* Garbage of every kind, then one valid line: the pipeline still takes it. */
Test(intake, a_valid_line_after_garbage_is_still_counted)
{
    static const char garbage[] = "\x00\xff\xfe:|\n|||\n:::\n\r\r\n#\n_e{1,1}:a|b\n"
                                  "uploads:1|c|#\xc3\x28\n"
                                  "uploads:1|c|@2\nuploads:nan|c\nuploads:1|s\n\n\n";
    char big[STATSD_MAX_LINE + 10];
    uint64_t rejected;

    intake_datagram(&in, garbage, sizeof(garbage) - 1, &sender, NOW_MS);
    memset(big, 'x', sizeof(big));
    intake_datagram(&in, big, sizeof(big), &sender, NOW_MS);
    intake_datagram(&in, "", 0, &sender, NOW_MS);
    rejected = intake_rejected_total(&in.count);
    cr_assert_geq(rejected, 10);
    cr_assert_eq(in.count.rejected[STATSD_LINE_TOO_LONG], 1);
    cr_assert_eq(in.count.accepted, 0);

    take("uploads:1|c");
    cr_assert_eq(in.count.accepted, 1);
    cr_assert_eq(intake_rejected_total(&in.count), rejected);
}

/* A UDP line has no credentials: the ring keeps its source address, in fixed storage. */
Test(intake, the_ring_keeps_a_udp_senders_address)
{
    union netaddr src4, src6;
    struct intake_sender from = { 0, 0, 0, NULL };
    const struct rejects_entry *e;
    char text[NETADDR_TEXT_MAX];

    cr_assert_eq(netaddr_parse("127.0.0.1:53211", &src4), 0);
    cr_assert_eq(netaddr_parse("[::1]:53212", &src6), 0);
    from.addr = &src4.sa;
    intake_datagram(&in, "nope:1|c", 8, &from, NOW_MS);
    from.addr = &src6.sa;
    intake_datagram(&in, "nope:2|c", 8, &from, NOW_MS);
    intake_datagram(&in, "nope:3|c", 8, &sender, NOW_MS);

    e = rejects_get(&rejects, 2);
    cr_assert_eq(e->has_cred, 0, "UDP carries no credentials");
    cr_assert_eq(e->has_src, 1);
    cr_assert_str_eq(netaddr_format(&e->src.sa, text, sizeof(text)), "127.0.0.1:53211");
    e = rejects_get(&rejects, 1);
    cr_assert_eq(e->has_src, 1);
    cr_assert_str_eq(netaddr_format(&e->src.sa, text, sizeof(text)), "[::1]:53212");
    e = rejects_get(&rejects, 0);
    cr_assert_eq(e->has_src, 0, "a Unix line has credentials, not an address");
    cr_assert_eq(e->has_cred, 1);
}

/*
 * With a sender table, every datagram with credentials records its sender, rejected or
 * not; a UDP datagram or one without credentials records nobody. Without one, nothing.
 */
Test(intake, records_unix_senders_when_tracking)
{
    union netaddr src;
    struct intake_sender udp = { 0, 0, 0, NULL };
    struct intake_sender other = { 4343, 1001, 1002, NULL };
    struct senders tbl;
    const struct senders_entry *e;

    cr_assert_null(in.senders, "off unless the owner turns it on");
    senders_init(&tbl);
    take("uploads:1|c");
    cr_assert_eq(tbl.n, 0);

    in.senders = &tbl;
    take("uploads:1|c");
    intake_datagram(&in, "nope", 4, &other, NOW_MS + 7);
    e = senders_find(&tbl, 4242);
    cr_assert_not_null(e);
    cr_assert_eq(e->uid, 1001);
    cr_assert_eq(e->gid, 1002);
    cr_assert_eq(e->last_seen_ms, NOW_MS);
    cr_assert_eq(senders_find(&tbl, 4343)->last_seen_ms, NOW_MS + 7);

    cr_assert_eq(netaddr_parse("127.0.0.1:53211", &src), 0);
    udp.addr = &src.sa;
    intake_datagram(&in, "uploads:1|c", 11, &udp, NOW_MS);
    intake_datagram(&in, "uploads:1|c", 11, NULL, NOW_MS);
    cr_assert_eq(tbl.n, 2);
    cr_assert_eq(in.count.accepted, 4);
    senders_release(&tbl);
}

/* ---- the writer policy ---- */

static const struct intake_sender root_sender = { 7, 0, 0, NULL };
static const struct intake_sender group_sender = { 8, 5000, 2000, NULL };

static double gauge(const char *name)
{
    char *text = intake_exposition(), want[64], *p;
    double v = -1;

    snprintf(want, sizeof(want), "\n%s ", name);
    p = strstr(text, want);
    if (p != NULL)
        v = strtod(p + strlen(want), NULL);
    free(text);
    return v;
}

Test(intake, a_line_to_a_guarded_family_from_another_uid_is_refused_alone)
{
    const struct rejects_entry *e;

    /* uid 1001: "guarded" has its own rule (the prefix rule would allow it), the rest not. */
    take("guarded:5|g\nuploads:1|c\nguarded_too:2|g\n");
    cr_assert_eq(in.count.rejected[STATSD_SENDER_NOT_ALLOWED], 1);
    cr_assert_eq(in.count.accepted, 2, "the datagram's other lines count");
    cr_assert_eq(gauge("guarded"), -1, "a refused line created a series");
    cr_assert_eq(gauge("guarded_too"), 2);
    e = rejects_get(&rejects, 0);
    cr_assert_eq(e->reason, STATSD_SENDER_NOT_ALLOWED);
    cr_assert_eq(e->has_cred, 1);
    cr_assert_eq(e->uid, 1001);
    cr_assert_eq(e->pid, 4242);
    cr_assert_eq(memcmp(e->line, "guarded:5|g", 11), 0);
}

Test(intake, the_front_caches_path_checks_the_sender_too)
{
    intake_datagram(&in, "guarded:5|g", 11, &root_sender, NOW_MS);
    cr_assert_eq(in.count.accepted, 1);
    /* The same bytes again: now a hit of the front cache, which the policy still sees. */
    take("guarded:9|g");
    cr_assert_eq(in.count.rejected[STATSD_SENDER_NOT_ALLOWED], 1);
    cr_assert_eq(gauge("guarded"), 5);
    intake_datagram(&in, "guarded:7|g", 11, &group_sender, NOW_MS);
    cr_assert_eq(in.count.accepted, 2, "the rule's gid is allowed");
    cr_assert_eq(gauge("guarded"), 7);
    /* A hit whose values do not parse goes the long way, and is refused there. */
    take("guarded:x|g");
    cr_assert_eq(in.count.rejected[STATSD_SENDER_NOT_ALLOWED], 2);
}

Test(intake, lines_without_credentials_follow_unauthenticated)
{
    union netaddr src;
    struct intake_sender udp = { 0, 0, 0, NULL };
    static const char d1[] = "guarded:1|g\nopen_to_udp:3|g\nuploads:1|c";
    static const char d2[] = "guarded_too:1|g\nopen_to_udp:4|g";

    cr_assert_eq(netaddr_parse("127.0.0.1:5000", &src), 0);
    udp.addr = &src.sa;
    /* uid 0 would be allowed on both guarded families: a UDP sender has no uid. */
    intake_datagram(&in, d1, strlen(d1), &udp, NOW_MS);
    cr_assert_eq(in.count.rejected[STATSD_SENDER_NOT_ALLOWED], 1);
    cr_assert_eq(in.count.accepted, 2);
    cr_assert_eq(rejects_get(&rejects, 0)->has_cred, 0);
    cr_assert_eq(rejects_get(&rejects, 0)->has_src, 1);
    intake_datagram(&in, d2, strlen(d2), NULL, NOW_MS);
    cr_assert_eq(in.count.rejected[STATSD_SENDER_NOT_ALLOWED], 2);
    cr_assert_eq(gauge("open_to_udp"), 4);
}

Test(intake, a_job_line_from_a_sender_not_allowed_leaves_the_breaker_alone)
{
    const struct breaker *b;

    take("deploy:error|j\ndeploy:error|j\nmailer:error|j\n");
    cr_assert_eq(in.count.rejected[STATSD_SENDER_NOT_ALLOWED], 2);
    cr_assert_eq(in.count.accepted, 1, "an unguarded job counts");
    b = jobs_get(&jobs, 1, NOW_MS);
    cr_assert_eq(b->errors, 0);
    cr_assert_eq(b->consecutive_failures, 0);
    intake_datagram(&in, "deploy:error|j", 14, &root_sender, NOW_MS);
    b = jobs_get(&jobs, 1, NOW_MS);
    cr_assert_eq(b->errors, 1);
}

Test(intake, a_reload_that_drops_the_rules_lets_every_sender_in)
{
    static const char open_json[] = "{\"families\": [{\"name\": \"guarded\", \"type\": \"gauge\"}],"
                                    " \"jobs\": {\"list\": [\"deploy\"]}}";
    struct config next;
    struct registry_reload rr;
    char err[256];

    take("guarded:1|g\ndeploy:error|j");
    cr_assert_eq(in.count.rejected[STATSD_SENDER_NOT_ALLOWED], 2);
    cr_assert_eq(cfgload_text(&next, open_json, strlen(open_json), "next", err, sizeof(err)), 0,
                 "%s", err);
    registry_reconfigure(&reg, &next, &rr);
    jobs_reconfigure(&jobs, &next, NOW_MS);
    cfgload_release(&cfg);
    cfg = next; /* teardown releases it */
    registry_reconfigure(&reg, &cfg, &rr);
    jobs_reconfigure(&jobs, &cfg, NOW_MS);
    take("guarded:1|g\ndeploy:error|j");
    cr_assert_eq(in.count.rejected[STATSD_SENDER_NOT_ALLOWED], 2);
    cr_assert_eq(in.count.accepted, 2);
}

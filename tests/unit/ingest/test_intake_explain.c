/*
 * intake_explain(), the verdict `ustatsd explain` prints: for every line, the same reason
 * intake_datagram() then counts the line under, and nothing changed by asking. Lines: the
 * wire vectors, the seeds' traffic with mutations (values, names, tag values, extra tags)
 * against each seed's config, and a line per reason of the daemon's own.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfgload.h"
#include "ingest/intake.h"
#include "statsd.h"
#include "intake_fixture.h"
#include "testdata.h"

static const char config_json[] =
    "{\"limits\": {\"max_series\": 14, \"max_series_per_family\": 4,"
    "              \"max_label_value_length\": 8},"
    " \"groups\": {\"exclude\": [\"ml\"]},"
    " \"clients\": {\"strip_tags\": [\"env\"]},"
    " \"families\": ["
    "  {\"name\": \"requests\", \"type\": \"counter\","
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]},"
    "              {\"name\": \"code\", \"max_values\": 2}]},"
    "  {\"name\": \"queue_depth\", \"type\": \"gauge\", \"updown\": true,"
    "   \"labels\": [{\"name\": \"queue\", \"max_values\": 10, \"pattern\": \"[a-z]+\"}]},"
    "  {\"name\": \"latency_seconds\", \"type\": \"histogram\", \"buckets\": [0.1, 1],"
    "   \"undeclared_labels\": \"drop\","
    "   \"labels\": [{\"name\": \"route\", \"max_values\": 2, \"overflow\": \"other\"}]},"
    "  {\"name\": \"uploads\", \"type\": \"counter\"},"
    "  {\"name\": \"ml_score\", \"type\": \"gauge\", \"group\": \"ml\"},"
    "  {\"name\": \"guarded\", \"type\": \"gauge\"}"
    " ],"
    " \"jobs\": {\"list\": [\"mailer\", {\"name\": \"deploy\", \"counter\": {\"name\": "
    "\"deploys\"}}]},"
    " \"writers\": ["
    "  {\"family\": \"guarded\", \"users\": [0]},"
    "  {\"job\": \"deploy\", \"users\": [0]}"
    " ]}";

static const struct intake_sender sender = { 4242, 1001, 1002, NULL };

/* The reason intake_datagram() counted one line under: STATSD_OK when accepted. */
static int counted(const struct intake_counters *before)
{
    if (in.count.accepted != before->accepted)
        return STATSD_OK;
    for (int r = STATSD_OK + 1; r < STATSD_REASON_MAX; r++)
        if (in.count.rejected[r] != before->rejected[r])
            return r;
    return -1;
}

/* Ask, check nothing moved, then send: the verdict and the count agree. */
static int agree(const char *line, size_t len, const char *where)
{
    struct intake_verdict v;
    struct intake_counters before = in.count;
    size_t series = registry_series_total(&reg), mem = registry_memory(&reg);
    uint64_t rejected = rejects.total;
    int r;

    r = intake_explain(&in, line, len, &sender, NOW_MS, &v);
    cr_assert_eq(r, v.reason);
    cr_assert_eq(registry_series_total(&reg), series, "%s: asking created a series", where);
    cr_assert_eq(registry_memory(&reg), mem, "%s: asking took memory", where);
    cr_assert_eq(rejects.total, rejected);
    cr_assert_eq(memcmp(&before, &in.count, sizeof before), 0, "%s: asking counted", where);
    intake_datagram(&in, line, len, &sender, NOW_MS);
    cr_assert_eq(counted(&before), r, "%s: \"%.*s\": explained %s, counted %s", where, (int)len,
                 line, statsd_reason_name(r), statsd_reason_name(counted(&before)));
    return r;
}

/* The first line of a datagram (a vector may end in "\n" or "\r\n"). */
static size_t first_line(const char *dgram, size_t len, const char **line)
{
    struct statsd_view v = { dgram, 0 };
    size_t pos = 0;

    if (statsd_next_line(dgram, len, &pos, &v) == 0)
        v.len = 0;
    *line = v.ptr;
    return v.len;
}

Test(intake_explain, the_wire_vectors_get_the_verdict_they_are_counted_under)
{
    struct testdata t;
    struct testdata_row row;
    char where[64];
    unsigned seen = 0;

    intake_up(config_json);
    testdata_open(&t, "valid.tsv");
    while (testdata_next(&t, &row)) {
        size_t len;
        char *dgram = testdata_decode(row.field[0], &len, row.lineno);
        const char *line;
        size_t n = first_line(dgram, len, &line);

        snprintf(where, sizeof where, "valid.tsv:%d", row.lineno);
        if (n > 0)
            seen |= 1u << (agree(line, n, where) == STATSD_OK);
        free(dgram);
    }
    testdata_close(&t);
    testdata_open(&t, "invalid.tsv");
    while (testdata_next(&t, &row)) {
        size_t len;
        char *line = testdata_decode(row.field[1], &len, row.lineno);

        snprintf(where, sizeof where, "invalid.tsv:%d", row.lineno);
        cr_assert_eq(agree(line, len, where), statsd_reason_by_name(row.field[0]), "%s", where);
        free(line);
    }
    testdata_close(&t);
    cr_assert_eq(seen, 3u, "the vectors gave both verdicts");
    intake_down();
}

/* A line per reason of the daemon's, and accepted ones that cost something. */
static const struct {
    const char *line;
    const char *reason;
    long tag; /* the tag at fault, -1: none */
} lines[] = {
    { "nope:1|c", "unknown_family", -1 },
    { "uploads:1|g", "type_mismatch", -1 },
    { "requests:1|c|#method:GET,flavour:x", "label_not_allowed", 1 },
    { "requests:1|c|#method:GET,code:200", "ok", -1 },
    { "requests:1|c|#method:PUT", "label_value_not_allowed", 0 },
    { "requests:1|c|#code:123456789", "label_value_too_long", 0 },
    { "requests:1|c|#code:201", "ok", -1 },
    { "requests:1|c|#code:202", "label_values_cap", 0 },
    { "requests:1|c|#code:200,method:GET,code:201", "duplicate_tag", -1 }, /* the parser's */
    { "queue_depth:1|g|#queue:a1", "label_value_pattern", 0 },
    { "queue_depth:-1|c|#queue:mail", "ok", -1 },
    { "uploads:-1|c", "negative_counter", -1 },
    { "ml_score:1|g", "group_excluded", -1 },
    { "nobody:worked|j", "unknown_job", -1 },
    { "mailer:worked|j", "ok", -1 },
    { "deploy:error|j", "sender_not_allowed", -1 },
    { "deploys:1|c|#outcome:maybe", "sender_not_allowed", -1 },
    { "mailer:1|c|#outcome:maybe", "invalid_job_outcome", -1 },
    { "mailer:0.5|c|#outcome:error", "invalid_job_count", -1 },
    { "guarded:1|g", "sender_not_allowed", -1 },
    { "latency_seconds:0.2|h|#route:/a,env:prod,extra:1", "ok", -1 },
    { "latency_seconds:0.2|h|#route:/b", "ok", -1 },
    { "latency_seconds:0.2|h|#route:/c", "ok", -1 },
    { "requests:1|c", "ok", -1 },
    { "requests:1|c|#method:POST", "ok", -1 },
    { "requests:1|c|#method:POST,code:200", "series_cap", -1 },
    { "uploads:1e308|c", "ok", -1 },
    { "uploads:1e308|c", "non_finite_value", -1 },
};

Test(intake_explain, every_reason_of_the_daemon_with_the_tag_at_fault)
{
    char where[32];

    intake_up(config_json);
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        struct intake_verdict v;
        const char *l = lines[i].line;

        snprintf(where, sizeof where, "line %zu", i);
        intake_explain(&in, l, strlen(l), &sender, NOW_MS, &v);
        cr_assert_eq(v.fam.tag, lines[i].tag, "%s: tag %ld", l, v.fam.tag);
        cr_assert_str_eq(statsd_reason_name(agree(l, strlen(l), where)), lines[i].reason, "%s", l);
    }
    intake_down();
}

Test(intake_explain, an_accepted_line_spells_its_series_labels_as_exposed)
{
    struct intake_verdict v;
    const char *l = "latency_seconds:0.2|h|#env:prod,route:/x,extra:1";

    intake_up(config_json);
    agree("latency_seconds:1|h|#route:/a", 29, "a");
    agree("latency_seconds:1|h|#route:/b", 29, "b");
    cr_assert_eq(intake_explain(&in, l, strlen(l), &sender, NOW_MS, &v), STATSD_OK);
    cr_assert_eq(v.fam.nlabels, 1);
    cr_assert_str_eq(v.fam.labels[0].name, "route");
    cr_assert_eq(v.fam.labels[0].value_len, 5);
    cr_assert(memcmp(v.fam.labels[0].value, "other", 5) == 0, "folded into the overflow value");
    cr_assert_eq(v.fam.folded[0], CONFIG_FOLD_CAP);
    cr_assert_eq(v.fam.stripped, 1u);
    cr_assert_eq(v.fam.dropped, 1u);
    cr_assert_eq(v.fam.new_series, 1);
    l = "latency_seconds:1|h|#route:/a";
    cr_assert_eq(intake_explain(&in, l, strlen(l), &sender, NOW_MS, &v), STATSD_OK);
    cr_assert_eq(v.fam.new_series, 0, "the series exists");
    cr_assert_eq(v.fam.fresh, 0u);
    intake_down();
}

/* A seed's line, changed: the value, the name, a tag's value, a tag more. */
static void mutations(const char *line, size_t len, char out[5][4400])
{
    const char *colon = memchr(line, ':', len), *bar = memchr(line, '|', len);
    const char *hash = memmem(line, len, "|#", 2);
    int nl = colon ? (int)(colon - line) : (int)len;

    snprintf(out[0], 4400, "%.*s", (int)len, line);
    snprintf(out[1], 4400, "%.*s:-1%.*s", nl, line, bar ? (int)(line + len - bar) : 0, bar);
    snprintf(out[2], 4400, "%.*sx%.*s", nl, line, (int)len - nl, line + nl);
    if (hash != NULL) {
        const char *c2 = memchr(hash, ':', (size_t)(line + len - hash));
        int upto = c2 ? (int)(c2 - line) + 1 : (int)len;

        snprintf(out[3], 4400, "%.*sZ%.*s", upto, line, (int)len - upto, line + upto);
    } else {
        snprintf(out[3], 4400, "%.*s|#a:b", (int)len, line);
    }
    snprintf(out[4], 4400, "%.*s%sbogus_key:1", (int)len, line, hash ? "," : "|#");
}

Test(intake_explain, the_seeds_traffic_and_its_mutations_against_each_seeds_config)
{
    static const char *const seeds[] = { "000-imgsrv", "001-imgforge", "002-connaisseur",
                                         "003-gallery", "004-inference" };
    uint64_t reasons = 0;

    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
        char path[512], err[1024], buf[4200], muts[5][4400], where[400];
        FILE *f;

        snprintf(path, sizeof path, "%s/packaging/seeds/%s/ustatsd.json", USTATSD_SOURCE_DIR,
                 seeds[s]);
        memset(&cfg, 0, sizeof cfg);
        cr_assert_eq(cfgload_file(&cfg, path, err, sizeof err), 0, "%s", err);
        registry_init(&reg, &cfg);
        jobs_init(&jobs, &cfg, 0);
        rejects_init(&rejects);
        intake_init(&in, &reg, &jobs, &rejects, fake_clock, NULL);
        snprintf(path, sizeof path, "%s/tests/seeds/%s/lines.txt", USTATSD_SOURCE_DIR, seeds[s]);
        f = fopen(path, "r");
        cr_assert_not_null(f, "%s", path);
        while (fgets(buf, sizeof buf, f) != NULL) {
            size_t len = strcspn(buf, "\n");

            if (len == 0 || buf[0] == '#')
                continue;
            mutations(buf, len, muts);
            for (int m = 0; m < 5; m++) {
                snprintf(where, sizeof where, "%s: %.300s", seeds[s], muts[m]);
                reasons |= 1ull << agree(muts[m], strlen(muts[m]), where);
            }
        }
        fclose(f);
        intake_down();
    }
    cr_assert(reasons & (1ull << STATSD_OK));
    cr_assert(reasons & (1ull << STATSD_UNKNOWN_FAMILY));
}

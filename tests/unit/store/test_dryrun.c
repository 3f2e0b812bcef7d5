/*
 * registry_dry_run(): registry_apply()'s verdict, without its effects. Every line below
 * is first judged, then applied: the reasons agree, and judging changed nothing.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "store/dryrun.h"
#include "registry_fixture.h"

TestSuite(dryrun, .init = setup, .fini = teardown);

/* Judge text at now, check that nothing moved, apply it: the two verdicts agree. */
static int judge_then_apply(const char *text, uint64_t now, struct registry_dryrun *d)
{
    struct statsd_line l;
    size_t series = registry_series_total(&reg), mem = registry_memory(&reg);
    int r;

    cr_assert_eq(statsd_parse_line(text, strlen(text), &l), STATSD_OK, "%s", text);
    r = registry_dry_run(&reg, &l, now, d);
    cr_assert_eq(r, d->reason);
    cr_assert_eq(registry_series_total(&reg), series, "%s: judging made a series", text);
    cr_assert_eq(registry_memory(&reg), mem, "%s: judging took memory", text);
    cr_assert_eq(registry_apply(&reg, &l, now), r, "%s: judged %s", text, statsd_reason_name(r));
    return r;
}

Test(dryrun, agrees_with_apply_line_after_line)
{
    static const char *const lines[] = {
        "requests:1|c|#method:GET,status_code:200",
        "requests:1|c|#method:GET,status_code:200",
        "requests:1|c|#method:PUT",
        "requests:1|c|#status_code:201",
        "requests:1|c|#status_code:202",
        "requests:1|c|#status_code:203",
        "requests:1|c|#status_code:12345678901234567",
        "requests:1|c|#flavour:x",
        "requests:-1|c",
        "requests:1|g",
        "nope:1|c",
        "ml_infer_ms:1|ms",
        "queue_depth:+1|g|#queue:a",
        "queue_depth:-2|c|#queue:a",
        "latency_seconds:0.2:0.7|h|#route:/x",
        "proc_ms:12|ms",
        "uploads:1e308|c",
        "uploads:1e308|c",
    };
    struct registry_dryrun d;
    uint64_t reasons = 0;

    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        reasons |= 1ull << judge_then_apply(lines[i], 1000, &d);
    cr_assert(reasons & (1ull << STATSD_OK));
    cr_assert(reasons & (1ull << STATSD_LABEL_VALUES_CAP));
    cr_assert(reasons & (1ull << STATSD_NON_FINITE));
    /* Every combination of the values held: 12, past the family's cap of 10 series. */
    for (int m = 0; m < 3; m++)
        for (int c = 0; c < 4; c++) {
            static const char *const ms[] = { "", "method:GET", "method:POST" };
            static const char *const cs[] = { "", "status_code:200", "status_code:201",
                                              "status_code:202" };
            char line[96];

            snprintf(line, sizeof line, "requests:1|c|#%s%s%s", ms[m], m && c ? "," : "", cs[c]);
            if (m == 0 && c == 0)
                snprintf(line, sizeof line, "requests:1|c");
            reasons |= 1ull << judge_then_apply(line, 1000, &d);
        }
    cr_assert(reasons & (1ull << STATSD_SERIES_CAP));
    cr_assert_eq(d.new_series, 1);
}

Test(dryrun, names_the_tag_at_fault_and_its_label)
{
    struct registry_dryrun d;

    judge_then_apply("requests:1|c|#method:GET,status_code:7,method2:x", 1000, &d);
    cr_assert_eq(d.reason, STATSD_LABEL_NOT_ALLOWED);
    cr_assert_eq(d.tag, 2);
    cr_assert_eq(d.label, -1, "an undeclared key is no label");
    judge_then_apply("requests:1|c|#status_code:7,method:PATCH", 1000, &d);
    cr_assert_eq(d.reason, STATSD_LABEL_VALUE_NOT_ALLOWED);
    cr_assert_eq(d.tag, 1);
    cr_assert_eq(d.label, 0);
}

Test(dryrun, spells_the_series_and_what_is_new)
{
    struct registry_dryrun d;

    judge_then_apply("requests:1|c|#status_code:200,method:GET", 1000, &d);
    cr_assert_eq(d.reason, STATSD_OK);
    cr_assert_eq(d.new_series, 1);
    cr_assert_eq(d.fresh, 1u << 1, "status_code's value is new, GET is enumerated");
    cr_assert_eq(d.nlabels, 2);
    cr_assert_str_eq(d.labels[0].name, "method");
    cr_assert_eq(d.labels[0].value_len, 3);
    cr_assert(memcmp(d.labels[0].value, "GET", 3) == 0);
    cr_assert_str_eq(d.labels[1].name, "status_code");
    cr_assert(memcmp(d.labels[1].value, "200", 3) == 0);
    judge_then_apply("requests:1|c|#status_code:200,method:GET", 1000, &d);
    cr_assert_eq(d.new_series, 0);
    cr_assert_eq(d.fresh, 0u);
}

Test(dryrun, says_when_expired_series_could_make_room)
{
    struct registry_dryrun d;
    struct statsd_line l;
    const char *text = "queue_depth:1|g|#queue:e";

    for (int i = 0; i < 4; i++) {
        char line[64];

        snprintf(line, sizeof line, "queue_depth:1|g|#queue:q%d", i);
        judge_then_apply(line, 1000, &d);
    }
    cr_assert_eq(statsd_parse_line(text, strlen(text), &l), STATSD_OK);
    cr_assert_eq(registry_dry_run(&reg, &l, 2000, &d), STATSD_LABEL_VALUES_CAP);
    cr_assert_eq(d.reclaim, 0, "nothing has expired yet");
    /* 60 s ttl: by then apply frees the idle series first, and takes the line. */
    cr_assert_eq(registry_dry_run(&reg, &l, 1000 + 61000, &d), STATSD_LABEL_VALUES_CAP);
    cr_assert_eq(d.reclaim, 1);
    cr_assert_eq(registry_apply(&reg, &l, 1000 + 61000), STATSD_OK);
}

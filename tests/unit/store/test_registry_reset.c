/*
 * registry_reset(): a registry emptied in place behaves, line for line and byte for byte
 * of its exposition, as a fresh one on the same config: no series but the zero ones, the
 * caps free again, the policy counts at zero, label values listed in the order of their
 * arrival, the front cache empty, the zero series dated by the clock, and the series of
 * families a reload retired freed.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "reload_fixture.h"

static const char *const session[] = {
    "requests:1|c|#method:GET,status_code:200",
    "requests:1|c|#method:POST,status_code:500",
    "requests:1|c|#method:GET,status_code:404",
    "requests:1|c|#method:GET,status_code:403", /* the fourth value: capped */
    "queue_depth:3|g|#queue:a",
    "queue_depth:-1|c|#queue:b",
    "latency_seconds:0.3|h|#route:x",
    "latency_seconds:0.3|h|#route:y",
    "proc_ms:12|ms",
    "uploads:2|c",
    "uploads:2|c",
};
#define NSESSION (sizeof session / sizeof *session)

/* As the daemon takes a line: the front cache first, the full parse on a miss. */
static int take(struct registry *r, const char *t)
{
    struct statsd_line l;
    int rc = registry_apply_raw(r, t, strlen(t), 1000);

    if (rc != REGISTRY_MISS)
        return rc;
    cr_assert_eq(statsd_parse_line(t, strlen(t), &l), STATSD_OK);
    return registry_apply(r, &l, 1000);
}

/* Feed the session, each line twice (the second time it may hit the front cache). */
static void run_session(struct registry *r, int *verdicts)
{
    for (size_t i = 0; i < NSESSION; i++) {
        verdicts[i] = take(r, session[i]);
        cr_assert_eq(take(r, session[i]), verdicts[i], "%s", session[i]);
    }
}

static char *render_of(struct registry *r)
{
    struct buf out = BUF_INIT;
    struct render rd;

    render_init(&rd, r, EXPO_OPENMETRICS);
    while (render_step(&rd, &out, 1000, 5000))
        ;
    render_release(&rd);
    buf_addch(&out, '\0');
    return out.ptr;
}

/* Every value of every key, in the order registry_label_value_next() lists them. */
static void values_of(struct registry *r, char *out, size_t cap)
{
    size_t n = 0;

    out[0] = '\0';
    for (size_t f = 0; f < registry_nfamilies(r); f++)
        for (size_t k = 0; k < registry_family_config(r, f)->nlabels; k++) {
            size_t it = 0, len;
            const char *v;

            while (registry_label_value_next(r, f, k, &it, &v, &len))
                n += (size_t)snprintf(out + n, cap - n, "%zu.%zu=%.*s ", f, k, (int)len, v);
        }
}

static uint64_t now_ms;

static uint64_t clock_ms(void *arg)
{
    (void)arg;
    return now_ms;
}

Test(registry_reset, a_reset_registry_is_a_fresh_one, .init = setup, .fini = teardown)
{
    struct registry fresh;
    int first[NSESSION], again[NSESSION], want[NSESSION];
    char *a, *b, va[2048], vb[2048];

    run_session(&reg, first);
    cr_assert_neq(first[3], STATSD_OK, "the fourth status_code is over the cap");
    cr_assert_gt(registry_series_total(&reg), 2);

    registry_reset(&reg);
    cr_assert_eq(registry_init(&fresh, &cfg), 0);
    cr_assert_eq(registry_series_total(&reg), registry_series_total(&fresh));
    a = render_of(&reg);
    b = render_of(&fresh);
    cr_assert_str_eq(a, b, "emptied");
    free(a);
    free(b);

    /* The same session again: the same verdicts, series, values and exposition. */
    run_session(&reg, again);
    run_session(&fresh, want);
    cr_assert_arr_eq(again, want, sizeof want);
    cr_assert_arr_eq(again, first, sizeof first);
    values_of(&reg, va, sizeof va);
    values_of(&fresh, vb, sizeof vb);
    cr_assert_str_eq(va, vb, "label values listed in the same order");
    a = render_of(&reg);
    b = render_of(&fresh);
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
    registry_release(&fresh);
}

Test(registry_reset, policy_counts_start_again_at_zero)
{
    static const char json[] =
        "{\"clients\": {\"strip_tags\": [\"env\"]},"
        " \"families\": [{\"name\": \"hits\", \"type\": \"counter\", \"undeclared_labels\": "
        "\"drop\", \"labels\": [{\"name\": \"code\", \"max_values\": 1, \"overflow\": "
        "\"other\"}]}]}";

    load(json);
    cr_assert_eq(feed("hits:1|c|#env:prod,code:200,zone:a"), STATSD_OK);
    cr_assert_eq(feed("hits:1|c|#code:500"), STATSD_OK, "folded into other");
    cr_assert_eq(registry_tags_stripped(&reg, 0), 1);
    cr_assert_eq(registry_labels_dropped(&reg, 0), 1);
    cr_assert_eq(registry_values_folded(&reg, 0, 0, CONFIG_FOLD_CAP), 1);
    cr_assert_eq(registry_family_lines(&reg, 0), 2);
    registry_reset(&reg);
    cr_assert_eq(registry_family_lines(&reg, 0), 0);
    cr_assert_eq(registry_tags_stripped(&reg, 0), 0);
    cr_assert_eq(registry_labels_dropped(&reg, 0), 0);
    cr_assert_eq(registry_values_folded(&reg, 0, 0, CONFIG_FOLD_CAP), 0);
    cr_assert_eq(registry_series_total(&reg), 0);
    cr_assert_eq(feed("hits:1|c|#code:500"), STATSD_OK);
    cr_assert_eq(value_of(0, "code=500"), 1, "the cap is free again: not folded");
    teardown();
}

Test(registry_reset, zero_series_are_dated_by_the_clock, .init = setup, .fini = teardown)
{
    struct registry_sample s;

    now_ms = 1700000000000;
    registry_set_clock(&reg, clock_ms, NULL);
    cr_assert_eq(feed("uploads:1|c"), STATSD_OK);
    now_ms += 60000;
    registry_reset(&reg);
    cr_assert(find(F_UPLOADS, "", &s));
    cr_assert_eq(s.value, 0);
    cr_assert_eq(s.created_ms, now_ms, "as registry_set_clock() dates a fresh one");
    cr_assert(!find(F_QUEUE, "queue=a", &s));
}

Test(registry_reset, series_a_reload_retired_are_freed, .init = setup, .fini = teardown_reload)
{
    struct registry_reload rr;

    cr_assert_eq(feed("requests:1|c|#method:GET"), STATSD_OK);
    cr_assert_eq(feed("queue_depth:1|g|#queue:a"), STATSD_OK);
    rr = reload("{\"families\": [{\"name\": \"uploads\", \"type\": \"counter\"}]}");
    cr_assert_eq(rr.removed, 5, "all but uploads (and the client telemetry's)");
    cr_assert_gt(registry_series_retired(&reg), 1, "retired, not yet drained");
    registry_reset(&reg);
    cr_assert_eq(registry_series_retired(&reg), 0);
    cr_assert_eq(registry_series_total(&reg), 1, "the zero series of uploads");
    cr_assert_eq(feed("uploads:2|c"), STATSD_OK);
    cr_assert_eq(value_of(registry_find_family(&reg, "uploads", 7), ""), 2);
}

#include "selfcheck.h"

#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "exposcan.h"
#include "statsd.h"

/* The number at a dotted path ("daemon.reloads.failed"); booleans read as 1 and 0. */
static double json_at(json_t *j, const char *path)
{
    char key[128];
    const char *p = path, *dot;

    while (j != NULL && (dot = strchr(p, '.')) != NULL) {
        snprintf(key, sizeof(key), "%.*s", (int)(dot - p), p);
        j = json_object_get(j, key);
        p = dot + 1;
    }
    j = json_object_get(j, p);
    if (json_is_boolean(j))
        return json_is_true(j);
    return json_is_number(j) ? json_number_value(j) : NAN;
}

static double expected(const struct selfmetrics *s, const struct selfmetrics_field *f, int reason)
{
    const char *p = (const char *)s + f->offset;

    switch (f->kind) {
    case SELFMETRICS_U64:
    case SELFMETRICS_UDP_U64:
    case SELFMETRICS_STATE_U64:
    case SELFMETRICS_TLS_U64:
        return (double)*(const uint64_t *)(const void *)p;
    case SELFMETRICS_LONG:
        return (double)*(const long *)(const void *)p;
    case SELFMETRICS_DOUBLE:
        return *(const double *)(const void *)p;
    case SELFMETRICS_REASONS:
    case SELFMETRICS_STATE_DROPS:
        return (double)((const uint64_t *)(const void *)p)[reason];
    case SELFMETRICS_NULL_IS_TRUE:
        return *(const char *const *)(const void *)p == NULL;
    }
    return NAN;
}

static void check_one(const char *om, json_t *j, const char *sample, const char *path, double want)
{
    if (isnan(want))
        want = json_at(j, path);
    cr_assert_eq(expo_value(om, sample), want, "/metrics %s: %g, want %g", sample,
                 expo_value(om, sample), want);
    cr_assert_eq(json_at(j, path), want, "/debug %s: %g, want %g", path, json_at(j, path), want);
}

/* tmpl with its "%s" replaced by name. */
static void expand(char *out, size_t cap, const char *tmpl, const char *name)
{
    const char *at = strstr(tmpl, "%s");

    cr_assert_not_null(at, "%s", tmpl);
    snprintf(out, cap, "%.*s%s%s", (int)(at - tmpl), tmpl, name, at + 2);
}

/* A value shown only while UDP (or the state file) is on is absent from both views while off. */
static void check_absent(const char *om, json_t *j, const char *sample, const char *path)
{
    cr_assert(isnan(expo_value(om, sample)), "/metrics has %s with UDP off", sample);
    cr_assert(isnan(json_at(j, path)), "/debug has %s with UDP off", path);
}

void selfcheck_agree(const char *om, json_t *j, const struct selfmetrics *s)
{
    char sample[160], path[160];
    size_t i;
    int r;
    /* Without a snapshot, /debug says whether UDP is on: ingest.udp is an object or null. */
    int udp_on =
        s ? s->udp_on : json_is_object(json_object_get(json_object_get(j, "ingest"), "udp"));
    int state_on =
        s ? s->state.on : json_is_object(json_object_get(json_object_get(j, "daemon"), "state"));
    int tls_on =
        s ? s->tls.on : json_is_object(json_object_get(json_object_get(j, "daemon"), "tls"));

    for (i = 0; i < selfmetrics_nfields; i++) {
        const struct selfmetrics_field *f = &selfmetrics_fields[i];

        if ((f->kind == SELFMETRICS_UDP_U64 && !udp_on) ||
            (f->kind == SELFMETRICS_STATE_U64 && !state_on) ||
            (f->kind == SELFMETRICS_TLS_U64 && !tls_on)) {
            check_absent(om, j, f->sample, f->path);
            continue;
        }
        if (f->kind == SELFMETRICS_STATE_DROPS) {
            for (r = 0; r < RECORDS_DROP_MAX; r++) {
                expand(sample, sizeof(sample), f->sample, records_drop_name((enum records_drop)r));
                expand(path, sizeof(path), f->path, records_drop_name((enum records_drop)r));
                if (state_on)
                    check_one(om, j, sample, path, s ? expected(s, f, r) : NAN);
                else
                    check_absent(om, j, sample, path);
            }
            continue;
        }
        if (f->kind != SELFMETRICS_REASONS) {
            check_one(om, j, f->sample, f->path, s ? expected(s, f, 0) : NAN);
            continue;
        }
        for (r = STATSD_OK + 1; r < STATSD_REASON_MAX; r++) {
            expand(sample, sizeof(sample), f->sample, statsd_reason_name(r));
            expand(path, sizeof(path), f->path, statsd_reason_name(r));
            check_one(om, j, sample, path, s ? expected(s, f, r) : NAN);
        }
    }
}

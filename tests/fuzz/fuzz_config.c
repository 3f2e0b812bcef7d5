/*
 * libFuzzer target for cfgload_text() on arbitrary bytes. The config is not network
 * input, but an operator's typo must never crash the daemon: every input is either
 * refused with a message or accepted into a config whose promises hold, and
 * cfgload_release() frees all of it (LeakSanitizer checks).
 *
 * Checked on success: the limits and counts that config.h documents, every family name
 * found back by config_find_family() and every job by config_find_job(), histogram
 * buckets finite and strictly increasing, writer rules' ids sorted and every family's and
 * job's rule one of them; and, since the daemon builds its registry
 * from the result, registry_init() on it and registry_release(). On failure: the message
 * is NUL-terminated and non-empty, and *c is left zeroed. For one input in four
 * (fuzz_full_path()), the full path: the same verdict parsing again into a tiny message
 * buffer, and a valid config's reloads (check_registry).
 *
 * A conninfo_file is read relative to the working directory (or absolute). stdin is
 * pointed at /dev/null first, so that "/dev/stdin" can never block the run.
 * Seeds: tests/fuzz/seeds/fuzz_config/.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/cfgload.h"
#include "base/errcode.h"
#include "fuzz_arena.h"
#include "fuzz_util.h"
#include "store/registry.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * What the daemon does next with a valid config: a registry from it, then reloads: to
 * the same file parsed again (every family kept), to an empty config (every family
 * retired, then drained), and back (every family added). The empty config is parsed once.
 */
/* One input in 2^FULL_PATH_BITS is parsed again into a tiny message buffer and reloads. */
#define FULL_PATH_BITS 2
#define EMPTY          "{\"clients\": {\"dogstatsd_telemetry\": false}}"

static struct config empty;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_stdin_null();
    /* No family at all: not even the client telemetry's, which "{}" holds. */
    fuzz_builtin_config(&empty, EMPTY, "fuzz_config");
    fuzz_arena_for_jansson();
    return 0;
}

static void check_labels(const struct config *c, const struct config_label *l, size_t n)
{
    assert(n <= CONFIG_MAX_LABELS);
    for (size_t i = 0; i < n; i++) {
        assert(l[i].name != NULL && l[i].name[0] != '\0');
        if (l[i].values != NULL) {
            assert(l[i].nvalues >= 1 && l[i].max_values == l[i].nvalues);
            for (size_t k = 0; k < l[i].nvalues; k++)
                assert(l[i].values[k] != NULL && strlen(l[i].values[k]) <= c->max_label_value_len);
        } else {
            assert(l[i].max_values >= 1);
        }
    }
}

static void check_config(const struct config *c)
{
    size_t i, k;

    assert(c->path != NULL && c->socket_path != NULL && c->metrics_listen != NULL);
    assert(c->metrics_path != NULL && c->metrics_path[0] == '/');
    assert(c->socket_path[0] != '\0' && strlen(c->socket_path) <= CONFIG_SOCKET_PATH_MAX);
    assert(c->socket_mode <= 0777);
    assert(c->log_format != NULL && c->log_level != NULL);
    assert(c->max_series >= 1 && c->max_series_per_family >= 1);
    assert(c->max_label_value_len >= 1 && c->max_label_values >= 1);
    assert(c->nresource <= CONFIG_MAX_RESOURCE_ATTRS);
    for (i = 0; i < c->nresource; i++)
        assert(strlen(c->resource[i].key) <= CONFIG_MAX_RESOURCE_KEY &&
               c->resource[i].value[0] != '\0');

    for (i = 0; i < c->nfamilies; i++) {
        const struct config_family *f = &c->families[i];
        assert(f->name != NULL && f->name[0] != '\0');
        assert(f->help != NULL && f->unit != NULL && f->group != NULL);
        assert(f->type == FAMILY_COUNTER || f->type == FAMILY_GAUGE ||
               f->type == FAMILY_HISTOGRAM || f->type == FAMILY_SUMMARY);
        assert(config_find_family(c, f->name, strlen(f->name)) == (long)i);
        assert(f->ttl_seconds >= 0 && isfinite(f->ttl_seconds));
        if (f->type == FAMILY_HISTOGRAM) {
            assert(f->nbuckets >= 1 && f->nbuckets <= CONFIG_MAX_BUCKETS);
            for (k = 0; k < f->nbuckets; k++) {
                assert(isfinite(f->buckets[k]));
                assert(k == 0 || f->buckets[k - 1] < f->buckets[k]);
            }
        }
        if (f->type == FAMILY_SUMMARY) {
            assert(f->nquantiles <= CONFIG_MAX_QUANTILES);
            for (k = 0; k < f->nquantiles; k++) {
                const struct config_quantile *q = &f->quantiles[k];

                assert(q->q >= 0 && q->q <= 1 && q->err >= 0 && q->err < 0.5);
                assert(q->err > 0 || q->q == 0 || q->q == 1);
                assert(k == 0 || f->quantiles[k - 1].q < q->q);
            }
            assert(f->max_age >= CONFIG_MIN_MAX_AGE && f->max_age <= CONFIG_MAX_MAX_AGE);
            assert(f->age_buckets >= 1 && f->age_buckets <= CONFIG_MAX_AGE_BUCKETS);
        }
        check_labels(c, f->labels, f->nlabels);
    }

    assert(c->job_prefix != NULL && c->job_prefix[0] != '\0');
    for (i = 0; i < c->njobs; i++) {
        const struct config_job *j = &c->jobs[i];
        assert(j->name[0] != '\0' && strlen(j->name) <= c->max_label_value_len);
        assert(j->failure_threshold >= 1 && j->open_seconds > 0);
        assert(config_find_job(c, j->name, strlen(j->name)) == (long)i);
        assert(j->writers == NULL ||
               (j->writers >= c->writers && j->writers < c->writers + c->nwriters));
    }
    /* Writer rules: ids sorted and unique (the hot path's binary search), each allows someone. */
    for (i = 0; i < c->nwriters; i++) {
        const struct config_writers *w = &c->writers[i];
        assert(w->name != NULL);
        assert(w->nuids > 0 || w->ngids > 0 || w->unauthenticated);
        for (k = 1; k < w->nuids; k++)
            assert(w->uids[k - 1] < w->uids[k]);
        for (k = 1; k < w->ngids; k++)
            assert(w->gids[k - 1] < w->gids[k]);
    }
    for (i = 0; i < c->nfamilies; i++)
        assert(c->families[i].writers == NULL ||
               (c->families[i].writers >= c->writers &&
                c->families[i].writers < c->writers + c->nwriters));

    if (c->has_postgres) {
        assert(c->pg_conninfo != NULL);
        assert(c->pg_pool_size >= 1 && c->pg_pool_size <= CONFIG_MAX_PG_POOL_SIZE);
    } else {
        assert(c->nsql_metrics == 0);
    }
    for (i = 0; i < c->nsql_metrics; i++) {
        const struct config_sql_metric *m = &c->sql_metrics[i];
        assert(m->name[0] != '\0' && m->query != NULL && m->value_column != NULL);
        assert(m->timeout_seconds > 0 && m->min_interval_seconds >= 0);
        check_labels(c, m->labels, m->nlabels);
        for (k = 0; k < m->nlabels; k++)
            assert(m->label_columns[k] != NULL && strcmp(m->label_columns[k], m->value_column));
    }
}

/* Every input: the registry the daemon builds from a valid config, made and freed. */
static void check_registry_init(const struct config *c)
{
    struct registry reg;

    registry_init(&reg, c);
    assert(registry_nfamilies(&reg) == c->nfamilies);
    assert(registry_series_total(&reg) <= registry_series_cap(&reg));
    registry_release(&reg);
}

/* The full path: same is the same file parsed again, a config of its own. */
static void check_registry(const struct config *c, const struct config *same)
{
    struct registry_reload rr;
    struct registry reg;
    unsigned steps;

    registry_init(&reg, c);
    assert(registry_nfamilies(&reg) == c->nfamilies);
    assert(registry_series_total(&reg) <= registry_series_cap(&reg));
    registry_reconfigure(&reg, same, &rr);
    assert(rr.kept == c->nfamilies && rr.retired == 0 && registry_series_retired(&reg) == 0);
    registry_reconfigure(&reg, &empty, &rr);
    assert(rr.removed == c->nfamilies && registry_series_total(&reg) == 0);
    while (registry_series_retired(&reg) > 0)
        assert(registry_drain(&reg, 3) > 0);
    /* Then the emptied families' tables, a step a call, before their slots are free again. */
    for (steps = 0; registry_draining(&reg); steps++) {
        assert(steps < 1u << 20);
        registry_drain(&reg, 3);
    }
    registry_reconfigure(&reg, c, &rr);
    assert(rr.added == c->nfamilies && registry_nfamilies(&reg) == c->nfamilies);
    registry_release(&reg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config c, again;
    char err[1024], tiny[4];
    int rc;

    memset(&c, 0x5a, sizeof(c)); /* cfgload_text must set every field */
    memset(err, 'x', sizeof(err));
    rc = cfgload_text(&c, (const char *)data, size, "fuzz.json", err, sizeof(err));
    fuzz_arena_empty();
    assert(rc == 0 || rc == ERRCODE_CONFIG);
    if (rc == 0) {
        check_config(&c);
    } else {
        assert(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
        assert(fuzz_all_zero(&c, sizeof(c)));
    }
    if (!fuzz_full_path(data, size, FULL_PATH_BITS)) {
        if (rc == 0)
            check_registry_init(&c);
        cfgload_release(&c);
        return 0;
    }
    /* The same verdict when the message does not fit; a valid file is the reload's "same". */
    memset(tiny, 'x', sizeof(tiny));
    assert(cfgload_text(&again, (const char *)data, size, "fuzz.json", tiny, sizeof(tiny)) == rc);
    fuzz_arena_empty();
    assert(memchr(tiny, '\0', sizeof(tiny)) != NULL);
    if (rc == 0)
        check_registry(&c, &again);
    cfgload_release(&again);
    cfgload_release(&c);
    return 0;
}

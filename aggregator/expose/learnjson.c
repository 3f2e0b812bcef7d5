#include "expose/learnjson.h"

#include <math.h>
#include <string.h>

#include "expose/learnprop.h"
#include "ingest/learnshape.h"

static const char *const type_names[LEARNSUM_NTYPES] = { "c", "g", "ms", "h", "d" };

/* Lines by reason, named as the rejects counter names them ("unknown_family"). */
static json_t *reasons(const struct learnsum_entry *e)
{
    json_t *o = json_object();

    for (int r = 0; r < LEARNSUM_NREASONS; r++)
        if (e->by_reason[r] > 0)
            json_object_set_new(o, statsd_reason_name(learnsum_statsd_reason(r)),
                                json_integer((json_int_t)e->by_reason[r]));
    return o;
}

static json_t *number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *values(const struct learnsum_entry *e)
{
    json_t *o = json_object();

    json_object_set_new(o, "count", json_integer((json_int_t)e->observations));
    json_object_set_new(o, "min", e->observations ? number(e->vmin) : json_null());
    json_object_set_new(o, "max", e->observations ? number(e->vmax) : json_null());
    json_object_set_new(o, "unit", e->by_type[STATSD_TIMER] > 0 ? json_string("ms") : json_null());
    json_object_set_new(o, "signed", json_boolean(e->signed_gauge));
    json_object_set_new(o, "negative_counter", json_boolean(e->negative_counter));
    return o;
}

static json_t *senders(const struct learnsum_entry *e, learnjson_exe_cb exe, void *arg)
{
    json_t *a = json_array();

    for (uint32_t i = 0; i < e->nsenders; i++) {
        const char *x = exe != NULL ? exe(e->senders[i].pid, arg) : NULL;
        json_t *o = json_object();

        json_object_set_new(o, "pid", json_integer(e->senders[i].pid));
        json_object_set_new(o, "uid", json_integer(e->senders[i].uid));
        json_object_set_new(o, "exe", x != NULL ? json_string(x) : json_null());
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *label(const struct learnsum_key *k)
{
    json_t *o = json_object(), *v = json_array();
    int shape = learnshape_best(k->shapes & LEARNSHAPE_ALL);
    int flag = learnshape_first_flag(k->flags);

    json_object_set_new(o, "key", json_string(k->name));
    json_object_set_new(o, "sent", json_string(k->sent));
    json_object_set_new(o, "lines", json_integer((json_int_t)k->lines));
    json_object_set_new(o, "dropped", json_integer((json_int_t)k->dropped));
    json_object_set_new(o, "distinct", json_integer((json_int_t)llround(learnsum_distinct(k))));
    json_object_set_new(o, "distinct_estimated", json_boolean(k->values_full));
    for (uint32_t i = 0; i < k->nvalues; i++)
        json_array_append_new(v, json_string(k->values[i]));
    json_object_set_new(o, "values", v);
    json_object_set_new(o, "values_truncated", json_boolean(k->values_full));
    json_object_set_new(o, "max_length", json_integer((json_int_t)k->max_len));
    json_object_set_new(
        o, "shape", shape < LEARNSHAPE_NSHAPES ? json_string(learnshape_name(shape)) : json_null());
    json_object_set_new(o, "flag",
                        flag < LEARNSHAPE_NFLAGS ? json_string(learnshape_flag_name(flag))
                                                 : json_null());
    json_object_set_new(o, "example",
                        flag < LEARNSHAPE_NFLAGS ? json_string(k->example) : json_null());
    return o;
}

json_t *learnjson_entry(const struct learnsum_entry *e, uint64_t now_ms, learnjson_exe_cb exe,
                        void *arg)
{
    json_t *o = json_object(), *types = json_object(), *labels = json_array();

    json_object_set_new(o, "name", json_string(e->name));
    json_object_set_new(o, "sent", json_string(e->sent));
    json_object_set_new(o, "declared", e->declared ? json_string(e->name) : json_null());
    json_object_set_new(o, "lines", json_integer((json_int_t)e->total));
    json_object_set_new(o, "rate", json_real(learnsum_rate(e, now_ms)));
    json_object_set_new(o, "last_seen_seconds_ago",
                        json_real(now_ms > e->last_ms ? (double)(now_ms - e->last_ms) / 1000 : 0));
    json_object_set_new(o, "reasons", reasons(e));
    for (int t = 0; t < LEARNSUM_NTYPES; t++)
        if (e->by_type[t] > 0)
            json_object_set_new(types, type_names[t], json_integer((json_int_t)e->by_type[t]));
    json_object_set_new(o, "types", types);
    json_object_set_new(o, "values", values(e));
    json_object_set_new(o, "senders", senders(e, exe, arg));
    json_object_set_new(o, "senders_unauthenticated", json_boolean(e->unauthenticated));
    for (uint32_t i = 0; i < e->nkeys; i++)
        json_array_append_new(labels, label(e->keys[i]));
    json_object_set_new(o, "labels", labels);
    json_object_set_new(o, "label_keys_over", json_integer((json_int_t)e->keys_over));
    return o;
}

json_t *learnjson_document(const struct learnsum *s, const struct config *c, uint64_t now_ms,
                           learnjson_exe_cb exe, void *arg)
{
    const struct learnsum_entry *top[LEARNPROP_MAX_FAMILIES];
    size_t n = learnsum_top(s, top, LEARNPROP_MAX_FAMILIES);
    json_t *doc = json_object(), *learn = json_object(), *families = json_array();

    json_object_set_new(learn, "enabled", json_boolean(s->enabled));
    json_object_set_new(learn, "max_bytes", json_integer((json_int_t)s->max_bytes));
    json_object_set_new(learn, "bytes", json_integer((json_int_t)s->bytes));
    json_object_set_new(learn, "entries", json_integer((json_int_t)s->entries));
    json_object_set_new(learn, "evictions", json_integer((json_int_t)s->evictions));
    json_object_set_new(learn, "lines", json_integer((json_int_t)s->lines));
    json_object_set_new(learn, "dropped_tags", json_integer((json_int_t)s->dropped_tags));
    json_object_set_new(learn, "truncated", json_boolean(s->entries > n));
    for (size_t i = 0; i < n; i++)
        json_array_append_new(families, learnjson_entry(top[i], now_ms, exe, arg));
    json_object_set_new(doc, "schema", json_integer(LEARNJSON_SCHEMA));
    json_object_set_new(doc, "learn", learn);
    json_object_set_new(doc, "families", families);
    json_object_set_new(doc, "proposal", learnprop_all(s, c));
    return doc;
}

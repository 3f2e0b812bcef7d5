#include "ingest/learnsum.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include "base/common.h"
#include "base/counted.h"
#include "base/mem.h"
#include "ingest/learnshape.h"

#define SECOND_CHANCES 8

static size_t clamp_bytes(size_t max_bytes)
{
    if (max_bytes < LEARNSUM_MIN_MAX_BYTES)
        return LEARNSUM_MIN_MAX_BYTES;
    return max_bytes > LEARNSUM_MAX_MAX_BYTES ? LEARNSUM_MAX_MAX_BYTES : max_bytes;
}

static void alloc_buckets(struct learnsum *s)
{
    size_t n = 64;

    while (n < s->max_bytes / 2048)
        n <<= 1;
    s->nbuckets = n;
    s->buckets = counted_calloc(&s->bytes, n, sizeof(*s->buckets));
}

void learnsum_init(struct learnsum *s, int enabled, size_t max_bytes)
{
    *s = (struct learnsum){ .enabled = enabled != 0, .max_bytes = clamp_bytes(max_bytes) };
    if (s->enabled)
        alloc_buckets(s);
}

static void free_key(struct learnsum *s, struct learnsum_key *k)
{
    for (uint32_t i = 0; i < k->nvalues; i++)
        counted_free(&s->bytes, k->values[i], strlen(k->values[i]) + 1);
    counted_free(&s->bytes, k, sizeof(*k));
}

static void free_entry(struct learnsum *s, struct learnsum_entry *e)
{
    for (uint32_t i = 0; i < e->nkeys; i++)
        free_key(s, e->keys[i]);
    counted_free(&s->bytes, e->name, strlen(e->name) + 1);
    counted_free(&s->bytes, e->sent, strlen(e->sent) + 1);
    counted_free(&s->bytes, e, sizeof(*e));
}

void learnsum_release(struct learnsum *s)
{
    struct learnsum_entry *e = s->head, *next;

    for (; e != NULL; e = next) {
        next = e->next;
        free_entry(s, e);
    }
    if (s->buckets != NULL)
        counted_free(&s->bytes, s->buckets, s->nbuckets * sizeof(*s->buckets));
    s->buckets = NULL;
    s->head = s->tail = NULL;
    s->entries = 0;
}

/* ---- recency and the hash chains ---- */

static void unlink_recency(struct learnsum *s, struct learnsum_entry *e)
{
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        s->head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    else
        s->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_head(struct learnsum *s, struct learnsum_entry *e)
{
    e->prev = NULL;
    e->next = s->head;
    if (s->head != NULL)
        s->head->prev = e;
    s->head = e;
    if (s->tail == NULL)
        s->tail = e;
}

static void unlink_chain(struct learnsum *s, struct learnsum_entry *e)
{
    struct learnsum_entry **p = &s->buckets[e->hash & (s->nbuckets - 1)];

    while (*p != e)
        p = &(*p)->hnext;
    *p = e->hnext;
}

static void evict(struct learnsum *s, struct learnsum_entry *e)
{
    unlink_chain(s, e);
    unlink_recency(s, e);
    free_entry(s, e);
    s->entries--;
    s->evictions++;
}

/*
 * Back under max_bytes: the least recently seen entry goes, unless it was seen more than
 * once and has chances left in this round; never keep, the entry just noted.
 */
static void shrink(struct learnsum *s, const struct learnsum_entry *keep)
{
    int chances = SECOND_CHANCES;

    while (s->bytes > s->max_bytes && s->tail != NULL && s->tail != keep) {
        struct learnsum_entry *t = s->tail;

        if (t->lines > 1 && chances-- > 0) {
            t->lines /= 2;
            unlink_recency(s, t);
            push_head(s, t);
            continue;
        }
        evict(s, t);
    }
}

void learnsum_configure(struct learnsum *s, int enabled, size_t max_bytes)
{
    max_bytes = clamp_bytes(max_bytes);
    if (!enabled) {
        learnsum_release(s);
        s->enabled = 0;
        s->max_bytes = max_bytes;
        return;
    }
    s->max_bytes = max_bytes;
    if (!s->enabled) {
        s->enabled = 1;
        alloc_buckets(s);
    }
    shrink(s, NULL);
}

int learnsum_reason(int r)
{
    switch (r) {
#define LEARNSUM_REASON_CASE(id) \
    case STATSD_##id:            \
        return LEARNSUM_##id;
        LEARNSUM_REASON_MAP(LEARNSUM_REASON_CASE)
#undef LEARNSUM_REASON_CASE
    default:
        return LEARNSUM_NREASONS;
    }
}

int learnsum_statsd_reason(int lr)
{
    static const int map[] = {
#define LEARNSUM_REASON_BACK(id) STATSD_##id,
        LEARNSUM_REASON_MAP(LEARNSUM_REASON_BACK)
#undef LEARNSUM_REASON_BACK
    };

    return lr >= 0 && lr < LEARNSUM_NREASONS ? map[lr] : STATSD_OK;
}

/* ---- entries ---- */

static char *counted_strndup(struct learnsum *s, const char *p, size_t n)
{
    char *c = counted_alloc(&s->bytes, n + 1);

    memcpy(c, p, n);
    c[n] = '\0';
    return c;
}

static struct learnsum_entry *find(const struct learnsum *s, const char *name, size_t len,
                                   uint64_t h)
{
    struct learnsum_entry *e = s->buckets[h & (s->nbuckets - 1)];

    for (; e != NULL; e = e->hnext)
        if (e->hash == h && strlen(e->name) == len && memcmp(e->name, name, len) == 0)
            return e;
    return NULL;
}

const struct learnsum_entry *learnsum_find(const struct learnsum *s, const char *name)
{
    size_t len = strlen(name);

    return s->buckets != NULL ? find(s, name, len, XXH3_64bits(name, len)) : NULL;
}

/* The entry of name (n bytes), made when new, now the most recent. */
static struct learnsum_entry *entry_for(struct learnsum *s, const char *name, size_t n,
                                        const char *sent, size_t sent_len)
{
    uint64_t h = XXH3_64bits(name, n);
    struct learnsum_entry *e = find(s, name, n, h);

    if (e != NULL) {
        unlink_recency(s, e);
        push_head(s, e);
        return e;
    }
    e = counted_calloc(&s->bytes, 1, sizeof(*e));
    e->hash = h;
    e->name = counted_strndup(s, name, n);
    e->sent = counted_strndup(s, sent, sent_len);
    e->vmin = INFINITY;
    e->vmax = -INFINITY;
    e->hnext = s->buckets[h & (s->nbuckets - 1)];
    s->buckets[h & (s->nbuckets - 1)] = e;
    push_head(s, e);
    s->entries++;
    return e;
}

static void note_sender(struct learnsum_entry *e, const struct learnsum_from *from)
{
    struct learnsum_sender me;
    uint32_t i;

    if (from == NULL || !from->has_cred) {
        e->unauthenticated = 1;
        return;
    }
    me = (struct learnsum_sender){ from->pid, from->uid };
    for (i = 0; i < e->nsenders; i++)
        if (e->senders[i].pid == me.pid && e->senders[i].uid == me.uid)
            break;
    if (i == 0 && e->nsenders > 0)
        return;
    if (i == e->nsenders && e->nsenders < LEARNSUM_MAX_SENDERS)
        e->nsenders++;
    if (i == LEARNSUM_MAX_SENDERS)
        i--;
    memmove(&e->senders[1], &e->senders[0], i * sizeof(e->senders[0]));
    e->senders[0] = me;
}

static void touch(struct learnsum_entry *e, uint64_t now_ms)
{
    if (e->total == 0)
        e->first_ms = e->win_start_ms = now_ms;
    if (now_ms - e->win_start_ms >= LEARNSUM_WINDOW_MS) {
        e->prev_win_lines = now_ms - e->win_start_ms < 2 * LEARNSUM_WINDOW_MS ? e->win_lines : 0;
        e->win_start_ms = now_ms;
        e->win_lines = 0;
    }
    e->win_lines++;
    e->last_ms = now_ms;
    e->lines++;
    e->total++;
}

double learnsum_rate(const struct learnsum_entry *e, uint64_t now_ms)
{
    uint64_t since = now_ms > e->win_start_ms ? now_ms - e->win_start_ms : 0;
    uint64_t age = now_ms > e->first_ms ? now_ms - e->first_ms : 0;
    double prev = (double)e->prev_win_lines, cur = (double)e->win_lines;

    if (age < LEARNSUM_WINDOW_MS)
        return (double)e->total / (age < 1000 ? 1.0 : (double)age / 1000.0);
    if (since >= 2 * LEARNSUM_WINDOW_MS)
        return 0;
    if (since >= LEARNSUM_WINDOW_MS) {
        prev = cur;
        cur = 0;
        since -= LEARNSUM_WINDOW_MS;
    }
    return (prev * (double)(LEARNSUM_WINDOW_MS - since) / LEARNSUM_WINDOW_MS + cur) /
           (LEARNSUM_WINDOW_MS / 1000.0);
}

double learnsum_bin_bound(size_t i)
{
    static const double mult[] = { 1, 2.5, 5 };

    int decade;

    if (i < 1)
        i = 1;
    decade = LEARNSUM_BIN_DECADE_MIN + (int)((i - 1) / 3);
    /* Exact operands, one rounding: 2.5 / 1e6 is the double 2.5e-6 is. */
    return decade < 0 ? mult[(i - 1) % 3] / pow(10, -decade) : mult[(i - 1) % 3] * pow(10, decade);
}

/* The bin of v: 0 for v below the first bound (or <= 0), NBINS + 1 above the last. */
static size_t bin_of(double v)
{
    size_t lo = 1, hi = LEARNSUM_NBINS;

    if (!(v > 0) || v < learnsum_bin_bound(1) * 0.5)
        return 0;
    if (v > learnsum_bin_bound(LEARNSUM_NBINS))
        return LEARNSUM_NBINS + 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (learnsum_bin_bound(mid) < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void note_values(struct learnsum_entry *e, const struct statsd_line *line)
{
    if (line->type > STATSD_DISTRIBUTION)
        return;
    e->by_type[line->type]++;
    if (line->type == STATSD_GAUGE && line->relative)
        e->signed_gauge = 1;
    for (size_t i = 0; i < line->nvalues; i++) {
        double v = line->values[i];

        e->observations++;
        if (v < e->vmin)
            e->vmin = v;
        if (v > e->vmax)
            e->vmax = v;
        if (line->type == STATSD_COUNTER && v < 0)
            e->negative_counter = 1;
        e->bins[bin_of(line->type == STATSD_TIMER ? v / 1000 : v)]++;
    }
}

/* ---- label keys ---- */

static void hll_add(uint8_t *hll, const char *v, size_t n)
{
    uint64_t h = XXH3_64bits(v, n);
    size_t reg = h & (LEARNSUM_HLL - 1);
    uint64_t rest = h >> 6;
    uint8_t rank = 1;

    while (rank < 58 && (rest & 1) == 0) {
        rank++;
        rest >>= 1;
    }
    if (rank > hll[reg])
        hll[reg] = rank;
}

double learnsum_distinct(const struct learnsum_key *k)
{
    double sum = 0, m = LEARNSUM_HLL, est;
    size_t zeros = 0;

    if (!k->values_full)
        return k->nvalues;
    for (size_t i = 0; i < LEARNSUM_HLL; i++) {
        sum += ldexp(1, -(int)k->hll[i]);
        zeros += k->hll[i] == 0;
    }
    est = 0.709 * m * m / sum;
    if (est <= 2.5 * m && zeros > 0)
        est = m * log(m / (double)zeros);
    return est < LEARNSUM_MAX_VALUES + 1 ? LEARNSUM_MAX_VALUES + 1 : est;
}

static struct learnsum_key *key_for(struct learnsum *s, struct learnsum_entry *e, const char *norm,
                                    size_t n, const struct statsd_view sent)
{
    struct learnsum_key *k;

    for (uint32_t i = 0; i < e->nkeys; i++)
        if (strlen(e->keys[i]->name) == n && memcmp(e->keys[i]->name, norm, n) == 0)
            return e->keys[i];
    if (e->nkeys == LEARNSUM_MAX_KEYS) {
        e->keys_over++;
        return NULL;
    }
    k = counted_calloc(&s->bytes, 1, sizeof(*k));
    memcpy(k->name, norm, n);
    memcpy(k->sent, sent.ptr, sent.len < STATSD_MAX_TAG_KEY ? sent.len : STATSD_MAX_TAG_KEY);
    k->shapes = LEARNSHAPE_ALL;
    e->keys[e->nkeys++] = k;
    return k;
}

static void note_value(struct learnsum *s, struct learnsum_key *k, const struct config *cfg,
                       struct statsd_view v)
{
    uint32_t flags = learnshape_flags(v.ptr, v.len);
    uint32_t i;

    if (cfg != NULL && v.len > cfg->max_label_value_len)
        flags |= LEARNSHAPE_FLAG(TOO_LONG);
    k->shapes &= learnshape_shapes(v.ptr, v.len);
    if (flags != 0 && k->flags == 0) {
        size_t n = v.len < LEARNSUM_EXAMPLE_MAX ? v.len : LEARNSUM_EXAMPLE_MAX;

        memcpy(k->example, v.ptr, n);
        k->example[n] = '\0';
    }
    k->flags |= flags;
    if (v.len > k->max_len)
        k->max_len = v.len;
    hll_add(k->hll, v.ptr, v.len);
    /* A value too long to keep leaves the key to its estimate, as one past the bound does. */
    if (v.len > LEARNSUM_VALUE_MAX)
        k->values_full = 1;
    if (k->values_full)
        return;
    for (i = 0; i < k->nvalues; i++)
        if (strlen(k->values[i]) == v.len && memcmp(k->values[i], v.ptr, v.len) == 0)
            return;
    if (k->nvalues == LEARNSUM_MAX_VALUES) {
        k->values_full = 1;
        return;
    }
    k->values[k->nvalues++] = counted_strndup(s, v.ptr, v.len);
}

static int stripped(const struct config *cfg, const char *norm, size_t n)
{
    for (size_t i = 0; cfg != NULL && i < cfg->nstrip_tags; i++)
        if (strlen(cfg->strip_tags[i]) == n && memcmp(cfg->strip_tags[i], norm, n) == 0)
            return 1;
    return 0;
}

static int declares(const struct config_family *f, const char *norm, size_t n)
{
    for (size_t i = 0; f != NULL && i < f->nlabels; i++)
        if (strlen(f->labels[i].name) == n && memcmp(f->labels[i].name, norm, n) == 0)
            return 1;
    return 0;
}

/*
 * The line's tags into e: every tag but the stripped ones, or with dropped_of, only the
 * tags family dropped_of drops (counted as dropped). Returns the tags noted.
 */
static size_t note_tags(struct learnsum *s, struct learnsum_entry *e, const struct config *cfg,
                        const struct statsd_line *line, const struct config_family *dropped_of)
{
    size_t noted = 0;

    for (size_t i = 0; i < line->ntags; i++) {
        const struct statsd_tag *t = &line->tags[i];
        char norm[STATSD_MAX_TAG_KEY + 1];
        size_t n = statsd_normalize_name(t->key.ptr, t->key.len, norm, sizeof(norm) - 1);
        struct learnsum_key *k;

        if (n == 0 || stripped(cfg, norm, n) ||
            (dropped_of != NULL && declares(dropped_of, norm, n)))
            continue;
        if ((k = key_for(s, e, norm, n, t->key)) == NULL)
            continue;
        k->lines++;
        if (dropped_of != NULL) {
            k->dropped++;
            s->dropped_tags++;
        }
        note_value(s, k, cfg, t->value);
        noted++;
    }
    return noted;
}

/* The name an unknown family would have: normalised as the allowlist reads names. */
static size_t family_name(const struct statsd_line *line, char *out, size_t cap)
{
    return statsd_normalize_name(line->name.ptr, line->name.len, out, cap);
}

void learnsum_note(struct learnsum *s, const struct config *cfg, const struct statsd_line *line,
                   int r, const struct config_family *declared, const struct learnsum_from *from,
                   uint64_t now_ms)
{
    char name[STATSD_MAX_NAME + 1];
    int lr = learnsum_reason(r);
    size_t n;
    struct learnsum_entry *e;

    if (!s->enabled || lr == LEARNSUM_NREASONS)
        return;
    if (declared != NULL) {
        n = strlen(declared->name);
        memcpy(name, declared->name, n < sizeof(name) ? n : sizeof(name) - 1);
        n = n < sizeof(name) ? n : sizeof(name) - 1;
    } else if ((n = family_name(line, name, sizeof(name))) == 0) {
        return;
    }
    e = entry_for(s, name, n, line->name.ptr, line->name.len);
    e->declared = declared != NULL;
    e->by_reason[lr]++;
    touch(e, now_ms);
    note_sender(e, from);
    note_values(e, line);
    note_tags(s, e, cfg, line, NULL);
    s->lines++;
    shrink(s, e);
}

void learnsum_note_dropped(struct learnsum *s, const struct config *cfg,
                           const struct statsd_line *line, const struct config_family *f,
                           const struct learnsum_from *from, uint64_t now_ms)
{
    struct learnsum_entry *e;
    size_t i;

    if (!s->enabled || f->undeclared != CONFIG_UNDECLARED_DROP || f->client_telemetry)
        return;
    /* Most accepted lines drop nothing: look before making an entry. */
    for (i = 0; i < line->ntags; i++) {
        char norm[STATSD_MAX_TAG_KEY + 1];
        const struct statsd_tag *t = &line->tags[i];
        size_t n = statsd_normalize_name(t->key.ptr, t->key.len, norm, sizeof(norm) - 1);

        if (n > 0 && !stripped(cfg, norm, n) && !declares(f, norm, n))
            break;
    }
    if (i == line->ntags)
        return;
    e = entry_for(s, f->name, strlen(f->name), line->name.ptr, line->name.len);
    e->declared = 1;
    touch(e, now_ms);
    note_sender(e, from);
    note_values(e, line);
    note_tags(s, e, cfg, line, f);
    s->lines++;
    shrink(s, e);
}

/* ---- the views' order ---- */

static int by_lines(const void *a, const void *b)
{
    const struct learnsum_entry *x = *(const struct learnsum_entry *const *)a;
    const struct learnsum_entry *y = *(const struct learnsum_entry *const *)b;

    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    if (x->last_ms != y->last_ms)
        return x->last_ms > y->last_ms ? -1 : 1;
    return strcmp(x->name, y->name);
}

size_t learnsum_top(const struct learnsum *s, const struct learnsum_entry **out, size_t max)
{
    const struct learnsum_entry **all;
    const struct learnsum_entry *e;
    size_t n = 0;

    if (s->entries == 0 || max == 0)
        return 0;
    all = mem_calloc(s->entries, sizeof(*all));
    for (e = s->head; e != NULL; e = e->next)
        all[n++] = e;
    qsort(all, n, sizeof(*all), by_lines);
    if (n > max)
        n = max;
    memcpy(out, all, n * sizeof(*out));
    free(all);
    return n;
}

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/hotcache.h"
#include "registry_fixture.h"

/* A line parsed into *l and split into *lp, from text that must outlive both. */
static void parse(const char *text, struct statsd_line *l, struct statsd_parts *lp)
{
    cr_assert_eq(statsd_parse_line(text, strlen(text), l), STATSD_OK, "%s", text);
    memset(lp, 0, sizeof *lp);
    lp->line.ptr = text;
    lp->line.len = strlen(text);
    lp->split = statsd_split(text, strlen(text), &lp->name, &lp->values, &lp->suffix);
}

/*
 * The owner's side, as store/series.c keeps it: one block, a stand-in series of 16 bytes
 * and then its identity.
 */
static struct hotcache_id *own(const struct statsd_line *l)
{
    size_t n = hotcache_id_bytes(l);
    char *block;

    if (n == 0)
        return NULL;
    block = calloc(1, 16 + n);
    cr_assert_not_null(block);
    hotcache_id_set((struct hotcache_id *)(void *)(block + 16), block, l);
    return (struct hotcache_id *)(void *)(block + 16);
}

/* Cache l for the series of *idp, given an identity first if it has none. */
static void add(struct hotcache *c, struct hotcache_id **idp, const struct statsd_line *l,
                size_t nseries, size_t *bytes)
{
    if (*idp == NULL)
        *idp = own(l);
    if (*idp != NULL)
        hotcache_add(c, *idp, l, 0, 1, nseries, bytes);
}

/* The series goes: out of the table, and its block freed. */
static void drop(struct hotcache *c, struct hotcache_id *id)
{
    hotcache_drop(c, id);
    free(hotcache_series(id));
}

static const struct hotcache_id *find_one(const struct hotcache *c, const char *text)
{
    struct statsd_line l;
    struct statsd_parts lp;
    const struct hotcache_id *id;

    parse(text, &l, &lp);
    hotcache_find(c, &lp, 1, &id);
    return id;
}

/* An identity is found by any line that differs only in its values, and by no other. */
Test(hotcache, finds_lines_that_differ_only_in_their_values)
{
    struct hotcache c = { 0 };
    struct hotcache_id *id = NULL;
    struct statsd_line l;
    struct statsd_parts lp;
    size_t bytes = 0;

    cr_assert_null(find_one(&c, "a.b:1|c|#k:v"), "an empty cache finds nothing");
    parse("a.b:1|c|@0.5|#k:v", &l, &lp);
    add(&c, &id, &l, 1, &bytes);
    cr_assert_not_null(id);
    cr_assert_eq(hotcache_series(id), (char *)id - 16);
    cr_assert_eq(id->type, STATSD_COUNTER);
    cr_assert_float_eq(id->rate, 0.5, 1e-12);
    cr_assert_eq(find_one(&c, "a.b:7|c|@0.5|#k:v"), id);
    cr_assert_null(find_one(&c, "a.b:7|c|#k:v"));
    cr_assert_null(find_one(&c, "a_b:7|c|@0.5|#k:v"));
    cr_assert_null(find_one(&c, "a.b:7|g|@0.5|#k:v"));
    /* Another spelling of the same series keeps the first identity. */
    parse("a.b:1|c|@0.5|#k:w", &l, &lp);
    add(&c, &id, &l, 1, &bytes);
    cr_assert_null(find_one(&c, "a.b:1|c|@0.5|#k:w"));
    drop(&c, id);
    cr_assert_null(find_one(&c, "a.b:7|c|@0.5|#k:v"));
    hotcache_release(&c, &bytes);
    cr_assert_eq(bytes, 0);
}

/*
 * Whether line b is taken for the identity of line a: hotcache_add() caches b only when
 * its bytes are a's (it notes the line's notes in the identity then), so it says what the
 * compare of a lookup says.
 */
static int taken_for(const char *a, const char *b)
{
    struct hotcache c = { 0 };
    struct hotcache_id *id;
    struct statsd_line la, lb;
    struct statsd_parts lp;
    size_t bytes = 0;
    int taken;

    parse(a, &la, &lp);
    parse(b, &lb, &lp);
    id = own(&la);
    cr_assert_not_null(id);
    hotcache_add(&c, id, &lb, 7, 1, 1, &bytes);
    taken = id->notes == 7;
    drop(&c, id);
    hotcache_release(&c, &bytes);
    return taken;
}

/*
 * Keys that differ in one byte are told apart at every length and in every place, in the
 * name and in the suffix, up to the longest key cached (HOTCACHE_KEY_MAX): the compare
 * reads 4, 8 or 16 bytes at a time, overlapping at the end, and must miss none.
 */
Test(hotcache, keys_that_differ_in_one_byte_are_told_apart)
{
    char a[160], b[160];

    for (size_t len = 1; len + 2 <= HOTCACHE_KEY_MAX; len++) { /* the suffix: "|c" */
        memset(a, 'a', len);
        snprintf(a + len, sizeof a - len, ":1|c");
        cr_assert(taken_for(a, a), "a name of %zu bytes", len);
        for (size_t at = 0; at < len; at++) {
            memcpy(b, a, sizeof b);
            b[at] = 'b';
            cr_assert(!taken_for(a, b), "a name of %zu bytes differing at %zu", len, at);
        }
    }
    for (size_t len = 1; len + 7 <= HOTCACHE_KEY_MAX; len++) { /* "m", "|c|#k:" */
        int head = snprintf(a, sizeof a, "m:1|c|#k:");

        memset(a + head, 'a', len);
        a[head + (int)len] = '\0';
        cr_assert(taken_for(a, a), "a suffix of %zu bytes", len + 6);
        for (size_t at = 0; at < len; at++) {
            memcpy(b, a, sizeof b);
            b[head + (int)at] = 'b';
            cr_assert(!taken_for(a, b), "a suffix of %zu bytes differing at %zu", len + 6, at + 6);
        }
    }
}

/* Lines text[from..from + n) split into lp[] and tagged (their sets asked for), then fetched. */
static void stage(const struct hotcache *c, char (*text)[32], int from, int n,
                  struct statsd_parts *lp, uint32_t *tag)
{
    struct statsd_line l;

    for (int k = 0; k < n; k++)
        parse(text[from + k], &l, &lp[k]);
    hotcache_tag(c, lp, (size_t)n, tag);
    hotcache_fetch(c, lp, tag, (size_t)n);
}

/*
 * A lookup in steps (hotcache_tag, hotcache_fetch, hotcache_find_tagged) finds what
 * hotcache_find() finds, whatever the cache did between the steps: identities added, the
 * table grown and moved under way, identities dropped and freed (the fetch asked for
 * them: the find must not read them), the cache cleared. The fetch does nothing until the
 * table is big enough to pay.
 */
Test(hotcache, a_lookup_in_steps_finds_what_find_does_whatever_happens_between)
{
    enum { N = 100000, B = HOTCACHE_FIND_MAX };
    char(*text)[32] = calloc(N, 32);
    struct hotcache_id **ids = calloc(N, sizeof *ids);
    const struct hotcache_id *found[B], *direct[B];
    struct statsd_parts lp[B];
    uint32_t tag[B];
    struct hotcache c = { 0 };
    struct statsd_line l;
    size_t bytes = 0;
    int moved_under_way = 0;

    cr_assert(text != NULL && ids != NULL);
    cr_assert_not(hotcache_fetch_pays(&c), "no table: nothing to fetch");
    for (int i = 0; i < N; i++)
        snprintf(text[i], 32, "s%d:1|c|#k:v", i);
    /* Tagged before the last of a batch is added, found after: added between the steps. */
    for (int i = 0; i < N; i++) {
        int staged = i % 1000 == 999;

        if (staged)
            stage(&c, text, i - (B - 1), B, lp, tag);
        parse(text[i], &l, &lp[staged ? B - 1 : 0]);
        add(&c, &ids[i], &l, (size_t)i + 1, &bytes);
        if (i == 100)
            cr_assert_not(hotcache_fetch_pays(&c), "a small table is not fetched");
        if (!staged)
            continue;
        moved_under_way |= c.old != NULL;
        hotcache_fetch(&c, lp, tag, B);
        hotcache_find_tagged(&c, lp, tag, B, found);
        hotcache_find(&c, lp, B, direct);
        for (int k = 0; k < B; k++) {
            cr_assert_eq(found[k], ids[i - (B - 1) + k], "%s", text[i - (B - 1) + k]);
            cr_assert_eq(found[k], direct[k]);
        }
    }
    cr_assert(moved_under_way, "no lookup ran while the table was moved");
    cr_assert(hotcache_fetch_pays(&c), "%zu sets", c.n);

    /* Lines of another spelling and a line that cannot be cached: as hotcache_find. */
    stage(&c, text, 0, B, lp, tag);
    parse("s1:1|c|#k:w", &l, &lp[0]);
    memset(&lp[1], 0, sizeof lp[1]);
    lp[1].line.ptr = "nosuffix";
    lp[1].line.len = 8;
    hotcache_tag(&c, lp, B, tag);
    hotcache_fetch(&c, lp, tag, B);
    hotcache_find_tagged(&c, lp, tag, B, found);
    cr_assert_null(found[0]);
    cr_assert_null(found[1]);
    for (int k = 2; k < B; k++)
        cr_assert_eq(found[k], ids[k]);

    /* Dropped and freed between the fetch and the find: not found, and not read. */
    stage(&c, text, 0, B, lp, tag);
    for (int k = 0; k < B; k += 2) {
        drop(&c, ids[k]);
        ids[k] = NULL;
    }
    hotcache_find_tagged(&c, lp, tag, B, found);
    for (int k = 0; k < B; k++)
        cr_assert_eq(found[k], k % 2 ? ids[k] : NULL, "line %d", k);

    for (int i = 0; i < N; i++)
        if (ids[i] != NULL)
            drop(&c, ids[i]);
    hotcache_release(&c, &bytes);
    cr_assert_eq(bytes, 0);
    free(ids);
    free(text);
}

/*
 * Identities longer than HOTCACHE_KEY_MAX are not cached. A key has one identity in the
 * table: one added for a key that another holds (a reload sent its lines to another
 * series) replaces it, and takes the owner's new stamp.
 */
Test(hotcache, long_identities_are_not_cached_and_a_key_has_one_identity)
{
    char text[HOTCACHE_KEY_MAX + 64];
    struct hotcache c = { 0 };
    struct hotcache_id *id = NULL, *id2 = NULL, *id3 = NULL;
    struct statsd_line l;
    struct statsd_parts lp;
    size_t bytes = 0;

    snprintf(text, sizeof text, "x:1|c|#k:%0*d", HOTCACHE_KEY_MAX, 0);
    parse(text, &l, &lp);
    add(&c, &id, &l, 1, &bytes);
    cr_assert_null(id);
    parse("y:1|g", &l, &lp);
    add(&c, &id2, &l, 1, &bytes);
    cr_assert_eq(find_one(&c, "y:2|g"), id2);
    cr_assert_eq(id2->stamp, 1);
    id3 = own(&l);
    hotcache_add(&c, id3, &l, 0, 2, 2, &bytes);
    cr_assert_eq(find_one(&c, "y:2|g"), id3, "the identity added last stands for the key");
    cr_assert_eq(id3->stamp, 2);
    /* The one it replaced still goes away as its series does, and takes nothing with it. */
    drop(&c, id2);
    cr_assert_eq(find_one(&c, "y:2|g"), id3);
    /* Added again for the same key (a reload sent the lines back): it replaces id3. */
    id2 = own(&l);
    hotcache_add(&c, id2, &l, 0, 3, 2, &bytes);
    cr_assert_eq(find_one(&c, "y:2|g"), id2);
    drop(&c, id3);
    drop(&c, id2);
    cr_assert_null(find_one(&c, "y:2|g"));
    hotcache_release(&c, &bytes);
    cr_assert_eq(bytes, 0);
}

/*
 * Growing never makes the cache cold: right after the add that grows the table, every
 * identity cached before is still found (in the old table, until hotcache_migrate() or
 * later adds have moved it), and once the move is done the old table is freed. Shrinking
 * (hotcache_fit) moves the survivors the same way.
 */
Test(hotcache, a_growth_or_a_shrink_keeps_every_entry_found)
{
    enum { N = 5000 };
    static struct hotcache_id *ids[N];
    static char texts[N][48];
    struct hotcache c = { 0 };
    struct statsd_line l;
    struct statsd_parts lp;
    size_t bytes = 0, grew = 0, i, k;

    for (i = 0; i < N; i++) {
        int moving = c.old != NULL;

        snprintf(texts[i], sizeof texts[i], "jobs.done:1|c|#id:%zu", i);
        parse(texts[i], &l, &lp);
        add(&c, &ids[i], &l, i + 1, &bytes);
        cr_assert_not_null(ids[i]);
        if (!moving && c.old != NULL) {
            grew++;
            for (k = 0; k <= i; k++)
                cr_assert_eq(find_one(&c, texts[k]), ids[k], "%s lost when the table grew",
                             texts[k]);
        }
    }
    cr_assert_geq(grew, 5, "the table grew %zu times", grew);
    while (hotcache_migrate(&c, 3, &bytes))
        ;
    cr_assert_null(c.old);
    for (i = 0; i < N; i++)
        cr_assert_eq(find_one(&c, texts[i]), ids[i], "%s lost after the move", texts[i]);
    /* All but 100 go: the table shrinks, and the 100 are found throughout. */
    for (i = 100; i < N; i++)
        drop(&c, ids[i]);
    cr_assert_eq(hotcache_fit(&c, 100, &bytes), 1);
    cr_assert_not_null(c.old);
    do {
        for (i = 0; i < 100; i++)
            cr_assert_eq(find_one(&c, texts[i]), ids[i], "%s lost while shrinking", texts[i]);
    } while (hotcache_migrate(&c, 16, &bytes));
    cr_assert_eq(hotcache_fit(&c, 100, &bytes), 0, "once is enough");
    for (i = 0; i < 100; i++) {
        cr_assert_eq(find_one(&c, texts[i]), ids[i]);
        drop(&c, ids[i]);
    }
    hotcache_release(&c, &bytes);
    cr_assert_eq(bytes, 0, "%zu bytes unaccounted for", bytes);
}

/*
 * A table fifteen sixteenths full, told of no more series so that it does not grow: every
 * entry finds a way (cuckoo kicks move the others along their second sets), none is
 * replaced.
 */
Test(hotcache, a_crowded_table_replaces_no_entry)
{
    enum { N = HOTCACHE_MIN_SETS * HOTCACHE_WAYS * 15 / 16 };
    static struct hotcache_id *ids[N];
    static char texts[N][48];
    struct hotcache c = { 0 };
    struct statsd_line l;
    struct statsd_parts lp;
    size_t bytes = 0, i;

    for (i = 0; i < N; i++) {
        snprintf(texts[i], sizeof texts[i], "q:1|c|#id:%zu", i);
        parse(texts[i], &l, &lp);
        add(&c, &ids[i], &l, 1, &bytes);
    }
    cr_assert_eq(c.n, HOTCACHE_MIN_SETS, "the table grew");
    for (i = 0; i < N; i++)
        cr_assert_eq(find_one(&c, texts[i]), ids[i], "%s was replaced", texts[i]);
    for (i = 0; i < N; i++)
        drop(&c, ids[i]);
    hotcache_release(&c, &bytes);
    cr_assert_eq(bytes, 0);
}

/* Every way of table (n sets) records where its identity's series starts, or 0 if far. */
static void check_backs(const struct hotcache_set *table, size_t n)
{
    for (size_t k = 0; table != NULL && k < n; k++)
        for (unsigned w = 0; w < HOTCACHE_WAYS; w++) {
            const struct hotcache_id *id = table[k].id[w];

            if (id != NULL)
                cr_assert_eq(table[k].back[w], id->back <= UINT16_MAX ? id->back : 0,
                             "set %zu way %u: back %u for an identity %u bytes on", k, w,
                             table[k].back[w], id->back);
        }
}

/*
 * The sets keep each identity's back beside it, which the fetch step prefetches the
 * series by: right after an add, through cuckoo kicks in a crowded table, through a
 * growth's move, and 0 for a series too long to say (its lookups still find it).
 */
Test(hotcache, every_way_knows_where_its_series_starts)
{
    enum { N = HOTCACHE_MIN_SETS * HOTCACHE_WAYS * 2 };
    static struct {
        struct hotcache_id *id;
        char text[48];
    } e[N];
    struct hotcache c = { 0 };
    size_t bytes = 0;

    for (size_t i = 0; i < N; i++) {
        /* Series of 16 bytes to a few lines, and one in 64 longer than 64 KiB. */
        size_t head = i % 64 == 0 ? 70000 : 16 + (i % 7) * 48, n;
        struct statsd_line l;
        struct statsd_parts lp;
        char *block;

        snprintf(e[i].text, sizeof e[i].text, "q:1|c|#id:%zu", i);
        parse(e[i].text, &l, &lp);
        n = hotcache_id_bytes(&l);
        cr_assert_gt(n, 0);
        block = calloc(1, head + n);
        cr_assert_not_null(block);
        e[i].id = (struct hotcache_id *)(void *)(block + head);
        hotcache_id_set(e[i].id, block, &l);
        cr_assert_eq(e[i].id->back, head);
        /* The first half told of one series (no growth: kicks), the rest of all of them. */
        hotcache_add(&c, e[i].id, &l, 0, 1, i < N / 2 ? 1 : i + 1, &bytes);
        if (i % 97 == 0 || i == N / 2 - 1) {
            check_backs(c.sets, c.n);
            check_backs(c.old, c.old_n);
        }
    }
    while (hotcache_migrate(&c, 5, &bytes)) {
        check_backs(c.sets, c.n);
        check_backs(c.old, c.old_n);
    }
    check_backs(c.sets, c.n);
    /* A series that moves takes its way along, and the way learns where it now starts. */
    for (size_t i = 1; i < N; i += 37) {
        size_t size = hotcache_id_size(e[i].id), head = e[i].id->back + 48;
        char *block = calloc(1, head + size);
        struct hotcache_id *to = (struct hotcache_id *)(void *)(block + head);

        cr_assert_not_null(block);
        memcpy(to, e[i].id, size);
        to->back = (uint32_t)head;
        hotcache_rehome(&c, e[i].id, to);
        free(hotcache_series(e[i].id));
        e[i].id = to;
    }
    check_backs(c.sets, c.n);
    for (size_t i = 0; i < N; i++) {
        const struct hotcache_id *got = find_one(&c, e[i].text);

        /* The crowded half may have left a few out (the full path caches them again). */
        if (got != NULL)
            cr_assert_eq(got, e[i].id, "%s", e[i].text);
        drop(&c, e[i].id);
    }
    hotcache_release(&c, &bytes);
    cr_assert_eq(bytes, 0);
}

/* A big old table is given back a step a call once its entries have moved, not at once. */
Test(hotcache, a_big_old_table_is_released_a_step_at_a_time)
{
    struct hotcache c = { 0 };
    struct hotcache_id *id = NULL;
    struct statsd_line l;
    struct statsd_parts lp;
    size_t bytes = 0, before, calls = 0;

    parse("x:1|c", &l, &lp);
    add(&c, &id, &l, 280000, &bytes); /* 280,000 series in 3/4 of the ways: 7.6 MB */
    cr_assert_gt(c.n * sizeof *c.sets, 2 * COUNTED_RELEASE_STEP);
    cr_assert_leq(280000 * 4, c.n * HOTCACHE_WAYS * 3, "over three quarters of the ways");
    cr_assert_gt(280000 * 4, c.n * 2 / 3 * HOTCACHE_WAYS * 3, "a third smaller would do");
    add(&c, &id, &l, 560000, &bytes); /* the big table is written, then its move starts */
    while (c.next != NULL)
        hotcache_migrate(&c, 4096, &bytes);
    cr_assert_not_null(c.old);
    while (c.old != NULL)
        hotcache_migrate(&c, 4096, &bytes);
    cr_assert_not_null(c.dead.p, "4 MB freed at once");
    cr_assert_eq(find_one(&c, "x:2|c"), id);
    before = bytes;
    while (hotcache_migrate(&c, 4096, &bytes)) {
        cr_assert_eq(before - bytes, COUNTED_RELEASE_STEP, "a step is %zu bytes", before - bytes);
        before = bytes;
        calls++;
    }
    cr_assert_geq(calls, 1);
    cr_assert_null(c.dead.p);
    drop(&c, id);
    hotcache_release(&c, &bytes);
    cr_assert_eq(bytes, 0);
}

/*
 * A growth into a table past HOTCACHE_POPULATE_MIN writes it a page at a time,
 * HOTCACHE_POPULATE_STEP pages an add, before a single entry moves: the cache goes on in
 * its table, a little fuller, and finds every entry throughout; then the move starts.
 */
Test(hotcache, a_big_new_table_is_written_a_page_at_a_time_before_the_move)
{
    enum { N = 12000 };
    static struct hotcache_id *ids[N];
    static char texts[N][48];
    struct hotcache c = { 0 };
    struct statsd_line l;
    struct statsd_parts lp;
    size_t bytes = 0, i, k, adds = 0, pages = 0, n = 0, was = 0;
    uintptr_t first, last;

    for (i = 0; i < N; i++) {
        int writing = c.next != NULL;

        snprintf(texts[i], sizeof texts[i], "jobs.done:1|c|#id:%zu", i);
        parse(texts[i], &l, &lp);
        add(&c, &ids[i], &l, i + 1, &bytes);
        if (!writing && c.next == NULL)
            continue;
        if (!writing) { /* this add grew it */
            n = c.next_n;
            was = c.n;
            first = (uintptr_t)c.next / 4096;
            last = ((uintptr_t)c.next + n * sizeof *c.next - 1) / 4096;
            pages = (size_t)(last - first + 1); /* every page the table spans */
            cr_assert_gt(n * sizeof *c.next, HOTCACHE_POPULATE_MIN);
            cr_assert_null(c.old, "the last move is done");
        }
        adds++;
        if (c.next == NULL)
            break; /* the last page written: the move started */
        cr_assert_eq(((uintptr_t)c.next + c.next_done) / 4096 - first,
                     adds * HOTCACHE_POPULATE_STEP, "%zu adds", adds);
        cr_assert_eq(hotcache_fit(&c, 1, &bytes), 1, "written: work to do");
        cr_assert_eq(c.n, was, "the table in use changed before the new one was written");
        cr_assert_null(c.old, "a move started before the table was written");
        for (k = 0; k <= i; k++)
            cr_assert_eq(find_one(&c, texts[k]), ids[k], "%s lost while writing", texts[k]);
    }
    cr_assert_neq(n, 0, "no growth past HOTCACHE_POPULATE_MIN in %d series", N);
    cr_assert_lt(i, N);
    cr_assert_eq(adds, (pages + HOTCACHE_POPULATE_STEP - 1) / HOTCACHE_POPULATE_STEP,
                 "%zu pages written in %zu adds", pages, adds);
    cr_assert_eq(c.n, n, "the written table is the one in use");
    cr_assert_not_null(c.old, "the move started");
    while (hotcache_migrate(&c, 64, &bytes))
        ;
    for (k = 0; k <= i; k++) {
        cr_assert_eq(find_one(&c, texts[k]), ids[k], "%s lost after the move", texts[k]);
        drop(&c, ids[k]);
    }
    hotcache_release(&c, &bytes);
    cr_assert_eq(bytes, 0, "%zu bytes unaccounted for", bytes);
}

/* A table being written for a move is freed with the cache: every byte accounted for. */
Test(hotcache, a_table_being_written_is_freed_with_the_cache)
{
    struct hotcache c = { 0 };
    struct hotcache_id *id = NULL;
    struct statsd_line l;
    struct statsd_parts lp;
    size_t bytes = 0;

    parse("x:1|c", &l, &lp);
    add(&c, &id, &l, 1, &bytes);
    add(&c, &id, &l, 100000, &bytes); /* a big growth: its table written first */
    cr_assert_not_null(c.next);
    cr_assert_gt(c.next_n * sizeof *c.next, HOTCACHE_POPULATE_MIN);
    cr_assert_gt(bytes, c.next_n * sizeof *c.next, "the new table is counted");
    drop(&c, id);
    hotcache_release(&c, &bytes);
    cr_assert_eq(bytes, 0, "%zu bytes unaccounted for", bytes);
    cr_assert_null(c.next);
}

/*
 * registry_apply_raw: a line whose name and suffix a fully parsed, accepted line had is
 * applied from its values alone; everything else is a miss, for the full path to judge.
 */
static int raw(const char *text, uint64_t now)
{
    return registry_apply_raw(&reg, text, strlen(text), now);
}

/*
 * A reload neither frees nor allocates the cache's table. A family whose layout changed
 * is retired with its series, whose identities stay in the table until the full path
 * accepts a line of the same bytes for the new family's series: that identity replaces
 * the stale one, and is found (test_hotcache_reload: the families a reload leaves alike).
 */
Test(hotcache, a_reload_keeps_the_table_and_replaces_stale_identities, .fini = teardown)
{
    static const char a[] = "{\"families\": [{\"name\": \"f\", \"type\": \"counter\","
                            " \"labels\": [{\"name\": \"k\", \"max_values\": 8}]}]}";
    static const char b[] = "{\"families\": [{\"name\": \"f\", \"type\": \"counter\","
                            " \"labels\": [{\"name\": \"k\", \"values\": [\"x\"]}]}]}";
    struct config next;
    struct registry_reload rr;
    char err[512];
    const void *table;
    struct registry_sample sample;
    size_t mem, fi;

    load(a);
    cr_assert_eq(feed("f:1|c|#k:x"), STATSD_OK);
    cr_assert_eq(raw("f:2|c|#k:x", 1000), STATSD_OK, "cached");
    table = reg.hot.sets;
    cr_assert_eq(cfgload_text(&next, b, strlen(b), "next", err, sizeof(err)), 0, "%s", err);
    registry_reconfigure(&reg, &next, &rr);
    cr_assert(rr.reset == 1, "the layout changed: reset %zu", rr.reset);
    cr_assert_eq(reg.hot.sets, table, "the table was replaced");
    mem = reg.mem;
    cr_assert_eq(raw("f:4|c|#k:x", 1000), REGISTRY_MISS, "a stale identity was taken");
    cr_assert_eq(feed("f:4|c|#k:x"), STATSD_OK);
    cr_assert_eq(raw("f:8|c|#k:x", 1000), STATSD_OK, "the new series is not found");
    cr_assert_gt(reg.mem, mem, "the new series and its identity");
    cr_assert_not(find(0, "k=x", &sample), "the retired series is out of sight");
    for (fi = 1; fi < 64 && !find(fi, "k=x", &sample); fi++)
        ;
    cr_assert_float_eq(value_of(fi, "k=x"), 12, 1e-9, "the new series holds only its lines");
    registry_reconfigure(&reg, &cfg, &rr);
    cfgload_release(&next);
}

/*
 * The front cache maps a line's name, type and tags as sent to its series; the checks
 * that depend on the value must still run on a hit, and an expired series must never be
 * reached through a stale entry (the ASan build would see it).
 */
Test(hotcache, cached_lines_still_check_their_values, .init = setup, .fini = teardown)
{
    cr_assert_eq(ingest_at("requests:1|c|#method:GET,status_code:200", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("requests:2|c|#method:GET,status_code:200", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("requests:-1|c|#method:GET,status_code:200", 1000),
                 STATSD_NEGATIVE_COUNTER);
    cr_assert_eq(ingest_at("requests:1e308|c|#method:GET,status_code:200", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("requests:1e308|c|#method:GET,status_code:200", 1000),
                 STATSD_NON_FINITE);
    cr_assert_float_eq(value_of(F_REQUESTS, "method=GET,status_code=200"), 3 + 1e308, 1e292);
    /* The same series through the other tag order, cached apart, is still one series. */
    cr_assert_eq(ingest_at("queue_depth:5|g|#queue:a", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("queue_depth:+1|g|#queue:a", 1000), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=a"), 6);
    cr_assert_eq(ingest_at("latency_seconds:0.2|h|#route:/x", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("latency_seconds:0.2|ms|#route:/x", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("latency_seconds:1|g|#route:/x", 1000), STATSD_TYPE_MISMATCH);
}

Test(hotcache, cached_entries_of_expired_series_miss, .init = setup, .fini = teardown)
{
    cr_assert_eq(ingest_at("queue_depth:5|g|#queue:gone", 1000), STATSD_OK);
    cr_assert_eq(ingest_at("queue_depth:+1|g|#queue:gone", 1000), STATSD_OK);
    cr_assert_eq(registry_expire(&reg, 1000000, 1000), 1);
    cr_assert_eq(registry_family_series(&reg, F_QUEUE), 0);
    /* A relative update after expiry starts from zero on a fresh series. */
    cr_assert_eq(ingest_at("queue_depth:+1|g|#queue:gone", 1000001), STATSD_OK);
    cr_assert_eq(registry_family_series(&reg, F_QUEUE), 1);
    cr_assert_eq(value_of(F_QUEUE, "queue=gone"), 1);
}

Test(hotcache, raw_lines_hit_only_identities_the_full_path_accepted, .init = setup,
     .fini = teardown)
{
    cr_assert_eq(raw("requests:5|c|#method:GET,status_code:200", 1000), REGISTRY_MISS);
    cr_assert_eq(feed("requests:1|c|#method:GET,status_code:200"), STATSD_OK);
    cr_assert_eq(raw("requests:5|c|#method:GET,status_code:200", 1000), STATSD_OK);
    cr_assert_eq(value_of(F_REQUESTS, "method=GET,status_code=200"), 6);
    /* The value checks run; a bad value is the full parser's to name. */
    cr_assert_eq(raw("requests:-1|c|#method:GET,status_code:200", 1000), STATSD_NEGATIVE_COUNTER);
    cr_assert_eq(raw("requests:abc|c|#method:GET,status_code:200", 1000), REGISTRY_MISS);
    cr_assert_eq(raw("requests:1:2|c|#method:GET,status_code:200", 1000), REGISTRY_MISS);
    cr_assert_eq(raw("requests:nan|c|#method:GET,status_code:200", 1000), REGISTRY_MISS);
    cr_assert_eq(raw("requests:|c|#method:GET,status_code:200", 1000), REGISTRY_MISS);
    /* Any other spelling is another identity. */
    cr_assert_eq(raw("requests:1|c|#status_code:200,method:GET", 1000), REGISTRY_MISS);
    cr_assert_eq(raw("requests:1|c|@0.5|#method:GET,status_code:200", 1000), REGISTRY_MISS);
    cr_assert_eq(raw("requests:1|g|#method:GET,status_code:200", 1000), REGISTRY_MISS);
    cr_assert_eq(raw("requests_total:1|c|#method:GET,status_code:200", 1000), REGISTRY_MISS);
    cr_assert_eq(raw("requests", 1000), REGISTRY_MISS);
    cr_assert_eq(value_of(F_REQUESTS, "method=GET,status_code=200"), 6);
}

Test(hotcache, raw_lines_keep_the_type_and_rate_they_were_cached_with, .init = setup,
     .fini = teardown)
{
    static const uint64_t want[] = { 0, 4, 4, 0 }; /* 0.2 and 0.7 in (0.1,0.5] and (0.5,1] */

    cr_assert_eq(feed("latency_seconds:200:700|ms|@0.5|#route:/a"), STATSD_OK);
    cr_assert_eq(raw("latency_seconds:200:700|ms|@0.5|#route:/a", 1000), STATSD_OK);
    /* ms converted to seconds, each observation weighted 2. */
    assert_hist(F_LATENCY, "route=/a", want, 4, 2 * (0.2 + 0.7) * 2);
    cr_assert_eq(feed("queue_depth:5|g|#queue:q"), STATSD_OK);
    cr_assert_eq(raw("queue_depth:+2|g|#queue:q", 1000), STATSD_OK);
    cr_assert_eq(raw("queue_depth:-1|g|#queue:q", 1000), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=q"), 6);
    cr_assert_eq(raw("queue_depth:3|g|#queue:q", 1000), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=q"), 3);
}

Test(hotcache, raw_lines_of_an_expired_series_miss, .init = setup, .fini = teardown)
{
    cr_assert_eq(feed_at("queue_depth:5|g|#queue:gone", 1000), STATSD_OK);
    cr_assert_eq(raw("queue_depth:6|g|#queue:gone", 1000), STATSD_OK);
    cr_assert_eq(registry_expire(&reg, 1000000, 1000), 1);
    cr_assert_eq(raw("queue_depth:7|g|#queue:gone", 1000001), REGISTRY_MISS);
}

Test(hotcache, expiring_a_series_leaves_the_others_cached, .init = setup, .fini = teardown)
{
    cr_assert_eq(feed_at("queue_depth:1|g|#queue:old", 1000), STATSD_OK);
    cr_assert_eq(feed_at("queue_depth:2|g|#queue:new", 65000), STATSD_OK);
    cr_assert_eq(registry_expire(&reg, 70000, 1000), 1);
    cr_assert_eq(raw("queue_depth:1|g|#queue:old", 70000), REGISTRY_MISS);
    cr_assert_eq(raw("queue_depth:3|g|#queue:new", 70000), STATSD_OK);
    cr_assert_eq(value_of(F_QUEUE, "queue=new"), 3);
}

/*
 * The front cache grows with the series and holds every identity: once each of 100,000
 * series has been through the daemon's path (the fast path, or the full parse on a miss:
 * the table starts empty when it grows), a line of each hits, whatever the collisions
 * among their hashes.
 */
Test(hotcache, raw_lines_hit_for_every_series_of_a_large_registry, .fini = teardown)
{
    enum { N = 100000 };
    char line[96];

    load("{\"limits\": {\"max_series\": 200000, \"max_series_per_family\": 200000},"
         " \"families\": [{\"name\": \"jobs.done\", \"type\": \"counter\","
         "  \"labels\": [{\"name\": \"id\", \"max_values\": 200000},"
         "              {\"name\": \"env\", \"values\": [\"prod\"]}]}]}");
    for (int i = 0; i < N; i++) {
        snprintf(line, sizeof line, "jobs.done:1|c|#id:%d,env:prod", i);
        cr_assert_eq(feed(line), STATSD_OK, "%s", line);
    }
    for (int i = 0; i < N; i++) {
        snprintf(line, sizeof line, "jobs.done:2|c|#id:%d,env:prod", i);
        cr_assert_eq(ingest_at(line, 1000), STATSD_OK, "%s", line);
    }
    for (int i = 0; i < N; i++) {
        snprintf(line, sizeof line, "jobs.done:4|c|#id:%d,env:prod", i);
        cr_assert_eq(raw(line, 1000), STATSD_OK, "%s missed", line);
    }
    cr_assert_eq(value_of(0, "id=99999,env=prod"), 7);
}

/*
 * The daemon's loop: a datagram's lines are looked up together, then taken in order,
 * each found line through registry_apply_found() and each miss through the full path.
 */
static void take_datagram(const char *dgram, uint64_t now)
{
    struct statsd_parts lp[REGISTRY_FIND_MAX];
    const struct registry_hit *found[REGISTRY_FIND_MAX];
    struct statsd_scanner scan;
    size_t n;

    statsd_scanner_init(&scan, dgram, strlen(dgram));
    do {
        n = statsd_scanner_fill(&scan, lp, REGISTRY_FIND_MAX);
        registry_find_parts(&reg, lp, n, found);
        for (size_t i = 0; i < n; i++) {
            char text[256];
            int rc = found[i] ? registry_apply_found(&reg, found[i], &lp[i], now) : REGISTRY_MISS;

            if (rc != REGISTRY_MISS)
                continue;
            cr_assert_lt(lp[i].line.len, sizeof text);
            memcpy(text, lp[i].line.ptr, lp[i].line.len);
            text[lp[i].line.len] = '\0';
            feed_at(text, now);
        }
    } while (n == REGISTRY_FIND_MAX);
}

Test(hotcache, lines_looked_up_together_are_applied_in_their_order, .init = setup, .fini = teardown)
{
    char dgram[4096];
    size_t o = 0;

    /* A gauge created by the first line and set by the others, a miss among hits. */
    take_datagram("queue_depth:1|g|#queue:a\nqueue_depth:2|g|#queue:a\n"
                  "queue_depth:+5|g|#queue:a\nqueue_depth:3|g|#queue:a",
                  1000);
    cr_assert_eq(value_of(F_QUEUE, "queue=a"), 3);
    /* Another spelling of the same series, between cached lines, keeps its place. */
    take_datagram("requests:1|c|#method:GET,status_code:200\n"
                  "requests:1|c|#status_code:200,method:GET\n"
                  "queue_depth:7|g|#queue:a\nqueue_depth:-2|g|#queue:a",
                  1000);
    cr_assert_eq(value_of(F_QUEUE, "queue=a"), 5);
    cr_assert_eq(value_of(F_REQUESTS, "method=GET,status_code=200"), 2);
    /* More lines than one lookup takes: the last set wins. */
    for (int i = 0; i < 3 * REGISTRY_FIND_MAX + 5; i++)
        o += (size_t)snprintf(dgram + o, sizeof dgram - o, "%squeue_depth:%d|g|#queue:a",
                              i ? "\n" : "", i);
    take_datagram(dgram, 1000);
    cr_assert_eq(value_of(F_QUEUE, "queue=a"), 3 * REGISTRY_FIND_MAX + 4);
}

/*
 * A series made without a line (a start-up zero series, a restored one) has no identity
 * in its block: the first line the full path accepts moves it into a block with room for
 * one, and everything pointing at it follows: the table, its neighbours, a cursor standing
 * on it. From then on its lines hit.
 */
Test(hotcache, a_series_made_without_a_line_moves_to_take_its_identity, .init = setup,
     .fini = teardown)
{
    struct registry_cursor c;
    struct registry_sample s;
    size_t mem;

    cr_assert_eq(raw("uploads:1|c", 1000), REGISTRY_MISS, "no identity yet");
    cr_assert_eq(feed("requests:1|c|#method:GET"), STATSD_OK); /* the cache's table is made */
    registry_cursor_init(&c, &reg);
    while (registry_cursor_next(&c, &s) && s.family != F_PROC)
        ;
    cr_assert_eq(s.family, F_PROC);
    cr_assert(registry_cursor_more(&c), "the cursor stands on the uploads series");
    mem = reg.mem;
    cr_assert_eq(feed("uploads:1|c"), STATSD_OK);
    cr_assert_eq(reg.mem, mem + HOTCACHE_ID_HEAD + strlen("uploads") + strlen("|c"),
                 "the block grew by the identity alone");
    cr_assert(registry_cursor_next(&c, &s), "the cursor lost the series that moved");
    cr_assert_eq(s.family, F_UPLOADS);
    cr_assert_float_eq(s.value, 1, 1e-9);
    cr_assert_not(registry_cursor_next(&c, &s));
    registry_cursor_release(&c);
    cr_assert_eq(raw("uploads:2|c", 1000), STATSD_OK, "cached after the move");
    cr_assert_eq(raw("uploads:2|c", 1000), STATSD_OK);
    cr_assert_float_eq(value_of(F_UPLOADS, ""), 5, 1e-9);
    cr_assert_eq(registry_family_series(&reg, F_UPLOADS), 1);
}

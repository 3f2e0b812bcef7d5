#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/slab.h"

/* Blocks of every size up to SLAB_MAX and beyond: apart, aligned, kept, and all given back. */
Test(slab, blocks_of_every_size_are_apart_and_all_given_back)
{
    enum { N = 3000 };
    static char *p[N];
    static size_t len[N];
    struct slab s = { 0 };
    size_t bytes = 0, sum = 0;

    for (size_t i = 0; i < N; i++) {
        len[i] = 1 + (i * 37) % (SLAB_MAX + 200);
        p[i] = slab_alloc(&s, &bytes, len[i]);
        cr_assert_eq((uintptr_t)p[i] % 8, 0, "block %zu not 8-byte aligned", i);
        memset(p[i], (int)(i & 0xff), len[i]);
        sum += len[i];
    }
    cr_assert_eq(bytes, sum);
    cr_assert_gt(slab_footprint(&s), 0);
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < len[i]; k++)
            cr_assert_eq((unsigned char)p[i][k], i & 0xff, "block %zu overwritten", i);
    for (size_t i = 0; i < N; i += 2)
        slab_free(&s, &bytes, p[i], len[i]);
    for (size_t i = 0; i < N; i += 2) { /* the freed room is used again */
        p[i] = slab_alloc(&s, &bytes, len[i]);
        memset(p[i], (int)(i & 0xff), len[i]);
    }
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < len[i]; k++)
            cr_assert_eq((unsigned char)p[i][k], i & 0xff, "block %zu overwritten", i);
    for (size_t i = 0; i < N; i++)
        slab_free(&s, &bytes, p[i], len[i]);
    cr_assert_eq(bytes, 0);
    cr_assert_eq(slab_footprint(&s), 0, "%zu pages kept with no block", s.pages);
    cr_assert_eq(s.regions, 0, "a region with no page in use is kept");
    slab_release(&s);
}

/* A freed block is handed out again before the page's untouched room or a new page. */
Test(slab, a_freed_block_is_used_again_first)
{
    struct slab s = { 0 };
    size_t bytes = 0;
    void *a = slab_alloc(&s, &bytes, 100), *b = slab_alloc(&s, &bytes, 100);

    slab_free(&s, &bytes, a, 100);
    cr_assert_eq(slab_alloc(&s, &bytes, 104), a, "the class of 104 bytes holds 100");
    cr_assert_neq(slab_alloc(&s, &bytes, 96), a);
    cr_assert_eq(slab_footprint(&s), 2 * SLAB_PAGE, "a page for each of two classes");
    (void)b;
    slab_release(&s);
    cr_assert_eq(slab_footprint(&s), 0);
}

/* The owner of compaction's test blocks: block i's pointer is in slot[i], its first word i. */
struct owner {
    uint64_t **slot;
    size_t moves;
    size_t budget_left;
};

static void moved(void *arg, void *from, void *to)
{
    struct owner *o = arg;
    uint64_t *t = to;

    cr_assert_eq(o->slot[*t], from, "block %llu moved from where it was not",
                 (unsigned long long)*t);
    o->slot[*t] = to;
    o->moves++;
}

/*
 * 90% of 40,000 blocks of 152 bytes freed at random: compaction moves the survivors out
 * of the emptiest pages, a budget a call, until the class holds at most two pages of
 * room; every survivor keeps its bytes and its owner's pointer follows it.
 */
Test(slab, compaction_packs_the_survivors_and_gives_pages_back)
{
    enum { N = 40000, SIZE = 152, BUDGET = 64 };
    static uint64_t *slot[N];
    struct owner o = { slot, 0, 0 };
    struct slab s = { 0 };
    size_t bytes = 0, live = 0, per_page, calls = 0, peak;

    for (size_t i = 0; i < N; i++) {
        slot[i] = slab_alloc(&s, &bytes, SIZE);
        slot[i][0] = i;
        memset(slot[i] + 1, (int)(i & 0xff), SIZE - 8);
    }
    peak = slab_footprint(&s);
    srand(7);
    for (size_t i = 0; i < N; i++) {
        if (rand() % 10 != 0) {
            slab_free(&s, &bytes, slot[i], SIZE);
            slot[i] = NULL;
        } else {
            live++;
        }
    }
    cr_assert_gt(slab_footprint(&s), peak * 8 / 10, "survivors should hold most pages");
    for (;;) {
        size_t before = o.moves;
        int more = slab_compact(&s, BUDGET, moved, &o);

        cr_assert_leq(o.moves - before, BUDGET, "a call moved more than its budget");
        calls++;
        if (!more)
            break;
        cr_assert_lt(calls, N, "compaction does not end");
    }
    cr_assert_leq(o.moves, live, "a block moved twice");
    per_page = (SLAB_PAGE - 64 - 64 * 8) / SIZE;
    /* The survivors' pages, two of room, and the class's idle page. */
    cr_assert_leq(slab_footprint(&s), ((live + per_page - 1) / per_page + 3) * SLAB_PAGE,
                  "%zu pages for %zu blocks of %d bytes", s.pages, live, SIZE);
    for (size_t i = 0; i < N; i++) {
        if (slot[i] == NULL)
            continue;
        cr_assert_eq(slot[i][0], i);
        for (size_t k = 8; k < SIZE; k++)
            cr_assert_eq(((unsigned char *)slot[i])[k], i & 0xff, "block %zu lost a byte", i);
        slab_free(&s, &bytes, slot[i], SIZE);
    }
    cr_assert_eq(bytes, 0);
    cr_assert_eq(slab_compact(&s, BUDGET, moved, &o), 0, "nothing left to compact");
    cr_assert_eq(s.regions, 0);
    slab_release(&s);
}

/* Blocks freed by their owner while their page is being drained are not moved. */
Test(slab, a_block_freed_while_its_page_drains_is_not_moved)
{
    enum { N = 20000, SIZE = 64 };
    static uint64_t *slot[N];
    struct owner o = { slot, 0, 0 };
    struct slab s = { 0 };
    size_t bytes = 0;

    for (size_t i = 0; i < N; i++) {
        slot[i] = slab_alloc(&s, &bytes, SIZE);
        slot[i][0] = i;
    }
    for (size_t i = 0; i < N; i++)
        if (i % 4 != 0) {
            slab_free(&s, &bytes, slot[i], SIZE);
            slot[i] = NULL;
        }
    cr_assert_eq(slab_compact(&s, 1, moved, &o), 1);
    cr_assert_not_null(s.draining);
    /* The owner frees every block of the draining page but one moved already. */
    for (size_t i = 0; i < N; i++)
        if (slot[i] != NULL &&
            (uintptr_t)slot[i] / SLAB_PAGE == (uintptr_t)s.draining / SLAB_PAGE) {
            slab_free(&s, &bytes, slot[i], SIZE);
            slot[i] = NULL;
        }
    cr_assert_null(s.draining, "the drained page emptied: the drain is over");
    while (slab_compact(&s, 16, moved, &o))
        ;
    for (size_t i = 0; i < N; i++)
        if (slot[i] != NULL) {
            cr_assert_eq(slot[i][0], i);
            slab_free(&s, &bytes, slot[i], SIZE);
        }
    cr_assert_eq(bytes, 0);
    slab_release(&s);
}

/* Blocks of 64 and 128 bytes start on a cache line: a 128-byte series is two lines. */
Test(slab, blocks_of_a_multiple_of_64_bytes_start_on_a_cache_line)
{
    struct slab s = { 0 };
    size_t bytes = 0;

    for (size_t i = 0; i < 3000; i++) {
        void *a = slab_alloc(&s, &bytes, 128), *b = slab_alloc(&s, &bytes, 64);

        cr_assert_eq((uintptr_t)a % 64, 0, "128-byte block %zu at %p", i, a);
        cr_assert_eq((uintptr_t)b % 64, 0, "64-byte block %zu at %p", i, b);
    }
    slab_release(&s);
}

/*
 * The line of /proc/self/smaps that starts with key for the mapping holding p, into out;
 * 0 when it has none.
 */
static int smaps_line(const void *p, const char *key, char *out, size_t cap)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    int inside = 0, found = 0;

    cr_assert_not_null(f);
    while (fgets(out, (int)cap, f) != NULL) {
        unsigned long lo, hi;

        if (sscanf(out, "%lx-%lx ", &lo, &hi) == 2)
            inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
        else if (inside && strncmp(out, key, strlen(key)) == 0) {
            found = 1;
            break;
        }
    }
    fclose(f);
    return found;
}

/* Whether the mapping holding p has flag (VmFlags in /proc/self/smaps: "hg", "nh"). */
static int vm_flag(const void *p, const char *flag)
{
    char text[512], want[8];

    snprintf(want, sizeof want, " %s", flag);
    return smaps_line(p, "VmFlags:", text, sizeof text) && strstr(text, want) != NULL;
}

/* Whether this kernel has transparent huge pages (the madvise flags exist). */
static int thp_kernel(void)
{
    return access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0;
}

/* 1 KiB blocks until a region is full (ripe); returns how many were taken. */
static size_t fill_a_region(struct slab *s, size_t *bytes, char **p, size_t cap)
{
    void *base;
    size_t len, n = 0;

    cr_assert_eq(slab_ripe(s, &base, &len), 0, "an empty slab has nothing ripe");
    while (s->ripe == NULL) {
        cr_assert_lt(n, cap);
        p[n] = slab_alloc(s, bytes, 1024);
        memset(p[n], 7, 1024);
        n++;
    }
    return n;
}

/*
 * A region is put in huge pages once every page of it is in use, and handed out once for
 * a collapse; one that gives a page back goes back to small pages first and is not
 * handed out. A collapse never changes what the memory holds.
 */
Test(slab, a_full_region_is_ripe_once_and_not_after_it_gives_a_page_back)
{
    enum { CAP = 4096 };
    static char *p[CAP];
    struct slab s = { 0 };
    size_t bytes = 0, n, len;
    void *base;
    int rc;

    n = fill_a_region(&s, &bytes, p, CAP);
    cr_assert_eq(slab_ripe(&s, &base, &len), 1);
    cr_assert_eq(len, SLAB_REGION);
    cr_assert_eq((uintptr_t)base % SLAB_REGION, 0, "a region is aligned to its 2 MiB");
    cr_assert_eq(slab_ripe(&s, &base, &len), 0, "handed out once");
    if (thp_kernel()) {
        cr_assert(vm_flag(base, "hg"), "a full region is marked for huge pages");
        cr_assert(!vm_flag(base, "nh"));
    }
    /* Done, or refused (no huge page free, an older kernel): either way nothing changes. */
    rc = slab_collapse(base, len);
    (void)rc;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < 1024; k += 97)
            cr_assert_eq(p[i][k], 7, "block %zu changed by the collapse", i);

    /* A second region, full, then its last three pages emptied: one kept idle, two given back. */
    n += fill_a_region(&s, &bytes, p + n, CAP - n);
    base = (void *)((uintptr_t)p[n - 1] & ~(uintptr_t)(SLAB_REGION - 1));
    for (size_t i = 0; i < n; i++)
        if ((uintptr_t)p[i] >= (uintptr_t)base + 29 * SLAB_PAGE &&
            (uintptr_t)p[i] < (uintptr_t)base + SLAB_REGION) {
            slab_free(&s, &bytes, p[i], 1024);
            p[i] = NULL;
        }
    cr_assert_eq(slab_ripe(&s, &base, &len), 0, "a region that gave a page back is not ripe");
    if (thp_kernel()) {
        cr_assert(vm_flag(base, "nh"), "a region with a hole is back to small pages");
        cr_assert(!vm_flag(base, "hg"));
        cr_assert_neq(slab_collapse(base, SLAB_REGION), 0, "the kernel refuses to fill its hole");
    }
    for (size_t i = 0; i < n; i++)
        if (p[i] != NULL)
            slab_free(&s, &bytes, p[i], 1024);
    cr_assert_eq(bytes, 0);
    slab_release(&s);
}

/* AnonHugePages of the mapping holding p, in kB (/proc/self/smaps); -1: none. */
static long anon_huge_kb(const void *p)
{
    char text[512];
    long kb = -1;

    if (smaps_line(p, "AnonHugePages:", text, sizeof text))
        sscanf(text, "AnonHugePages: %ld kB", &kb);
    return kb;
}

/*
 * slab_collapse() goes a 2 MiB page at a time: a page the kernel refuses (here one marked
 * for small pages only) gives the errno, and the pages after it are still collapsed. The
 * memory keeps what it held. Three pages written in small pages (marked so first, for a
 * kernel in "always" mode): the refused one, the one after it, and the last, collapsed
 * alone first to see that this kernel collapses at all.
 */
Test(slab, a_collapse_tries_every_page_and_says_the_first_refusal)
{
    size_t len = 3 * SLAB_REGION;
    char *raw = mmap(NULL, len + SLAB_REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0),
         *p;
    int rc;

    cr_assert_neq(raw, MAP_FAILED);
    p = (char *)(((uintptr_t)raw + SLAB_REGION - 1) & ~(uintptr_t)(SLAB_REGION - 1));
    if (thp_kernel())
        cr_assert_eq(madvise(raw, len + SLAB_REGION, MADV_NOHUGEPAGE), 0);
    for (size_t i = 0; i < len; i++)
        p[i] = (char)(i % 251);
    if (thp_kernel())
        cr_assert_eq(madvise(p + SLAB_REGION, 2 * SLAB_REGION, MADV_HUGEPAGE), 0);
    if (!thp_kernel() || slab_collapse(p + 2 * SLAB_REGION, SLAB_REGION) != 0) {
        /* No collapse here at all (no transparent huge pages, or before Linux 6.1). */
        cr_assert_neq(slab_collapse(p, 2 * SLAB_REGION), 0);
    } else {
        /*
         * The mapping after the refused page holds the control page and the one after
         * the refused one. The kernel may refuse a page for a moment (EAGAIN: its small
         * pages not yet isolated): each try says the first page's refusal all the same.
         */
        for (int tries = 0; tries < 5 && anon_huge_kb(p + SLAB_REGION) < 4096; tries++) {
            rc = slab_collapse(p, 2 * SLAB_REGION);
            cr_assert_eq(rc, EINVAL, "the first page's refusal, not %d", rc);
        }
        cr_assert_eq(anon_huge_kb(p + SLAB_REGION), 4096, "the page after it was collapsed: %ld kB",
                     anon_huge_kb(p + SLAB_REGION));
        cr_assert_eq(anon_huge_kb(p), 0, "the refused page stays in small pages");
    }
    for (size_t i = 0; i < len; i++)
        cr_assert_eq(p[i], (char)(i % 251), "byte %zu changed", i);
    munmap(raw, len + SLAB_REGION);
}

/* A new region is kept in small pages, even where the kernel's mode is "always". */
Test(slab, a_region_not_full_stays_in_small_pages)
{
    struct slab s = { 0 };
    size_t bytes = 0;
    char *a = slab_alloc(&s, &bytes, 200);

    if (thp_kernel())
        cr_assert(vm_flag(a, "nh"));
    slab_free(&s, &bytes, a, 200);
    slab_release(&s);
}

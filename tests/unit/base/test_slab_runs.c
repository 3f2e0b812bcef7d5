/*
 * The slab gives pages back in runs (base/slab.h): a region holds one size class, emptied
 * pages are held until SLAB_HOLD of them or slab_flush(), and a compaction empties pages
 * side by side. Residency is read with mincore().
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/slab.h"

enum { SIZE = 1024 };

/* Whether any small page of the slab page at p is resident. */
static int resident(const void *p)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE), n = SLAB_PAGE / ps;
    unsigned char v[64];

    cr_assert_leq(n, sizeof v);
    cr_assert_eq(mincore((void *)p, SLAB_PAGE, v), 0);
    for (size_t i = 0; i < n; i++)
        if (v[i] & 1)
            return 1;
    return 0;
}

static uintptr_t page_at(const void *p)
{
    return (uintptr_t)p & ~(uintptr_t)(SLAB_PAGE - 1);
}

/* A slab with blocks of SIZE bytes in it: block k at p[k] (NULL once freed), in page pg[k]. */
static struct filled {
    struct slab s;
    size_t bytes, n;
    char *p[8192];
    uintptr_t pg[8192];
} F;

/*
 * F: blocks of SIZE bytes, written, filling pages pages. The block that started the page
 * after them is freed again: that page is the class's idle one.
 */
static void fill_pages(size_t pages)
{
    size_t used = 0;

    memset(&F, 0, sizeof F);
    for (;;) {
        char *b = slab_alloc(&F.s, &F.bytes, SIZE);

        memset(b, (int)(F.n & 0xff), SIZE);
        if (F.n == 0 || page_at(b) != F.pg[F.n - 1]) {
            if (used == pages) {
                slab_free(&F.s, &F.bytes, b, SIZE);
                return;
            }
            used++;
        }
        cr_assert_lt(F.n, sizeof F.p / sizeof F.p[0]);
        F.p[F.n] = b;
        F.pg[F.n++] = page_at(b);
    }
}

/* Free the blocks of F's first pages (in one region). */
static void empty_first(size_t pages)
{
    for (size_t k = 0; k < F.n; k++)
        if (F.pg[k] < F.pg[0] + pages * SLAB_PAGE) {
            slab_free(&F.s, &F.bytes, F.p[k], SIZE);
            F.p[k] = NULL;
        }
}

/*
 * Pages emptied stay mapped in (held) until slab_flush(): then they go, the class's idle
 * page stays, and the pages in use keep what they hold.
 */
Test(slab_runs, emptied_pages_are_held_until_a_flush)
{
    uintptr_t first;

    fill_pages(9);
    first = F.pg[0];
    empty_first(6); /* pages 0 to 5 emptied and held */
    cr_assert_eq(F.s.held, 6, "%zu pages held", F.s.held);
    cr_assert_eq(slab_footprint(&F.s), 4 * SLAB_PAGE, "three in use and the idle one");
    for (size_t i = 0; i < 6; i++)
        cr_assert(resident((void *)(first + i * SLAB_PAGE)), "held page %zu went early", i);
    slab_flush(&F.s);
    cr_assert_eq(F.s.held, 0);
    cr_assert(resident((void *)(first + 9 * SLAB_PAGE)), "the idle page is kept");
    for (size_t i = 0; i < 6; i++)
        cr_assert(!resident((void *)(first + i * SLAB_PAGE)), "page %zu not given back", i);
    for (size_t k = 0; k < F.n; k++)
        if (F.p[k] != NULL)
            for (size_t b = 0; b < SIZE; b += 101)
                cr_assert_eq((unsigned char)F.p[k][b], k & 0xff, "block %zu lost a byte", k);
    slab_release(&F.s);
}

/* A step gives back at most the runs it is given, and says whether pages are still held. */
Test(slab_runs, a_flush_step_gives_back_so_many_runs)
{
    uintptr_t first;

    fill_pages(9);
    first = F.pg[0];
    for (size_t k = 0; k < F.n; k++) /* pages 0, 2, 4 and 6: four runs of one page */
        if ((F.pg[k] - first) / SLAB_PAGE % 2 == 0 && F.pg[k] < first + 8 * SLAB_PAGE)
            slab_free(&F.s, &F.bytes, F.p[k], SIZE);
    cr_assert_eq(F.s.held, 4);
    cr_assert_eq(slab_flush_step(&F.s, 3), 1, "a run is left");
    cr_assert_eq(F.s.held, 1);
    cr_assert_eq(slab_flush_step(&F.s, 3), 0, "none left");
    cr_assert_eq(F.s.held, 0);
    for (size_t i = 0; i < 8; i++)
        cr_assert_eq(resident((void *)(first + i * SLAB_PAGE)), i % 2, "page %zu", i);
    cr_assert_eq(slab_flush_step(&F.s, 3), 0);
    slab_release(&F.s);
}

/* A new page of the class takes its idle page, then a held one, before a fresh page. */
Test(slab_runs, a_held_page_is_taken_before_a_fresh_one)
{
    uintptr_t first, idle;
    char *b;

    fill_pages(6);
    first = F.pg[0];
    idle = first + 6 * SLAB_PAGE;
    empty_first(4); /* pages 0 to 3 held */
    cr_assert_eq(F.s.held, 4);
    b = slab_alloc(&F.s, &F.bytes, SIZE);
    cr_assert_eq(page_at(b), idle, "the idle page first");
    do
        b = slab_alloc(&F.s, &F.bytes, SIZE);
    while (page_at(b) == idle);
    cr_assert(page_at(b) >= first && page_at(b) < first + 4 * SLAB_PAGE,
              "a held page next, not a fresh one");
    cr_assert_eq(F.s.held, 3);
    while (F.s.held > 0) /* the other three: the region has no page held left */
        slab_alloc(&F.s, &F.bytes, SIZE);
    cr_assert_null(F.s.holding, "a region with no page held is still listed");
    cr_assert_eq(slab_flush_step(&F.s, 1), 0, "nothing held, nothing to give back");
    slab_release(&F.s);
}

/* Never more than SLAB_HOLD pages held: the rest go back at once, in runs. */
Test(slab_runs, at_most_slab_hold_pages_are_held)
{
    enum { PAGES = 100 };
    size_t kept = 0, still = 0;

    fill_pages(PAGES);
    /* Every page emptied but the first of each region (no region is unmapped whole). */
    for (size_t k = 0; k < F.n; k++) {
        if (F.pg[k] % SLAB_REGION == 0) {
            kept += k == 0 || F.pg[k] != F.pg[k - 1];
            continue;
        }
        slab_free(&F.s, &F.bytes, F.p[k], SIZE);
        cr_assert_leq(F.s.held, SLAB_HOLD);
    }
    for (size_t k = 0; k < F.n; k++) /* regions lie anywhere: each emptied page once */
        if (F.pg[k] % SLAB_REGION != 0 && (k == 0 || F.pg[k] != F.pg[k - 1]))
            still += resident((void *)F.pg[k]);
    cr_assert_gt(PAGES - kept, SLAB_HOLD + 1, "the test empties too few pages");
    cr_assert_eq(still, F.s.held, "%zu emptied pages resident, %zu held", still, F.s.held);
    slab_release(&F.s);
}

/* The pages of two size classes allocated in turn never share a region. */
Test(slab_runs, a_region_holds_one_size_class)
{
    enum { N = 4000 };
    static uintptr_t small[N], big[N];
    struct slab s = { 0 };
    size_t bytes = 0;

    for (size_t i = 0; i < N; i++) {
        small[i] = (uintptr_t)slab_alloc(&s, &bytes, 200) / SLAB_REGION;
        big[i] = (uintptr_t)slab_alloc(&s, &bytes, 900) / SLAB_REGION;
    }
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < N; k += 37)
            cr_assert_neq(small[i], big[k], "blocks %zu and %zu share a region", i, k);
    cr_assert_geq(s.regions, 2);
    slab_release(&s);
}

static void moved(void *arg, void *from, void *to)
{
    uint32_t k;

    (void)arg;
    memcpy(&k, to, sizeof k);
    cr_assert_eq(F.p[k], from);
    F.p[k] = to;
}

/*
 * Survivors spread evenly leave pages about as full, one block apart (6 and 7 here, as
 * 70 and 71 of a million series' blocks): compaction drains pages side by side, from the
 * lowest, into the highest, so the survivors end in neighbouring pages and the emptied
 * ones make one run, not every other page.
 */
Test(slab_runs, compaction_empties_neighbouring_pages)
{
    size_t at = 0, in_page = 0, used = 0;
    uintptr_t lo = UINTPTR_MAX, hi = 0;

    fill_pages(24);
    for (size_t k = 0; k < F.n; k++) {
        uint32_t id = (uint32_t)k;

        if (k == 0 || F.pg[k] != F.pg[k - 1])
            in_page = 0;
        if (in_page++ < 6 + (F.pg[k] - F.pg[0]) / SLAB_PAGE % 2) {
            memcpy(F.p[k], &id, sizeof id);
            continue;
        }
        slab_free(&F.s, &F.bytes, F.p[k], SIZE);
        F.p[k] = NULL;
    }
    while (slab_compact(&F.s, 16, moved, NULL))
        cr_assert_lt(at++, F.n, "compaction does not end");
    slab_flush(&F.s);
    for (size_t k = 0; k < F.n; k++)
        if (F.p[k] != NULL) {
            uint32_t id;

            memcpy(&id, F.p[k], sizeof id);
            cr_assert_eq(id, k, "block %zu lost its bytes", k);
            lo = page_at(F.p[k]) < lo ? page_at(F.p[k]) : lo;
            hi = page_at(F.p[k]) > hi ? page_at(F.p[k]) : hi;
        }
    for (uintptr_t a = lo; a <= hi; a += SLAB_PAGE)
        for (size_t k = 0; k < F.n; k++)
            if (F.p[k] != NULL && page_at(F.p[k]) == a) {
                used++;
                break;
            }
    cr_assert_eq((hi - lo) / SLAB_PAGE + 1, used, "survivors in %zu pages spread over %zu", used,
                 (size_t)((hi - lo) / SLAB_PAGE + 1));
    cr_assert_leq(used, 6, "compaction left %zu pages", used);
    slab_release(&F.s);
}

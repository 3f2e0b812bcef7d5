#include "base/slab.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25 /* Linux 6.1; older C libraries do not name it */
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_ASAN 1
#endif
#endif
#ifdef SLAB_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define PAGES_A_REGION ((unsigned)(SLAB_REGION / SLAB_PAGE))
_Static_assert(PAGES_A_REGION == 32, "a region's free pages are one 32-bit word");

/*
 * A page: this header, a bit a block (set: in use), then the blocks. The header is the
 * only part written when the page is set up; blocks are touched as they are handed out.
 */
struct slab__page {
    struct slab__page *prev, *next; /* in its class's room list */
    struct slab__region *region;
    uint32_t cls, cap, used;
    uint32_t carved; /* blocks below this one have been handed out at least once */
    uint32_t hint;   /* every bit of the live words below this one is set */
    uint32_t first;  /* offset of block 0 */
    uint8_t in_room; /* on its class's room list (never while slab.draining) */
    uint64_t live[];
};

struct slab__region {
    /* In its class's spare list while free != 0; in the ripe list while free == 0 and ripe. */
    struct slab__region *prev, *next;
    struct slab__region *all_prev, *all_next; /* every region of the slab */
    struct slab__region *hold_next;           /* in the slab's holding list while held != 0 */
    char *base;
    uint32_t free; /* bit i: page i holds nothing (given back, or held) */
    uint32_t held; /* bit i: page i emptied, still mapped in (slab_flush_step); within free */
    uint32_t cls;  /* the size class of its pages */
    uint8_t ripe;  /* in the ripe list: full, waiting for slab_ripe(); MADV_HUGEPAGE: full */
};

static size_t class_size(size_t c)
{
    return (c + 1) * SLAB_GRAIN;
}

/*
 * Where block 0 starts and how many blocks a page of class c holds. Block 0 starts on a
 * cache line (at most 56 bytes of a 64 KiB page), so that a block whose size is a multiple
 * of 64 bytes spans no more lines than it must: a 128-byte series is read in two lines, not
 * three.
 */
static void layout(size_t c, uint32_t *first, uint32_t *cap)
{
    size_t size = class_size(c), head = sizeof(struct slab__page);
    size_t n = (SLAB_PAGE - head) / size, off = head + (n + 63) / 64 * 8;

    off = (off + 63) & ~(size_t)63;
    *first = (uint32_t)off;
    *cap = (uint32_t)((SLAB_PAGE - off) / size);
}

static struct slab__page *page_of(const void *p)
{
    return (struct slab__page *)((uintptr_t)p & ~(uintptr_t)(SLAB_PAGE - 1));
}

static char *block(struct slab__page *pg, size_t i)
{
    return (char *)pg + pg->first + i * class_size(pg->cls);
}

static void room_push(struct slab_class *cl, struct slab__page *pg)
{
    pg->prev = NULL;
    pg->next = cl->room;
    if (cl->room != NULL)
        cl->room->prev = pg;
    else
        cl->room_tail = pg;
    cl->room = pg;
    pg->in_room = 1;
    cl->sorted = 0;
}

static void room_remove(struct slab_class *cl, struct slab__page *pg)
{
    if (pg->prev != NULL)
        pg->prev->next = pg->next;
    else
        cl->room = pg->next;
    if (pg->next != NULL)
        pg->next->prev = pg->prev;
    else
        cl->room_tail = pg->prev;
    pg->prev = pg->next = NULL;
    pg->in_room = 0;
}

/* The spare and the ripe lists: a region is in one at most (its prev and next). */
static void list_push(struct slab__region **head, struct slab__region *rg)
{
    rg->prev = NULL;
    rg->next = *head;
    if (*head != NULL)
        (*head)->prev = rg;
    *head = rg;
}

static void list_remove(struct slab__region **head, struct slab__region *rg)
{
    if (rg->prev != NULL)
        rg->prev->next = rg->next;
    else
        *head = rg->next;
    if (rg->next != NULL)
        rg->next->prev = rg->prev;
    rg->prev = rg->next = NULL;
}

static void spare_push(struct slab *s, struct slab__region *rg)
{
    list_push(&s->cls[rg->cls].spare, rg);
}

static void spare_remove(struct slab *s, struct slab__region *rg)
{
    list_remove(&s->cls[rg->cls].spare, rg);
}

static void ripe_remove(struct slab *s, struct slab__region *rg)
{
    list_remove(&s->ripe, rg);
    rg->ripe = 0;
}

/* Every page of rg is in use: the kernel may back it with one huge page from now on. */
static void region_full(struct slab *s, struct slab__region *rg)
{
    madvise(rg->base, SLAB_REGION, MADV_HUGEPAGE);
    list_push(&s->ripe, rg);
    rg->ripe = 1;
}

/*
 * rg, full, is about to give a page back: small pages again, first, so that neither
 * khugepaged nor a collapse under way elsewhere (slab_collapse) fills the hole again.
 */
static void region_not_full(struct slab *s, struct slab__region *rg)
{
    if (rg->ripe)
        ripe_remove(s, rg);
    madvise(rg->base, SLAB_REGION, MADV_NOHUGEPAGE);
}

/*
 * A region of SLAB_REGION bytes aligned to its size, where a huge page can back it: map
 * twice as much, unmap the ends. Small pages until it is full (region_full): a huge page
 * is resident whole, and a region half used would cost up to 2 MiB (in "always" mode too).
 */
static struct slab__region *region_new(struct slab *s, size_t c)
{
    size_t len = 2 * SLAB_REGION, head, tail;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct slab__region *rg;

    if (p == MAP_FAILED)
        mem_oom(len);
    head = (SLAB_REGION - ((uintptr_t)p & (SLAB_REGION - 1))) & (SLAB_REGION - 1);
    tail = len - head - SLAB_REGION;
    if (head > 0)
        munmap(p, head);
    if (tail > 0)
        munmap(p + head + SLAB_REGION, tail);
    madvise(p + head, SLAB_REGION, MADV_NOHUGEPAGE);
    rg = mem_alloc(sizeof *rg);
    rg->base = p + head;
    rg->free = UINT32_MAX;
    rg->held = 0;
    rg->cls = (uint32_t)c;
    rg->ripe = 0;
    rg->hold_next = NULL;
    spare_push(s, rg);
    rg->all_prev = NULL;
    rg->all_next = s->all;
    if (s->all != NULL)
        s->all->all_prev = rg;
    s->all = rg;
    s->regions++;
    return rg;
}

/* Take rg out of the holding list (at most SLAB_HOLD long): its held pages are gone. */
static void hold_unlink(struct slab *s, struct slab__region *rg)
{
    struct slab__region **at = &s->holding;

    while (*at != rg)
        at = &(*at)->hold_next;
    *at = rg->hold_next;
    rg->hold_next = NULL;
}

static void region_unmap(struct slab *s, struct slab__region *rg)
{
    if (rg->held != 0) {
        hold_unlink(s, rg);
        s->held -= (size_t)__builtin_popcount(rg->held);
    }
    if (rg->all_prev != NULL)
        rg->all_prev->all_next = rg->all_next;
    else
        s->all = rg->all_next;
    if (rg->all_next != NULL)
        rg->all_next->all_prev = rg->all_prev;
    /* ASan's shadow of the range must be clear for whoever maps it next. */
    UNPOISON(rg->base, SLAB_REGION);
    munmap(rg->base, SLAB_REGION);
    free(rg);
    s->regions--;
}

/* A page set up for class c, from the class's idle page or a region's free one. */
static struct slab__page *page_new(struct slab *s, size_t c)
{
    struct slab_class *cl = &s->cls[c];
    struct slab__page *pg = cl->idle;

    if (pg != NULL) {
        cl->idle = NULL;
    } else {
        struct slab__region *rg = cl->spare != NULL ? cl->spare : region_new(s, c);
        /* A held page first: it is still mapped in, no fault to take it. */
        unsigned i = (unsigned)__builtin_ctz(rg->held != 0 ? rg->held : rg->free);

        if (rg->held & (UINT32_C(1) << i)) {
            rg->held &= ~(UINT32_C(1) << i);
            s->held--;
            if (rg->held == 0) /* the list holds the regions with a page held, only them */
                hold_unlink(s, rg);
        }
        rg->free &= ~(UINT32_C(1) << i);
        if (rg->free == 0) {
            spare_remove(s, rg);
            region_full(s, rg);
        }
        pg = (struct slab__page *)(void *)(rg->base + i * SLAB_PAGE);
        UNPOISON(pg, SLAB_PAGE);
        pg->region = rg;
        s->pages++;
    }
    pg->cls = (uint32_t)c;
    layout(c, &pg->first, &pg->cap);
    pg->used = pg->carved = pg->hint = 0;
    pg->in_room = 0;
    memset(pg->live, 0, (pg->first - sizeof *pg) & ~(size_t)7);
    POISON((char *)pg + pg->first, SLAB_PAGE - pg->first);
    room_push(cl, pg);
    cl->pages++;
    return pg;
}

/* Give back the run of free pages of rg from page lo on, in one call; the page past it. */
static unsigned give_back(struct slab__region *rg, unsigned lo)
{
    unsigned hi = lo;

    while (hi < PAGES_A_REGION && (rg->free & (UINT32_C(1) << hi)))
        hi++;
    madvise(rg->base + lo * SLAB_PAGE, (hi - lo) * SLAB_PAGE, MADV_DONTNEED);
    return hi;
}

int slab_flush_step(struct slab *s, size_t runs)
{
    while (s->holding != NULL && runs > 0) {
        struct slab__region *rg = s->holding;
        /* A run may take in pages given back before: the kernel skips what is not there. */
        unsigned lo = (unsigned)__builtin_ctz(rg->held), hi = give_back(rg, lo);
        uint32_t gone = rg->held & (hi < PAGES_A_REGION ? (UINT32_C(1) << hi) - 1 : UINT32_MAX);

        rg->held &= ~gone;
        s->held -= (size_t)__builtin_popcount(gone);
        runs--;
        if (rg->held == 0)
            hold_unlink(s, rg);
    }
    return s->holding != NULL;
}

void slab_flush(struct slab *s)
{
    while (slab_flush_step(s, SIZE_MAX))
        ;
}

/*
 * pg goes back to the system: held for a run (slab_flush_step), or with its whole region once
 * the region holds nothing.
 */
static void page_release(struct slab *s, struct slab__page *pg)
{
    struct slab__region *rg = pg->region;
    unsigned i = (unsigned)(((char *)pg - rg->base) / SLAB_PAGE);

    if (rg->free == 0) {
        region_not_full(s, rg);
        spare_push(s, rg);
    }
    s->pages--;
    rg->free |= UINT32_C(1) << i;
    if (rg->free == UINT32_MAX) {
        spare_remove(s, rg);
        region_unmap(s, rg);
        return;
    }
    if (rg->held == 0) {
        rg->hold_next = s->holding;
        s->holding = rg;
    }
    rg->held |= UINT32_C(1) << i;
    if (++s->held > SLAB_HOLD)
        slab_flush_step(s, SLAB_FLUSH_RUNS);
}

/*
 * pg holds nothing now. A class that still has pages keeps one empty page for its next:
 * series that come and go at a page's edge would otherwise give it back and fault it in
 * each time. Otherwise it goes back, and a class left with no page gives its idle one too.
 */
static void page_empty(struct slab *s, struct slab__page *pg)
{
    struct slab_class *cl = &s->cls[pg->cls];

    if (pg->in_room)
        room_remove(cl, pg);
    cl->pages--;
    if (s->draining == pg)
        s->draining = NULL;
    if (cl->idle == NULL && cl->pages > 0) {
        cl->idle = pg;
        return;
    }
    page_release(s, pg);
    if (cl->pages == 0 && cl->idle != NULL) {
        page_release(s, cl->idle);
        cl->idle = NULL;
    }
}

/* The index of a free block of pg below carved, or carve a new one. */
static uint32_t take(struct slab__page *pg)
{
    if (pg->used < pg->carved) {
        for (uint32_t w = pg->hint;; w++) {
            if (pg->live[w] != UINT64_MAX) {
                uint32_t i = w * 64 + (uint32_t)__builtin_ctzll(~pg->live[w]);

                if (i < pg->carved) {
                    pg->hint = w;
                    return i;
                }
                break;
            }
        }
    }
    pg->hint = pg->carved / 64;
    return pg->carved++;
}

void *slab_alloc(struct slab *s, size_t *bytes, size_t n)
{
    size_t c = (n - 1) / SLAB_GRAIN;
    struct slab_class *cl;
    struct slab__page *pg;
    uint32_t i;
    char *p;

    if (n > SLAB_MAX) {
        *bytes += n;
        return mem_alloc(n);
    }
    cl = &s->cls[c];
    pg = cl->room != NULL ? cl->room : page_new(s, c);
    i = take(pg);
    pg->live[i / 64] |= UINT64_C(1) << (i % 64);
    if (++pg->used == pg->cap)
        room_remove(cl, pg);
    cl->used++;
    p = block(pg, i);
    UNPOISON(p, n);
    *bytes += n;
    return p;
}

void slab_free(struct slab *s, size_t *bytes, void *p, size_t n)
{
    struct slab__page *pg;
    struct slab_class *cl;
    size_t i;

    if (p == NULL)
        return;
    *bytes -= n;
    if (n > SLAB_MAX) {
        free(p);
        return;
    }
    pg = page_of(p);
    cl = &s->cls[pg->cls];
    i = (size_t)((char *)p - block(pg, 0)) / class_size(pg->cls);
    pg->live[i / 64] &= ~(UINT64_C(1) << (i % 64));
    if (i / 64 < pg->hint)
        pg->hint = (uint32_t)(i / 64);
    POISON(p, class_size(pg->cls));
    cl->used--;
    if (--pg->used == 0)
        page_empty(s, pg);
    else if (!pg->in_room && s->draining != pg)
        room_push(cl, pg);
}

/* Whether class c holds two pages of free room or more, in three pages or more. */
static int worth(const struct slab *s, size_t c)
{
    const struct slab_class *cl = &s->cls[c];
    uint32_t first, cap;

    if (cl->pages < 3)
        return 0;
    layout(c, &first, &cap);
    return cl->pages * cap - cl->used >= 2 * (size_t)cap;
}

/* How full a page is, in sixteenths of its blocks (the drain's order, fuller()). */
static uint32_t fullness(const struct slab__page *pg)
{
    return (uint32_t)((uint64_t)pg->used * 16 / pg->cap);
}

/*
 * The fullest first; among pages about as full (the same sixteenth), the higher address
 * first, so that the drain, which takes from the end, empties pages side by side and they
 * go back in runs: survivors spread evenly leave neighbours 70 and 71 blocks full, and
 * draining by the exact count emptied every other page (a madvise each).
 */
static int fuller(const void *a, const void *b)
{
    const struct slab__page *x = *(struct slab__page *const *)a;
    const struct slab__page *y = *(struct slab__page *const *)b;
    uint32_t fx = fullness(x), fy = fullness(y);

    if (fx != fy)
        return fx < fy ? 1 : -1;
    return x != y ? ((uintptr_t)x < (uintptr_t)y ? 1 : -1) : 0;
}

/* Put pg at the end of the room list (room_push puts it at the head). */
static void room_append(struct slab_class *cl, struct slab__page *pg)
{
    pg->next = NULL;
    pg->prev = cl->room_tail;
    if (cl->room_tail != NULL)
        cl->room_tail->next = pg;
    else
        cl->room = pg;
    cl->room_tail = pg;
    pg->in_room = 1;
}

/*
 * Put the room list of class c in order, the fullest first, so that drained blocks fill
 * the fullest pages and no block moves twice: at most SLAB_SORT_MAX pages at a time, taken
 * from the head. Each costs a TLB miss (page headers lie a page apart), and at 10M series
 * a class had tens of thousands of pages with room: sorting them all held one call 8 ms.
 * A list that fits is sorted whole, as before. A longer one has its window sorted: the
 * fuller half goes back to the head, where allocation fills, and the emptier half to the
 * tail, the emptiest last, where draining takes; the next window starts with those fuller
 * pages and goes half a window further into the list. cl->sorted counts the pages at the
 * tail in order; a free that puts a page back at the head clears it (room_push).
 */
static void sort_room(struct slab_class *cl)
{
    struct slab__page *all[SLAB_SORT_MAX];
    size_t n = 0, i, half;

    while (cl->room != NULL && n < SLAB_SORT_MAX) {
        all[n++] = cl->room;
        room_remove(cl, cl->room);
    }
    qsort(all, n, sizeof *all, fuller);
    half = cl->room == NULL ? n : n / 2;
    for (i = half; i-- > 0;)
        room_push(cl, all[i]);
    for (i = half; i < n; i++)
        room_append(cl, all[i]);
    cl->sorted = cl->room_tail != NULL ? (half == n ? n : n - half) : 0;
}

/* Start draining the emptiest page of class c with room, its last once sorted. */
static void drain_start(struct slab *s, size_t c)
{
    struct slab_class *cl = &s->cls[c];
    struct slab__page *pg;

    if (cl->sorted == 0)
        sort_room(cl);
    pg = cl->room_tail;
    room_remove(cl, pg);
    cl->sorted--;
    s->draining = pg;
}

int slab_compact(struct slab *s, size_t budget, slab_move_cb move, void *arg)
{
    size_t moved = 0, scratch = 0;

    while (moved < budget) {
        struct slab__page *pg = s->draining;
        size_t size, i, w = 0;
        char *from;
        void *to;

        if (pg == NULL) {
            size_t k;

            for (k = 0; k < SLAB_CLASSES && !worth(s, (s->compact_cls + k) % SLAB_CLASSES); k++)
                ;
            if (k == SLAB_CLASSES)
                return 0;
            s->compact_cls = (s->compact_cls + k) % SLAB_CLASSES;
            /* The others' room holds the page's blocks: the class has two pages of it. */
            drain_start(s, s->compact_cls);
            continue;
        }
        while (pg->live[w] == 0)
            w++;
        i = w * 64 + (size_t)__builtin_ctzll(pg->live[w]);
        size = class_size(pg->cls);
        from = block(pg, i);
        to = slab_alloc(s, &scratch, size);
        UNPOISON(from, size);
        memcpy(to, from, size);
        move(arg, from, to);
        slab_free(s, &scratch, from, size); /* the last one ends the drain */
        moved++;
    }
    return 1;
}

int slab_ripe(struct slab *s, void **base, size_t *len)
{
    struct slab__region *rg = s->ripe;

    if (rg == NULL)
        return 0;
    ripe_remove(s, rg);
    *base = rg->base;
    *len = SLAB_REGION;
    return 1;
}

void slab_warm_huge_page(void)
{
    size_t len = 2 * SLAB_REGION;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    volatile char *page;

    if (p == MAP_FAILED)
        return;
    page = (volatile char *)(((uintptr_t)p + SLAB_REGION - 1) & ~(uintptr_t)(SLAB_REGION - 1));
    if (madvise((void *)page, SLAB_REGION, MADV_HUGEPAGE) == 0)
        *page = 1;
    munmap(p, len);
}

int slab_collapse(void *base, size_t len)
{
    size_t off;
    int rc = 0;

    for (off = 0; off < len; off += SLAB_REGION) {
        size_t n = len - off < SLAB_REGION ? len - off : SLAB_REGION;

        if (madvise((char *)base + off, n, MADV_COLLAPSE) != 0 && rc == 0)
            rc = errno;
    }
    return rc;
}

void slab_release(struct slab *s)
{
    while (s->all != NULL)
        region_unmap(s, s->all);
    memset(s, 0, sizeof *s);
}

#include "daemon/hugepages.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/path.h"
#include "base/slab.h"

#define SYSFS_MAX 4096 /* bytes of a sysfs attribute */

int hugepages_allowed(const char *path)
{
    char *text;
    size_t len;
    int ok;

    if (path_read_file(path, SYSFS_MAX, &text, &len) != 0)
        return 0;
    ok = strstr(text, "[always]") != NULL || strstr(text, "[madvise]") != NULL;
    free(text);
    return ok;
}

int hugepages_size_fits(const char *path)
{
    char *text;
    size_t len;
    int rc = path_read_file(path, SYSFS_MAX, &text, &len), ok;

    if (rc != 0)
        return rc == -ENOENT;
    ok = strtoull(text, NULL, 10) == SLAB_REGION;
    free(text);
    return ok;
}

void hugepages_init(struct hugepages *h, struct bgwork *bg, struct bgwork *warm,
                    struct registry *reg, int allowed, int (*held)(void *arg), void *held_arg)
{
    *h = (struct hugepages){
        .bg = allowed ? bg : NULL, .warm = warm, .reg = reg, .held = held, .held_arg = held_arg
    };
    h->count.on = h->bg != NULL;
}

/* The state thread: the kernel copies a page of the range into a huge page. */
static void collapse_work(struct bgwork_req *req)
{
    struct hugepages *h = container_of(req, struct hugepages, req);

    h->rc = slab_collapse(h->base + h->done, h->chunk);
}

/* The warming thread (ustatsd-huge): a huge page cleared and given back. */
static void warm_work(struct bgwork_req *req)
{
    (void)req;
    slab_warm_huge_page();
}

/* The range's outcome, once its last page is done. */
static void range_done(struct hugepages *h)
{
    if (h->failed)
        h->count.refused++;
    else
        h->count.collapsed++;
    h->base = NULL;
    h->len = h->done = 0;
    h->failed = 0;
    h->warmed = 0;
}

static void collapse_done(struct bgwork_req *req);
static void warm_done(struct bgwork_req *req);

/* Ask the threads for the next page of the range: warmed first, where a thread warms. */
static void start_page(struct hugepages *h)
{
    int rc;

    h->chunk = h->len - h->done < SLAB_REGION ? h->len - h->done : SLAB_REGION;
    rc = -1;
    if (h->warm != NULL && !h->warmed &&
        (rc = bgwork_queue(h->warm, &h->req, warm_work, warm_done)) != 0)
        h->warm = NULL; /* its thread could not start: collapses go on without warming */
    if (rc != 0)
        rc = bgwork_queue(h->bg, &h->req, collapse_work, collapse_done);
    if (rc != 0) {
        /* A thread could not start: khugepaged may still get to the rest. */
        h->failed = 1;
        range_done(h);
        return;
    }
    h->busy = 1;
}

static void next_page(struct hugepages *h);

/*
 * The loop thread: the page is warmed; its collapse follows at once unless held, else at
 * a later poke (warmed again: the page may have gone elsewhere meanwhile), a table's page
 * checked again first (next_page): the warming may have waited long for its CPU.
 */
static void warm_done(struct bgwork_req *req)
{
    struct hugepages *h = container_of(req, struct hugepages, req);

    h->busy = 0;
    if (h->held != NULL && h->held(h->held_arg))
        return;
    h->warmed = 1;
    next_page(h);
}

/* The loop thread: count the page; the range's next one follows unless held. */
static void collapse_done(struct bgwork_req *req)
{
    struct hugepages *h = container_of(req, struct hugepages, req);

    h->busy = 0;
    h->warmed = 0;
    if (h->rc == 0)
        h->count.collapsed_bytes += h->chunk;
    else
        h->failed = 1;
    h->done += h->chunk;
    if (h->done >= h->len)
        range_done(h);
    else
        hugepages_poke(h);
}

/*
 * The range's next page, if the store still holds it where it was: a table moved or
 * freed meanwhile (a growth, a shrink, a reset) is given up, and counted as refused. A
 * region of series is not looked up: one that gave a page back is refused by the kernel.
 */
static void next_page(struct hugepages *h)
{
    if (h->table && !registry_range_live(h->reg, h->base + h->done, h->len - h->done)) {
        h->failed = 1;
        range_done(h);
        return;
    }
    start_page(h);
}

void hugepages_poke(struct hugepages *h)
{
    void *base;

    if (h->busy || h->bg == NULL || (h->held != NULL && h->held(h->held_arg)))
        return;
    if (h->base != NULL) {
        next_page(h);
        return;
    }
    if (!registry_ripe(h->reg, &base, &h->len))
        return;
    h->base = base; /* done and failed are 0: range_done() left them so */
    h->table = registry_range_live(h->reg, base, h->len);
    h->count.handed++;
    start_page(h);
}

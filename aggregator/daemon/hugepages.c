#include "daemon/hugepages.h"

#include <stddef.h>

#include "base/common.h"
#include "base/slab.h"

void hugepages_init(struct hugepages *h, struct bgwork *bg, struct registry *reg)
{
    *h = (struct hugepages){ .bg = bg, .reg = reg };
}

/* The state thread: the kernel copies the region into a huge page. */
static void collapse_work(struct bgwork_req *req)
{
    struct hugepages *h = container_of(req, struct hugepages, req);

    h->rc = slab_collapse(h->base, h->len);
}

/* The loop thread: count it, and go on with the next full region. */
static void collapse_done(struct bgwork_req *req)
{
    struct hugepages *h = container_of(req, struct hugepages, req);

    h->busy = 0;
    if (h->rc == 0)
        h->collapsed++;
    else
        h->refused++;
    hugepages_poke(h);
}

void hugepages_poke(struct hugepages *h)
{
    if (h->busy || h->bg == NULL || !registry_ripe(h->reg, &h->base, &h->len))
        return;
    if (bgwork_queue(h->bg, &h->req, collapse_work, collapse_done) == 0)
        h->busy = 1;
}

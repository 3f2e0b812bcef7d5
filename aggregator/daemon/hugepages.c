#include "daemon/hugepages.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/slab.h"

int hugepages_allowed(const char *path)
{
    char text[128];
    FILE *f = fopen(path, "r");
    int ok = 0;

    if (f == NULL)
        return 0;
    if (fgets(text, sizeof text, f) != NULL)
        ok = strstr(text, "[always]") != NULL || strstr(text, "[madvise]") != NULL;
    fclose(f);
    return ok;
}

int hugepages_size_fits(const char *path)
{
    char text[64];
    FILE *f = fopen(path, "r");
    int ok;

    if (f == NULL)
        return errno == ENOENT;
    ok = fgets(text, sizeof text, f) != NULL && strtoull(text, NULL, 10) == SLAB_REGION;
    fclose(f);
    return ok;
}

void hugepages_init(struct hugepages *h, struct bgwork *bg, struct registry *reg, int allowed)
{
    *h = (struct hugepages){ .bg = allowed ? bg : NULL, .reg = reg };
    h->count.on = h->bg != NULL;
}

/* The state thread: the kernel copies the range into huge pages. */
static void collapse_work(struct bgwork_req *req)
{
    struct hugepages *h = container_of(req, struct hugepages, req);

    h->rc = slab_collapse(h->base, h->len);
}

/* The loop thread: count it; the next tick starts the next range. */
static void collapse_done(struct bgwork_req *req)
{
    struct hugepages *h = container_of(req, struct hugepages, req);

    h->busy = 0;
    if (h->rc == 0) {
        h->count.collapsed++;
        h->count.collapsed_bytes += h->len;
    } else {
        h->count.refused++;
    }
}

void hugepages_poke(struct hugepages *h)
{
    if (h->busy || h->bg == NULL || !registry_ripe(h->reg, &h->base, &h->len))
        return;
    h->count.handed++;
    if (bgwork_queue(h->bg, &h->req, collapse_work, collapse_done) == 0)
        h->busy = 1;
    else
        h->count.refused++; /* the thread could not start: khugepaged may still get to it */
}

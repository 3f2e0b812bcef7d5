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

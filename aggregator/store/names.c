#include "store/names.h"

#include <string.h>
/* The hash runs on every fully parsed line: let the compiler inline xxhash's own code. */
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

#include "base/counted.h"
#include "base/errcode.h"
#include "statsd.h"

void names_reset(struct names *n, size_t nfamilies, size_t *bytes)
{
    size_t nslots;

    for (nslots = 16; nslots < 4 * nfamilies; nslots *= 2)
        ;
    names_release(n, bytes);
    n->mask = nslots - 1;
    n->slots = counted_calloc(bytes, nslots, sizeof *n->slots);
}

static void put(struct names *n, uint64_t h, const char *name, size_t len, uint32_t fam, int total)
{
    size_t i = h & n->mask;

    while (n->slots[i].fam1 != 0)
        i = (i + 1) & n->mask;
    n->slots[i].hash = h;
    n->slots[i].name = name;
    n->slots[i].len = (uint32_t)len;
    n->slots[i].fam1 = fam + 1;
    n->slots[i].total = (uint32_t)total;
}

void names_add(struct names *n, const char *name, size_t len, uint32_t fam, int total)
{
    char tmp[STATSD_MAX_NAME + 8];

    put(n, XXH3_64bits(name, len), name, len, fam, 0);
    if (total && len + 6 <= sizeof tmp) {
        memcpy(tmp, name, len);
        memcpy(tmp + len, "_total", 6);
        put(n, XXH3_64bits(tmp, len + 6), name, len, fam, 1);
    }
}

long names_find(const struct names *n, const char *name, size_t len)
{
    uint64_t h = XXH3_64bits(name, len);
    size_t i;

    if (n->slots == NULL)
        return ERRCODE_UNKNOWN;
    for (i = h & n->mask; n->slots[i].fam1 != 0; i = (i + 1) & n->mask) {
        const struct names_entry *e = &n->slots[i];

        if (e->hash != h)
            continue;
        if (!e->total && e->len == len && memcmp(e->name, name, len) == 0)
            return (long)e->fam1 - 1;
        if (e->total && e->len + 6 == len && memcmp(e->name, name, e->len) == 0 &&
            memcmp(name + e->len, "_total", 6) == 0)
            return (long)e->fam1 - 1;
    }
    return ERRCODE_UNKNOWN;
}

void names_release(struct names *n, size_t *bytes)
{
    if (n->slots != NULL)
        counted_free(bytes, n->slots, (n->mask + 1) * sizeof *n->slots);
    memset(n, 0, sizeof *n);
}

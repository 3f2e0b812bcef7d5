#include "base/strset.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

/* FNV-1a: label values are short, and the set lives for one query result only. */
static uint64_t hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

static size_t slot(const struct strset *set, const char *s, uint32_t len)
{
    size_t i = (size_t)hash(s, len) & (set->cap - 1);

    while (set->s[i] != NULL && !(set->len[i] == len && memcmp(set->s[i], s, len) == 0))
        i = (i + 1) & (set->cap - 1);
    return i;
}

int strset_has(const struct strset *set, const char *s, uint32_t len)
{
    return set->cap > 0 && set->s[slot(set, s, len)] != NULL;
}

static void grow(struct strset *set)
{
    struct strset old = *set;
    size_t i;

    set->cap = old.cap ? old.cap * 2 : 16;
    set->n = 0;
    set->s = mem_calloc(set->cap, sizeof(*set->s));
    set->len = mem_calloc(set->cap, sizeof(*set->len));
    for (i = 0; i < old.cap; i++) {
        if (old.s[i] != NULL) {
            size_t j = slot(set, old.s[i], old.len[i]);
            set->s[j] = old.s[i];
            set->len[j] = old.len[i];
            set->n++;
        }
    }
    free(old.s);
    free(old.len);
}

void strset_add(struct strset *set, const char *s, uint32_t len)
{
    size_t i;

    if ((set->n + 1) * 2 > set->cap)
        grow(set);
    i = slot(set, s, len);
    if (set->s[i] == NULL) {
        set->s[i] = s;
        set->len[i] = len;
        set->n++;
    }
}

void strset_release(struct strset *set)
{
    free(set->s);
    free(set->len);
    memset(set, 0, sizeof(*set));
}

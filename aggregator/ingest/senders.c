#include "ingest/senders.h"

#include <stdlib.h>

#include "base/mem.h"

/*
 * The index has twice as many slots as the table has entries, so a probe sequence stays
 * short at full load (linear probing at load 1/2: about 1.5 probes for a hit, 2.5 for a
 * miss). A power of two, so that a slot is a mask away.
 */
#define INDEX_SLOTS (2u * SENDERS_CAP)
#define INDEX_MASK  (INDEX_SLOTS - 1u)

/* Fibonacci hashing: pids are small and dense, the multiply spreads them over the bits. */
static uint32_t home(pid_t pid)
{
    return (uint32_t)(((uint64_t)(uint32_t)pid * 0x9e3779b97f4a7c15u) >> 51) & INDEX_MASK;
}

void senders_init(struct senders *t)
{
    *t = (struct senders){ .head = SENDERS_NONE, .tail = SENDERS_NONE, .last_pid = -1 };
    t->ent = mem_calloc(SENDERS_CAP, sizeof(*t->ent));
    t->index = mem_alloc(INDEX_SLOTS * sizeof(*t->index));
    for (uint32_t i = 0; i < INDEX_SLOTS; i++)
        t->index[i] = SENDERS_NONE;
}

void senders_release(struct senders *t)
{
    free(t->ent);
    free(t->index);
    *t = (struct senders){ .head = SENDERS_NONE, .tail = SENDERS_NONE, .last_pid = -1 };
}

/* The index slot holding pid, or the empty slot where it would go. */
static uint32_t probe(const struct senders *t, pid_t pid)
{
    uint32_t s = home(pid);

    while (t->index[s] != SENDERS_NONE && t->ent[t->index[s]].pid != pid)
        s = (s + 1) & INDEX_MASK;
    return s;
}

/*
 * Backward-shift deletion (Knuth 6.4, algorithm R): the entries after the emptied slot
 * that would no longer be reachable move back into it, so no tombstones pile up under a
 * churn of short-lived pids.
 */
static void index_delete(struct senders *t, uint32_t s)
{
    uint32_t j = s;

    for (;;) {
        uint32_t h;

        j = (j + 1) & INDEX_MASK;
        if (t->index[j] == SENDERS_NONE)
            break;
        h = home(t->ent[t->index[j]].pid);
        /* j stays when its home lies cyclically in (s, j]. */
        if (s <= j ? (s < h && h <= j) : (s < h || h <= j))
            continue;
        t->index[s] = t->index[j];
        s = j;
    }
    t->index[s] = SENDERS_NONE;
}

static void unlink_entry(struct senders *t, uint32_t i)
{
    struct senders_entry *e = &t->ent[i];

    if (e->prev != SENDERS_NONE)
        t->ent[e->prev].next = e->next;
    else
        t->head = e->next;
    if (e->next != SENDERS_NONE)
        t->ent[e->next].prev = e->prev;
    else
        t->tail = e->prev;
}

static void push_head(struct senders *t, uint32_t i)
{
    struct senders_entry *e = &t->ent[i];

    e->prev = SENDERS_NONE;
    e->next = t->head;
    if (t->head != SENDERS_NONE)
        t->ent[t->head].prev = i;
    else
        t->tail = i;
    t->head = i;
}

void senders__note(struct senders *t, pid_t pid, uid_t uid, gid_t gid, uint64_t now_ms)
{
    uint32_t s, i;
    struct senders_entry *e;

    if (pid <= 0)
        return;
    s = probe(t, pid);
    if (t->index[s] != SENDERS_NONE) {
        i = t->index[s];
        if (i != t->head) {
            unlink_entry(t, i);
            push_head(t, i);
        }
    } else {
        if (t->n < SENDERS_CAP) {
            i = (uint32_t)t->n++;
        } else {
            /* Full: the least recently seen entry makes room, in place. */
            i = t->tail;
            unlink_entry(t, i);
            index_delete(t, probe(t, t->ent[i].pid));
            t->evictions++;
            s = probe(t, pid);
        }
        t->index[s] = i;
        t->ent[i].pid = pid;
        push_head(t, i);
        t->added++;
    }
    e = &t->ent[i];
    e->uid = uid;
    e->gid = gid;
    e->last_seen_ms = now_ms;
    t->last_pid = pid;
    t->last_uid = uid;
    t->last_gid = gid;
}

const struct senders_entry *senders_find(const struct senders *t, pid_t pid)
{
    uint32_t s;

    if (t->n == 0 || pid <= 0)
        return NULL;
    s = probe(t, pid);
    return t->index[s] == SENDERS_NONE ? NULL : &t->ent[t->index[s]];
}

int senders_remove(struct senders *t, pid_t pid)
{
    uint32_t s, i, last;

    if (t->n == 0 || pid <= 0)
        return 0;
    s = probe(t, pid);
    if (t->index[s] == SENDERS_NONE)
        return 0;
    i = t->index[s];
    unlink_entry(t, i);
    index_delete(t, s);
    /* Keep the entries packed: the last one moves into the hole. */
    last = (uint32_t)(t->n - 1);
    if (i != last) {
        struct senders_entry *m = &t->ent[i];

        *m = t->ent[last];
        t->index[probe(t, m->pid)] = i;
        if (m->prev != SENDERS_NONE)
            t->ent[m->prev].next = i;
        else
            t->head = i;
        if (m->next != SENDERS_NONE)
            t->ent[m->next].prev = i;
        else
            t->tail = i;
    }
    t->n--;
    t->removed++;
    /* The fast path trusts last_pid to be the head: re-point it at the new head. */
    if (t->head == SENDERS_NONE) {
        t->last_pid = -1;
    } else {
        t->last_pid = t->ent[t->head].pid;
        t->last_uid = t->ent[t->head].uid;
        t->last_gid = t->ent[t->head].gid;
    }
    return 1;
}

const struct senders_entry *senders_first(const struct senders *t)
{
    return t->head == SENDERS_NONE ? NULL : &t->ent[t->head];
}

const struct senders_entry *senders_next(const struct senders *t, const struct senders_entry *e)
{
    return e->next == SENDERS_NONE ? NULL : &t->ent[e->next];
}

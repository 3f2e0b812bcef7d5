#include "remote/rwqueue.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

void rwqueue_init(struct rwqueue *q, size_t max_bytes, rwqueue_drop_cb dropped, void *arg)
{
    memset(q, 0, sizeof *q);
    q->max_bytes = max_bytes;
    q->dropped = dropped;
    q->arg = arg;
}

struct rwqueue_body *rwqueue_body_new(const void *data, size_t len, int64_t timestamp_ms,
                                      uint64_t samples, uint64_t histograms)
{
    struct rwqueue_body *b = mem_alloc(sizeof *b + len);

    b->next = NULL;
    b->timestamp_ms = timestamp_ms;
    b->samples = samples;
    b->histograms = histograms;
    b->attempts = 0;
    b->len = len;
    if (data != NULL && len > 0)
        memcpy(b->data, data, len);
    return b;
}

static void tell(struct rwqueue *q, enum rwqueue_drop why, const struct rwqueue_body *b)
{
    if (q->dropped != NULL)
        q->dropped(q->arg, why, b);
}

/* Unlink the body after prev (NULL: the head) and free it, telling why. */
static void drop_after(struct rwqueue *q, struct rwqueue_body *prev, enum rwqueue_drop why)
{
    struct rwqueue_body *b = prev ? prev->next : q->head;

    if (prev != NULL)
        prev->next = b->next;
    else
        q->head = b->next;
    if (q->tail == b)
        q->tail = prev;
    q->bytes -= b->len;
    q->count--;
    q->samples -= b->samples;
    q->histograms -= b->histograms;
    tell(q, why, b);
    free(b);
}

/* Drop the oldest waiting bodies until extra more bytes fit; 0 if they cannot. */
static int make_room(struct rwqueue *q, size_t extra)
{
    struct rwqueue_body *keep = q->head_busy ? q->head : NULL;
    size_t floor = keep ? keep->len : 0;

    if (extra > q->max_bytes || floor > q->max_bytes - extra)
        return 0;
    while (q->bytes + extra > q->max_bytes)
        drop_after(q, keep, RWQUEUE_DROP_QUEUE_FULL);
    return 1;
}

void rwqueue_push(struct rwqueue *q, struct rwqueue_body *b)
{
    if (!make_room(q, b->len)) {
        tell(q, RWQUEUE_DROP_TOO_LARGE, b);
        free(b);
        return;
    }
    b->next = NULL;
    if (q->tail != NULL)
        q->tail->next = b;
    else
        q->head = b;
    q->tail = b;
    q->bytes += b->len;
    q->count++;
    q->samples += b->samples;
    q->histograms += b->histograms;
}

struct rwqueue_body *rwqueue_take(struct rwqueue *q)
{
    if (q->head == NULL)
        return NULL;
    q->head_busy = 1;
    return q->head;
}

void rwqueue_done(struct rwqueue *q, int rejected)
{
    struct rwqueue_body *b = q->head;

    if (b == NULL || !q->head_busy)
        return;
    q->head_busy = 0;
    if (rejected) {
        drop_after(q, NULL, RWQUEUE_DROP_REJECTED);
        return;
    }
    q->head = b->next;
    if (q->tail == b)
        q->tail = NULL;
    q->bytes -= b->len;
    q->count--;
    q->samples -= b->samples;
    q->histograms -= b->histograms;
    free(b);
}

void rwqueue_release(struct rwqueue *q)
{
    q->head_busy = 0;
}

void rwqueue_set_max(struct rwqueue *q, size_t max_bytes)
{
    q->max_bytes = max_bytes;
    while (q->bytes > q->max_bytes) {
        struct rwqueue_body *keep = q->head_busy ? q->head : NULL;

        if ((keep ? keep->next : q->head) == NULL)
            break; /* only the one being sent: it goes when done */
        drop_after(q, keep, RWQUEUE_DROP_QUEUE_FULL);
    }
}

void rwqueue_clear(struct rwqueue *q)
{
    while (q->head != NULL) {
        struct rwqueue_body *b = q->head;

        q->head = b->next;
        free(b);
    }
    q->tail = NULL;
    q->bytes = 0;
    q->count = 0;
    q->samples = 0;
    q->histograms = 0;
    q->head_busy = 0;
}

const char *rwqueue_drop_name(enum rwqueue_drop why)
{
    switch (why) {
    case RWQUEUE_DROP_QUEUE_FULL:
        return "queue_full";
    case RWQUEUE_DROP_TOO_LARGE:
        return "too_large";
    case RWQUEUE_DROP_REJECTED:
        return "rejected";
    case RWQUEUE_DROP_BEHIND:
        return "behind";
    case RWQUEUE_DROP_COUNT:
        break;
    }
    return "?";
}

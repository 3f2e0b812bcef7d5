#include "ingest/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/common.h"
#include "base/mem.h"

/* One SCM_CREDENTIALS message per datagram; nothing else is asked for. UDP asks for none. */
#define CTRL_SPACE CMSG_SPACE(sizeof(struct ucred))

/*
 * The lengths and flags that recvmmsg writes back, set again for the messages the last
 * call may have written: at one line a datagram a call returns a few of the 64, and
 * setting all of them each time cost more than the few datagrams' own bookkeeping.
 */
static void reset_msgs(struct ingest *in)
{
    for (unsigned i = 0; i < in->touched; i++) {
        in->msgs[i].msg_hdr.msg_controllen = in->kind == INGEST_UNIX ? CTRL_SPACE : 0;
        in->msgs[i].msg_hdr.msg_namelen = in->names != NULL ? sizeof(*in->names) : 0;
        in->msgs[i].msg_hdr.msg_flags = 0;
    }
    in->touched = 0;
}

void ingestrecv_alloc(struct ingest *in)
{
    size_t slot = in->max_datagram + 1; /* + 1: the NUL promised to the callback */
    unsigned i;

    in->msgs = mem_calloc(in->batch, sizeof(*in->msgs));
    in->iovs = mem_calloc(in->batch, sizeof(*in->iovs));
    in->bufs = mem_calloc(in->batch, slot);
    in->ctrl = mem_calloc(in->batch, CTRL_SPACE);
    if (in->kind == INGEST_UDP)
        in->names = mem_calloc(in->batch, sizeof(*in->names));
    for (i = 0; i < in->batch; i++) {
        /* iov_len leaves out the NUL byte: a datagram of max_datagram + 1 is MSG_TRUNC. */
        in->iovs[i].iov_base = in->bufs + (size_t)i * slot;
        in->iovs[i].iov_len = in->max_datagram;
        in->msgs[i].msg_hdr.msg_iov = &in->iovs[i];
        in->msgs[i].msg_hdr.msg_iovlen = 1;
        in->msgs[i].msg_hdr.msg_control = (char *)in->ctrl + (size_t)i * CTRL_SPACE;
        if (in->names != NULL)
            in->msgs[i].msg_hdr.msg_name = &in->names[i];
    }
    in->touched = in->batch;
    reset_msgs(in);
}

void ingestrecv_free(struct ingest *in)
{
    free(in->msgs);
    free(in->iovs);
    free(in->bufs);
    free(in->ctrl);
    free(in->names);
    in->names = NULL;
    in->msgs = NULL;
    in->iovs = NULL;
    in->bufs = NULL;
    in->ctrl = NULL;
}

static void deliver(struct ingest *in, struct mmsghdr *m)
{
    struct msghdr *h = &m->msg_hdr;
    struct ucred uc;
    const struct ucred *cred = NULL;
    struct cmsghdr *c;
    char *data = h->msg_iov->iov_base;
    size_t len = m->msg_len;

    if ((h->msg_flags & MSG_TRUNC) || len > in->max_datagram) {
        in->stats.truncated++;
        return;
    }
    for (c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
            c->cmsg_len >= CMSG_LEN(sizeof(uc))) {
            /* CMSG_DATA need not be aligned for struct ucred: copy it out. */
            memcpy(&uc, CMSG_DATA(c), sizeof(uc));
            cred = &uc;
        }
    }
    data[len] = '\0';
    in->stats.datagrams++;
    in->stats.bytes += len;
    in->cb(in, data, len, cred, h->msg_name != NULL && h->msg_namelen > 0 ? h->msg_name : NULL,
           in->arg);
}

/* Hint datagram i of a batch of n at step (in->hint set). */
static void hint(struct ingest *in, unsigned i, unsigned n, enum ingest_hint_step step)
{
    if (i < n)
        in->hint(in->msgs[i].msg_hdr.msg_iov->iov_base,
                 in->msgs[i].msg_len < in->max_datagram ? in->msgs[i].msg_len : in->max_datagram,
                 step, in->arg);
}

/*
 * Within a batch, the clock is read once DELIVER_CHECK_BYTES of datagrams or
 * DELIVER_CHECK_COUNT datagrams have been delivered since the last look, not after each:
 * a datagram of one line costs about a microsecond, and a look tens of ns. Once the
 * recent cost of a datagram is DELIVER_CHECK_EACH_NS or more, after each.
 */
#define DELIVER_CHECK_BYTES   4096
#define DELIVER_CHECK_COUNT   8
#define DELIVER_CHECK_EACH_NS 2000

/* Some datagrams are held: the loop must not wait, and a turn must drain them. */
static void hold(struct ingest *in, unsigned from, unsigned n)
{
    in->held = from;
    in->held_n = n;
    in->stats.batch_cuts++;
    if (!uv_is_active((uv_handle_t *)&in->resume_idle)) {
        uv_idle_start(&in->resume_idle, ingestrecv_resume_idle_cb);
        uv_check_start(&in->resume_check, ingestrecv_resume_check_cb);
    }
}

static void unhold(struct ingest *in)
{
    in->held = in->held_n = 0;
    if (uv_is_active((uv_handle_t *)&in->resume_idle)) {
        uv_idle_stop(&in->resume_idle);
        uv_check_stop(&in->resume_check);
    }
}

/*
 * Deliver msgs[from..n) of a batch, with its hints, until the time since start reaches
 * the budget: the rest is held for a later turn. Returns the datagrams delivered (or
 * dropped as truncated).
 */
static unsigned deliver_some(struct ingest *in, unsigned from, unsigned n, uint64_t start)
{
    int each = in->ns_per_dgram >= DELIVER_CHECK_EACH_NS;
    size_t bytes = 0;
    unsigned i, count = 0;

    if (in->hint != NULL) {
        for (i = 0; i < INGEST_HINT_SCAN_AHEAD; i++)
            hint(in, from + i, n, INGEST_HINT_SCAN);
        for (i = 0; i < INGEST_HINT_FETCH_AHEAD; i++)
            hint(in, from + i, n, INGEST_HINT_FETCH);
    }
    in->delivering = 1;
    for (i = from; i < n && !in->closing; i++) {
        /* The owner's hints: a datagram is scanned, then fetched, that many ahead (ingest.h). */
        if (in->hint != NULL) {
            hint(in, i + INGEST_HINT_SCAN_AHEAD, n, INGEST_HINT_SCAN);
            hint(in, i + INGEST_HINT_FETCH_AHEAD, n, INGEST_HINT_FETCH);
        }
        /*
         * The kernel copied the whole batch in; by now the first datagrams have left the
         * nearest cache. Fetch the next one (up to 4 KiB) while this one is parsed: that
         * takes far longer than the fetch.
         */
        if (i + 1 < n) {
            const char *next = in->msgs[i + 1].msg_hdr.msg_iov->iov_base;
            size_t len = in->msgs[i + 1].msg_len < 4096 ? in->msgs[i + 1].msg_len : 4096;

            for (size_t off = 0; off < len; off += 64)
                __builtin_prefetch(next + off);
        }
        deliver(in, &in->msgs[i]);
        bytes += in->msgs[i].msg_len;
        if (each || ++count >= DELIVER_CHECK_COUNT || bytes >= DELIVER_CHECK_BYTES) {
            bytes = 0;
            count = 0;
            if (i + 1 < n && uv_hrtime() - start >= in->budget_ns) {
                i++;
                break;
            }
        }
    }
    in->delivering = 0;
    if (in->hint != NULL)
        in->hint(NULL, 0, INGEST_HINT_FORGET, in->arg);
    if (i < n && !in->closing)
        hold(in, i, n);
    else
        unhold(in);
    return i - from;
}

/*
 * Level-triggered: if the budget stops the drain with datagrams still queued, epoll
 * reports the socket readable again on the next loop iteration, after the timers and the
 * HTTP connections have had their turn. A batch of one means the queue was empty a
 * moment ago; stopping there saves the recvmmsg call that would return EAGAIN (see below
 * for a longer batch).
 *
 * The time is checked between batches, and a batch asks for no more datagrams than the
 * time left affords at the recent cost of one. Datagrams differ a hundredfold: a line
 * costs tens of ns, and an 8 KiB datagram of 300 lines, some of them new series, can
 * cost 100 us. A fixed batch of 64 of those would overrun the budget by several ms. The
 * recent cost lags when it changes at once (the first datagrams of new series after known
 * ones, a table's growth), so the time is also checked within a batch, and what the
 * budget leaves of it is held for the next turn, delivered before anything newer.
 */
static void drain(struct ingest *in)
{
    uint64_t start = uv_hrtime(), t = start, now, cost;
    unsigned done = 0, got;
    int cut = 0;

    in->stats.wakeups++;
    if (in->held < in->held_n) {
        done = deliver_some(in, in->held, in->held_n, start);
        if (in->held < in->held_n || in->closing) {
            cut = in->held < in->held_n;
            goto out;
        }
        t = uv_hrtime();
        if (t - start >= in->budget_ns) {
            cut = 1;
            goto out;
        }
    }
    while (!in->closing) {
        unsigned want;
        int n;

        if (done >= in->budget) {
            cut = 1;
            break;
        }
        want = in->budget - done < in->batch ? in->budget - done : in->batch;
        if (in->ns_per_dgram != 0) {
            uint64_t afford = (in->budget_ns - (t - start)) / in->ns_per_dgram + 1;
            if (afford < want)
                want = (unsigned)afford;
        }
        reset_msgs(in);
        n = recvmmsg(in->fd, in->msgs, want, MSG_DONTWAIT, NULL);
        /* A failed call may have written to the first message: reset them all next time. */
        in->touched = n >= 0 ? (unsigned)n : want;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                in->stats.recv_errors++;
            break;
        }
        if ((uint64_t)n > in->stats.max_batch)
            in->stats.max_batch = (uint64_t)n;
        got = deliver_some(in, 0, (unsigned)n, start);
        done += got;
        now = uv_hrtime();
        if (got > 0) {
            cost = (now - t) / got;
            /* A moving average over about four batches. */
            in->ns_per_dgram = in->ns_per_dgram == 0 ? cost : (3 * in->ns_per_dgram + cost) / 4;
        }
        t = now;
        if (in->held < in->held_n) {
            cut = 1;
            break;
        }
        /*
         * A batch of one means datagrams come slower than they are handled: back to the
         * loop, which sleeps in epoll until the next, and no recvmmsg call that returns
         * EAGAIN. A batch of several, shorter than asked: they came while the last were
         * handled, and more are likely queued by now. Looking again costs one call; going
         * back to the loop costs a turn (epoll_wait, the timers, the turn's clocks), and at
         * one line a datagram the loop then turned every few datagrams.
         */
        if ((unsigned)n < want && n < 2)
            break;
        if (t - start >= in->budget_ns) {
            cut = 1;
            break;
        }
    }
out:
    if (cut)
        in->stats.budget_hits++;
    if (done > in->stats.max_wakeup)
        in->stats.max_wakeup = done;
}

void ingestrecv_readable_cb(uv_poll_t *handle, int status, int events)
{
    struct ingest *in = container_of(handle, struct ingest, poll);

    (void)events;
    if (status < 0) {
        in->stats.recv_errors++;
        return;
    }
    in->polled = 1;
    drain(in);
}

/* Only there to keep the loop from waiting while datagrams are held. */
void ingestrecv_resume_idle_cb(uv_idle_t *handle)
{
    (void)handle;
}

/* After the turn's I/O: held datagrams that the poll callback did not drain, drained. */
void ingestrecv_resume_check_cb(uv_check_t *handle)
{
    struct ingest *in = container_of(handle, struct ingest, resume_check);
    int polled = in->polled;

    in->polled = 0;
    if (!polled && in->held < in->held_n && !in->closing)
        drain(in);
}

void ingestrecv_deliver_held(struct ingest *in, int on_close)
{
    unsigned i;

    if (in->delivering || in->held >= in->held_n)
        return;
    in->delivering = 1;
    for (i = in->held; i < in->held_n && (on_close || !in->closing); i++)
        deliver(in, &in->msgs[i]);
    in->delivering = 0;
    unhold(in);
}

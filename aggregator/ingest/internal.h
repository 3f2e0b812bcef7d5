/*
 * The ingest socket's private declarations, shared by the files it is made of:
 *   ingest.c     the socket's life: the checks, binding or adopting it, polling, closing
 *   ingestrecv.c the receive path: the recvmmsg buffers and the drain on a budget
 *
 * Loop thread only, as ingest.h.
 */
#ifndef USTATSD_INGEST_INTERNAL_H
#define USTATSD_INGEST_INTERNAL_H

#include <uv.h>

#include "ingest/ingest.h"

/* ---- ingestrecv.c ---- */

/* The batch's headers, buffers and control space, in->batch of each (aborts on OOM). */
void ingestrecv_alloc(struct ingest *in);

/* Free what ingestrecv_alloc() allocated; safe when it never ran. */
void ingestrecv_free(struct ingest *in);

/* The poll callback of in->poll: drain the socket within in->budget and in->budget_ns. */
void ingestrecv_readable_cb(uv_poll_t *handle, int status, int events);

/* in->resume_idle's and in->resume_check's callbacks, active while datagrams are held. */
void ingestrecv_resume_idle_cb(uv_idle_t *handle);
void ingestrecv_resume_check_cb(uv_check_t *handle);

/*
 * Deliver every held datagram now, without hints, unless a delivery is under way; on_close
 * (ingest_close, which set in->closing): all of them, whatever a delivery does, else up
 * to a delivery that closes the ingest.
 */
void ingestrecv_deliver_held(struct ingest *in, int on_close);

#endif

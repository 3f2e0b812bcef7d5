/*
 * pg/internal.h: the declarations that sqlpool and sqlconn share and nobody else uses
 * (libuv's src/unix/internal.h is the model). Not part of any public header.
 */
#ifndef USTATSD_PG_INTERNAL_H
#define USTATSD_PG_INTERNAL_H

struct sqlpool;
struct sqlpool_collector;

/*
 * How a connection reports back to its pool.
 *  pump:         a connection became idle: hand it a queued run.
 *  conn_down:    a connection went down: fail the queued runs if none is left alive.
 *  run_done:     complete col's run; reason -1 for success. Never calls user code.
 *  set_error:    keep msg (trailing newlines trimmed) as col's last error.
 *  handle_closed: one of the pool's handles finished closing.
 */
void sqlpool__pump(struct sqlpool *pool);
void sqlpool__conn_down(struct sqlpool *pool);
void sqlpool__run_done(struct sqlpool_collector *col, int reason);
void sqlpool__set_error(struct sqlpool_collector *col, const char *msg);
void sqlpool__handle_closed(struct sqlpool *pool);

#endif

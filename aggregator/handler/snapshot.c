#include "handler/snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/jsonstr.h"
#include "base/mem.h"
#include "expose/debug.h"
#include "handler/site.h"

struct snapshot_request {
    struct persist *state;
    struct httpd_conn *conn;
    struct persist_waiter w;
};

static void refuse(struct httpd_conn *conn, const char *why)
{
    struct buf body = BUF_INIT;

    debug_error_json(&body, why);
    httpd_respond(conn, 409, "application/json", body.ptr, body.len, 0, NULL);
    buf_release(&body);
}

static void on_snapshot_cancel(void *arg)
{
    struct snapshot_request *r = arg;

    persist_cancel(r->state, &r->w);
    free(r);
}

/* The snapshot the request waited for ended: its figures, or why it failed (500). */
static void on_snapshot_done(struct persist *st, int ok, void *arg)
{
    struct snapshot_request *r = arg;
    struct buf body = BUF_INIT;

    if (ok) {
        buf_adds(&body, "{\"file\":");
        jsonstr_add_quoted(&body, st->path, strlen(st->path));
        buf_addf(&body,
                 ",\"series\":%llu,\"bytes\":%llu,\"records_bytes\":%llu,"
                 "\"seconds\":%.6f,\"longest_slice_seconds\":%.6f,\"time\":%.3f}\n",
                 (unsigned long long)st->last_series, (unsigned long long)st->last_bytes,
                 (unsigned long long)st->last_body_bytes, st->last_seconds, st->last_longest_slice,
                 st->last_ok_unix);
    } else {
        debug_error_json(&body, st->last_error);
    }
    httpd_respond(r->conn, ok ? 200 : 500, "application/json", body.ptr, body.len, 0, NULL);
    buf_release(&body);
    free(r);
}

void snapshot_on_request(struct httpd_conn *conn, const struct httpd_request *req, void *arg)
{
    struct site *s = arg;
    struct snapshot_request *r;

    (void)req;
    if (s->state.path == NULL) {
        refuse(conn, "snapshots are off: daemon.state_file (--state-file) is not set");
        return;
    }
    if (s->stopping) {
        refuse(conn, "the daemon is stopping");
        return;
    }
    r = mem_calloc(1, sizeof(*r));
    *r = (struct snapshot_request){ &s->state, conn, { on_snapshot_done, r, NULL } };
    if (httpd_defer(conn, on_snapshot_cancel, r) != 0) {
        free(r);
        httpd_respond(conn, 500, "application/json", "{\"error\":\"internal\"}\n", 20, 0, NULL);
        return;
    }
    /* Off and stopping were answered above: persist says no only for those. */
    if (persist_request(&s->state, &r->w) != 0) {
        refuse(conn, "snapshots are off, or the daemon is stopping");
        free(r);
    }
}

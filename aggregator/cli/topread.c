#include "cli/topread.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/errcode.h"

uint64_t top_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int top_read(const struct clifetch_opts *o, struct top_reading *r, struct buf *raw, char *err,
             size_t errlen)
{
    struct buf body = BUF_INIT;
    long status = 0;
    int rc;

    r->doc = NULL;
    rc = clifetch_get(o, TOP_DEBUG_PATH, &body, &status, err, errlen);
    if (rc == 0 && status != 200) {
        size_t n = body.len > 0 ? strcspn(body.ptr, "\n") : 0;

        snprintf(err, errlen, "%s%s: HTTP %ld%s%.*s", o->url, TOP_DEBUG_PATH, status,
                 n > 0 ? ": " : "", (int)(n < 200 ? n : 200), n > 0 ? body.ptr : "");
        rc = ERRCODE_ABSENT;
    }
    if (rc == 0)
        rc = top_reading_parse(r, body.ptr != NULL ? body.ptr : "", body.len, top_now_ms(), err,
                               errlen);
    if (rc == 0 && raw != NULL)
        buf_add(raw, body.ptr, body.len);
    buf_release(&body);
    return rc;
}

/*
 * routes: an HTTP server's route table. Each route is an exact path with a name (the
 * handler label of ustatsd_http_requests_total) and a count of responses by status
 * code; one more entry, ROUTES_OTHER, counts the responses to requests that match no
 * route (404s, 401s, client errors).
 *
 * A domain module. The handlers are the server's: it keeps them by route index, which
 * stays valid for the table's life (routes are never removed). The table copies the
 * strings it keeps.
 */
#ifndef USTATSD_ROUTES_H
#define USTATSD_ROUTES_H

#include <stddef.h>
#include <stdint.h>

#include "base/errcode.h"

#define ROUTES_MAX_CODES 16      /* distinct status codes counted per route */
#define ROUTES_OTHER     "other" /* the name counting requests that match no route */
/* routes_find()'s "no such route"; as an index, the one of ROUTES_OTHER. */
#define ROUTES_NONE ERRCODE_UNKNOWN

struct routes_entry {
    char *path;
    char *name;
    struct {
        unsigned code;
        uint64_t count;
    } codes[ROUTES_MAX_CODES];
    size_t ncodes;
};

struct routes {
    /* Private. */
    struct routes_entry *v;
    size_t n;
    struct routes_entry other;
};

void routes_init(struct routes *t);

/* Free every route and the table's strings; routes_init() it again before any reuse. */
void routes_release(struct routes *t);

/*
 * Add a route for exactly path. Returns its index (0, 1, ... in the order added),
 * -EEXIST for a duplicate path, or -EINVAL for a path not starting with '/' or a NULL
 * name.
 */
int routes_add(struct routes *t, const char *path, const char *name);

/* The index of the route for exactly path, or ROUTES_NONE. */
int routes_find(const struct routes *t, const char *path);

/*
 * Count a response of status for the route at index (or ROUTES_NONE). Beyond
 * ROUTES_MAX_CODES distinct codes on one route, the last slot absorbs the others.
 */
void routes_count(struct routes *t, int index, unsigned status);

/*
 * Call cb(name, code, count, arg) for each (route, status code) pair counted so far,
 * routes in the order added, then ROUTES_OTHER.
 */
typedef void (*routes_count_cb)(const char *name, unsigned code, uint64_t count, void *arg);
void routes_foreach(const struct routes *t, routes_count_cb cb, void *arg);

#endif

#include "remote/rwpush.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errcode.h"
#include "base/mem.h"

_Static_assert(CONFIG_MAX_REMOTES <= RECORDS_MAX_MARKS, "a mark per target");
_Static_assert(CONFIG_MAX_REMOTES <= RWSTATS_MAX_TARGETS, "a stats slot per target");

static int64_t mark_of(const struct records_marks *m, const char *name)
{
    for (size_t i = 0; m != NULL && i < m->n; i++)
        if (strcmp(m->m[i].name, name) == 0)
            return m->m[i].ms;
    return 0;
}

void rwpush_marks(struct rwpush *p)
{
    p->marks.n = 0;
    for (size_t i = 0; i < p->n; i++) {
        struct records_mark *m = &p->marks.m[p->marks.n];

        if (p->t[i]->st->highest_sent_ms <= 0)
            continue;
        snprintf(m->name, sizeof m->name, "%s", p->t[i]->cfg->name);
        m->ms = p->t[i]->st->highest_sent_ms;
        p->marks.n++;
    }
}

static void one_closed(void *arg)
{
    struct rwpush *p = arg;

    if (--p->closing == 0 && p->closed != NULL)
        p->closed(p->closed_arg);
}

struct closing_target {
    struct rwpush *p;
    struct rwtarget *t;
};

static void free_target(void *arg)
{
    struct closing_target *c = arg;
    struct rwpush *p = c->p;

    free(c->t);
    free(c);
    one_closed(p);
}

static void close_target(struct rwpush *p, struct rwtarget *t)
{
    struct closing_target *c = mem_alloc(sizeof *c);

    c->p = p;
    c->t = t;
    p->closing++;
    rwtarget_close(t, free_target, c);
}

static void on_marked(void *arg)
{
    rwpush_marks(arg);
}

static int start_target(struct rwpush *p, const struct config_remote *cr, int64_t last_ms)
{
    struct rwtarget *t = mem_calloc(1, sizeof *t);
    int rc;

    if (p->http == NULL && (rc = rwhttp_new(&p->http, p->site->loop)) != 0) {
        free(t);
        return rc;
    }
    if ((rc = rwtarget_start(t, p->site, p->log, p->http, cr, last_ms)) != 0) {
        free(t);
        return rc;
    }
    t->marked = on_marked;
    t->marked_arg = p;
    p->t[p->n++] = t;
    log_msg(p->log, LOG_INFO, "remote_write", "%s: sending to %s every %g s", cr->name, cr->url,
            cr->interval);
    return 0;
}

int rwpush_start(struct rwpush *p, struct site *s, struct log *log,
                 const struct records_marks *restored, char *err, size_t errlen)
{
    const struct config *c = s->cfg;
    int rc;

    memset(p, 0, sizeof *p);
    p->site = s;
    p->log = log;
    s->state.marks = &p->marks;
    for (size_t i = 0; i < c->nremotes; i++) {
        if ((rc = start_target(p, &c->remotes[i], mark_of(restored, c->remotes[i].name))) != 0) {
            snprintf(err, errlen, "remote_write %s: %s", c->remotes[i].name, errcode_str(rc));
            return rc;
        }
    }
    rwpush_marks(p);
    return 0;
}

void rwpush_apply(struct rwpush *p, const struct config *c)
{
    struct rwtarget *kept[RECORDS_MAX_MARKS] = { 0 };
    int keep[RWSTATS_MAX_TARGETS] = { 0 };

    rwpush_marks(p);
    /* Targets that stay, in the new order; the others close. */
    for (size_t i = 0; i < c->nremotes; i++) {
        for (size_t k = 0; k < p->n; k++) {
            struct rwtarget *t = p->t[k];

            if (t != NULL && strcmp(t->cfg->name, c->remotes[i].name) == 0 &&
                strcmp(t->cfg->url, c->remotes[i].url) == 0) {
                rwtarget_update(t, &c->remotes[i]);
                kept[i] = t;
                p->t[k] = NULL;
                break;
            }
        }
    }
    for (size_t k = 0; k < p->n; k++)
        if (p->t[k] != NULL) {
            log_msg(p->log, LOG_INFO, "remote_write", "%s: no longer configured, stopped",
                    p->t[k]->cfg->name);
            close_target(p, p->t[k]);
        }
    /* The slots of the targets that stay; the others' go before new targets take one. */
    for (size_t i = 0; i < c->nremotes; i++)
        for (size_t k = 0; kept[i] != NULL && k < RWSTATS_MAX_TARGETS; k++)
            if (kept[i]->st == &p->site->rwstats.t[k])
                keep[k] = 1;
    rwstats_retain(&p->site->rwstats, keep);
    p->n = 0;
    for (size_t i = 0; i < c->nremotes; i++) {
        if (kept[i] != NULL) {
            p->t[p->n++] = kept[i];
            continue;
        }
        if (start_target(p, &c->remotes[i], mark_of(&p->marks, c->remotes[i].name)) != 0)
            log_msg(p->log, LOG_ERROR, "remote_write", "%s: could not start", c->remotes[i].name);
    }
    rwpush_marks(p);
}

static void http_closed(void *arg)
{
    one_closed(arg);
}

void rwpush_close(struct rwpush *p, void (*closed)(void *arg), void *arg)
{
    p->closed = closed;
    p->closed_arg = arg;
    rwpush_marks(p);
    p->closing++; /* held until everything below has started closing */
    for (size_t i = 0; i < p->n; i++)
        close_target(p, p->t[i]);
    p->n = 0;
    if (p->http != NULL) {
        p->closing++;
        rwhttp_close(p->http, http_closed, p);
        p->http = NULL;
    }
    one_closed(p);
}

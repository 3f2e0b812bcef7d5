#include "ingest/intake.h"

#include <string.h>

#include "config/cfgwriters.h"

void intake_init(struct intake *in, struct registry *reg, struct jobs *jobs,
                 struct rejects *rejects, intake_clock_cb clock, void *clock_arg)
{
    *in = (struct intake){
        .reg = reg, .jobs = jobs, .rejects = rejects, .clock = clock, .clock_arg = clock_arg
    };
}

void intake_learn(struct intake *in, struct learnsum *learn)
{
    const struct config *c = registry_config(in->reg);

    in->learn = learn != NULL && learn->enabled ? learn : NULL;
    in->learn_drops = 0;
    for (size_t i = 0; in->learn != NULL && c != NULL && i < c->nfamilies; i++)
        if (c->families[i].undeclared == CONFIG_UNDECLARED_DROP && !c->families[i].client_telemetry)
            in->learn_drops = 1;
}

/* Who sent a line, as learn mode keeps it. */
static struct learnsum_from learn_from(const struct intake_sender *from)
{
    int cred = from != NULL && from->addr == NULL;

    return (struct learnsum_from){ cred, cred ? from->pid : 0, cred ? from->uid : 0 };
}

/*
 * Learn mode's side of a refused line: parsed when the intake parsed it (NULL for a line
 * the front cache knew, parsed here: the reject path only).
 */
static void learn_reject(struct intake *in, struct statsd_view v, const struct statsd_line *parsed,
                         int r, const struct intake_sender *from, uint64_t now_ms)
{
    struct learnsum_from who = learn_from(from);
    struct statsd_line line;

    if (learnsum_reason(r) == LEARNSUM_NREASONS)
        return;
    if (parsed == NULL) {
        if (statsd_parse_line(v.ptr, v.len, &line) != STATSD_OK)
            return;
        parsed = &line;
    }
    learnsum_note(in->learn, registry_config(in->reg), parsed, r,
                  r == STATSD_UNKNOWN_FAMILY ? NULL : registry_line_family(in->reg, parsed), &who,
                  now_ms);
}

/* An accepted line seen for the first time, when a family drops undeclared tags. */
static void learn_accepted(struct intake *in, const struct statsd_line *line,
                           const struct intake_sender *from, uint64_t now_ms)
{
    const struct config_family *f;
    struct learnsum_from who;

    if (line->ntags == 0 || (f = registry_line_family(in->reg, line)) == NULL ||
        f->undeclared != CONFIG_UNDECLARED_DROP)
        return;
    who = learn_from(from);
    learnsum_note_dropped(in->learn, registry_config(in->reg), line, f, &who, now_ms);
}

/*
 * Whether the sender may write what the rule guards (NULL: anyone). The writer policy is
 * decided per line, not per datagram: a datagram may carry lines of several families,
 * and an allowed family's lines count whatever their neighbours are.
 */
static int allowed(const struct config_writers *w, const struct intake_sender *from)
{
    int cred = from != NULL && from->addr == NULL;

    return cfgwriters_allows(w, cred, cred ? from->uid : 0, cred ? from->gid : 0);
}

/*
 * A parsed line that reports a job (a `|j` line, a service check, a job's counter line):
 * the job is looked up once, for its rule and its report. A line that names no job is
 * left to STATSD_UNKNOWN_JOB, whoever sent it; one that names a job its sender may not
 * report is refused before its outcome and count are judged. JOBMATCH_FAMILY: a counter
 * line that no job takes, for the registry.
 */
static int take_job(struct intake *in, const struct statsd_line *line, uint64_t now_ms,
                    const struct intake_sender *from, int guarded)
{
    const struct config_writers *writers;
    struct jobmatch_run run;
    int r = jobs_match(in->jobs, line, &run, &writers);

    if (r == JOBMATCH_FAMILY)
        return r;
    if (guarded && run.job >= 0 && !allowed(writers, from))
        return STATSD_SENDER_NOT_ALLOWED;
    if (r == STATSD_OK)
        jobs_report_run(in->jobs, &run, now_ms, in->clock(in->clock_arg));
    return r;
}

/* A parsed family line: the family's rule, when the config has rules, then the registry. */
static int take_family(struct intake *in, const struct statsd_line *line, uint64_t now_ms,
                       const struct intake_sender *from, int guarded)
{
    const struct config_family *f;

    if (guarded && (f = registry_line_family(in->reg, line)) != NULL && !allowed(f->writers, from))
        return STATSD_SENDER_NOT_ALLOWED;
    return registry_apply(in->reg, line, now_ms);
}

/*
 * One line of a datagram, whatever it holds; found: its cached identity, or NULL. The
 * clock is read only here, on the two paths that need the wall time: a job report dates
 * the job's last success or error, and the reject ring dates each entry. guarded: the
 * config has writer rules, so the line's family or job is checked against its rule
 * before the line can change anything (a line that names neither is left to the reason
 * the registry or the jobs give it).
 */
static void take_line(struct intake *in, const struct statsd_parts *lp,
                      const struct registry_hit *found, uint64_t now_ms,
                      const struct intake_sender *from, int guarded)
{
    const struct statsd_view v = lp->line;
    struct statsd_line line;
    int r, parsed = 0;

    if (v.len == 0)
        return;
    /* A line whose identity the registry has seen needs only its values parsed. */
    if (guarded && found != NULL && !allowed(registry_hit_family(in->reg, found)->writers, from))
        r = STATSD_SENDER_NOT_ALLOWED;
    else
        r = found != NULL ? registry_apply_found(in->reg, found, lp, now_ms) : REGISTRY_MISS;
    if (r == REGISTRY_MISS) {
        r = statsd_parse_line(v.ptr, v.len, &line);
        parsed = r == STATSD_OK;
        if (r == STATSD_OK)
            r = take_job(in, &line, now_ms, from, guarded);
        if (r == JOBMATCH_FAMILY)
            r = take_family(in, &line, now_ms, from, guarded);
    }
    if (r == STATSD_OK) {
        in->count.accepted++;
        /* Learn mode costs an accepted line this test, and a line the cache knew nothing. */
        if (in->learn_drops && parsed)
            learn_accepted(in, &line, from, now_ms);
        return;
    }
    in->count.rejected[r]++;
    if (in->rejectlog != NULL)
        rejectlog_note(in->rejectlog, r, v.ptr, v.len, from != NULL && from->addr == NULL,
                       from ? from->pid : 0, from ? from->uid : 0, now_ms);
    rejects_add(in->rejects, in->clock(in->clock_arg), r, v.ptr, v.len,
                from != NULL && from->addr == NULL, from ? from->pid : 0, from ? from->uid : 0,
                from ? from->addr : NULL);
    if (in->learn != NULL)
        learn_reject(in, v, parsed ? &line : NULL, r, from, now_ms);
}

/* The slot of datagram data[0..len), or NULL. */
static struct intake_staged *staged_of(struct intake *in, const char *data, size_t len)
{
    for (unsigned k = 0; k < INTAKE_STAGED; k++)
        if (in->staged[k].data == data && data != NULL && in->staged[k].len == len)
            return &in->staged[k];
    return NULL;
}

/* The slot a scan of data takes: its own, else a free one, else the next in turn. */
static struct intake_staged *staged_slot(struct intake *in, const char *data)
{
    struct intake_staged *free_one = NULL;

    for (unsigned k = 0; k < INTAKE_STAGED; k++) {
        if (in->staged[k].data == data)
            return &in->staged[k];
        if (in->staged[k].data == NULL && free_one == NULL)
            free_one = &in->staged[k];
    }
    if (free_one != NULL)
        return free_one;
    in->next_staged = (in->next_staged + 1) % INTAKE_STAGED;
    return &in->staged[in->next_staged];
}

void intake_stage(struct intake *in, const char *data, size_t len, enum intake_stage_step step)
{
    struct intake_staged *st;

    switch (step) {
    case INTAKE_SCAN:
        if (!in->staging || len > INTAKE_STAGE_BYTES)
            return;
        st = staged_slot(in, data);
        st->data = data;
        st->len = len;
        statsd_scanner_init(&st->scan, data, len);
        st->n = statsd_scanner_fill(&st->scan, st->lp, REGISTRY_FIND_MAX);
        registry_tag_parts(in->reg, st->lp, st->n, st->tag);
        break;
    case INTAKE_FETCH:
        if ((st = staged_of(in, data, len)) != NULL)
            registry_fetch_parts(in->reg, st->lp, st->tag, st->n);
        break;
    case INTAKE_FORGET:
        for (unsigned k = 0; k < INTAKE_STAGED; k++)
            in->staged[k].data = NULL;
        in->staging = registry_stage_pays(in->reg);
        break;
    }
}

/*
 * The hot path: every datagram, every line. Nothing here allocates. Lines are split,
 * tagged and looked up in the front cache up to REGISTRY_FIND_MAX at a time, so that the
 * cache misses of a batch overlap, then taken in order. The first lines of a datagram
 * that intake_stage() scanned come from its slot, split and tagged already.
 */
void intake_datagram(struct intake *in, const char *data, size_t len,
                     const struct intake_sender *from, uint64_t now_ms)
{
    struct statsd_parts own[REGISTRY_FIND_MAX];
    uint32_t own_tag[REGISTRY_FIND_MAX];
    const struct registry_hit *found[REGISTRY_FIND_MAX];
    struct intake_staged *st = staged_of(in, data, len);
    const struct statsd_parts *lp = own;
    const uint32_t *tag = own_tag;
    struct statsd_scanner scan;
    size_t n, i;
    /* Without rules (no "writers" section) a line costs what it did before the policy. */
    int guarded = registry_config(in->reg)->nwriters != 0;

    /* Whatever the datagram holds: a service's process is one that sends, good or bad. */
    if (in->senders != NULL && from != NULL && from->addr == NULL)
        senders_note(in->senders, from->pid, from->uid, from->gid, now_ms);
    if (st != NULL) {
        /* The slot stays filled until this call returns: no stage runs meanwhile. */
        st->data = NULL;
        scan = st->scan;
        lp = st->lp;
        tag = st->tag;
        n = st->n;
    } else {
        statsd_scanner_init(&scan, data, len);
        n = statsd_scanner_fill(&scan, own, REGISTRY_FIND_MAX);
        registry_tag_parts(in->reg, own, n, own_tag);
    }
    for (;;) {
        uint64_t reclaims = registry_reclaims(in->reg);

        registry_find_tagged(in->reg, lp, tag, n, found);
        for (i = 0; i < n; i++) {
            take_line(in, &lp[i], found[i], now_ms, from, guarded);
            /* A line made room at a cap by freeing expired series: the hits may be gone. */
            if (registry_reclaims(in->reg) != reclaims) {
                reclaims = registry_reclaims(in->reg);
                registry_find_tagged(in->reg, lp + i + 1, tag + i + 1, n - i - 1, found + i + 1);
            }
        }
        if (n < REGISTRY_FIND_MAX)
            break;
        n = statsd_scanner_fill(&scan, own, REGISTRY_FIND_MAX);
        registry_tag_parts(in->reg, own, n, own_tag);
        lp = own;
        tag = own_tag;
    }
}

int intake_explain(const struct intake *in, const char *p, size_t len,
                   const struct intake_sender *from, uint64_t now_ms, struct intake_verdict *v)
{
    struct jobmatch_run run;
    const struct config_family *f;
    int guarded = registry_config(in->reg)->nwriters != 0, r;

    memset(v, 0, sizeof *v);
    v->job = -1;
    v->fam.family = v->fam.tag = v->fam.label = -1;
    r = statsd_parse_line(p, len, &v->line);
    if (r != STATSD_OK)
        return v->reason = r;
    v->parsed = 1;
    r = jobs_match(in->jobs, &v->line, &run, &v->writers);
    if (r != JOBMATCH_FAMILY) {
        v->job = run.job >= 0 ? run.job : -1;
        if (guarded && run.job >= 0 && !allowed(v->writers, from))
            r = STATSD_SENDER_NOT_ALLOWED;
        return v->reason = r;
    }
    v->writers = NULL;
    f = registry_line_family(in->reg, &v->line);
    if (f != NULL)
        v->writers = f->writers;
    r = registry_dry_run(in->reg, &v->line, now_ms, &v->fam);
    if (guarded && f != NULL && !allowed(f->writers, from))
        r = STATSD_SENDER_NOT_ALLOWED;
    return v->reason = r;
}

uint64_t intake_rejected_total(const struct intake_counters *c)
{
    uint64_t sum = 0;
    int r;

    for (r = STATSD_OK + 1; r < STATSD_REASON_MAX; r++)
        sum += c->rejected[r];
    return sum;
}

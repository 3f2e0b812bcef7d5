#include "ingest/rejectlog.h"

#include <string.h>

void rejectlog_init(struct rejectlog *l, uint64_t interval_ms)
{
    memset(l, 0, sizeof *l);
    l->interval_ms = interval_ms;
}

void rejectlog_set_interval(struct rejectlog *l, uint64_t interval_ms)
{
    l->interval_ms = interval_ms;
}

/* The name a line gives (a service check's job), cut to fit. */
static size_t name_of(const char *line, size_t len, const char **name)
{
    size_t i = 0;

    if (len >= 4 && memcmp(line, "_sc|", 4) == 0) {
        line += 4;
        len -= 4;
    }
    while (i < len && line[i] != ':' && line[i] != '|')
        i++;
    *name = line;
    return i < REJECTLOG_NAME_MAX ? i : REJECTLOG_NAME_MAX;
}

/* The slot of a name: its own, a free one, or the least counted one's (space-saving). */
static struct rejectlog_name *slot_of(struct rejectlog *l, const char *name, size_t len)
{
    struct rejectlog_name *least = NULL;

    for (size_t i = 0; i < l->nnames; i++) {
        struct rejectlog_name *n = &l->names[i];

        if (n->len == len && memcmp(n->name, name, len) == 0)
            return n;
        if (least == NULL || n->lines < least->lines)
            least = n;
    }
    if (l->nnames < REJECTLOG_NAMES) {
        least = &l->names[l->nnames++];
        least->lines = 0;
    }
    memcpy(least->name, name, len);
    least->len = len;
    least->nsenders = 0;
    return least;
}

static void note_sender(struct rejectlog_name *n, int has_cred, pid_t pid, uid_t uid)
{
    struct rejectlog_sender s = { has_cred, has_cred ? pid : 0, has_cred ? uid : 0 };
    size_t i;

    for (i = 0; i < n->nsenders; i++)
        if (memcmp(&n->senders[i], &s, sizeof s) == 0)
            break;
    if (i == n->nsenders && n->nsenders < REJECTLOG_SENDERS)
        n->nsenders++;
    if (i == REJECTLOG_SENDERS)
        i--;
    memmove(&n->senders[1], &n->senders[0], i * sizeof s);
    n->senders[0] = s;
}

void rejectlog_note(struct rejectlog *l, int reason, const char *line, size_t len, int has_cred,
                    pid_t pid, uid_t uid, uint64_t now_ms)
{
    struct rejectlog_name *n;
    const char *name;
    size_t nlen;

    if (l->interval_ms == 0 || reason <= STATSD_OK || reason >= STATSD_REASON_MAX)
        return;
    if (l->total == 0)
        l->since_ms = now_ms;
    l->total++;
    l->by_reason[reason]++;
    nlen = name_of(line, len, &name);
    n = slot_of(l, name, nlen);
    n->lines++;
    n->reason = reason;
    note_sender(n, has_cred, pid, uid);
}

int rejectlog_due(const struct rejectlog *l, uint64_t now_ms)
{
    return l->interval_ms != 0 && l->total > 0 && now_ms - l->since_ms >= l->interval_ms &&
           (!l->logged || now_ms - l->last_ms >= l->interval_ms);
}

/* The reasons, most first, REJECTLOG_REASONS of them and the rest summed. */
static void add_reasons(const struct rejectlog *l, struct buf *out)
{
    uint64_t left[STATSD_REASON_MAX], rest = 0;
    size_t shown = 0;

    memcpy(left, l->by_reason, sizeof left);
    for (;;) {
        int best = 0;

        for (int r = STATSD_OK + 1; r < STATSD_REASON_MAX; r++)
            if (left[r] > left[best])
                best = r;
        if (left[best] == 0)
            break;
        if (shown == REJECTLOG_REASONS)
            rest += left[best];
        else
            buf_addf(out, "%s%s %llu", shown++ ? ", " : "", statsd_reason_name(best),
                     (unsigned long long)left[best]);
        left[best] = 0;
    }
    if (rest > 0)
        buf_addf(out, ", others %llu", (unsigned long long)rest);
}

static void add_name(const struct rejectlog_name *n, rejectlog_exe_cb exe, void *arg,
                     struct buf *out)
{
    buf_addf(out, "\"%.*s\" %llu (%s", (int)n->len, n->name, (unsigned long long)n->lines,
             statsd_reason_name(n->reason));
    for (size_t i = 0; i < n->nsenders; i++) {
        const struct rejectlog_sender *s = &n->senders[i];
        char path[256];
        const char *e;

        if (!s->has_cred) {
            buf_adds(out, i ? ", " : "; ");
            buf_adds(out, "no credentials (UDP)");
            continue;
        }
        e = exe != NULL ? exe(s->pid, path, sizeof path, arg) : NULL;
        buf_addf(out, "%spid %ld uid %lu %s", i ? ", " : "; ", (long)s->pid, (unsigned long)s->uid,
                 e != NULL ? e : "?");
    }
    buf_addch(out, ')');
}

void rejectlog_take(struct rejectlog *l, uint64_t now_ms, rejectlog_exe_cb exe, void *arg,
                    struct buf *out)
{
    int shown[REJECTLOG_NAMES] = { 0 };
    size_t top;

    double s = (double)(now_ms - l->since_ms) / 1000.0;

    buf_addf(out, "rejected %llu line%s in %.*f s: ", (unsigned long long)l->total,
             l->total == 1 ? "" : "s", s < 10 ? 1 : 0, s);
    add_reasons(l, out);
    buf_adds(out, "; most: ");
    for (top = 0; top < REJECTLOG_TOP && top < l->nnames; top++) {
        size_t best = REJECTLOG_NAMES;

        for (size_t i = 0; i < l->nnames; i++)
            if (!shown[i] && (best == REJECTLOG_NAMES || l->names[i].lines > l->names[best].lines))
                best = i;
        shown[best] = 1;
        if (top > 0)
            buf_adds(out, ", ");
        add_name(&l->names[best], exe, arg, out);
    }
    buf_adds(out, "; the lines: /debug?section=rejects, why: ustatsd explain LINE");
    l->total = 0;
    l->nnames = 0;
    memset(l->by_reason, 0, sizeof l->by_reason);
    l->last_ms = now_ms;
    l->logged = 1;
}

#include "expose/svcproc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/mem.h"

/*
 * A sender's pid whose process started more than this long after the pid's last datagram
 * belongs to another process. The slack covers the coarse clocks on both sides: a start
 * time in clock ticks, and the loop's cached time at the datagram.
 */
#define REUSE_SLACK_SECONDS 1.0

void svcproc_init(struct svcproc *st)
{
    memset(st, 0, sizeof(*st));
    st->procs = mem_calloc(SVCPROC_MAX_PROCS, sizeof(*st->procs));
    st->netns = mem_calloc(SVCPROC_MAX_PROCS, sizeof(*st->netns));
    st->reads = mem_calloc(SVCPROC_MAX_PROCS, sizeof(*st->reads));
}

void svcproc_release(struct svcproc *st)
{
    free(st->procs);
    free(st->netns);
    free(st->reads);
    memset(st, 0, sizeof(*st));
}

int svcproc_cgroup_under(const char *path, size_t len, const char *root)
{
    size_t rlen = strlen(root);

    while (rlen > 0 && root[rlen - 1] == '/')
        rlen--;
    /* "/" (now empty) holds every cgroup. */
    if (rlen == 0)
        return len > 0 && path[0] == '/';
    return len >= rlen && memcmp(path, root, rlen) == 0 && (len == rlen || path[rlen] == '/');
}

static const struct svcproc_read *find_read(const struct svcproc_read *reads, size_t n, pid_t pid,
                                            uint64_t start_ticks)
{
    for (size_t i = 0; i < n; i++)
        if (reads[i].pid == pid && reads[i].ps.start_ticks == start_ticks)
            return &reads[i];
    return NULL;
}

static double max_d(double a, double b)
{
    return a > b ? a : b;
}

static uint64_t max_u(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* The processes' side: CPU carried over from those gone, the new list of those counted. */
static double combine_cpu(struct svcproc *st, const struct svcproc_read *reads, size_t n)
{
    double cpu[SVCPROC_MAX_PROCS], sum = 0;
    size_t i, j, k = 0;

    /* Each counted process that is not live any more leaves its CPU behind. */
    for (i = 0; i < st->nprocs; i++) {
        const struct svcproc_proc *p = &st->procs[i];
        const struct svcproc_read *r = find_read(reads, n, p->pid, p->start_ticks);

        if (r == NULL)
            st->exited_cpu_seconds += p->cpu_seconds;
        else if (r->ps.state == 'Z')
            st->exited_cpu_seconds += max_d(p->cpu_seconds, r->ps.cpu_seconds);
    }
    /* A process's own CPU never goes down; the max guards the sum against a bad read. */
    for (i = 0; i < n; i++) {
        const struct svcproc_read *r = &reads[i];

        if (r->ps.state == 'Z')
            continue;
        cpu[k] = r->ps.cpu_seconds;
        for (j = 0; j < st->nprocs; j++)
            if (st->procs[j].pid == r->pid && st->procs[j].start_ticks == r->ps.start_ticks)
                cpu[k] = max_d(cpu[k], st->procs[j].cpu_seconds);
        sum += cpu[k++];
    }
    k = 0;
    for (i = 0; i < n; i++) {
        const struct svcproc_read *r = &reads[i];

        if (r->ps.state != 'Z') {
            st->procs[k] = (struct svcproc_proc){ r->pid, r->ps.start_ticks, cpu[k] };
            k++;
        }
    }
    st->nprocs = k;
    return st->exited_cpu_seconds + sum;
}

static struct svcproc_netns *find_netns(struct svcproc_netns *v, size_t n, uint64_t inode)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].inode == inode)
            return &v[i];
    return NULL;
}

/*
 * The namespaces' side: every live process must name its namespace, and each namespace
 * must have been read; else the families are absent and the state is left as it was.
 */
static int combine_net(struct svcproc *st, const struct svcproc_read *reads, size_t n, uint64_t *rx,
                       uint64_t *tx)
{
    struct svcproc_netns now[SVCPROC_MAX_PROCS];
    size_t nnow = 0, i;
    uint64_t sum_rx = 0, sum_tx = 0;

    for (i = 0; i < n; i++) {
        const struct procfs *ps = &reads[i].ps;

        if (ps->state == 'Z')
            continue;
        if (!(ps->have & PROCFS_HAVE_NETNS))
            return 0;
        if (ps->have & PROCFS_HAVE_NET && find_netns(now, nnow, ps->netns) == NULL)
            now[nnow++] = (struct svcproc_netns){ ps->netns, ps->net_rx_bytes, ps->net_tx_bytes };
    }
    for (i = 0; i < n; i++)
        if (reads[i].ps.state != 'Z' && find_netns(now, nnow, reads[i].ps.netns) == NULL)
            return 0;
    for (i = 0; i < st->nnetns; i++) {
        const struct svcproc_netns *old = &st->netns[i];
        struct svcproc_netns *cur = find_netns(now, nnow, old->inode);

        if (cur == NULL) {
            st->exited_rx_bytes += old->rx_bytes;
            st->exited_tx_bytes += old->tx_bytes;
        } else {
            cur->rx_bytes = max_u(cur->rx_bytes, old->rx_bytes);
            cur->tx_bytes = max_u(cur->tx_bytes, old->tx_bytes);
        }
    }
    for (i = 0; i < nnow; i++) {
        st->netns[i] = now[i];
        sum_rx += now[i].rx_bytes;
        sum_tx += now[i].tx_bytes;
    }
    st->nnetns = nnow;
    *rx = st->exited_rx_bytes + sum_rx;
    *tx = st->exited_tx_bytes + sum_tx;
    return 1;
}

/* Which PROCFS_HAVE_* bits every live read has. */
static unsigned common_have(const struct svcproc_read *reads, size_t n)
{
    unsigned have = ~0u;

    for (size_t i = 0; i < n; i++)
        if (reads[i].ps.state != 'Z')
            have &= reads[i].ps.have;
    return have;
}

size_t svcproc_combine(struct svcproc *st, const struct svcproc_read *reads, size_t n,
                       struct procfs *out)
{
    size_t live = 0, i;
    unsigned have = common_have(reads, n);
    double worst = -1;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < n; i++)
        live += reads[i].ps.state != 'Z';
    if (live == 0) {
        /* The service is down: absent now, and whatever runs next starts afresh. */
        st->nprocs = st->nnetns = 0;
        st->exited_cpu_seconds = 0;
        st->exited_rx_bytes = st->exited_tx_bytes = 0;
        return 0;
    }
    out->cpu_seconds = combine_cpu(st, reads, n);
    out->have = PROCFS_HAVE_STAT;
    out->max_fds = out->virtual_max_bytes = PROCFS_UNLIMITED;
    out->start_time_seconds = -1;
    for (i = 0; i < n; i++) {
        const struct procfs *ps = &reads[i].ps;

        if (ps->state == 'Z')
            continue;
        out->resident_bytes += ps->resident_bytes;
        out->virtual_bytes += ps->virtual_bytes;
        if (out->start_time_seconds < 0 || ps->start_time_seconds < out->start_time_seconds)
            out->start_time_seconds = ps->start_time_seconds;
        if (ps->virtual_max_bytes < out->virtual_max_bytes)
            out->virtual_max_bytes = ps->virtual_max_bytes;
        if ((have & PROCFS_HAVE_OPEN_FDS) == 0) {
            if (ps->max_fds < out->max_fds)
                out->max_fds = ps->max_fds;
        } else {
            /* The pair of the process nearest its own limit (a limit of 0 is at it). */
            double ratio = ps->max_fds == 0 ? 1e300 : (double)ps->open_fds / (double)ps->max_fds;

            if (ratio > worst || (ratio == worst && ps->open_fds > out->open_fds)) {
                worst = ratio;
                out->open_fds = ps->open_fds;
                out->max_fds = ps->max_fds;
            }
        }
    }
    out->have |= have & (PROCFS_HAVE_START | PROCFS_HAVE_OPEN_FDS | PROCFS_HAVE_MAX_FDS |
                         PROCFS_HAVE_MAX_VMEM);
    if ((out->have & PROCFS_HAVE_MAX_FDS) == 0)
        out->have &= ~(unsigned)PROCFS_HAVE_OPEN_FDS;
    if (combine_net(st, reads, n, &out->net_rx_bytes, &out->net_tx_bytes))
        out->have |= PROCFS_HAVE_NET;
    return live;
}

/* 1 when exe is the service's executable, or that file since deleted (a package upgrade). */
static int exe_matches(const char *exe, size_t len, const char *want)
{
    static const char deleted[] = " (deleted)";
    size_t wlen = strlen(want);

    if (len == wlen)
        return memcmp(exe, want, len) == 0;
    return len == wlen + sizeof(deleted) - 1 && memcmp(exe, want, wlen) == 0 &&
           memcmp(exe + wlen, deleted, sizeof(deleted) - 1) == 0;
}

/* 1 when the process is the service's by exe and cgroup; 0 when not; -1 unreadable. */
static int identity_matches(pid_t pid, const struct config_service *svc, struct buf *scratch)
{
    if (svc->exe != NULL) {
        char exe[4096];
        int len = procfs_read_exe(pid, exe, sizeof(exe));

        if (len < 0)
            return -1;
        if (!exe_matches(exe, (size_t)len, svc->exe))
            return 0;
    }
    if (svc->cgroup != NULL) {
        if (procfs_read_cgroup(pid, scratch) < 0)
            return -1;
        if (!svcproc_cgroup_under(scratch->ptr, scratch->len, svc->cgroup))
            return 0;
    }
    return 1;
}

static double boottime_seconds(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
        return -1;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Did the process now at this pid start after the pid's last datagram? Both instants are
 * turned into "seconds ago": the start from the boot clock, the datagram from the loop's
 * clock (monotonic, which stops in a suspend: the datagram then looks more recent, which
 * errs towards keeping the process).
 */
static int started_after(const struct procfs *ps, uint64_t last_seen_ms, uint64_t now_ms,
                         double boot_now)
{
    long ticks = sysconf(_SC_CLK_TCK);
    double start_ago, seen_ago;

    if (boot_now < 0 || ticks <= 0 || now_ms < last_seen_ms)
        return 0;
    start_ago = boot_now - (double)ps->start_ticks / (double)ticks;
    seen_ago = (double)(now_ms - last_seen_ms) / 1e3;
    return start_ago + REUSE_SLACK_SECONDS < seen_ago;
}

size_t svcproc_collect(struct svcproc *st, struct senders *tbl, const struct config_service *svc,
                       uint64_t now_ms, struct procfs *out)
{
    pid_t cand[SVCPROC_MAX_PROCS], gone[SVCPROC_MAX_PROCS];
    uint64_t seen[SVCPROC_MAX_PROCS];
    size_t ncand = 0, ngone = 0, n = 0, i;
    const struct senders_entry *e;
    struct buf scratch = BUF_INIT;
    double boot_now = boottime_seconds();

    if (!st->have_btime && procfs_btime(&st->btime) == 0)
        st->have_btime = 1;
    /* Copied out first: the walk must not see the table change under it. */
    for (e = senders_first(tbl); e != NULL; e = senders_next(tbl, e)) {
        if (e->uid != svc->uid)
            continue;
        if (ncand == SVCPROC_MAX_PROCS) {
            st->capped++;
            break;
        }
        cand[ncand] = e->pid;
        seen[ncand++] = e->last_seen_ms;
    }
    for (i = 0; i < ncand; i++) {
        struct svcproc_read *r = &st->reads[n];
        int id;

        r->pid = cand[i];
        if (procfs_read_pid(cand[i], st->have_btime ? st->btime : 0, &r->ps) < 0 ||
            !(r->ps.have & PROCFS_HAVE_STAT)) {
            gone[ngone++] = cand[i];
            continue;
        }
        if (!st->have_btime)
            r->ps.have &= ~(unsigned)PROCFS_HAVE_START;
        if (started_after(&r->ps, seen[i], now_ms, boot_now)) {
            gone[ngone++] = cand[i];
            continue;
        }
        if (r->ps.state == 'Z') {
            /* Exited, not yet reaped: its final CPU still counts, then it is forgotten. */
            gone[ngone++] = cand[i];
            n++;
            continue;
        }
        /* The credentials were the sender's then; status says who the process is now. */
        if (!(r->ps.have & PROCFS_HAVE_UID) || r->ps.euid != svc->uid)
            continue;
        id = identity_matches(cand[i], svc, &scratch);
        if (id < 0)
            st->unverified++;
        if (id <= 0)
            continue;
        n++;
    }
    /* The network counters, once per namespace. */
    for (i = 0; i < n; i++) {
        struct procfs *ps = &st->reads[i].ps;
        size_t j;

        if (ps->state == 'Z' || !(ps->have & PROCFS_HAVE_NETNS))
            continue;
        for (j = 0; j < i; j++)
            if (st->reads[j].ps.have & PROCFS_HAVE_NET && st->reads[j].ps.netns == ps->netns)
                break;
        if (j == i && procfs_read_net(st->reads[i].pid, &ps->net_rx_bytes, &ps->net_tx_bytes) == 0)
            ps->have |= PROCFS_HAVE_NET;
    }
    for (i = 0; i < ngone; i++)
        senders_remove(tbl, gone[i]);
    buf_release(&scratch);
    return svcproc_combine(st, st->reads, n, out);
}

size_t svcproc_render(struct svcproc *st, struct senders *tbl, const struct config_service *svc,
                      uint64_t now_ms, struct expo *e)
{
    struct procfs fig;
    size_t n = svcproc_collect(st, tbl, svc, now_ms, &fig);

    /*
     * The total carries the CPU of processes that have exited, so it did not start when
     * the earliest live process did: no _created, rather than one that reads as a reset.
     */
    fig.cpu_no_start = 1;
    if (n > 0)
        procfs_render(&fig, e);
    return n;
}

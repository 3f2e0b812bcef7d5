/*
 * How a service's processes are combined, from canned /proc text: sums, the process
 * nearest its fd limit, the CPU of exited processes kept, pid reuse, zombies, network
 * namespaces counted once, and absence rather than a guess.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/expo.h"
#include "expose/procfs.h"
#include "expose/svcproc.h"

#define TICKS 100
#define PAGE  4096
#define BTIME 1700000000u

static struct svcproc st;

static void setup(void)
{
    svcproc_init(&st);
}

static void teardown(void)
{
    svcproc_release(&st);
}

TestSuite(svcproc, .init = setup, .fini = teardown);

struct proc_text {
    pid_t pid;
    char state;
    unsigned utime, stime; /* ticks */
    unsigned start;        /* ticks after boot */
    unsigned vsize_pages, rss_pages;
    const char *max_fds; /* soft limit text, or NULL: unreadable limits */
    unsigned open_fds;   /* ~0u: fd not readable */
    uint64_t netns;      /* 0: ns/net not readable */
    uint64_t rx, tx;     /* with netns: its IpExt octets */
};

/* A read as svcproc_collect() builds it, from the text the kernel would give. */
static struct svcproc_read mkread(const struct proc_text *p)
{
    struct svcproc_read r = { .pid = p->pid };
    char stat[512], limits[512], netstat[256];
    int n;

    n = snprintf(stat, sizeof(stat),
                 "%d (w o)rk) %c 1 1 1 0 -1 4194560 100 0 0 0 %u %u 0 0 20 0 1 0 %u %llu %u "
                 "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
                 (int)p->pid, p->state, p->utime, p->stime, p->start,
                 (unsigned long long)p->vsize_pages * PAGE, p->rss_pages);
    cr_assert_eq(procfs_parse_stat(stat, (size_t)n, TICKS, PAGE, &r.ps), 0);
    r.ps.start_time_seconds = BTIME + (double)p->start / TICKS;
    r.ps.have |= PROCFS_HAVE_START;
    if (p->max_fds != NULL) {
        n = snprintf(limits, sizeof(limits),
                     "Max open files            %s                 1048576              files\n"
                     "Max address space         unlimited            unlimited            bytes\n",
                     p->max_fds);
        cr_assert_eq(procfs_parse_limits(limits, (size_t)n, &r.ps), 0);
    }
    if (p->open_fds != ~0u) {
        r.ps.open_fds = p->open_fds;
        r.ps.have |= PROCFS_HAVE_OPEN_FDS;
    }
    if (p->netns != 0) {
        r.ps.netns = p->netns;
        r.ps.have |= PROCFS_HAVE_NETNS;
        n = snprintf(netstat, sizeof(netstat),
                     "IpExt: InNoRoutes InOctets OutOctets\nIpExt: 0 %llu %llu\n",
                     (unsigned long long)p->rx, (unsigned long long)p->tx);
        cr_assert_eq(
            procfs_parse_netstat(netstat, (size_t)n, &r.ps.net_rx_bytes, &r.ps.net_tx_bytes), 0);
    }
    return r;
}

/* Combine the processes given; the first read per namespace carries its counters. */
static size_t combine(const struct proc_text *p, size_t n, struct procfs *out)
{
    struct svcproc_read reads[8];

    cr_assert_leq(n, 8);
    for (size_t i = 0; i < n; i++) {
        size_t j;

        reads[i] = mkread(&p[i]);
        for (j = 0; j < i; j++)
            if (reads[j].ps.have & PROCFS_HAVE_NET && reads[j].ps.netns == p[i].netns)
                break;
        if (p[i].netns != 0 && j == i)
            reads[i].ps.have |= PROCFS_HAVE_NET;
    }
    return svcproc_combine(&st, reads, n, out);
}

Test(svcproc, sums_memory_and_takes_the_earliest_start)
{
    const struct proc_text p[] = {
        { 10, 'S', 100, 50, 3000, 1000, 100, "1024", 10, 7, 1000, 2000 },
        { 11, 'R', 20, 10, 5000, 2000, 300, "1024", 12, 7, 1000, 2000 },
    };
    struct procfs out;

    cr_assert_eq(combine(p, 2, &out), 2);
    cr_assert_float_eq(out.cpu_seconds, 1.8, 1e-9);
    cr_assert_eq(out.virtual_bytes, 3000u * PAGE);
    cr_assert_eq(out.resident_bytes, 400u * PAGE);
    cr_assert_float_eq(out.start_time_seconds, BTIME + 30.0, 1e-9);
    cr_assert_eq(out.virtual_max_bytes, PROCFS_UNLIMITED);
    /* One namespace between them: counted once. */
    cr_assert_eq(out.net_rx_bytes, 1000u);
    cr_assert_eq(out.net_tx_bytes, 2000u);
    cr_assert_eq(out.have, PROCFS_HAVE_STAT | PROCFS_HAVE_START | PROCFS_HAVE_OPEN_FDS |
                               PROCFS_HAVE_MAX_FDS | PROCFS_HAVE_MAX_VMEM | PROCFS_HAVE_NET);
}

/* open_fds / max_fds must be one process's: the one nearest its own limit. */
Test(svcproc, fds_come_from_the_process_nearest_its_limit)
{
    const struct proc_text p[] = {
        { 10, 'S', 1, 1, 1, 1, 1, "1048576", 5000, 7, 0, 0 },
        { 11, 'S', 1, 1, 2, 1, 1, "1024", 900, 7, 0, 0 },
        { 12, 'S', 1, 1, 3, 1, 1, "unlimited", 90000, 7, 0, 0 },
    };
    struct procfs out;

    combine(p, 3, &out);
    cr_assert_eq(out.open_fds, 900u);
    cr_assert_eq(out.max_fds, 1024u);
}

/* Without ptrace access to one process's fd: no open_fds, and the lowest limit. */
Test(svcproc, unreadable_fds_leave_only_the_lowest_limit)
{
    const struct proc_text p[] = {
        { 10, 'S', 1, 1, 1, 1, 1, "4096", 10, 0, 0, 0 },
        { 11, 'S', 1, 1, 2, 1, 1, "2048", ~0u, 0, 0, 0 },
    };
    const struct proc_text no_limits[] = {
        { 10, 'S', 1, 1, 1, 1, 1, NULL, 10, 0, 0, 0 },
    };
    struct procfs out;

    combine(p, 2, &out);
    cr_assert_eq(out.have & (PROCFS_HAVE_OPEN_FDS | PROCFS_HAVE_MAX_FDS | PROCFS_HAVE_NET),
                 PROCFS_HAVE_MAX_FDS);
    cr_assert_eq(out.max_fds, 2048u);
    /* A count with no limit to pair it with is not shown either. */
    combine(no_limits, 1, &out);
    cr_assert_eq(out.have & (PROCFS_HAVE_OPEN_FDS | PROCFS_HAVE_MAX_FDS), 0);
    cr_assert_eq(out.have & PROCFS_HAVE_STAT, PROCFS_HAVE_STAT);
}

/* One worker of two exits: the counter keeps its CPU, and never goes down. */
Test(svcproc, cpu_stays_monotonic_when_a_worker_exits)
{
    const struct proc_text both[] = {
        { 10, 'S', 100, 100, 3, 1, 1, "1024", 1, 7, 10, 10 },
        { 11, 'S', 50, 50, 4, 1, 1, "1024", 1, 7, 10, 10 },
    };
    const struct proc_text later[] = {
        { 10, 'S', 150, 100, 3, 1, 1, "1024", 1, 7, 20, 30 },
        { 11, 'S', 80, 50, 4, 1, 1, "1024", 1, 7, 20, 30 },
    };
    const struct proc_text one_left[] = {
        { 10, 'S', 160, 100, 3, 1, 1, "1024", 1, 7, 25, 35 },
    };
    struct procfs out;

    combine(both, 2, &out);
    cr_assert_float_eq(out.cpu_seconds, 3.0, 1e-9);
    combine(later, 2, &out);
    cr_assert_float_eq(out.cpu_seconds, 3.8, 1e-9);
    combine(one_left, 1, &out);
    /* 2.6 live, plus the 1.3 the exited worker had at the last scrape. */
    cr_assert_float_eq(out.cpu_seconds, 3.9, 1e-9);
    cr_assert_float_eq(out.start_time_seconds, BTIME + 0.03, 1e-9);
    cr_assert_eq(out.net_rx_bytes, 25u);
}

/* A zombie (exited, not reaped) gives its final CPU, then counts as exited. */
Test(svcproc, a_zombie_hands_over_its_final_cpu)
{
    const struct proc_text both[] = {
        { 10, 'S', 100, 0, 3, 1, 1, "1024", 1, 0, 0, 0 },
        { 11, 'S', 100, 0, 4, 1, 1, "1024", 1, 0, 0, 0 },
    };
    const struct proc_text zombie[] = {
        { 10, 'S', 100, 0, 3, 1, 1, "1024", 1, 0, 0, 0 },
        { 11, 'Z', 170, 0, 4, 0, 0, NULL, ~0u, 0, 0, 0 },
    };
    const struct proc_text gone[] = {
        { 10, 'S', 100, 0, 3, 1, 1, "1024", 1, 0, 0, 0 },
    };
    struct procfs out;

    combine(both, 2, &out);
    cr_assert_float_eq(out.cpu_seconds, 2.0, 1e-9);
    cr_assert_eq(combine(zombie, 2, &out), 1);
    cr_assert_float_eq(out.cpu_seconds, 2.7, 1e-9);
    /* The zombie's missing figures do not hide the live process's. */
    cr_assert_eq(out.max_fds, 1024u);
    cr_assert_eq(out.have & PROCFS_HAVE_OPEN_FDS, PROCFS_HAVE_OPEN_FDS);
    cr_assert_eq(out.resident_bytes, (uint64_t)PAGE);
    combine(gone, 1, &out);
    cr_assert_float_eq(out.cpu_seconds, 2.7, 1e-9);
}

/* The same pid with another start time is another process: the old one has exited. */
Test(svcproc, a_reused_pid_is_a_new_process)
{
    const struct proc_text first[] = {
        { 10, 'S', 100, 0, 3, 1, 1, "1024", 1, 0, 0, 0 },
        { 11, 'S', 300, 0, 4, 1, 1, "1024", 1, 0, 0, 0 },
    };
    const struct proc_text reused[] = {
        { 10, 'S', 100, 0, 3, 1, 1, "1024", 1, 0, 0, 0 },
        { 11, 'S', 5, 0, 9000, 1, 1, "1024", 1, 0, 0, 0 },
    };
    struct procfs out;

    combine(first, 2, &out);
    cr_assert_float_eq(out.cpu_seconds, 4.0, 1e-9);
    combine(reused, 2, &out);
    cr_assert_float_eq(out.cpu_seconds, 4.05, 1e-9);
}

/* No live process: absent, and whatever comes next starts afresh like a restart. */
Test(svcproc, no_live_process_is_absent_and_resets)
{
    const struct proc_text one[] = { { 10, 'S', 100, 0, 3, 1, 1, "1024", 1, 0, 0, 0 } };
    const struct proc_text next[] = { { 20, 'S', 7, 0, 900, 1, 1, "1024", 1, 0, 0, 0 } };
    const struct proc_text zombie[] = { { 10, 'Z', 100, 0, 3, 0, 0, NULL, ~0u, 0, 0, 0 } };
    struct procfs out;
    struct buf b = BUF_INIT;
    struct expo e;

    combine(one, 1, &out);
    cr_assert_eq(combine(zombie, 1, &out), 0);
    cr_assert_eq(out.have, 0);
    cr_assert_eq(combine(NULL, 0, &out), 0);
    cr_assert_eq(out.have, 0);
    expo_init(&e, &b, EXPO_TEXT);
    procfs_render(&out, &e);
    cr_assert_eq(b.len, 0, "absent, not zero");
    combine(next, 1, &out);
    cr_assert_float_eq(out.cpu_seconds, 0.07, 1e-9);
    buf_release(&b);
}

/* Each namespace once; one that is left keeps its last figures in the sum. */
Test(svcproc, network_counts_each_namespace_once)
{
    const struct proc_text two_ns[] = {
        { 10, 'S', 1, 0, 3, 1, 1, "1024", 1, 7, 100, 200 },
        { 11, 'S', 1, 0, 4, 1, 1, "1024", 1, 8, 1000, 2000 },
        { 12, 'S', 1, 0, 5, 1, 1, "1024", 1, 8, 1000, 2000 },
    };
    const struct proc_text one_ns[] = {
        { 10, 'S', 1, 0, 3, 1, 1, "1024", 1, 7, 150, 250 },
    };
    const struct proc_text unreadable[] = {
        { 10, 'S', 1, 0, 3, 1, 1, "1024", 1, 7, 150, 250 },
        { 13, 'S', 1, 0, 6, 1, 1, "1024", 1, 0, 0, 0 },
    };
    struct procfs out;

    combine(two_ns, 3, &out);
    cr_assert_eq(out.net_rx_bytes, 1100u);
    cr_assert_eq(out.net_tx_bytes, 2200u);
    combine(one_ns, 1, &out);
    cr_assert_eq(out.net_rx_bytes, 1150u);
    cr_assert_eq(out.net_tx_bytes, 2250u);
    /* A process whose namespace cannot be seen: absent, not an undercount. */
    combine(unreadable, 2, &out);
    cr_assert_eq(out.have & PROCFS_HAVE_NET, 0);
    combine(one_ns, 1, &out);
    cr_assert_eq(out.net_rx_bytes, 1150u);
}

Test(svcproc, cgroup_under_matches_whole_components)
{
    static const struct {
        char path[48];
        char root[32];
        int want;
    } cases[] = {
        { "/system.slice/app.service", "/system.slice/app.service", 1 },
        { "/system.slice/app.service", "/system.slice", 1 },
        { "/system.slice/app.service", "/system.slice/", 1 },
        { "/system.slice/app.service/worker", "/system.slice/app.service", 1 },
        { "/system.slice/app.servicex", "/system.slice/app.service", 0 },
        { "/system.slice", "/system.slice/app.service", 0 },
        { "/user.slice", "/system.slice", 0 },
        { "/anything", "/", 1 },
        { "/", "/", 1 },
        { "", "/", 0 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_assert_eq(svcproc_cgroup_under(cases[i].path, strlen(cases[i].path), cases[i].root),
                     cases[i].want, "%s under %s", cases[i].path, cases[i].root);
}

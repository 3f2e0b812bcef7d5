/*
 * A service's process metrics from real processes: forked children send a datagram with
 * their credentials on a Unix socket, the test records the senders the kernel reports,
 * and what svcproc reads is compared with /proc read here independently (plain sscanf,
 * not procfs's parser): CPU within a tolerance, start time and descriptors exactly.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/expo.h"
#include "ingest/senders.h"
#include "expose/svcproc.h"
#include "waitfor.h"

#define MAX_CHILDREN 4

struct child {
    pid_t pid;
    int release; /* write end: closing it lets the child exit */
};

static struct senders tbl;
static struct svcproc st;
static struct config_service svc;
static int rx_sock = -1, tx_sock = -1;
static struct child kids[MAX_CHILDREN];
static size_t nkids;

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void setup(void)
{
    int sv[2], on = 1;

    senders_init(&tbl);
    svcproc_init(&st);
    svc = (struct config_service){ .uid = (uint32_t)geteuid() };
    cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
    cr_assert_eq(setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
    rx_sock = sv[0];
    tx_sock = sv[1];
    nkids = 0;
}

static void teardown(void)
{
    for (size_t i = 0; i < nkids; i++) {
        if (kids[i].pid > 0) {
            kill(kids[i].pid, SIGKILL);
            waitpid(kids[i].pid, NULL, 0);
        }
        if (kids[i].release >= 0)
            close(kids[i].release);
    }
    close(rx_sock);
    close(tx_sock);
    svcproc_release(&st);
    senders_release(&tbl);
}

TestSuite(svcproc_io, .init = setup, .fini = teardown);

/*
 * A child that burns about cpu_ms of CPU, opens extra_fds more descriptors, sends one
 * datagram (its credentials ride along), then blocks until released. The parent waits
 * for the datagram, so the child's figures are settled when this returns.
 */
static struct child *spawn(int cpu_ms, int extra_fds)
{
    struct child *k = &kids[nkids];
    int gate[2];
    pid_t pid;

    cr_assert_lt(nkids, MAX_CHILDREN);
    cr_assert_eq(pipe2(gate, O_CLOEXEC), 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct timespec t0, t;
        volatile unsigned long spin = 0;
        char c;

        close(gate[1]);
        /* Only the parent may hold the others' gates, or they could not be released. */
        for (size_t i = 0; i < nkids; i++)
            if (kids[i].release >= 0)
                close(kids[i].release);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
        do {
            for (int i = 0; i < 100000; i++)
                spin++;
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < cpu_ms);
        for (int i = 0; i < extra_fds; i++)
            if (open("/dev/null", O_RDONLY) < 0)
                _exit(2);
        if (send(tx_sock, "x:1|c", 5, 0) != 5)
            _exit(3);
        while (read(gate[0], &c, 1) < 0 && errno == EINTR)
            ;
        _exit(0);
    }
    close(gate[0]);
    *k = (struct child){ pid, gate[1] };
    nkids++;
    return k;
}

/* Receive one datagram and record its sender as the intake would. */
static void record_one(uint64_t now_ms)
{
    char data[64];
    union {
        char buf[CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = { data, sizeof(data) };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf)
    };
    struct cmsghdr *cm;
    struct ucred cred;

    cr_assert_gt(recvmsg(rx_sock, &msg, 0), 0);
    cm = CMSG_FIRSTHDR(&msg);
    cr_assert_not_null(cm);
    cr_assert_eq(cm->cmsg_type, SCM_CREDENTIALS);
    memcpy(&cred, CMSG_DATA(cm), sizeof(cred));
    senders_note(&tbl, cred.pid, cred.uid, cred.gid, now_ms);
}

/* Let a child exit and reap it. */
static void finish(struct child *k)
{
    close(k->release);
    k->release = -1;
    cr_assert_eq(waitfor_exit(k->pid, 5000), 0);
    k->pid = -1;
}

/* Whether the child *(pid_t *)arg is a zombie: it has exited, and is not reaped. */
static int is_zombie(void *arg)
{
    char path[64], line[1024], *p;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)*(pid_t *)arg);
    f = fopen(path, "r");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(line, sizeof(line), f));
    fclose(f);
    p = strrchr(line, ')');
    return p[2] == 'Z';
}

/* Let a child exit, leaving a zombie until the test reaps it. */
static void let_exit(struct child *k)
{
    close(k->release);
    k->release = -1;
    cr_assert_eq(waitfor_cond(is_zombie, &k->pid, 5000), 0, "child %d never exited", (int)k->pid);
}

/* The test's own reading of /proc/<pid>/stat: CPU seconds, start ticks, rss pages. */
static void read_stat(pid_t pid, double *cpu, unsigned long long *start, long *rss)
{
    char path[64], line[1024], *p;
    unsigned long utime, stime;
    unsigned long long vsize;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(line, sizeof(line), f));
    fclose(f);
    p = strrchr(line, ')');
    cr_assert_eq(sscanf(p + 2,
                        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d "
                        "%*d %llu %llu %ld",
                        &utime, &stime, start, &vsize, rss),
                 5);
    *cpu = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static unsigned long long boot_time(void)
{
    char line[4096];
    unsigned long long b = 0;
    FILE *f = fopen("/proc/stat", "r");

    cr_assert_not_null(f);
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "btime %llu", &b) == 1)
            break;
    fclose(f);
    cr_assert_gt(b, 0);
    return b;
}

static unsigned count_fds(pid_t pid)
{
    char path[64];
    DIR *d;
    struct dirent *e;
    unsigned n = 0;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    d = opendir(path);
    cr_assert_not_null(d);
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

Test(svcproc_io, figures_match_proc_read_independently)
{
    struct child *a = spawn(150, 3), *b = spawn(60, 9);
    struct procfs fig;
    double cpu_a, cpu_b;
    unsigned long long start_a, start_b;
    long rss_a, rss_b;
    double btime = (double)boot_time(), tck = (double)sysconf(_SC_CLK_TCK);

    record_one(mono_ms());
    record_one(mono_ms());
    cr_assert_not_null(senders_find(&tbl, a->pid));
    cr_assert_not_null(senders_find(&tbl, b->pid));

    cr_assert_eq(svcproc_collect(&st, &tbl, &svc, mono_ms(), &fig), 2);
    read_stat(a->pid, &cpu_a, &start_a, &rss_a);
    read_stat(b->pid, &cpu_b, &start_b, &rss_b);
    cr_assert_geq(cpu_a + cpu_b, 0.15, "the children did burn CPU");
    cr_assert_float_eq(fig.cpu_seconds, cpu_a + cpu_b, 0.02);
    cr_assert_eq(fig.start_time_seconds,
                 btime + (double)(start_a < start_b ? start_a : start_b) / tck);
    /* Same limit for both: the one with more descriptors is nearer to it. */
    cr_assert_eq(fig.open_fds, count_fds(b->pid));
    cr_assert_eq(fig.open_fds, count_fds(a->pid) + 6);
    cr_assert_eq(fig.max_fds, (uint64_t)sysconf(_SC_OPEN_MAX));
    cr_assert_eq(fig.resident_bytes, (uint64_t)(rss_a + rss_b) * (uint64_t)sysconf(_SC_PAGESIZE));
    cr_assert_eq(fig.have & PROCFS_HAVE_NET, PROCFS_HAVE_NET);
    cr_assert_gt(fig.net_rx_bytes + fig.net_tx_bytes, 0, "one namespace's IP octets");
}

Test(svcproc_io, renders_client_golang_families)
{
    struct buf out = BUF_INIT;
    struct expo e;
    char want[64];
    struct child *a = spawn(0, 4);

    record_one(mono_ms());
    expo_init(&e, &out, EXPO_TEXT);
    cr_assert_eq(svcproc_render(&st, &tbl, &svc, mono_ms(), &e), 1);
    snprintf(want, sizeof(want), "\nprocess_open_fds %u\n", count_fds(a->pid));
    cr_assert_not_null(strstr(out.ptr, want), "%s", out.ptr);
    cr_assert_not_null(strstr(out.ptr, "# TYPE process_cpu_seconds_total counter\n"));
    cr_assert_not_null(strstr(out.ptr, "# TYPE process_start_time_seconds gauge\n"));
    cr_assert_not_null(strstr(out.ptr, "# TYPE process_network_receive_bytes_total counter\n"));
    buf_release(&out);
}

/* A worker that exits leaves the table, and its CPU stays in the counter. */
Test(svcproc_io, an_exited_child_disappears_and_cpu_stays)
{
    struct child *a = spawn(40, 0), *b = spawn(120, 0);
    pid_t b_pid = b->pid;
    struct procfs fig;
    double before, cpu_a;
    unsigned long long start_a;
    long rss_a;

    record_one(mono_ms());
    record_one(mono_ms());
    cr_assert_eq(svcproc_collect(&st, &tbl, &svc, mono_ms(), &fig), 2);
    before = fig.cpu_seconds;
    finish(b);
    cr_assert_eq(svcproc_collect(&st, &tbl, &svc, mono_ms(), &fig), 1);
    cr_assert_null(senders_find(&tbl, b_pid), "pruned when found gone");
    cr_assert_geq(fig.cpu_seconds, before);
    read_stat(a->pid, &cpu_a, &start_a, &rss_a);
    cr_assert_gt(fig.cpu_seconds, cpu_a + 0.1, "the exited child's CPU is still counted");
    finish(a);
    cr_assert_eq(svcproc_collect(&st, &tbl, &svc, mono_ms(), &fig), 0);
    cr_assert_eq(fig.have, 0, "no live sender: absent");
    cr_assert_eq(tbl.n, 0);
}

/* Exited but not reaped: its final CPU is taken, then it is forgotten. */
Test(svcproc_io, a_zombie_counts_as_exited)
{
    struct child *a = spawn(0, 0), *b = spawn(80, 0);
    struct procfs fig;
    double before;

    record_one(mono_ms());
    record_one(mono_ms());
    cr_assert_eq(svcproc_collect(&st, &tbl, &svc, mono_ms(), &fig), 2);
    before = fig.cpu_seconds;
    let_exit(b);
    cr_assert_eq(svcproc_collect(&st, &tbl, &svc, mono_ms(), &fig), 1);
    cr_assert_geq(fig.cpu_seconds, before);
    cr_assert_null(senders_find(&tbl, b->pid));
    cr_assert_not_null(senders_find(&tbl, a->pid));
}

Test(svcproc_io, no_sender_is_absent)
{
    struct buf out = BUF_INIT;
    struct expo e;

    expo_init(&e, &out, EXPO_TEXT);
    cr_assert_eq(svcproc_render(&st, &tbl, &svc, mono_ms(), &e), 0);
    cr_assert_eq(out.len, 0);
    /* A sender of another uid is not the service's either. */
    spawn(0, 0);
    record_one(mono_ms());
    svc.uid = (uint32_t)geteuid() + 1;
    cr_assert_eq(svcproc_render(&st, &tbl, &svc, mono_ms(), &e), 0);
    cr_assert_eq(out.len, 0);
    buf_release(&out);
}

/* The credentials said the service's uid, but the process is someone else now. */
Test(svcproc_io, the_uid_is_checked_again_in_proc)
{
    struct child *a = spawn(0, 0);
    struct procfs fig;

    (void)a;
    record_one(mono_ms());
    tbl.ent[tbl.head].uid = (uid_t)geteuid() + 1;
    tbl.last_uid = tbl.ent[tbl.head].uid;
    svc.uid = (uint32_t)geteuid() + 1;
    cr_assert_eq(svcproc_collect(&st, &tbl, &svc, mono_ms(), &fig), 0);
    cr_assert_eq(tbl.n, 1, "alive: kept in the table");
}

Test(svcproc_io, exe_must_match_when_given)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    struct procfs fig;

    cr_assert_gt(n, 0);
    exe[n] = '\0';
    spawn(0, 0);
    record_one(mono_ms());
    svc.exe = exe;
    cr_assert_eq(svcproc_collect(&st, &tbl, &svc, mono_ms(), &fig), 1);
    svc.exe = "/usr/sbin/not-this-one";
    cr_assert_eq(svcproc_collect(&st, &tbl, &svc, mono_ms(), &fig), 0);
    cr_assert_eq(fig.have, 0);
    cr_assert_eq(tbl.n, 1, "not the service's, but alive");
}

Test(svcproc_io, cgroup_must_contain_the_sender_when_given)
{
    char line[4096], own[4096] = "";
    FILE *f = fopen("/proc/self/cgroup", "r");
    struct procfs fig;

    cr_assert_not_null(f);
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "0::", 3) == 0) {
            snprintf(own, sizeof(own), "%s", line + 3);
            own[strcspn(own, "\n")] = '\0';
        }
    fclose(f);
    cr_assert_neq(own[0], '\0', "no cgroup v2 line");
    spawn(0, 0);
    record_one(mono_ms());
    svc.cgroup = own;
    cr_assert_eq(svcproc_collect(&st, &tbl, &svc, mono_ms(), &fig), 1);
    svc.cgroup = "/";
    cr_assert_eq(svcproc_collect(&st, &tbl, &svc, mono_ms(), &fig), 1);
    svc.cgroup = "/no.such.slice/app.service";
    cr_assert_eq(svcproc_collect(&st, &tbl, &svc, mono_ms(), &fig), 0);
}

/* A pid whose process started after the pid's last datagram is not that sender. */
Test(svcproc_io, a_process_younger_than_its_pids_last_datagram_is_dropped)
{
    struct child *a = spawn(0, 0);
    struct procfs fig;

    /* As if the datagram had come a minute ago, before this child existed. */
    record_one(mono_ms() - 60000);
    cr_assert_not_null(senders_find(&tbl, a->pid));
    cr_assert_eq(svcproc_collect(&st, &tbl, &svc, mono_ms(), &fig), 0);
    cr_assert_null(senders_find(&tbl, a->pid));
}

/* More senders than are read per scrape: the most recent are read, the rest counted. */
Test(svcproc_io, reads_at_most_the_cap_per_scrape)
{
    struct procfs fig;
    uint64_t now = mono_ms();

    spawn(0, 0);
    record_one(now);
    /* Dead pids fill the rest, recorded before the live one would be evicted. */
    for (pid_t p = 0; p < SVCPROC_MAX_PROCS + 10; p++)
        senders_note(&tbl, 4194305 + p, (uid_t)geteuid(), 0, now);
    /* The live child is now beyond the cap: not read this time, the dead ones pruned. */
    cr_assert_eq(svcproc_collect(&st, &tbl, &svc, now, &fig), 0);
    cr_assert_eq(st.capped, 1);
    cr_assert_eq(svcproc_collect(&st, &tbl, &svc, now, &fig), 1);
    cr_assert_eq(tbl.n, 1);
}

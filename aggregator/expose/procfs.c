#include "expose/procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Parse an unsigned decimal at *p, skipping leading blanks; advances *p. */
static int scan_u64(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;

    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    if (s == end || *s < '0' || *s > '9')
        return -EINVAL;
    for (; s < end && *s >= '0' && *s <= '9'; s++) {
        uint64_t d = (uint64_t)(*s - '0');

        if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    *p = s;
    *out = v;
    return 0;
}

/* Skip one blank-separated field. */
static int skip_field(const char **p, const char *end)
{
    const char *s = *p;

    while (s < end && *s == ' ')
        s++;
    if (s == end)
        return -EINVAL;
    while (s < end && *s != ' ' && *s != '\n')
        s++;
    *p = s;
    return 0;
}

/*
 * proc(5): "pid (comm) state ppid ... utime stime ... starttime vsize rss ...". comm is
 * whatever the process named itself (prctl PR_SET_NAME), spaces and ')' included, so the
 * fields start after the LAST ')':
 *
 *   4242 (a) b) c) S 1 4242 ... 14:utime 15:stime ... 22:starttime 23:vsize 24:rss
 *                ^
 */
int procfs_parse_stat(const char *text, size_t len, long ticks_per_sec, long page_size,
                      struct procfs *out)
{
    const char *end = text + len, *p = NULL;
    uint64_t utime, stime, start, vsize, rss;
    char state;

    if (ticks_per_sec <= 0 || page_size <= 0)
        return -EINVAL;
    for (const char *q = text; q < end; q++)
        if (*q == ')')
            p = q + 1;
    if (p == NULL || p + 2 > end || p[0] != ' ')
        return -EINVAL;
    state = p[1];
    /* Fields 3 (state) to 13 (cmajflt) come first. */
    for (int field = 3; field <= 13; field++)
        if (skip_field(&p, end) < 0)
            return -EINVAL;
    if (scan_u64(&p, end, &utime) < 0 || scan_u64(&p, end, &stime) < 0)
        return -EINVAL;
    /* 16 cutime .. 21 itrealvalue; cutime and friends can be negative, so skip them. */
    for (int field = 16; field <= 21; field++)
        if (skip_field(&p, end) < 0)
            return -EINVAL;
    if (scan_u64(&p, end, &start) < 0 || scan_u64(&p, end, &vsize) < 0 ||
        scan_u64(&p, end, &rss) < 0)
        return -EINVAL;
    out->cpu_seconds = (double)(utime + stime) / (double)ticks_per_sec;
    out->virtual_bytes = vsize;
    out->resident_bytes = rss * (uint64_t)page_size;
    out->start_ticks = start;
    out->state = state;
    out->have |= PROCFS_HAVE_STAT;
    return 0;
}

/* The line starting with key (which ends in a blank), or NULL; *line_end set. */
static const char *find_line(const char *text, size_t len, const char *key, const char **line_end)
{
    const char *end = text + len, *p = text;
    size_t klen = strlen(key);

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;

        if ((size_t)(le - p) >= klen && memcmp(p, key, klen) == 0) {
            *line_end = le;
            return p + klen;
        }
        p = nl ? nl + 1 : end;
    }
    return NULL;
}

int procfs_parse_btime(const char *text, size_t len, uint64_t *btime)
{
    const char *le, *p = find_line(text, len, "btime ", &le);

    if (p == NULL)
        return -EINVAL;
    return scan_u64(&p, le, btime);
}

/* "Max open files            1024                 1048576              files" */
static int limit_soft(const char *text, size_t len, const char *key, uint64_t *out)
{
    const char *le, *p = find_line(text, len, key, &le);

    if (p == NULL)
        return -EINVAL;
    while (p < le && *p == ' ')
        p++;
    if ((size_t)(le - p) >= 9 && memcmp(p, "unlimited", 9) == 0) {
        *out = PROCFS_UNLIMITED;
        return 0;
    }
    return scan_u64(&p, le, out);
}

int procfs_parse_limits(const char *text, size_t len, struct procfs *out)
{
    int rc = 0;

    if (limit_soft(text, len, "Max open files ", &out->max_fds) == 0)
        out->have |= PROCFS_HAVE_MAX_FDS;
    else
        rc = -EINVAL;
    if (limit_soft(text, len, "Max address space ", &out->virtual_max_bytes) == 0)
        out->have |= PROCFS_HAVE_MAX_VMEM;
    else
        rc = -EINVAL;
    return rc;
}

int procfs_parse_status_uid(const char *text, size_t len, uint32_t *euid)
{
    const char *le, *p = find_line(text, len, "Uid:", &le);
    uint64_t real, eff;

    if (p == NULL || scan_u64(&p, le, &real) < 0 || scan_u64(&p, le, &eff) < 0 || eff > UINT32_MAX)
        return -EINVAL;
    *euid = (uint32_t)eff;
    return 0;
}

/* The blank-separated token at *p (skipping blanks), or 0 when the line ends. */
static size_t next_token(const char **p, const char *end, const char **tok)
{
    const char *s = *p, *t;

    while (s < end && *s == ' ')
        s++;
    t = s;
    while (s < end && *s != ' ')
        s++;
    *tok = t;
    *p = s;
    return (size_t)(s - t);
}

/*
 * Two lines per protocol, names then values, in the same order; the set of names grows
 * with kernel versions, so the columns are found by name:
 *
 *   IpExt: InNoRoutes InTruncatedPkts ... InOctets OutOctets ...
 *   IpExt: 0 0 ... 315916096 265446910 ...
 */
int procfs_parse_netstat(const char *text, size_t len, uint64_t *rx, uint64_t *tx)
{
    const char *hend, *vend, *h = find_line(text, len, "IpExt:", &hend), *v;
    int found = 0;

    if (h == NULL || hend == text + len)
        return -EINVAL;
    v = find_line(hend + 1, (size_t)(text + len - hend - 1), "IpExt:", &vend);
    if (v == NULL)
        return -EINVAL;
    for (;;) {
        const char *name;
        size_t nlen = next_token(&h, hend, &name);
        uint64_t val;

        if (nlen == 0 || scan_u64(&v, vend, &val) < 0)
            break;
        if (nlen == 8 && memcmp(name, "InOctets", 8) == 0) {
            *rx = val;
            found |= 1;
        } else if (nlen == 9 && memcmp(name, "OutOctets", 9) == 0) {
            *tx = val;
            found |= 2;
        }
    }
    return found == 3 ? 0 : -EINVAL;
}

int procfs_parse_cgroup(const char *text, size_t len, const char **path, size_t *plen)
{
    const char *le, *p = find_line(text, len, "0::", &le);

    if (p == NULL || p == le)
        return -ENOENT;
    *path = p;
    *plen = (size_t)(le - p);
    return 0;
}

/* /proc/stat holds one "intr" line per IRQ count and grows with the CPUs: cap it. */
#define PROC_FILE_MAX (4u << 20)

static int slurp(const char *path, struct buf *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return -errno;
    buf_reset(b);
    for (;;) {
        ssize_t n;

        buf_grow(b, 4096);
        n = read(fd, b->ptr + b->len, b->cap - b->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        b->len += (size_t)n;
        if (b->len > PROC_FILE_MAX) {
            rc = -EFBIG;
            break;
        }
    }
    b->ptr[b->len] = '\0';
    close(fd);
    return rc;
}

/* "/proc/<pid>/<name>"; pid 0 is the calling process ("/proc/self/<name>"). */
static void proc_path(char *out, size_t cap, pid_t pid, const char *name)
{
    if (pid == 0)
        snprintf(out, cap, "/proc/self/%s", name);
    else
        snprintf(out, cap, "/proc/%ld/%s", (long)pid, name);
}

static int slurp_pid(pid_t pid, const char *name, struct buf *b)
{
    char path[64];

    proc_path(path, sizeof(path), pid, name);
    return slurp(path, b);
}

static int count_fds(pid_t pid, uint64_t *out)
{
    char path[64];
    DIR *d;
    struct dirent *ent;
    uint64_t n = 0;

    proc_path(path, sizeof(path), pid, "fd");
    d = opendir(path);
    /*
     * /proc/<pid>/fd is mode 0500 and its owner's: another user lists it only with
     * CAP_DAC_READ_SEARCH. fdinfo has one entry per descriptor too, and since Linux 5.19
     * asks for ptrace read access instead, which CAP_SYS_PTRACE gives: the one capability
     * a service's process metrics then need (ns/net below asks for the same).
     */
    if (d == NULL && (errno == EACCES || errno == EPERM) && pid != 0) {
        proc_path(path, sizeof(path), pid, "fdinfo");
        d = opendir(path);
    }
    if (d == NULL)
        return -errno;
    while ((ent = readdir(d)) != NULL)
        if (ent->d_name[0] != '.')
            n++;
    closedir(d);
    /* Our own listing includes the descriptor opendir() held; it is gone now. */
    if (pid == 0 && n > 0)
        n--;
    *out = n;
    return 0;
}

static void keep_first(int *rc, int err)
{
    if (*rc == 0 && err < 0)
        *rc = err;
}

int procfs_btime(uint64_t *btime)
{
    struct buf b = BUF_INIT;
    int rc = slurp("/proc/stat", &b);

    if (rc == 0)
        rc = procfs_parse_btime(b.ptr, b.len, btime);
    buf_release(&b);
    return rc;
}

/*
 * Everything but the network counters, for pid (0: self). Returns the first error; a
 * missing stat file comes back as -ESRCH, the process being gone.
 */
static int read_pid(pid_t pid, const uint64_t *btime, struct buf *b, struct procfs *out)
{
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    char path[64];
    struct stat sb;
    int rc = 0, err;

    memset(out, 0, sizeof(*out));
    err = slurp_pid(pid, "stat", b);
    if (err == -ENOENT || err == -ESRCH)
        return -ESRCH;
    if (err == 0)
        err = procfs_parse_stat(b->ptr, b->len, ticks, page, out);
    keep_first(&rc, err);
    if (err == 0 && btime != NULL) {
        out->start_time_seconds = (double)*btime + (double)out->start_ticks / (double)ticks;
        out->have |= PROCFS_HAVE_START;
    }
    err = slurp_pid(pid, "limits", b);
    if (err == 0)
        err = procfs_parse_limits(b->ptr, b->len, out);
    keep_first(&rc, err);
    err = slurp_pid(pid, "status", b);
    if (err == 0)
        err = procfs_parse_status_uid(b->ptr, b->len, &out->euid);
    if (err == 0)
        out->have |= PROCFS_HAVE_UID;
    keep_first(&rc, err);
    err = count_fds(pid, &out->open_fds);
    if (err == 0)
        out->have |= PROCFS_HAVE_OPEN_FDS;
    keep_first(&rc, err);
    /* stat() follows the magic link to the namespace's nsfs inode (ptrace access). */
    proc_path(path, sizeof(path), pid, "ns/net");
    if (stat(path, &sb) == 0) {
        out->netns = (uint64_t)sb.st_ino;
        out->have |= PROCFS_HAVE_NETNS;
    } else {
        keep_first(&rc, -errno);
    }
    return rc;
}

int procfs_read_pid(pid_t pid, uint64_t btime, struct procfs *out)
{
    struct buf b = BUF_INIT;
    int rc = read_pid(pid, &btime, &b, out);

    buf_release(&b);
    return rc == -ESRCH ? rc : 0;
}

int procfs_read_net(pid_t pid, uint64_t *rx, uint64_t *tx)
{
    struct buf b = BUF_INIT;
    int rc = slurp_pid(pid, "net/netstat", &b);

    if (rc == 0)
        rc = procfs_parse_netstat(b.ptr, b.len, rx, tx);
    buf_release(&b);
    return rc;
}

int procfs_read_exe(pid_t pid, char *out, size_t cap)
{
    char path[64];
    ssize_t n;

    proc_path(path, sizeof(path), pid, "exe");
    n = readlink(path, out, cap);
    if (n < 0)
        return -errno;
    if ((size_t)n >= cap)
        return -ENAMETOOLONG;
    out[n] = '\0';
    return (int)n;
}

int procfs_read_cgroup(pid_t pid, struct buf *out)
{
    struct buf b = BUF_INIT;
    const char *path;
    size_t plen;
    int rc = slurp_pid(pid, "cgroup", &b);

    if (rc == 0)
        rc = procfs_parse_cgroup(b.ptr, b.len, &path, &plen);
    if (rc == 0) {
        buf_reset(out);
        buf_add(out, path, plen);
        buf_addch(out, '\0');
        out->len--;
    }
    buf_release(&b);
    return rc;
}

int procfs_read(struct procfs *out)
{
    struct buf b = BUF_INIT;
    uint64_t btime;
    int rc, err = procfs_btime(&btime);

    rc = read_pid(0, err == 0 ? &btime : NULL, &b, out);
    keep_first(&rc, err);
    if (procfs_read_net(0, &out->net_rx_bytes, &out->net_tx_bytes) == 0)
        out->have |= PROCFS_HAVE_NET;
    buf_release(&b);
    return rc;
}

/* Names and HELP texts are client_golang's (prometheus/process_collector.go). */
void procfs_render(const struct procfs *s, struct expo *e)
{
    if (s->have & PROCFS_HAVE_STAT) {
        double was = e->created;

        /* The CPU time counts from the process' start: its OpenMetrics _created. */
        e->created = (s->have & PROCFS_HAVE_START) && !s->cpu_no_start ? s->start_time_seconds : 0;
        expo_scalar(e, "process_cpu_seconds", EXPO_COUNTER,
                    "Total user and system CPU time spent in seconds.", "seconds", s->cpu_seconds);
        e->created = was;
    }
    if (s->have & PROCFS_HAVE_OPEN_FDS)
        expo_scalar(e, "process_open_fds", EXPO_GAUGE, "Number of open file descriptors.", NULL,
                    (double)s->open_fds);
    if (s->have & PROCFS_HAVE_MAX_FDS)
        expo_scalar(e, "process_max_fds", EXPO_GAUGE, "Maximum number of open file descriptors.",
                    NULL, (double)s->max_fds);
    if (s->have & PROCFS_HAVE_STAT) {
        expo_scalar(e, "process_virtual_memory_bytes", EXPO_GAUGE, "Virtual memory size in bytes.",
                    "bytes", (double)s->virtual_bytes);
        expo_scalar(e, "process_resident_memory_bytes", EXPO_GAUGE,
                    "Resident memory size in bytes.", "bytes", (double)s->resident_bytes);
    }
    if (s->have & PROCFS_HAVE_MAX_VMEM)
        expo_scalar(e, "process_virtual_memory_max_bytes", EXPO_GAUGE,
                    "Maximum amount of virtual memory available in bytes.", "bytes",
                    (double)s->virtual_max_bytes);
    if (s->have & PROCFS_HAVE_START)
        expo_scalar(e, "process_start_time_seconds", EXPO_GAUGE,
                    "Start time of the process since unix epoch in seconds.", "seconds",
                    s->start_time_seconds);
    if (s->have & PROCFS_HAVE_NET) {
        expo_scalar(e, "process_network_receive_bytes", EXPO_COUNTER,
                    "Number of bytes received by the process over the network.", "bytes",
                    (double)s->net_rx_bytes);
        expo_scalar(e, "process_network_transmit_bytes", EXPO_COUNTER,
                    "Number of bytes sent by the process over the network.", "bytes",
                    (double)s->net_tx_bytes);
    }
}

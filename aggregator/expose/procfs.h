/*
 * procfs: the standard process metrics (as client_golang's process collector exports
 * them) read from /proc on Linux, for the daemon itself or for any pid.
 *
 * An I/O module: procfs_read() reads /proc/self/stat, /proc/stat, /proc/self/limits,
 * /proc/self/net/netstat and lists /proc/self/fd; procfs_read_pid() and the
 * procfs_read_* functions read the same files (and status, exe, cgroup, ns/net) of
 * another process. Those are in-memory files that never block on a disk, so they run on
 * the loop thread, at scrape time. The procfs_parse_* functions are pure and take the
 * files' text, so that tests feed them canned input.
 *
 * Another user's process: stat, status, limits, cgroup and net/netstat are world-readable,
 * but fd, exe and ns/net need ptrace read access (the same uid, or CAP_SYS_PTRACE); what
 * cannot be read is left out of `have`, never guessed.
 *
 * Errors: 0, -EINVAL for text that does not parse, or -errno from open/read/opendir.
 */
#ifndef USTATSD_PROCSTAT_H
#define USTATSD_PROCSTAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"

#include "base/expo.h"

/* Which fields of struct procfs hold a value; procfs_render() writes only those. */
enum {
    PROCFS_HAVE_STAT = 1 << 0,     /* cpu_seconds, virtual_bytes, resident_bytes */
    PROCFS_HAVE_START = 1 << 1,    /* start_time_seconds */
    PROCFS_HAVE_OPEN_FDS = 1 << 2, /* open_fds */
    PROCFS_HAVE_MAX_FDS = 1 << 3,  /* max_fds */
    PROCFS_HAVE_MAX_VMEM = 1 << 4, /* virtual_max_bytes */
    PROCFS_HAVE_UID = 1 << 5,      /* euid */
    PROCFS_HAVE_NETNS = 1 << 6,    /* netns */
    PROCFS_HAVE_NET = 1 << 7,      /* net_rx_bytes, net_tx_bytes */
};

/* "unlimited" in /proc/self/limits, reported as client_golang does (2^64 - 1). */
#define PROCFS_UNLIMITED UINT64_MAX

struct procfs {
    unsigned have;             /* PROCFS_HAVE_* bits */
    int cpu_no_start;          /* cpu_seconds has no single start (several processes, some
                                * gone): procfs_render() writes no _created for it */
    double cpu_seconds;        /* utime + stime */
    uint64_t virtual_bytes;    /* vsize */
    uint64_t resident_bytes;   /* rss pages * page size */
    uint64_t start_ticks;      /* starttime: clock ticks after boot */
    double start_time_seconds; /* btime + start_ticks / ticks per second */
    uint64_t open_fds;
    uint64_t max_fds;           /* soft RLIMIT_NOFILE, or PROCFS_UNLIMITED */
    uint64_t virtual_max_bytes; /* soft RLIMIT_AS, or PROCFS_UNLIMITED */
    char state;                 /* stat's state letter: 'R', 'S', ... 'Z' for a zombie */
    uint32_t euid;              /* the effective uid ("Uid:" in status, second field) */
    uint64_t netns;             /* inode of the network namespace (ns/net) */
    uint64_t net_rx_bytes;      /* IpExt InOctets of the process's network namespace */
    uint64_t net_tx_bytes;      /* IpExt OutOctets */
};

/*
 * Parse the text of /proc/<pid>/stat (len bytes, need not be NUL-terminated). The command
 * name in parentheses may hold spaces and ')' itself, so fields are counted from the
 * last ')'. ticks_per_sec is sysconf(_SC_CLK_TCK), page_size sysconf(_SC_PAGESIZE); both
 * must be positive. Sets state, cpu_seconds, virtual_bytes, resident_bytes, start_ticks
 * and PROCFS_HAVE_STAT. Returns 0 or -EINVAL (out's other fields untouched).
 */
int procfs_parse_stat(const char *text, size_t len, long ticks_per_sec, long page_size,
                      struct procfs *out);

/* Find "btime <seconds>" in the text of /proc/stat. Returns 0 and sets *btime, or -EINVAL. */
int procfs_parse_btime(const char *text, size_t len, uint64_t *btime);

/*
 * Parse the text of /proc/<pid>/limits: the soft limits of "Max open files" (max_fds,
 * PROCFS_HAVE_MAX_FDS) and "Max address space" (virtual_max_bytes,
 * PROCFS_HAVE_MAX_VMEM). Returns 0 when both were found, else -EINVAL (what was found
 * is still set).
 */
int procfs_parse_limits(const char *text, size_t len, struct procfs *out);

/* The effective uid from the text of /proc/<pid>/status ("Uid:\treal\teffective\t...").
 * Returns 0 and sets *euid, or -EINVAL. */
int procfs_parse_status_uid(const char *text, size_t len, uint32_t *euid);

/*
 * InOctets and OutOctets of the "IpExt:" lines (a header line of names, then one of
 * values) in the text of /proc/<pid>/net/netstat: the bytes of every IP packet the
 * network namespace received and sent, as client_golang's process_network_* report them.
 * Returns 0 and sets *rx and *tx, or -EINVAL.
 */
int procfs_parse_netstat(const char *text, size_t len, uint64_t *rx, uint64_t *tx);

/*
 * The cgroup v2 path in the text of /proc/<pid>/cgroup: the line "0::/some/path". Returns
 * 0 and sets *path (into text, not NUL-terminated) and *plen, or -ENOENT when there is no
 * v2 line (a v1-only host).
 */
int procfs_parse_cgroup(const char *text, size_t len, const char **path, size_t *plen);

/* btime from /proc/stat: the boot time in Unix seconds. Returns 0 or an error. */
int procfs_btime(uint64_t *btime);

/*
 * Fill *out for process pid (zeroing it first): stat, start time (from btime, as given by
 * procfs_btime()), limits, status (euid), the number of entries in fd, and the inode of
 * ns/net. Not the network counters (procfs_read_net(), once per namespace).
 * Returns -ESRCH when the process is gone (no /proc/<pid>/stat), else 0 with out->have
 * saying what could be read: fd and ns/net are absent without ptrace access. A zombie
 * ('Z') has its final stat and little else.
 */
int procfs_read_pid(pid_t pid, uint64_t btime, struct procfs *out);

/* IpExt InOctets/OutOctets of pid's network namespace (/proc/<pid>/net/netstat). */
int procfs_read_net(pid_t pid, uint64_t *rx, uint64_t *tx);

/*
 * readlink(/proc/<pid>/exe) into out (cap bytes, NUL-terminated). A deleted executable
 * reads as "/path (deleted)", as the kernel writes it. Returns the length, or -errno
 * (-EACCES without ptrace access, -ENOENT for a zombie or a kernel thread), or
 * -ENAMETOOLONG when it does not fit.
 */
int procfs_read_exe(pid_t pid, char *out, size_t cap);

/* The cgroup v2 path of pid into out (reset first, NUL-terminated). Returns 0 or an error. */
int procfs_read_cgroup(pid_t pid, struct buf *out);

/*
 * Fill *out for the calling process (zeroing it first). Reads everything it can; returns
 * 0 when every field was read, else the first error, with out->have saying what is valid.
 * open_fds does not count the descriptor used to list /proc/self/fd. The network counters
 * are read too when they can be (PROCFS_HAVE_NET), but their absence (a kernel without
 * IpExt) does not make it fail.
 */
int procfs_read(struct procfs *out);

/*
 * Write the families of the fields in s->have, with client_golang's names and HELP texts:
 * process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_virtual_memory_max_bytes, process_open_fds, process_max_fds,
 * process_start_time_seconds, process_network_receive_bytes_total and
 * process_network_transmit_bytes_total.
 */
void procfs_render(const struct procfs *s, struct expo *e);

#endif

/*
 * procstat: the standard process metrics (as client_golang's process collector exports
 * them) read from /proc on Linux.
 *
 * An I/O module: procstat_read() reads /proc/self/stat, /proc/stat, /proc/self/limits and
 * lists /proc/self/fd. Those are in-memory files that never block on a disk, so it runs on
 * the loop thread, once per scrape. The procstat_parse_* functions are pure and take the
 * files' text, so that tests feed them canned input.
 *
 * Errors: 0, -EINVAL for text that does not parse, or -errno from open/read/opendir.
 */
#ifndef USTATSD_PROCSTAT_H
#define USTATSD_PROCSTAT_H

#include <stddef.h>
#include <stdint.h>

#include "expo.h"

/* Which fields of struct procstat hold a value; procstat_render() writes only those. */
enum {
    PROCSTAT_HAVE_STAT = 1 << 0,     /* cpu_seconds, virtual_bytes, resident_bytes */
    PROCSTAT_HAVE_START = 1 << 1,    /* start_time_seconds */
    PROCSTAT_HAVE_OPEN_FDS = 1 << 2, /* open_fds */
    PROCSTAT_HAVE_MAX_FDS = 1 << 3,  /* max_fds */
    PROCSTAT_HAVE_MAX_VMEM = 1 << 4, /* virtual_max_bytes */
};

/* "unlimited" in /proc/self/limits, reported as client_golang does (2^64 - 1). */
#define PROCSTAT_UNLIMITED UINT64_MAX

struct procstat {
    unsigned have;             /* PROCSTAT_HAVE_* bits */
    double cpu_seconds;        /* utime + stime */
    uint64_t virtual_bytes;    /* vsize */
    uint64_t resident_bytes;   /* rss pages * page size */
    uint64_t start_ticks;      /* starttime: clock ticks after boot */
    double start_time_seconds; /* btime + start_ticks / ticks per second */
    uint64_t open_fds;
    uint64_t max_fds;           /* soft RLIMIT_NOFILE, or PROCSTAT_UNLIMITED */
    uint64_t virtual_max_bytes; /* soft RLIMIT_AS, or PROCSTAT_UNLIMITED */
};

/*
 * Parse the text of /proc/<pid>/stat (len bytes, need not be NUL-terminated). The command
 * name in parentheses may hold spaces and ')' itself, so fields are counted from the
 * last ')'. ticks_per_sec is sysconf(_SC_CLK_TCK), page_size sysconf(_SC_PAGESIZE); both
 * must be positive. Sets cpu_seconds, virtual_bytes, resident_bytes, start_ticks and
 * PROCSTAT_HAVE_STAT. Returns 0 or -EINVAL (out's other fields untouched).
 */
int procstat_parse_stat(const char *text, size_t len, long ticks_per_sec, long page_size,
                        struct procstat *out);

/* Find "btime <seconds>" in the text of /proc/stat. Returns 0 and sets *btime, or -EINVAL. */
int procstat_parse_btime(const char *text, size_t len, uint64_t *btime);

/*
 * Parse the text of /proc/<pid>/limits: the soft limits of "Max open files" (max_fds,
 * PROCSTAT_HAVE_MAX_FDS) and "Max address space" (virtual_max_bytes,
 * PROCSTAT_HAVE_MAX_VMEM). Returns 0 when both were found, else -EINVAL (what was found
 * is still set).
 */
int procstat_parse_limits(const char *text, size_t len, struct procstat *out);

/*
 * Fill *out for the calling process (zeroing it first). Reads everything it can; returns
 * 0 when every field was read, else the first error, with out->have saying what is valid.
 * open_fds does not count the descriptor used to list /proc/self/fd.
 */
int procstat_read(struct procstat *out);

/*
 * Write the families of the fields in s->have, with client_golang's names and HELP texts:
 * process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_virtual_memory_max_bytes, process_open_fds, process_max_fds,
 * process_start_time_seconds.
 */
void procstat_render(const struct procstat *s, struct expo *e);

#endif

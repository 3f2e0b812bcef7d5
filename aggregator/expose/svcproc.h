/*
 * svcproc: a service's own process_* metrics, read from /proc for the live processes
 * that send to the daemon with its credentials (config.h, struct config_service).
 *
 * An I/O module. At each scrape of an endpoint that stands for a service,
 * svcproc_render() walks the sender table (senders.h), reads /proc for each sender whose
 * uid is the service's (procfs.h), keeps those whose effective uid, executable and
 * cgroup match, combines their figures and writes client_golang's process_* families.
 *
 * How the processes are combined (svcproc_combine()):
 *   process_cpu_seconds_total   the CPU of the live processes plus the last-read CPU of
 *                               those that were counted and have since exited (or left:
 *                               evicted, past the read cap, no longer matching), so one
 *                               worker of many exiting does not make the counter drop.
 *                               When a scrape finds no live process the service is down:
 *                               the families are absent and the next process starts the
 *                               sum afresh, as a restarted process's counter does.
 *   process_resident_memory_bytes, process_virtual_memory_bytes
 *                               summed over the live processes (pages shared between
 *                               them, as after a fork, count once per process).
 *   process_open_fds, process_max_fds
 *                               both from the one process nearest its limit (the highest
 *                               open/max ratio), so that process_open_fds / process_max_fds
 *                               fires when any one process nears its own limit; a sum of
 *                               descriptors has no limit to compare with.
 *   process_virtual_memory_max_bytes
 *                               the lowest limit of the live processes (the first to bite).
 *   process_start_time_seconds  the earliest start of the live processes.
 *   process_network_receive_bytes_total, process_network_transmit_bytes_total
 *                               IpExt InOctets/OutOctets (as client_golang reads them) of
 *                               each network namespace the live processes are in, counted
 *                               once per namespace; like the CPU, a namespace that is left
 *                               keeps its last-read figures in the sum. A namespace's
 *                               counters cover every process in it (on the host's
 *                               namespace, the host's traffic), as client_golang's do.
 * A family some process cannot give a figure for (no ptrace access to its fd or ns/net)
 * is absent, never a partial sum or a made-up 0; process_max_fds is then still the lowest
 * limit. A pid is a new process when its start time changes (the old one counts as
 * exited), and a sender whose pid now belongs to a process started after that pid's last
 * datagram is dropped from the table, not counted.
 *
 * Limits: at most SVCPROC_MAX_PROCS senders with the service's uid are read per scrape,
 * the most recently seen first (capped counts the scrapes that found more). Each costs
 * five small /proc reads (stat, limits, status, a listing of fd, ns/net; exe or cgroup
 * too when the service names them), about 40 us, plus net/netstat once per namespace,
 * about 70 us (bench_senders): a scrape at the cap blocks the loop for about 10 ms.
 */
#ifndef USTATSD_SVCSTAT_H
#define USTATSD_SVCSTAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
#include "base/expo.h"
#include "expose/procfs.h"
#include "ingest/senders.h"

/* Processes read per scrape, and so counted, per service. */
#define SVCPROC_MAX_PROCS 256

/* A process counted at the last scrape: pid and start identify it across pid reuse. */
struct svcproc_proc {
    pid_t pid;
    uint64_t start_ticks;
    double cpu_seconds; /* as last read */
};

/* A network namespace counted at the last scrape, by the inode of ns/net. */
struct svcproc_netns {
    uint64_t inode;
    uint64_t rx_bytes, tx_bytes; /* as last read */
};

/* One process read at this scrape; ps.state 'Z' marks one that has just exited. */
struct svcproc_read {
    pid_t pid;
    struct procfs ps; /* PROCFS_HAVE_NET on one read per namespace at most */
};

/*
 * Per service, owned by the caller (one per endpoint that stands for a service) and kept
 * from scrape to scrape: it holds what makes the counters monotonic.
 */
struct svcproc {
    struct svcproc_proc *procs; /* SVCPROC_MAX_PROCS; nprocs counted at the last scrape */
    size_t nprocs;
    struct svcproc_netns *netns; /* SVCPROC_MAX_PROCS; nnetns */
    size_t nnetns;
    struct svcproc_read *reads; /* SVCPROC_MAX_PROCS: scratch of svcproc_collect() */
    double exited_cpu_seconds;  /* last-read CPU of the counted processes gone since */
    uint64_t exited_rx_bytes, exited_tx_bytes;
    uint64_t btime; /* boot time, read once */
    int have_btime;
    uint64_t capped;     /* scrapes that found more than SVCPROC_MAX_PROCS candidates */
    uint64_t unverified; /* processes skipped: their exe or cgroup could not be read */
};

/* Empty state (allocates its arrays, about 40 KiB; aborts on OOM as mem.h does). */
void svcproc_init(struct svcproc *st);

void svcproc_release(struct svcproc *st);

/*
 * 1 when the cgroup v2 path path[0..len) is root or lies under it ("/a/b" lies under
 * "/a" and "/", not under "/a/bc"); a trailing '/' on root is ignored. Pure.
 */
int svcproc_cgroup_under(const char *path, size_t len, const char *root);

/*
 * The pure half: combine this scrape's reads[0..n) (live processes, and zombies with
 * ps.state 'Z' whose final CPU joins the exited sum) with the state, as the header
 * explains; update the state and set *out (zeroed first; out->have says which families
 * exist, 0 when no live process). Every live read must have PROCFS_HAVE_STAT.
 * Returns the number of live processes counted.
 */
size_t svcproc_combine(struct svcproc *st, const struct svcproc_read *reads, size_t n,
                       struct procfs *out);

/*
 * Read the service's processes and combine them (svcproc_combine()) into *out. tbl is
 * the sender table the intake feeds; pids found gone (or reused) are removed from it.
 * now_ms is the time on the clock that senders_note() was given (the loop's uv_now()).
 * Returns the number of live processes counted; 0 means the families are absent.
 * Loop thread only.
 */
size_t svcproc_collect(struct svcproc *st, struct senders *tbl, const struct config_service *svc,
                       uint64_t now_ms, struct procfs *out);

/*
 * svcproc_collect(), then write the families found (procfs_render(): client_golang's
 * names and HELP texts); nothing when the service has no live process. Returns the
 * number of processes counted. Loop thread only; cost as the header says.
 */
size_t svcproc_render(struct svcproc *st, struct senders *tbl, const struct config_service *svc,
                      uint64_t now_ms, struct expo *e);

#endif

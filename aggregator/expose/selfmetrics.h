/*
 * selfmetrics: one reading of the daemon's own state, and its exposition.
 *
 * A domain module. The I/O side fills a struct selfmetrics once per scrape or /debug request
 * from the ingest socket's counters, the intake's line counters, the HTTP listeners, the
 * event loop, the reload state and the running config. /metrics renders it with
 * selfmetrics_render(); /debug's "daemon" and "ingest" sections render the same struct
 * (debugself.c), so the two views cannot disagree on a counter. selfmetrics_fields[] lists
 * every value the two views share, for the test that checks they agree.
 */
#ifndef USTATSD_SELFSTAT_H
#define USTATSD_SELFSTAT_H

#include <stddef.h>
#include <stdint.h>

#include "http/basiccred.h"
#include "config/config.h"
#include "state/records.h"
#include "base/expo.h"
#include "ingest/intake.h"
#include "store/registry.h"
#include "expose/rwstats.h"
#include "expose/timings.h"
#include "http/tlsmem.h"

/*
 * The counters each ingest socket keeps, the Unix one and the UDP one, once: P(X, field,
 * metric family after "ustatsd_" or "ustatsd_udp_", /debug key, the Unix socket's help,
 * the UDP socket's help). P picks one socket's row and hands it to X.
 */
#define SELFMETRICS_INGEST_MAP(X, P)                                                               \
    P(X, datagrams, "datagrams_received", "datagrams", "Datagrams received on the ingest socket.", \
      "Datagrams received on the UDP socket.")                                                     \
    P(X, bytes, "bytes_received", "bytes", "Bytes received in datagrams on the ingest socket.",    \
      "Bytes received in datagrams on the UDP socket.")                                            \
    P(X, truncated, "datagrams_truncated", "truncated_datagrams",                                  \
      "Datagrams larger than the datagram limit, dropped whole.",                                  \
      "UDP datagrams larger than the datagram limit, dropped whole.")                              \
    P(X, recv_errors, "datagrams_receive_errors", "receive_errors",                                \
      "Errors reading the ingest socket (recvmmsg or poll), EAGAIN and EINTR aside.",              \
      "Errors reading the UDP socket (recvmmsg or poll), EAGAIN and EINTR aside.")                 \
    P(X, budget_hits, "ingest_budget_exhausted", "budget_exhausted",                               \
      "Drains of the ingest socket cut at their time or datagram budget with datagrams "           \
      "maybe left queued: when it grows with every drain, ingestion is saturated.",                \
      "Drains of the UDP socket cut at their time or datagram budget with datagrams maybe "        \
      "left queued.")                                                                              \
    P(X, batch_cuts, "ingest_batches_cut", "batches_cut",                                          \
      "Cuts of a batch of received datagrams at the time budget, while datagrams turned dear: "    \
      "the rest is held and delivered first in the next turn, where it may be cut again.",         \
      "Cuts of a batch of UDP datagrams at the time budget, the rest held for the next turn.")     \
    P(X, wakeups, "ingest_wakeups", "wakeups",                                                     \
      "Drains of the ingest socket: readable events handled and held datagrams resumed. "          \
      "Datagrams received over this is the mean batch a wake-up takes in.",                        \
      "Drains of the UDP socket: readable events handled and held datagrams resumed.")

#define SELFMETRICS_PICK_SOCKET(X, field, name, key, help, udp_help) \
    X(field, "ustatsd_" name, key, help)
#define SELFMETRICS_PICK_UDP(X, field, name, key, help, udp_help) \
    X(field, "ustatsd_udp_" name, key, udp_help)

/*
 * The ingest socket's counters: X(field, metric family, /debug key in "ingest", help).
 * Both views walk this list, so a counter added here shows in both.
 */
#define SELFMETRICS_SOCKET_MAP(X) SELFMETRICS_INGEST_MAP(X, SELFMETRICS_PICK_SOCKET)

/*
 * The UDP socket's counters, shown only while it is on (udp_listen set), under families
 * of their own so that the Unix socket's keep their names: X(field, metric family, /debug
 * key in "ingest.udp", help): the same as the Unix socket's, which struct ingest_stats
 * counts under the same field names (SELFMETRICS_UDP_INGEST_MAP), and the kernel's drops,
 * which come from ingest_kernel_drops() (SELFMETRICS_UDP_KERNEL_MAP).
 */
#define SELFMETRICS_UDP_MAP(X)        SELFMETRICS_UDP_INGEST_MAP(X) SELFMETRICS_UDP_KERNEL_MAP(X)
#define SELFMETRICS_UDP_INGEST_MAP(X) SELFMETRICS_INGEST_MAP(X, SELFMETRICS_PICK_UDP)
#define SELFMETRICS_UDP_KERNEL_MAP(X)                                                    \
    X(kernel_drops, "ustatsd_udp_datagrams_dropped", "kernel_drops",                     \
      "UDP datagrams the kernel dropped before ustatsd read them, the socket's receive " \
      "buffer full (its SO_MEMINFO drop count): raise udp_rcvbuf, or fewer senders.")

/*
 * The start-up restore's facts (struct selfmetrics_state), once, in the order both views
 * show them: X(kind, field, metric family, /debug key in "daemon.state.restore", help).
 * kind says how the field reads and where it shows:
 *   RESULT  a string: one sample {result="<it>"} 1 of a gauge family, and the string;
 *   COUNT   a uint64_t: a gauge, and the number;
 *   DROPPED a uint64_t[RECORDS_DROP_MAX]: a gauge sample and a member per enum records_drop;
 *   TEXT    a string or NULL, /debug only (metric and help NULL): the text format has none;
 *   SECONDS a double, /debug only (metric and help NULL).
 */
#define SELFMETRICS_RESTORE_MAP(X)                                                        \
    X(RESULT, restore, "ustatsd_state_restore_result", "result",                          \
      "What the start-up restore found: 1 for its result (restored, absent, set_aside, "  \
      "unreadable).")                                                                     \
    X(TEXT, restore_error, NULL, "error", NULL)                                           \
    X(SECONDS, restore_seconds, NULL, "seconds", NULL)                                    \
    X(COUNT, restored_series, "ustatsd_state_restored_series", "series",                  \
      "Series the start-up restore put back from the state file.")                        \
    X(COUNT, restored_jobs, "ustatsd_state_restored_jobs", "jobs",                        \
      "Jobs whose breakers the start-up restore put back from the state file.")           \
    X(DROPPED, restore_dropped, "ustatsd_state_restore_dropped", "dropped",               \
      "Series and jobs in the state file that the start-up restore dropped, by why: the " \
      "running config no longer takes them.")

/* The C type of each kind of restore fact: the member of struct selfmetrics_state. */
#define SELFMETRICS_RESTORE_RESULT(field)  const char *field;
#define SELFMETRICS_RESTORE_COUNT(field)   uint64_t field;
#define SELFMETRICS_RESTORE_DROPPED(field) uint64_t field[RECORDS_DROP_MAX];
#define SELFMETRICS_RESTORE_TEXT(field)    const char *field;
#define SELFMETRICS_RESTORE_SECONDS(field) double field;

/*
 * Learn mode's summary (ingest/learnsum.h): X(field, metric family, /debug key in
 * "ingest.learn", expo type, unit, help). Both views walk this list.
 */
#define SELFMETRICS_LEARN_MAP(X)                                                             \
    X(entries, "ustatsd_learn_entries", "entries", EXPO_GAUGE, "",                           \
      "Families (unknown, or declared and refusing lines for their labels) in learn mode's " \
      "summary.")                                                                            \
    X(bytes, "ustatsd_learn_bytes", "bytes", EXPO_GAUGE, "bytes",                            \
      "Bytes learn mode's summary holds (entries, label keys, values, its table).")          \
    X(max_bytes, "ustatsd_learn_max_bytes", "max_bytes", EXPO_GAUGE, "bytes",                \
      "The cap on learn mode's summary (learn.max_bytes).")                                  \
    X(evictions, "ustatsd_learn_evictions_total", "evictions", EXPO_COUNTER, "",             \
      "Entries learn mode's summary evicted to stay under its cap.")                         \
    X(lines, "ustatsd_learn_lines_total", "lines", EXPO_COUNTER, "",                         \
      "Lines learn mode noted: refused for an allowlist reason, or dropping undeclared tags.")

/* HTTP counters are per listener and route; a reading holds at most this many rows. */
#define SELFMETRICS_MAX_REQUESTS   512
#define SELFMETRICS_MAX_VIOLATIONS 160
#define SELFMETRICS_MAX_EVICTIONS  128 /* 18 listeners, 7 reasons */
#define SELFMETRICS_MAX_PARKED     32  /* 18 listeners */

struct selfmetrics_requests {
    const char *handler; /* route name; borrowed from the listener */
    unsigned code;
    uint64_t count;
};

struct selfmetrics_violations {
    const char *listener; /* "metrics" or "debug" */
    const char *kind;     /* a limit's label value; for evictions, the reason's */
    uint64_t count;
};

/* A listener's parking lot (http/httppark.c). */
struct selfmetrics_parked {
    const char *listener;
    uint64_t open;   /* parked now */
    uint64_t closed; /* parked ones closed to make room */
};

/* The state file (persist.h), shown only while on: the snapshots, and the start-up restore. */
struct selfmetrics_state {
    int on;
    const char *path;
    double interval;           /* seconds between snapshots */
    uint64_t ok;               /* snapshots written */
    uint64_t failed;           /* snapshots that failed */
    const char *last_error;    /* why the last one failed; NULL when it succeeded (or none yet) */
    double last_ok_unix;       /* when the last good one was written; 0: none yet */
    double last_seconds;       /* how long it took */
    double last_longest_slice; /* the longest loop time one of its slices took, seconds */
    uint64_t last_bytes;       /* its size on disk */
    uint64_t last_series;
    /* The restore: restore is persist_restore_name()'s "restored", "absent", ...;
     * restore_error says why for set_aside and unreadable, else NULL. */
#define SELFMETRICS_RESTORE_FIELD(kind, field, metric, key, help) SELFMETRICS_RESTORE_##kind(field)
    SELFMETRICS_RESTORE_MAP(SELFMETRICS_RESTORE_FIELD)
#undef SELFMETRICS_RESTORE_FIELD
};

/*
 * The series' memory collapsed into huge pages on the state thread (daemon/hugepages.h):
 * on is 0 where the kernel's transparent huge page mode is never, or its huge page is not
 * 2 MiB, and the daemon collapses nothing.
 */
struct selfmetrics_hugepages {
    int on;
    uint64_t handed;          /* ranges the store handed out */
    uint64_t collapsed;       /* ... that the kernel put into huge pages */
    uint64_t refused;         /* ... that it would not (or the thread could not take) */
    uint64_t collapsed_bytes; /* bytes collapsed, a 2 MiB page at a time */
};

/*
 * Every string and pointer is borrowed and must outlive the reading's renders: cfg and
 * reg are the running config and registry; the rest point into the daemon's state.
 */
/* One scrape endpoint as the debug view shows it (daemon.listeners.endpoints). */
struct selfmetrics_endpoint {
    const char *name;    /* "metrics" for the default endpoint */
    const char *address; /* as bound */
    const char *path;
    unsigned in_flight;  /* scrapes being written */
    uint64_t scrapes[3]; /* finished scrapes answered 200, 500 and 503 */
};

struct selfmetrics {
    const char *version;
    const char *config_path;
    const struct config *cfg; /* limits, resource attributes */
    const struct registry *reg;
    double start_unix;
    double now_unix;
    double config_loaded_unix; /* start-up, or the last reload that succeeded */
    uint64_t start_ms;         /* monotonic ms at start_unix, to date series updates */
    uint64_t now_ms;

    uint64_t reloads_ok;
    uint64_t reloads_failed;
    const char *reload_error; /* why the last reload failed, or NULL when it did not */
    uint64_t basic_auth[BASICCRED_NRESULTS]; /* basic auth checks by result (basicauth.h) */

    const char *metrics_listen; /* bound address, or "" when disabled */
    const char *metrics_path;
    const char *debug_listen;                     /* where /debug is served, or "" */
    const struct selfmetrics_endpoint *endpoints; /* the scrape endpoints, default one first */
    size_t nendpoints;

    struct selfmetrics_state state;
    struct selfmetrics_hugepages huge;

    /* The remote write targets (rwstats.h); /debug shows them, /metrics renders them apart. */
    const struct rwstats *remote_write;

    /* TLS on the HTTP listeners (the web config file): on is 0 without it, and then
     * nothing of it is shown. Counts are summed over the listeners. */
    struct selfmetrics_tls {
        int on;
        const char *web_config_file;
        char cert_sha256[65];  /* the certificate new connections get */
        const char *cert_file; /* its cert_file as written, or tls_server_config.cert */
        double cert_not_after; /* its notAfter, Unix time; 0: unknown, not shown */
        uint64_t handshakes;
        uint64_t failures[TLSMEM_FAIL_COUNT];
    } tls;

    const char *socket_path;
    unsigned socket_mode;
    long max_dgram_qlen; /* -1: unknown */
    int passcred;        /* the Unix socket asks for senders' credentials (credwant.h) */
    int rcvbuf;          /* SO_RCVBUF as the kernel reports it, or -1 */
#define SELFMETRICS_FIELD(field, metric, key, help) uint64_t field;
    SELFMETRICS_SOCKET_MAP(SELFMETRICS_FIELD)

    /* The UDP socket: udp_on is 0 when it is off, and then nothing of it is shown. */
    int udp_on;
    const char *udp_listen;  /* as configured */
    const char *udp_address; /* as bound: the port the kernel picked for port 0 */
    int udp_allow_remote;
    int udp_rcvbuf; /* SO_RCVBUF as the kernel reports it, or -1 */
    struct {
        SELFMETRICS_UDP_MAP(SELFMETRICS_FIELD)
    } udp;
#undef SELFMETRICS_FIELD

    struct intake_counters lines;
    struct {
        int on; /* learn.enabled */
#define SELFMETRICS_LEARN_FIELD(field, metric, key, type, unit, help) uint64_t field;
        SELFMETRICS_LEARN_MAP(SELFMETRICS_LEARN_FIELD)
#undef SELFMETRICS_LEARN_FIELD
    } learn;
    struct timings stats; /* scrape and event-loop histograms */

    /* /metrics only: filled for a scrape. */
    double loop_utilization; /* since the previous scrape, 0 to 1 */
    double loop_idle_seconds;
    struct selfmetrics_requests requests[SELFMETRICS_MAX_REQUESTS];
    size_t nrequests;
    struct selfmetrics_violations violations[SELFMETRICS_MAX_VIOLATIONS];
    size_t nviolations;
    struct selfmetrics_violations evictions[SELFMETRICS_MAX_EVICTIONS]; /* connections at the cap */
    size_t nevictions;
    struct selfmetrics_parked parked[SELFMETRICS_MAX_PARKED]; /* the parking lots */
    size_t nparked;
};

/* Append an HTTP row; rows beyond the capacity are dropped (the daemon has far fewer). */
void selfmetrics_add_requests(struct selfmetrics *s, const char *handler, unsigned code,
                              uint64_t count);
void selfmetrics_add_violations(struct selfmetrics *s, const char *listener, const char *kind,
                                uint64_t count);
void selfmetrics_add_evictions(struct selfmetrics *s, const char *listener, const char *reason,
                               uint64_t count);
/* A listener's parking lot: connections parked now, and parked ones closed for room. */
void selfmetrics_add_parked(struct selfmetrics *s, const char *listener, uint64_t open,
                            uint64_t closed);

/*
 * target_info: an info family whose labels are the resource attributes (sorted by key),
 * '.' and '-' in keys written as '_'. Nothing when nattrs is 0.
 */
void selfmetrics_target_info(const struct config_resource_attr *attrs, size_t nattrs,
                             struct expo *e);

/*
 * Write the daemon's self-metrics (docs/exposition.md, "Self-metrics") but the process_* ones,
 * which need /proc, and target_info: ustatsd_build_info, the socket counters, the line
 * counters, the histograms, the series by family, HTTP, reloads and the event loop.
 */
void selfmetrics_render(const struct selfmetrics *s, struct expo *e);

/* How a shared value reads: its C type, and for SELFMETRICS_REASONS one per reject reason. */
enum selfmetrics_kind {
    SELFMETRICS_U64,
    SELFMETRICS_LONG,
    SELFMETRICS_DOUBLE,
    SELFMETRICS_NULL_IS_TRUE, /* a string pointer: 1 (true) when NULL */
    SELFMETRICS_UDP_U64,      /* a uint64_t shown only when udp_on, absent from both views else */
    SELFMETRICS_STATE_U64,    /* a uint64_t shown only when state.on, absent from both else */
    SELFMETRICS_TLS_U64,      /* a uint64_t shown only when tls.on, absent from both else */
    SELFMETRICS_STATE_DROPS,  /* a uint64_t[RECORDS_DROP_MAX] shown only when state.on; "%s"
                               * is the drop reason's name (records_drop_name) */
    SELFMETRICS_REASONS       /* a uint64_t[STATSD_REASON_MAX]; "%s" is the reason's name */
};

/* A value both views show: as a text-format sample, and at a dotted path in /debug. */
struct selfmetrics_field {
    const char *sample; /* "ustatsd_config_reloads_total{result=\"success\"}" */
    const char *path;   /* "daemon.reloads.succeeded" */
    enum selfmetrics_kind kind;
    size_t offset; /* in struct selfmetrics */
};

extern const struct selfmetrics_field selfmetrics_fields[];
extern const size_t selfmetrics_nfields;

#endif

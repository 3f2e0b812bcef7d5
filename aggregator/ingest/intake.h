/*
 * intake: the datagram pipeline, from a received datagram to the registry, the jobs, the
 * reject ring and the line counters.
 *
 * A domain module. A datagram, its sender and the time go in; each line is split, looked
 * up in the registry's front cache and applied (a line the cache knows needs only its
 * values parsed), or parsed in full and given to the jobs (`|j` lines, service checks and
 * the jobs' counter lines, jobmatch.h) or registry_apply(). A job's counter line is never
 * cached: the registry never accepts it. When the config has writer rules ("writers", cfgwriters.h), a line
 * whose family or job has a rule that does not allow its sender is rejected first, as
 * STATSD_SENDER_NOT_ALLOWED, and changes nothing; each line is judged alone, so the other
 * lines of its datagram are taken as usual. Accepted lines are counted; a rejected one is counted
 * by reason and kept, raw, in the reject ring with its sender. The daemon's ingest callback, the
 * unit tests and the fuzzer all drive this one module.
 *
 * Client input is data: nothing here fails, logs or allocates, whatever a datagram holds.
 */
#ifndef USTATSD_INTAKE_H
#define USTATSD_INTAKE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "store/dryrun.h"
#include "store/jobs.h"
#include "store/registry.h"
#include "ingest/rejectlog.h"
#include "ingest/learnsum.h"
#include "ingest/rejects.h"
#include "ingest/senders.h"
#include "statsd.h"
#include "statsd_scanner.h"

/*
 * The wall clock in Unix seconds, asked only when a line needs it (a job report, a
 * reject), so that a datagram of accepted lines reads no clock.
 */
typedef double (*intake_clock_cb)(void *arg);

/*
 * Who sent a datagram, as the kernel reports it: the credentials on the Unix socket
 * (SCM_CREDENTIALS), or the source address on UDP (addr non-NULL, pid/uid/gid unknown).
 */
struct intake_sender {
    pid_t pid;
    uid_t uid;
    gid_t gid;
    const struct sockaddr *addr; /* UDP: borrowed for the call; NULL on the Unix socket */
};

/* Lines taken since intake_init(); plain fields, read at any time on the same thread. */
struct intake_counters {
    uint64_t accepted;
    uint64_t rejected[STATSD_REASON_MAX]; /* by enum statsd_reason; index STATSD_OK unused */
};

/*
 * A datagram whose first lines were split and tagged ahead of its delivery
 * (intake_stage): they start its lookup. data NULL: a free slot.
 */
#define INTAKE_STAGED 5 /* the one delivered, and the four after it (ingest.h) */
struct intake_staged {
    const char *data;
    size_t len;
    size_t n;                   /* lines in lp (REGISTRY_FIND_MAX: the scanner has more) */
    struct statsd_scanner scan; /* where the lines after them start */
    uint32_t tag[REGISTRY_FIND_MAX];
    struct statsd_parts lp[REGISTRY_FIND_MAX];
};

/*
 * Embedded by its owner. reg, jobs and rejects are borrowed: they must outlive the intake
 * (or be replaced in place, as a reload does to the registry's and the jobs' contents).
 */
struct intake {
    struct registry *reg;
    struct jobs *jobs;
    struct rejects *rejects;
    intake_clock_cb clock;
    void *clock_arg;
    /*
     * NULL (intake_init()'s default): no sender is recorded. Else borrowed, set by the
     * owner when an endpoint stands for a service: every datagram that carries
     * credentials (the Unix socket, never UDP) is noted in it (senders_note()).
     */
    struct senders *senders;
    /* NULL (intake_init()'s default): no summary. Else borrowed: every reject is noted. */
    struct rejectlog *rejectlog;
    /*
     * NULL (intake_init()'s default): learn mode is off. Else borrowed, set with
     * intake_learn(): every line refused for an allowlist reason is noted in it
     * (learnsum_note(), on the reject path only), and, when a family of the running config
     * drops undeclared tags (learn_drops), the tags an accepted line's first sight dropped.
     */
    struct learnsum *learn;
    int learn_drops;
    struct intake_counters count;
    struct intake_staged staged[INTAKE_STAGED]; /* intake_stage()'s; zeroed: none */
    unsigned next_staged;                       /* the slot a stage takes when none is free */
    int staging; /* the front cache is big enough to pay for a stage (as of the last forget) */
};

/* Counters at zero. clock(clock_arg) gives the time of job reports and rejects. */
void intake_init(struct intake *in, struct registry *reg, struct jobs *jobs,
                 struct rejects *rejects, intake_clock_cb clock, void *clock_arg);

/*
 * Learn into learn (NULL: off), as intake.learn says; again after each reload, which may
 * add or remove the families that drop undeclared tags.
 */
void intake_learn(struct intake *in, struct learnsum *learn);

/*
 * Take every line of the datagram data[0..len) (split at '\n', "\r\n" accepted, empty
 * lines skipped) in order, at monotonic time now_ms. from is the sender, or NULL when the
 * kernel attached no credentials (the reject ring then records none; it records the
 * address of a UDP sender). data is only read,
 * and only during the call, except that a datagram staged (intake_stage) since the last
 * forget, at the same data and len, has its first lines taken from its slot: its bytes must
 * not have changed since. Lines are looked up REGISTRY_FIND_MAX at a time.
 */
void intake_datagram(struct intake *in, const char *data, size_t len,
                     const struct intake_sender *from, uint64_t now_ms);

/*
 * Start the lookup of a short datagram that intake_datagram() will take soon, a later one
 * of the same receive batch, so that its lines' cache misses overlap the work on the
 * datagrams before it instead of following it:
 *
 * - INTAKE_SCAN: split its lines, take their tags and ask for the sets they choose
 *   (registry_tag_parts), into a slot that intake_datagram() takes the lines from,
 *   instead of splitting and hashing them again. A scan of the same data replaces the
 *   slot's; with INTAKE_STAGED slots, at most four datagrams are scanned ahead of the one
 *   delivered.
 * - INTAKE_FETCH, later (two datagrams ahead, in the daemon): ask for the identities the
 *   first sets point at, and the cache line before each, where its series ends
 *   (registry_fetch_parts; not the second set, nor a table being moved from).
 * - INTAKE_FORGET (data NULL): the batch is over, its buffers will be reused: drop every
 *   slot. Until then the data of a scanned datagram must not change.
 *
 * Only a datagram of at most INTAKE_STAGE_BYTES is staged, and only while the front cache
 * is big enough to pay (registry_stage_pays, read at each forget). A datagram of a few
 * lines has little to overlap its lookups with; the lines of a longer one overlap each
 * other's, and staging them too made them slower (tests/bench/bench_intake --per:
 * docs/cardinality.md, with lines of about 48 bytes, so that 256 bytes is 5 of them; many
 * short lines, up to 42 of "a:1|c", still fit and are staged: not measured). A small
 * cache and its series stay near the CPU, and staging would only move the work. A staged
 * datagram that is never delivered (truncated, say) only holds its slot until it is
 * replaced or forgotten. Nothing here changes what a datagram
 * does: only when its memory is asked for.
 */
#define INTAKE_STAGE_BYTES 256
enum intake_stage_step { INTAKE_SCAN, INTAKE_FETCH, INTAKE_FORGET };
void intake_stage(struct intake *in, const char *data, size_t len, enum intake_stage_step step);

/*
 * What intake_datagram() would do with one line (no '\n') from `from` at now_ms, without
 * doing it: the same path as a line the front cache does not know (a cached line gets the
 * verdict its first spelling got), with the jobs' and the registry's checks read-only
 * (jobs_match, registry_dry_run). For `ustatsd explain`. Nothing is counted or recorded.
 */
struct intake_verdict {
    int reason;              /* STATSD_OK or the reason the line would be counted under */
    int parsed;              /* the parser took it: line is filled */
    struct statsd_line line; /* views into the given bytes */
    long job;                /* the config's index of the job it reports, or -1 */
    const struct config_writers *writers; /* the rule of its family or job, or NULL */
    struct registry_dryrun fam; /* a family's line (job -1, parsed): the registry's verdict */
};

int intake_explain(const struct intake *in, const char *p, size_t len,
                   const struct intake_sender *from, uint64_t now_ms, struct intake_verdict *v);

/* Sum of the rejected lines over every reason. */
uint64_t intake_rejected_total(const struct intake_counters *c);

#endif

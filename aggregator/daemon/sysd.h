/*
 * sysd: running under systemd. Socket activation (sd_listen_fds) and the service
 * manager's notifications (sd_notify: READY, RELOADING, STOPPING, WATCHDOG, STATUS).
 *
 * An I/O module, on libsystemd and libuv. Loop thread only. Outside systemd every call
 * is cheap and changes nothing: without LISTEN_FDS the daemon binds its sockets itself,
 * and without NOTIFY_SOCKET nothing is sent and no watchdog timer runs.
 *
 *     sysd_init(&s, loop);                 at start-up, before anything binds
 *     sysd_activate(&s, cfg, err, errlen); every passed fd matched to a configured socket
 *     fd = sysd_take(&s, SOCKMATCH_STREAM, "127.0.0.1:9464");   > 0: adopt it; -1: bind
 *     sysd_ready(&s, cfg);                 READY=1 once the daemon serves
 *     sysd_reloading(&s);  ...  sysd_reloaded(&s, cfg, error);   around a SIGHUP
 *     sysd_stop(&s);                       STOPPING=1, the watchdog timer closed
 *     sysd_release(&s);                    after the loop ran out: passed fds not taken
 *
 * Socket activation rules (docs/operations.md, "Running under systemd"): the passed descriptors
 * are read once, in sysd_init(), and LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES are
 * unset so that nothing the daemon starts inherits them. Each descriptor must match one
 * socket the configuration asks for, BY ADDRESS (sockmatch.h): daemon.socket to a
 * ListenDatagram=/path, daemon.udp_listen to a ListenDatagram=host:port, metrics_listen,
 * debug_listen and each endpoint's listen to a ListenStream=. A descriptor that matches
 * nothing, or is of the wrong kind, refuses start-up with a message naming the fd, its
 * address, its FileDescriptorName and what was expected. A configured socket that was
 * not passed is bound by the daemon as without systemd: passing some and not others is
 * fine. An adopted socket is never unlinked and never drained at stop: datagrams sent
 * during a restart wait in the kernel queue for the next instance.
 *
 * Notifications: READY=1 with a STATUS= once app start-up succeeded; on SIGHUP,
 * RELOADING=1 with MONOTONIC_USEC= (CLOCK_MONOTONIC, as Type=notify-reload requires),
 * then READY=1 once the reload was applied or refused, with a STATUS= that says which
 * (and why it was refused); STOPPING=1 at stop. With WatchdogSec= (WATCHDOG_USEC and
 * WATCHDOG_PID naming this process), WATCHDOG=1 every half interval from a timer on the
 * loop: a loop that is stuck stops the pings, and systemd restarts the service.
 */
#ifndef USTATSD_SYSD_H
#define USTATSD_SYSD_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config/config.h"
#include "daemon/sockmatch.h"

#define SYSD_MAX_FDS    32 /* passed descriptors beyond this refuse start-up */
#define SYSD_MAX_WANTS  (4 + CONFIG_MAX_ENDPOINTS)
#define SYSD_STATUS_MAX 512

struct sysd_fd {
    int fd;
    long want;      /* index in wants, or -1 before sysd_activate() */
    int taken;      /* handed out by sysd_take(): closing it is the taker's */
    char name[128]; /* FileDescriptorName=, or "" */
};

struct sysd {
    /* Private. */
    uv_loop_t *loop;
    uv_timer_t watchdog;
    int watchdog_open;      /* the timer was initialised: sysd_stop() closes it */
    uint64_t watchdog_usec; /* WatchdogSec= in µs; 0: no watchdog */
    int notify;             /* NOTIFY_SOCKET is set */
    int listen_rc;          /* sd_listen_fds_with_names(): < 0 when LISTEN_FDS was bad */
    struct sysd_fd fds[SYSD_MAX_FDS];
    size_t nfds;
    size_t dropped; /* passed beyond SYSD_MAX_FDS (closed) */
    struct sockmatch_want wants[SYSD_MAX_WANTS];
    char keys[SYSD_MAX_WANTS][48];
    size_t nwants;
};

/*
 * Read the passed descriptors (once per process: the variables are unset) and the notify
 * and watchdog settings, and start the watchdog timer. Never fails: a bad LISTEN_FDS is
 * reported by sysd_activate(). loop must outlive s.
 */
void sysd_init(struct sysd *s, uv_loop_t *loop);

/*
 * Match every passed descriptor to a socket cfg asks for (cfg is borrowed until
 * sysd_release()). Returns 0, or a negative code with the message in err (NUL-terminated
 * when errlen > 0); start-up must then fail: LISTEN_FDS's own -errno, ERRCODE_LIMIT (more
 * than SYSD_MAX_FDS passed), -ENOTSOCK or getsockname()'s -errno for a descriptor,
 * ERRCODE_CONFIG for one that matches no configured socket or a second one for the same
 * socket. With no descriptor passed, returns 0.
 */
int sysd_activate(struct sysd *s, const struct config *cfg, char *err, size_t errlen);

/*
 * The passed descriptor matched to the socket of this kind at addr (the configured text),
 * which the caller now owns; or ERRCODE_UNKNOWN when none was passed for it (bind it as
 * usual).
 */
int sysd_take(struct sysd *s, enum sockmatch_kind kind, const char *addr);

/* 1 when the socket of this kind at addr was passed (taken or not), else 0. */
int sysd_passed(const struct sysd *s, enum sockmatch_kind kind, const char *addr);

/* READY=1 with a STATUS= summing up what cfg serves. */
void sysd_ready(struct sysd *s, const struct config *cfg);

/* RELOADING=1 with MONOTONIC_USEC=: on SIGHUP, before the reload starts. */
void sysd_reloading(struct sysd *s);

/*
 * READY=1 once a reload has settled: applied (error NULL; cfg is the configuration now
 * running) or refused (error says why; the running cfg stays).
 */
void sysd_reloaded(struct sysd *s, const struct config *cfg, const char *error);

/* STOPPING=1 and the watchdog timer closed. Once; the loop then runs out. */
void sysd_stop(struct sysd *s);

/* Close the passed descriptors nobody took (start-up failed first). After the loop ends. */
void sysd_release(struct sysd *s);

#endif

/*
 * ustatsd.h: the header-only client for ustatsd (proto/PROTOCOL.md is the wire format).
 *
 * Copy this one file into a service. It needs libc only, never allocates and keeps no
 * global or static state: every function is static inline and works on a struct ustatsd
 * that the caller owns. It compiles as C99 and later and as C++11 and later.
 *
 * POSIX: it uses clock_gettime(CLOCK_MONOTONIC) (unless the caller passes its own clock,
 * see struct ustatsd_options), so glibc must expose POSIX.1-2008.
 * g++ and the ustatsd build define _GNU_SOURCE already; a strict C build
 * (-std=c99/c11) defines _POSIX_C_SOURCE 200809L (or _GNU_SOURCE) before its first
 * #include.
 *
 *     struct ustatsd st;                       (about 8.2 KB: embed it, or make it static)
 *     struct ustatsd_label labels[] = { { "method", "GET" }, { "code", "200" } };
 *     ustatsd_open(&st, NULL);                 (NULL: $USTATSD_SOCKET, else the default)
 *     ustatsd_count(&st, "http.requests", 1, labels, 2);
 *     ustatsd_timing_ms(&st, "http.duration", 12.5, labels, 2);
 *     ustatsd_job(&st, "mailer", USTATSD_OUTCOME_WORKED, NULL, 0);
 *     ustatsd_flush(&st);                      (e.g. once per request or per second)
 *     ustatsd_close(&st);
 *
 * ustatsd_open_with(&st, path, &opts) takes options (struct ustatsd_options): today a
 * clock of the caller's for the reconnect back-off, so that tests need not sleep.
 *
 * Never blocks and never raises SIGPIPE. The socket is AF_UNIX/SOCK_DGRAM, non-blocking
 * and close-on-exec, and every send() passes MSG_DONTWAIT|MSG_NOSIGNAL. When the daemon
 * is down, absent or behind (ENOENT, ECONNREFUSED, EAGAIN, ENOBUFS, ...), the datagram
 * is dropped at once and counted in datagrams_dropped, lines_dropped and last_errno:
 * metrics must never slow down or break the service that sends them.
 *
 * connect(), not sendto(): the socket is connected once, so the kernel resolves the path
 * once instead of walking the file system for every datagram, and a vanished daemon
 * shows up as an error. A connected socket keeps pointing at the inode it was connected
 * to, so after the daemon restarts (it unlinks and binds the path again) the old peer is
 * dead: send() fails with ECONNREFUSED, then ENOTCONN. On those errors (and EPIPE,
 * ECONNRESET) the client connects the same socket again, lazily, on the next send, and
 * at most once per reconnect_interval_ms (monotonic clock, or the caller's: see
 * ustatsd_open_with()), so a service whose daemon
 * is gone pays one failed connect() per second, not one per metric. When the reconnect
 * is due at the moment the peer is found dead, the datagram is retried once on the new
 * connection, so a daemon restart loses nothing that was sent after it came back.
 * EAGAIN and ENOBUFS mean the daemon is alive but behind: the datagram is dropped and
 * the connection kept.
 *
 * Batching: lines are written into st.buf, a USTATSD_DGRAM_MAX (8000) byte buffer
 * inside the struct, and sent as one datagram when the next line would not fit, on
 * ustatsd_flush() and on ustatsd_close(). Lines are never split: a datagram is whole
 * lines, each ending in '\n'. Set st.batching = 0 to send one datagram per call.
 * Batched lines wait until the buffer fills or the caller flushes: flush on a timer or
 * at the end of a unit of work.
 *
 * Validation: every call checks, before it writes anything, what the daemon's parser
 * would reject (PROTOCOL.md): names [A-Za-z_][A-Za-z0-9_.-]* of at most 200 bytes,
 * label keys of the same form up to 100 bytes, label values of at most 256 bytes of
 * UTF-8 without ',', '|' or control characters, at most 16 labels and no two keys that
 * are equal once '.' and '-' read as '_', finite values, rates in (0, 1], lines of at
 * most 4096 bytes. An invalid call returns a USTATSD_E* code, adds one to lines_invalid
 * and sends nothing. Whether a name or label is in the daemon's allowlist is not checked
 * here: the daemon counts those drops (ustatsd_lines_rejected_total{reason}).
 *
 * Sample rates: the client keeps no random state (no rand(), no globals), so the caller
 * decides. Call a *_sampled() function only for the chosen fraction of events, e.g.
 * `if (my_random01() < 0.1) ustatsd_count_sampled(&st, "x", 1, 0.1, NULL, 0);`; the
 * line carries |@0.1 and the daemon scales it back up. The plain functions send rate 1.
 *
 * Return values: 0 on success; a negative USTATSD_E* code (USTATSD_ERROR_MAP) when the
 * call is invalid; or a negative errno (-ENOENT, -ECONNREFUSED, -EAGAIN, ...) when a
 * datagram sent during this call was dropped. In that last case the line of this call
 * was taken: it was in the dropped datagram (batching off, flush) or is in the buffer
 * after a full buffer was dropped. Callers may ignore drops; the counters have them.
 * ustatsd_strerror() and ustatsd_err_name() describe any of these codes.
 *
 * Threads: a struct ustatsd is not thread-safe. Use one per thread, or serialise every
 * call on it with the caller's own lock. Distinct structs share nothing.
 * Signals: not async-signal-safe (snprintf).
 * Locale: doubles are printed with snprintf and the locale's decimal point is rewritten
 * to '.', so a service that calls setlocale(LC_NUMERIC, ...) still sends valid lines.
 */
#ifndef USTATSD_H
#define USTATSD_H

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#if !defined(CLOCK_MONOTONIC)
#error "ustatsd.h needs POSIX.1-2008: define _POSIX_C_SOURCE 200809L before the first #include"
#endif

/* Bytes in one datagram: under the daemon's 8192 (STATSD_MAX_DATAGRAM) with room to spare. */
#define USTATSD_DGRAM_MAX 8000
/* The parser's limits (proto/statsd.h, PROTOCOL.md "Limits"). */
#define USTATSD_LINE_MAX        4096
#define USTATSD_NAME_MAX        200
#define USTATSD_LABELS_MAX      16
#define USTATSD_LABEL_KEY_MAX   100
#define USTATSD_LABEL_VALUE_MAX 256
/* The daemon's socket when neither the path argument nor $USTATSD_SOCKET names one. */
#define USTATSD_DEFAULT_SOCKET "/run/ustatsd/ustatsd.sock"
/* Environment variable read by ustatsd_open(c, NULL). */
#define USTATSD_SOCKET_ENV "USTATSD_SOCKET"
/* SO_SNDBUF requested at open (the kernel caps it at net.core.wmem_max). */
#define USTATSD_SNDBUF (4 << 20)
/* Default for reconnect_interval_ms. */
#define USTATSD_RECONNECT_MS 1000
/* Bytes of a socket path including its NUL (sizeof sockaddr_un.sun_path on Linux). */
#define USTATSD_PATH_MAX 108

/*
 * The client's own error codes: X(name, value, message). They sit far below every
 * errno, so a caller tells "my call was invalid" (USTATSD_E*) from "a datagram was
 * dropped" (-errno) by value.
 */
#define USTATSD_ERROR_MAP(X)                                                                 \
    X(EBADNAME, -4001, "metric name empty, over 200 bytes, or not [A-Za-z_][A-Za-z0-9_.-]*") \
    X(EBADLABEL, -4002, "label key or value invalid or too long, duplicate key, or > 16")    \
    X(EBADVALUE, -4003, "value is NaN or infinite, or a count is negative")                  \
    X(EBADRATE, -4004, "sample rate outside (0, 1]")                                         \
    X(EBADOUTCOME, -4005, "job outcome is not worked, idle or error")                        \
    X(ETOOLONG, -4006, "line longer than 4096 bytes (raw: longer than a datagram)")          \
    X(EBADLINE, -4007, "raw line contains a newline")                                        \
    X(ECLOSED, -4008, "client is not open")

enum {
#define USTATSD__ERR_ENUM(name, value, msg) USTATSD_##name = (value),
    USTATSD_ERROR_MAP(USTATSD__ERR_ENUM)
#undef USTATSD__ERR_ENUM
        USTATSD__ERR_END
};

/* The outcome of one run of a background job (`<job>:<outcome>|j`). */
enum ustatsd_outcome { USTATSD_OUTCOME_WORKED, USTATSD_OUTCOME_IDLE, USTATSD_OUTCOME_ERROR };

/*
 * One label (a DogStatsD tag "key:value"). Both strings are NUL-terminated and only read
 * during the call. value NULL sends a bare tag ("#canary").
 */
struct ustatsd_label {
    const char *key;
    const char *value;
};

/*
 * A clock for the reconnect back-off: milliseconds from any origin, never going
 * backwards. arg is the clock_arg given with it. Called on the caller's thread, from
 * ustatsd_open_with() and from any call that sends while the client is disconnected;
 * it must not call back into the client.
 */
typedef long long (*ustatsd_clock_cb)(void *arg);

/*
 * What ustatsd_open_with() takes beyond the path. Zero it (memset, `= {}` in C++, or a
 * C99 designated initializer), then set what differs: a zero field means the default,
 * so fields added later keep old callers' behaviour. The struct itself is only read
 * during the call; clock_arg must stay valid until ustatsd_close().
 */
struct ustatsd_options {
    ustatsd_clock_cb clock; /* NULL: clock_gettime(CLOCK_MONOTONIC) */
    void *clock_arg;        /* passed to clock */
};

/*
 * One client. The caller owns it (stack, static or embedded); ustatsd_open() fills it.
 * Fields above "private" may be read at any time and the two settings written after
 * ustatsd_open(); the rest belongs to the functions below.
 */
struct ustatsd {
    /* Settings. */
    int batching;               /* 1 (default): gather lines; 0: one datagram per call */
    long reconnect_interval_ms; /* least time between two connect() attempts; 1000 */
    /* Counters, never reset by the client. */
    unsigned long long datagrams_sent;
    unsigned long long lines_sent;
    unsigned long long datagrams_dropped;
    unsigned long long lines_dropped;
    unsigned long long lines_invalid; /* calls refused by validation */
    unsigned long long connects;      /* successful connect() calls */
    int last_errno;                   /* errno of the last drop (positive), 0 if none */
    /* Private. */
    ustatsd_clock_cb clock; /* NULL: CLOCK_MONOTONIC */
    void *clock_arg;
    int fd;         /* -1 when closed */
    int connected;  /* the socket has a live peer, as far as we know */
    int tried;      /* last_connect_ms is set */
    int conn_errno; /* why we are not connected */
    long long last_connect_ms;
    size_t len;    /* bytes in buf */
    size_t nlines; /* lines in buf */
    char path[USTATSD_PATH_MAX];
    char buf[USTATSD_DGRAM_MAX];
};

/* ---------------------------------------------------------------- errors */

/* The message for any return code of this header: USTATSD_E*, -errno or 0. Static text. */
static inline const char *ustatsd_strerror(int err)
{
    switch (err) {
#define USTATSD__ERR_MSG(name, value, msg) \
    case USTATSD_##name:                   \
        return msg;
        USTATSD_ERROR_MAP(USTATSD__ERR_MSG)
#undef USTATSD__ERR_MSG
    case 0:
        return "success";
    default:
        /* strerror() is not thread-safe in theory; glibc's returns static text for these. */
        return err < 0 && err > -4000 ? strerror(-err) : "unknown error";
    }
}

/* "USTATSD_EBADNAME" for the client's codes, "errno" for a -errno, "0" for 0. */
static inline const char *ustatsd_err_name(int err)
{
    switch (err) {
#define USTATSD__ERR_NAME(name, value, msg) \
    case USTATSD_##name:                    \
        return "USTATSD_" #name;
        USTATSD_ERROR_MAP(USTATSD__ERR_NAME)
#undef USTATSD__ERR_NAME
    case 0:
        return "0";
    default:
        return "errno";
    }
}

/* ---------------------------------------------------------------- validators */

/* 1 for [A-Za-z0-9_.-], the bytes of names and label keys. */
static inline int ustatsd__name_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '-';
}

/* 1 for [A-Za-z_], the first byte of names and label keys. */
static inline int ustatsd__name_lead(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

/* RFC 3629 UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static inline int ustatsd__utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned ch = s[i], lo = 0x80, hi = 0xbf;
        size_t n, k;
        if (ch < 0x80) {
            i++;
            continue;
        }
        if (ch >= 0xc2 && ch <= 0xdf) {
            n = 1;
        } else if (ch >= 0xe0 && ch <= 0xef) {
            n = 2;
            lo = ch == 0xe0 ? 0xa0 : 0x80;
            hi = ch == 0xed ? 0x9f : 0xbf;
        } else if (ch >= 0xf0 && ch <= 0xf4) {
            n = 3;
            lo = ch == 0xf0 ? 0x90 : 0x80;
            hi = ch == 0xf4 ? 0x8f : 0xbf;
        } else {
            return 0;
        }
        if (len - i <= n || s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (k = 2; k <= n; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += n + 1;
    }
    return 1;
}

/* strlen that stops after max + 1 bytes: enough to tell "too long" without reading on. */
static inline size_t ustatsd__strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n <= max && s[n] != '\0')
        n++;
    return n;
}

/* 0 when name[0..len) is a valid metric or job name, else USTATSD_EBADNAME. */
static inline int ustatsd_check_name(const char *name, size_t len)
{
    size_t i;
    if (name == NULL || len == 0 || len > USTATSD_NAME_MAX ||
        !ustatsd__name_lead((unsigned char)name[0]))
        return USTATSD_EBADNAME;
    for (i = 1; i < len; i++)
        if (!ustatsd__name_char((unsigned char)name[i]))
            return USTATSD_EBADNAME;
    return 0;
}

/*
 * 0 when key[0..klen) and value[0..vlen) make a valid label, else USTATSD_EBADLABEL.
 * value may be NULL (with vlen 0) for a bare tag. A value may hold ':' and spaces.
 */
static inline int ustatsd_check_label(const char *key, size_t klen, const char *value, size_t vlen)
{
    size_t i;
    if (key == NULL || klen == 0 || klen > USTATSD_LABEL_KEY_MAX ||
        !ustatsd__name_lead((unsigned char)key[0]))
        return USTATSD_EBADLABEL;
    for (i = 1; i < klen; i++)
        if (!ustatsd__name_char((unsigned char)key[i]))
            return USTATSD_EBADLABEL;
    if (value == NULL)
        return vlen == 0 ? 0 : USTATSD_EBADLABEL;
    if (vlen > USTATSD_LABEL_VALUE_MAX)
        return USTATSD_EBADLABEL;
    for (i = 0; i < vlen; i++) {
        unsigned char ch = (unsigned char)value[i];
        if (ch == ',' || ch == '|' || ch < 0x20 || ch == 0x7f)
            return USTATSD_EBADLABEL;
    }
    return ustatsd__utf8_valid((const unsigned char *)value, vlen) ? 0 : USTATSD_EBADLABEL;
}

/* The parser's duplicate rule: keys that are equal once '.' and '-' read as '_'. */
static inline int ustatsd__same_key(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i;
    if (alen != blen)
        return 0;
    for (i = 0; i < alen; i++) {
        char x = a[i] == '.' || a[i] == '-' ? '_' : a[i];
        char y = b[i] == '.' || b[i] == '-' ? '_' : b[i];
        if (x != y)
            return 0;
    }
    return 1;
}

/*
 * Validate n labels and add the bytes they take on the wire ("|#k:v,k2") to *wire when
 * wire is not NULL. Returns 0 or USTATSD_EBADLABEL.
 */
static inline int ustatsd__labels(const struct ustatsd_label *labels, size_t n, size_t *wire)
{
    size_t i, j, total = 0;
    if (n == 0)
        return 0;
    if (labels == NULL || n > USTATSD_LABELS_MAX)
        return USTATSD_EBADLABEL;
    for (i = 0; i < n; i++) {
        const char *k = labels[i].key, *v = labels[i].value;
        size_t klen, vlen;
        if (k == NULL)
            return USTATSD_EBADLABEL;
        klen = ustatsd__strnlen(k, USTATSD_LABEL_KEY_MAX);
        vlen = v ? ustatsd__strnlen(v, USTATSD_LABEL_VALUE_MAX) : 0;
        if (ustatsd_check_label(k, klen, v, vlen) != 0)
            return USTATSD_EBADLABEL;
        for (j = 0; j < i; j++)
            if (ustatsd__same_key(labels[j].key, strlen(labels[j].key), k, klen))
                return USTATSD_EBADLABEL;
        total += klen + (v ? 1 + vlen : 0) + 1; /* "k:v" and its ',' (or the "|#") */
    }
    if (wire)
        *wire += total + 1;
    return 0;
}

/* 0 when the n labels are valid together (each, count, no duplicate), else EBADLABEL. */
static inline int ustatsd_check_labels(const struct ustatsd_label *labels, size_t n)
{
    return ustatsd__labels(labels, n, NULL);
}

/* 0 when v is finite, else USTATSD_EBADVALUE. v - v is NaN exactly for NaN and +-Inf. */
static inline int ustatsd_check_value(double v)
{
    return v - v == 0.0 ? 0 : USTATSD_EBADVALUE;
}

/* 0 when rate is in (0, 1], else USTATSD_EBADRATE (NaN included). */
static inline int ustatsd_check_rate(double rate)
{
    return rate > 0.0 && rate <= 1.0 ? 0 : USTATSD_EBADRATE;
}

/* ---------------------------------------------------------------- formatting */

/*
 * Rewrite the locale's decimal point (',' in de_DE, multibyte in a few locales) to '.':
 * %g prints only [-+0-9eE] and the decimal point, so any other run of bytes is it.
 */
static inline size_t ustatsd__c_locale(char *s, size_t n)
{
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if ((ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == 'e' || ch == 'E')
            s[o++] = ch;
        else if (o == 0 || s[o - 1] != '.')
            s[o++] = '.';
    }
    return o;
}

/*
 * Print a finite double so that strtod() reads back the same bits: integers up to 2^63
 * without exponent ("%.0f" is exact for them), everything else with the fewest of
 * 15, 16 or 17 significant digits that round-trips ("0.1", not "0.10000000000000001";
 * 17 always does). -0 prints as "0": a sign would make a gauge line relative.
 * out holds at least 40 bytes. Returns the length (no NUL is counted).
 */
static inline size_t ustatsd__fmt_double(char *out, double v)
{
    int n = 0, prec;
    if (v == 0.0) {
        out[0] = '0';
        out[1] = '\0';
        return 1;
    }
    if (v > -9.2e18 && v < 9.2e18 && v == (double)(long long)v) {
        n = snprintf(out, 40, "%lld", (long long)v);
        return (size_t)n;
    }
    for (prec = 15; prec <= 17; prec++) {
        n = snprintf(out, 40, "%.*g", prec, v);
        if (prec == 17 || strtod(out, NULL) == v)
            break;
    }
    if (n < 0 || n >= 40)
        n = 0; /* cannot happen for a finite double; an empty value fails at the daemon */
    return ustatsd__c_locale(out, (size_t)n);
}

/* ---------------------------------------------------------------- transport */

/* The client's clock in milliseconds: the caller's, else CLOCK_MONOTONIC. */
static inline long long ustatsd__now_ms(const struct ustatsd *c)
{
    struct timespec ts;
    if (c->clock)
        return c->clock(c->clock_arg);
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * connect() the socket to c->path unless the last attempt was less than
 * reconnect_interval_ms ago. Returns 0 when connected, else -errno of this or the last
 * attempt. connect() on an AF_UNIX datagram socket never blocks, and may be repeated on
 * the same socket to replace a dead peer.
 */
static inline int ustatsd__connect(struct ustatsd *c)
{
    struct sockaddr_un sa;
    long long now = ustatsd__now_ms(c);
    if (c->tried && now - c->last_connect_ms < c->reconnect_interval_ms)
        return -c->conn_errno;
    c->tried = 1;
    c->last_connect_ms = now;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
    if (connect(c->fd, (const struct sockaddr *)&sa, (socklen_t)sizeof(sa)) != 0) {
        c->conn_errno = errno;
        c->connected = 0;
        return -c->conn_errno;
    }
    c->connected = 1;
    c->conn_errno = 0;
    c->connects++;
    return 0;
}

/* Errors after which the connected peer is gone for good: connect again. */
static inline int ustatsd__peer_gone(int err)
{
    return err == ECONNREFUSED || err == ENOTCONN || err == ECONNRESET || err == EPIPE ||
           err == EDESTADDRREQ;
}

/* Send one datagram of nlines lines, or drop and count it. Returns 0 or -errno. */
static inline int ustatsd__send(struct ustatsd *c, const char *p, size_t n, size_t nlines)
{
    int err, retried = 0;
    for (;;) {
        if (!c->connected) {
            err = ustatsd__connect(c);
            if (err != 0)
                break;
        }
        if (send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
            c->datagrams_sent++;
            c->lines_sent += nlines;
            return 0;
        }
        err = -errno;
        if (!ustatsd__peer_gone(-err))
            break;
        c->connected = 0;
        c->conn_errno = -err;
        if (retried++)
            break;
    }
    c->datagrams_dropped++;
    c->lines_dropped += nlines;
    c->last_errno = -err;
    return err;
}

/* ---------------------------------------------------------------- lifecycle */

/*
 * ustatsd_open() with options; opts NULL means every default (that is ustatsd_open()).
 * With opts->clock set, the reconnect back-off reads that clock instead of
 * CLOCK_MONOTONIC: tests drive the back-off without sleeping, and a service may share a
 * clock it already reads. Returns as ustatsd_open().
 */
static inline int ustatsd_open_with(struct ustatsd *c, const char *path,
                                    const struct ustatsd_options *opts)
{
    size_t len;
    memset(c, 0, offsetof(struct ustatsd, buf));
    c->fd = -1;
    c->batching = 1;
    c->reconnect_interval_ms = USTATSD_RECONNECT_MS;
    if (opts != NULL) {
        c->clock = opts->clock;
        c->clock_arg = opts->clock_arg;
    }
    if (path == NULL || path[0] == '\0')
        path = getenv(USTATSD_SOCKET_ENV);
    if (path == NULL || path[0] == '\0')
        path = USTATSD_DEFAULT_SOCKET;
    len = ustatsd__strnlen(path, USTATSD_PATH_MAX);
    if (len >= USTATSD_PATH_MAX)
        return -ENAMETOOLONG;
    memcpy(c->path, path, len + 1);
    c->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        c->fd = -1;
        return -errno;
    }
    {
        /*
         * A Unix datagram stays charged to the sender's send buffer until the daemon
         * reads it, so the sender's SO_SNDBUF, not only net.unix.max_dgram_qlen, bounds
         * how long the daemon may pause before datagrams drop. The default
         * (net.core.wmem_default, 208 KiB) is a couple of milliseconds at a high rate;
         * the kernel caps the request at net.core.wmem_max. Best effort.
         */
        int sndbuf = USTATSD_SNDBUF;
        (void)setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, (socklen_t)sizeof(sndbuf));
    }
    (void)ustatsd__connect(c);
    return 0;
}

/*
 * Prepare *c and its socket for the daemon at path; when path is NULL or "", at
 * $USTATSD_SOCKET; when that is unset or empty, at USTATSD_DEFAULT_SOCKET. The path is
 * copied. The first connect() is tried here, but a daemon that is not there yet is not
 * an error: the client connects lazily later. Sets batching = 1 and
 * reconnect_interval_ms = USTATSD_RECONNECT_MS; the caller may change both afterwards.
 * Returns 0, -ENAMETOOLONG when the path does not fit a sockaddr_un, or the -errno of
 * socket() (-EMFILE, ...); on error *c is closed (ustatsd_close() is a no-op).
 */
static inline int ustatsd_open(struct ustatsd *c, const char *path)
{
    return ustatsd_open_with(c, path, NULL);
}

/*
 * Send what the buffer holds as one datagram. Returns 0 (also when it was empty),
 * USTATSD_ECLOSED, or -errno when the datagram was dropped (and counted).
 */
static inline int ustatsd_flush(struct ustatsd *c)
{
    int rc;
    if (c->fd < 0)
        return USTATSD_ECLOSED;
    if (c->len == 0)
        return 0;
    rc = ustatsd__send(c, c->buf, c->len, c->nlines);
    c->len = 0;
    c->nlines = 0;
    return rc;
}

/*
 * Flush, then close the socket. Later calls return USTATSD_ECLOSED until the next
 * ustatsd_open(); the counters stay readable. Closing twice is harmless. Returns the
 * flush's result (0, USTATSD_ECLOSED, or -errno of a dropped last datagram).
 */
static inline int ustatsd_close(struct ustatsd *c)
{
    int rc = ustatsd_flush(c);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->connected = 0;
    return rc;
}

/* ---------------------------------------------------------------- lines */

/*
 * Make room for n more bytes: flush first when they would not fit. Returns what the
 * flush returned (0 or -errno); the room is there either way, since n <= DGRAM_MAX.
 */
static inline int ustatsd__reserve(struct ustatsd *c, size_t n)
{
    if (c->len + n <= USTATSD_DGRAM_MAX)
        return 0;
    return ustatsd_flush(c);
}

/* After lines were appended: in unbatched mode they leave now. */
static inline int ustatsd__commit(struct ustatsd *c, int rc)
{
    int frc;
    if (c->batching)
        return rc;
    frc = ustatsd_flush(c);
    return frc != 0 ? frc : rc;
}

static inline char *ustatsd__put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

/*
 *   name:value|type|@rate|#k:v,k2:v2\n
 *   ^ one line written at p; the caller has checked that it fits
 */
static inline char *ustatsd__line(char *p, const char *name, size_t nlen, const char *val,
                                  size_t vlen, const char *type, const char *rate, size_t rlen,
                                  const struct ustatsd_label *labels, size_t n)
{
    size_t i;
    p = ustatsd__put(p, name, nlen);
    *p++ = ':';
    p = ustatsd__put(p, val, vlen);
    *p++ = '|';
    p = ustatsd__put(p, type, strlen(type));
    if (rlen) {
        p = ustatsd__put(p, "|@", 2);
        p = ustatsd__put(p, rate, rlen);
    }
    for (i = 0; i < n; i++) {
        p = ustatsd__put(p, i == 0 ? "|#" : ",", i == 0 ? 2 : 1);
        p = ustatsd__put(p, labels[i].key, strlen(labels[i].key));
        if (labels[i].value) {
            *p++ = ':';
            p = ustatsd__put(p, labels[i].value, strlen(labels[i].value));
        }
    }
    *p++ = '\n';
    return p;
}

/*
 * Validate and append one metric line whose value is already text. zero_first writes
 * "name:0|g..." before it, in the same datagram (an absolute negative gauge, see
 * ustatsd_gauge_set()).
 */
static inline int ustatsd__emit(struct ustatsd *c, const char *name, const char *val, size_t vlen,
                                const char *type, double rate, const struct ustatsd_label *labels,
                                size_t n, int zero_first)
{
    char rbuf[40];
    size_t nlen, rlen = 0, tags = 0, line, total;
    int rc;
    if (c->fd < 0)
        return USTATSD_ECLOSED;
    nlen = name ? ustatsd__strnlen(name, USTATSD_NAME_MAX) : 0;
    rc = ustatsd_check_name(name, nlen);
    if (rc == 0)
        rc = ustatsd__labels(labels, n, &tags);
    if (rc == 0)
        rc = ustatsd_check_rate(rate);
    if (rc == 0 && rate < 1.0)
        rlen = ustatsd__fmt_double(rbuf, rate);
    line = nlen + 1 + vlen + 1 + strlen(type) + (rlen ? 2 + rlen : 0) + tags;
    if (rc == 0 && line > USTATSD_LINE_MAX)
        rc = USTATSD_ETOOLONG;
    if (rc != 0) {
        c->lines_invalid++;
        return rc;
    }
    /* The "0" line is the same line with a 1-byte value; both must share one datagram. */
    total = line + 1 + (zero_first ? line - vlen + 2 : 0);
    if (total > USTATSD_DGRAM_MAX) {
        c->lines_invalid++;
        return USTATSD_ETOOLONG;
    }
    rc = ustatsd__reserve(c, total);
    if (zero_first) {
        char *p = ustatsd__line(c->buf + c->len, name, nlen, "0", 1, type, rbuf, rlen, labels, n);
        c->len = (size_t)(p - c->buf);
        c->nlines++;
    }
    c->len = (size_t)(ustatsd__line(c->buf + c->len, name, nlen, val, vlen, type, rbuf, rlen,
                                    labels, n) -
                      c->buf);
    c->nlines++;
    return ustatsd__commit(c, rc);
}

/* A double value: check it, print it, emit it. sign forces a leading '+' or '-'. */
static inline int ustatsd__emit_double(struct ustatsd *c, const char *name, double v, int sign,
                                       const char *type, double rate,
                                       const struct ustatsd_label *labels, size_t n)
{
    char vbuf[48];
    size_t vlen;
    if (c->fd < 0)
        return USTATSD_ECLOSED;
    if (ustatsd_check_value(v) != 0) {
        c->lines_invalid++;
        return USTATSD_EBADVALUE;
    }
    vlen = ustatsd__fmt_double(vbuf + 1, v);
    if (sign && vbuf[1] != '-') {
        vbuf[0] = '+';
        return ustatsd__emit(c, name, vbuf, vlen + 1, type, rate, labels, n, 0);
    }
    return ustatsd__emit(c, name, vbuf + 1, vlen, type, rate, labels, n,
                         !sign && type[0] == 'g' && vbuf[1] == '-');
}

/* ---------------------------------------------------------------- metrics */

/*
 * Every metric call below: name is a NUL-terminated metric name, labels an array of n
 * labels (NULL when n is 0); all are only read during the call. Returns 0, a USTATSD_E*
 * code (invalid call: nothing written, lines_invalid + 1, USTATSD_ECLOSED when not
 * open), or -errno when a datagram was dropped during the call (see the top).
 */

/* Add n (>= 0) to a counter: "name:n|c". A negative n is USTATSD_EBADVALUE. */
static inline int ustatsd_count(struct ustatsd *c, const char *name, long long n,
                                const struct ustatsd_label *labels, size_t nlabels)
{
    char vbuf[24];
    int len;
    if (c->fd < 0)
        return USTATSD_ECLOSED;
    if (n < 0) {
        c->lines_invalid++;
        return USTATSD_EBADVALUE;
    }
    len = snprintf(vbuf, sizeof(vbuf), "%lld", n);
    return ustatsd__emit(c, name, vbuf, (size_t)len, "c", 1.0, labels, nlabels, 0);
}

/* ustatsd_count() for a sampled event: "name:n|c|@rate"; the caller sampled (see top). */
static inline int ustatsd_count_sampled(struct ustatsd *c, const char *name, long long n,
                                        double rate, const struct ustatsd_label *labels,
                                        size_t nlabels)
{
    char vbuf[24];
    int len;
    if (c->fd < 0)
        return USTATSD_ECLOSED;
    if (n < 0) {
        c->lines_invalid++;
        return USTATSD_EBADVALUE;
    }
    len = snprintf(vbuf, sizeof(vbuf), "%lld", n);
    return ustatsd__emit(c, name, vbuf, (size_t)len, "c", rate, labels, nlabels, 0);
}

/*
 * Set a gauge to v: "name:v|g". A negative v is sent as "name:0|g" then "name:-v|g" in
 * one datagram, which the daemon applies in order: that sets v whether the family is an
 * absolute gauge (a signed value sets it, as in DogStatsD) or an up-down one (a signed
 * value moves it; PROTOCOL.md, "Types").
 */
static inline int ustatsd_gauge_set(struct ustatsd *c, const char *name, double v,
                                    const struct ustatsd_label *labels, size_t nlabels)
{
    return ustatsd__emit_double(c, name, v, 0, "g", 1.0, labels, nlabels);
}

/*
 * Add delta (may be negative) to an up-down gauge: "name:+delta|g" or "name:-delta|g".
 * Only a family the daemon's config declares up-down ("updown": true) adds it; any other
 * gauge takes the signed value as its new value, as DogStatsD does.
 */
static inline int ustatsd_gauge_add(struct ustatsd *c, const char *name, double delta,
                                    const struct ustatsd_label *labels, size_t nlabels)
{
    return ustatsd__emit_double(c, name, delta, 1, "g", 1.0, labels, nlabels);
}

/* Observe v in a histogram: "name:v|h". */
static inline int ustatsd_observe(struct ustatsd *c, const char *name, double v,
                                  const struct ustatsd_label *labels, size_t nlabels)
{
    return ustatsd__emit_double(c, name, v, 0, "h", 1.0, labels, nlabels);
}

/* ustatsd_observe() for a sampled event: "name:v|h|@rate". */
static inline int ustatsd_observe_sampled(struct ustatsd *c, const char *name, double v,
                                          double rate, const struct ustatsd_label *labels,
                                          size_t nlabels)
{
    return ustatsd__emit_double(c, name, v, 0, "h", rate, labels, nlabels);
}

/* Record a duration in milliseconds: "name:ms|ms". */
static inline int ustatsd_timing_ms(struct ustatsd *c, const char *name, double ms,
                                    const struct ustatsd_label *labels, size_t nlabels)
{
    return ustatsd__emit_double(c, name, ms, 0, "ms", 1.0, labels, nlabels);
}

/* ustatsd_timing_ms() for a sampled event: "name:ms|ms|@rate". */
static inline int ustatsd_timing_ms_sampled(struct ustatsd *c, const char *name, double ms,
                                            double rate, const struct ustatsd_label *labels,
                                            size_t nlabels)
{
    return ustatsd__emit_double(c, name, ms, 0, "ms", rate, labels, nlabels);
}

/*
 * Report one run of a background job: "job:worked|j", "job:idle|j" or "job:error|j".
 * job follows the metric name rules. An outcome outside the enum is USTATSD_EBADOUTCOME.
 */
static inline int ustatsd_job(struct ustatsd *c, const char *job, enum ustatsd_outcome outcome,
                              const struct ustatsd_label *labels, size_t nlabels)
{
    const char *word;
    if (c->fd < 0)
        return USTATSD_ECLOSED;
    switch ((int)outcome) {
    case USTATSD_OUTCOME_WORKED:
        word = "worked";
        break;
    case USTATSD_OUTCOME_IDLE:
        word = "idle";
        break;
    case USTATSD_OUTCOME_ERROR:
        word = "error";
        break;
    default:
        c->lines_invalid++;
        return USTATSD_EBADOUTCOME;
    }
    return ustatsd__emit(c, job, word, strlen(word), "j", 1.0, labels, nlabels, 0);
}

/*
 * Append line[0..len) as it is, unchecked, plus '\n' (for tools and tests, which send
 * invalid lines on purpose). The line may hold any byte but '\n' and at most
 * USTATSD_DGRAM_MAX - 1 of them. Returns 0, USTATSD_EBADLINE, USTATSD_ETOOLONG,
 * USTATSD_ECLOSED, or -errno of a dropped datagram.
 */
static inline int ustatsd_raw(struct ustatsd *c, const char *line, size_t len)
{
    int rc;
    if (c->fd < 0)
        return USTATSD_ECLOSED;
    if (len >= USTATSD_DGRAM_MAX) {
        c->lines_invalid++;
        return USTATSD_ETOOLONG;
    }
    if (len > 0 && memchr(line, '\n', len) != NULL) {
        c->lines_invalid++;
        return USTATSD_EBADLINE;
    }
    rc = ustatsd__reserve(c, len + 1);
    if (len > 0)
        memcpy(c->buf + c->len, line, len);
    c->buf[c->len + len] = '\n';
    c->len += len + 1;
    c->nlines++;
    return ustatsd__commit(c, rc);
}

#endif

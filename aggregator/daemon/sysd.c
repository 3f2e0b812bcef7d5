#include "daemon/sysd.h"
#include "base/common.h"
#include "base/errcode.h"

#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

void sysd_init(struct sysd *s, uv_loop_t *loop)
{
    char **names = NULL;
    int n, i;

    memset(s, 0, sizeof(*s));
    s->loop = loop;
    s->notify = getenv("NOTIFY_SOCKET") != NULL;
    /*
     * unset_environment: whatever the daemon ever starts must not take the descriptors
     * (or the watchdog) for its own. LISTEN_PID is checked by libsystemd: descriptors
     * meant for a parent that exec'd us without clearing them are ignored.
     */
    n = sd_listen_fds_with_names(1, &names);
    s->listen_rc = n;
    for (i = 0; i < n; i++) {
        int fd = SD_LISTEN_FDS_START + i;

        if (s->nfds == SYSD_MAX_FDS) {
            close(fd);
            s->dropped++;
            continue;
        }
        s->fds[s->nfds] = (struct sysd_fd){ .fd = fd, .want = -1 };
        if (names != NULL && names[i] != NULL)
            snprintf(s->fds[s->nfds].name, sizeof(s->fds[0].name), "%s", names[i]);
        s->nfds++;
    }
    for (i = 0; names != NULL && names[i] != NULL; i++)
        free(names[i]);
    free(names);

    if (sd_watchdog_enabled(1, &s->watchdog_usec) <= 0)
        s->watchdog_usec = 0;
}

static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    sd_notify(0, "WATCHDOG=1");
}

/*
 * Half the interval, as sd_watchdog_enabled(3) advises: one late ping still lands in
 * time. The timer runs on the loop, so a loop stuck in a callback stops the pings.
 */
static void start_watchdog(struct sysd *s)
{
    uint64_t ms = s->watchdog_usec / 2000;
    int rc;

    if (!s->notify || s->watchdog_usec == 0 || s->watchdog_open)
        return;
    /* libuv's timer calls fail only for a handle that is closing or a NULL callback. */
    rc = uv_timer_init(s->loop, &s->watchdog);
    assert(rc == 0);
    s->watchdog_open = 1;
    sd_notify(0, "WATCHDOG=1");
    rc = uv_timer_start(&s->watchdog, on_watchdog, ms > 0 ? ms : 1, ms > 0 ? ms : 1);
    assert(rc == 0);
    (void)rc;
}

static void add_want(struct sysd *s, enum sockmatch_kind kind, const char *key, const char *addr)
{
    struct sockmatch_want *w;

    if (addr == NULL || addr[0] == '\0' || s->nwants == SYSD_MAX_WANTS)
        return;
    w = &s->wants[s->nwants];
    snprintf(s->keys[s->nwants], sizeof(s->keys[0]), "%s", key);
    *w = (struct sockmatch_want){ .kind = kind, .key = s->keys[s->nwants], .addr = addr };
    s->nwants++;
}

/* /var/run/x.sock and /run/x.sock are one file when /var/run links to /run. */
static int same_file(const char *a, const char *b, void *arg)
{
    struct stat sa, sb;

    (void)arg;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static int describe(struct sysd_fd *f, struct sockmatch_have *h, char *err, size_t errlen)
{
    socklen_t len = sizeof(h->addr);
    int v;
    socklen_t vlen = sizeof(v);

    memset(h, 0, sizeof(*h));
    h->fd = f->fd;
    h->name = f->name;
    if (sd_is_socket(f->fd, AF_UNSPEC, 0, -1) <= 0) {
        snprintf(err, errlen, "socket activation: fd %d%s%s%s is not a socket", f->fd,
                 f->name[0] ? " (name \"" : "", f->name, f->name[0] ? "\")" : "");
        return -ENOTSOCK;
    }
    if (getsockname(f->fd, (struct sockaddr *)&h->addr, &len) != 0 ||
        getsockopt(f->fd, SOL_SOCKET, SO_TYPE, &h->type, &vlen) != 0) {
        int e = errno;

        snprintf(err, errlen, "socket activation: fd %d: getsockname/getsockopt failed: %s", f->fd,
                 strerror(e));
        return -e;
    }
    h->family = h->addr.un.sun_family;
    vlen = sizeof(v);
    h->listening = getsockopt(f->fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vlen) == 0 && v != 0;
    vlen = sizeof(v);
    h->v6only = h->family == AF_INET6 &&
                getsockopt(f->fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &vlen) == 0 && v != 0;
    return 0;
}

int sysd_activate(struct sysd *s, const struct config *cfg, char *err, size_t errlen)
{
    char key[48];
    size_t i, j;

    if (errlen > 0)
        err[0] = '\0';
    if (s->listen_rc < 0) {
        snprintf(err, errlen, "socket activation: LISTEN_FDS is not usable: %s",
                 strerror(-s->listen_rc));
        return s->listen_rc;
    }
    if (s->dropped > 0) {
        snprintf(err, errlen, "socket activation: %zu descriptors passed, at most %d are taken",
                 s->nfds + s->dropped, SYSD_MAX_FDS);
        return ERRCODE_LIMIT;
    }
    s->nwants = 0;
    add_want(s, SOCKMATCH_UNIX_DGRAM, "daemon.socket", cfg->socket_path);
    add_want(s, SOCKMATCH_UDP, "daemon.udp_listen", cfg->udp_listen);
    add_want(s, SOCKMATCH_STREAM, "daemon.metrics_listen", cfg->metrics_listen);
    add_want(s, SOCKMATCH_STREAM, "daemon.debug_listen", cfg->debug_listen);
    for (i = 0; i < cfg->nendpoints; i++) {
        snprintf(key, sizeof(key), "endpoints[%zu].listen", i);
        add_want(s, SOCKMATCH_STREAM, key, cfg->endpoints[i].listen);
    }
    for (i = 0; i < s->nfds; i++) {
        struct sockmatch_have h;
        long w;
        int rc = describe(&s->fds[i], &h, err, errlen);

        if (rc != 0)
            return rc;
        w = sockmatch_find(&h, s->wants, s->nwants, same_file, NULL, err, errlen);
        if (w < 0)
            return (int)w;
        for (j = 0; j < i; j++) {
            /* Two listeners configured at one address share one socket: equal text. */
            if (s->wants[s->fds[j].want].kind == s->wants[w].kind &&
                strcmp(s->wants[s->fds[j].want].addr, s->wants[w].addr) == 0) {
                char desc[SOCKMATCH_DESC_MAX];

                snprintf(err, errlen,
                         "socket activation: %s is a second socket for %s (%s), which fd %d "
                         "already provides",
                         sockmatch_describe(&h, desc, sizeof(desc)), s->wants[w].key,
                         s->wants[w].addr, s->fds[j].fd);
                return ERRCODE_CONFIG;
            }
        }
        s->fds[i].want = w;
    }
    return 0;
}

static struct sysd_fd *find(const struct sysd *s, enum sockmatch_kind kind, const char *addr)
{
    for (size_t i = 0; i < s->nfds; i++) {
        const struct sysd_fd *f = &s->fds[i];

        if (f->want >= 0 && s->wants[f->want].kind == kind &&
            strcmp(s->wants[f->want].addr, addr) == 0)
            return (struct sysd_fd *)f;
    }
    return NULL;
}

int sysd_take(struct sysd *s, enum sockmatch_kind kind, const char *addr)
{
    struct sysd_fd *f = find(s, kind, addr);

    if (f == NULL || f->taken)
        return ERRCODE_UNKNOWN;
    f->taken = 1;
    return f->fd;
}

int sysd_passed(const struct sysd *s, enum sockmatch_kind kind, const char *addr)
{
    return find(s, kind, addr) != NULL;
}

/* STATUS= is one line: a message with a newline would end the field early. */
static void one_line(char *text)
{
    for (; *text; text++)
        if (*text == '\n' || *text == '\r')
            *text = ' ';
}

static void status(const struct sysd *s, const struct config *cfg, char *out, size_t cap)
{
    size_t passed = 0;

    for (size_t i = 0; i < s->nfds; i++)
        passed += s->fds[i].taken != 0;
    snprintf(out, cap,
             "serving: %zu families, %zu jobs, %zu endpoints; unix socket %s%s; metrics %s; "
             "%zu sockets from systemd",
             config_file_families(cfg), cfg->njobs, cfg->nendpoints, cfg->socket_path,
             cfg->udp_listen[0] ? ", udp too" : "",
             cfg->metrics_listen[0] ? cfg->metrics_listen : "off", passed);
    one_line(out);
}

void sysd_ready(struct sysd *s, const struct config *cfg)
{
    char st[SYSD_STATUS_MAX];

    if (!s->notify)
        return;
    status(s, cfg, st, sizeof(st));
    sd_notifyf(0, "READY=1\nSTATUS=%s", st);
    start_watchdog(s);
}

void sysd_reloading(struct sysd *s)
{
    struct timespec ts;

    if (!s->notify)
        return;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    sd_notifyf(0, "RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC=%llu",
               (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
}

void sysd_reloaded(struct sysd *s, const struct config *cfg, const char *error)
{
    char st[SYSD_STATUS_MAX], why[SYSD_STATUS_MAX];

    if (!s->notify)
        return;
    if (error != NULL) {
        snprintf(why, sizeof(why), "%s", error);
        one_line(why);
        sd_notifyf(0, "READY=1\nSTATUS=reload refused, the running configuration stays: %s", why);
        return;
    }
    status(s, cfg, st, sizeof(st));
    sd_notifyf(0, "READY=1\nSTATUS=reloaded; %s", st);
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

void sysd_stop(struct sysd *s)
{
    if (s->notify)
        sd_notify(0, "STOPPING=1\nSTATUS=stopping");
    if (s->watchdog_open)
        uv_close((uv_handle_t *)&s->watchdog, on_closed);
    s->watchdog_open = 0;
}

void sysd_release(struct sysd *s)
{
    for (size_t i = 0; i < s->nfds; i++)
        if (!s->fds[i].taken)
            close(s->fds[i].fd);
    s->nfds = 0;
}

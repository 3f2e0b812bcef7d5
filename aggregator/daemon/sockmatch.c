#include "base/errcode.h"
#include "daemon/sockmatch.h"

#include <stdio.h>
#include <string.h>

const char *sockmatch_kind_name(enum sockmatch_kind kind)
{
    switch (kind) {
    case SOCKMATCH_UNIX_DGRAM:
        return "unix datagram socket";
    case SOCKMATCH_UDP:
        return "UDP socket";
    case SOCKMATCH_STREAM:
        break;
    }
    return "listening stream socket";
}

/*
 * sun_path need not be NUL-terminated when the path fills it, and an abstract address
 * starts with a NUL: copy it out as text, abstract ones as "@name".
 */
static void unix_path(const struct sockmatch_have *h, char *out, size_t cap)
{
    const char *p = h->addr.un.sun_path;
    size_t max = sizeof(h->addr.un.sun_path);

    if (p[0] == '\0' && max > 1 && p[1] != '\0')
        snprintf(out, cap, "@%.*s", (int)strnlen(p + 1, max - 1), p + 1);
    else
        snprintf(out, cap, "%.*s", (int)strnlen(p, max), p);
}

char *sockmatch_describe(const struct sockmatch_have *h, char *out, size_t cap)
{
    char addr[sizeof(h->addr.un.sun_path) + 8], type[32], name[80] = "";

    if (h->family == AF_UNIX) {
        char path[sizeof(h->addr.un.sun_path) + 2];

        unix_path(h, path, sizeof(path));
        snprintf(addr, sizeof(addr), "unix:%s", path[0] != '\0' ? path : "(unbound)");
    } else if (h->family == AF_INET || h->family == AF_INET6) {
        netaddr_format(&h->addr.in.sa, addr, sizeof(addr));
    } else {
        snprintf(addr, sizeof(addr), "address family %d", h->family);
    }
    if (h->type == SOCK_DGRAM)
        snprintf(type, sizeof(type), "datagram");
    else if (h->type == SOCK_STREAM)
        snprintf(type, sizeof(type), "stream%s", h->listening ? "" : ", not listening");
    else if (h->type == SOCK_SEQPACKET)
        snprintf(type, sizeof(type), "seqpacket");
    else
        snprintf(type, sizeof(type), "socket type %d", h->type);
    if (h->name != NULL && h->name[0] != '\0')
        snprintf(name, sizeof(name), ", name \"%.64s\"", h->name);
    snprintf(out, cap, "fd %d (%s, %s%s)", h->fd, addr, type, name);
    return out;
}

static int same_path(const struct sockmatch_have *h, const char *want, sockmatch_same_file_cb cb,
                     void *arg)
{
    char path[sizeof(h->addr.un.sun_path) + 2];

    if (h->family != AF_UNIX || want[0] == '\0')
        return 0;
    unix_path(h, path, sizeof(path));
    if (strcmp(path, want) == 0)
        return 1;
    return path[0] == '/' && cb != NULL && cb(path, want, arg);
}

static int is_any4(const struct sockaddr_in *a)
{
    return a->sin_addr.s_addr == htonl(INADDR_ANY);
}

static int same_inet(const struct sockmatch_have *h, const char *want)
{
    union netaddr w;
    const union netaddr *a = &h->addr.in;

    if ((h->family != AF_INET && h->family != AF_INET6) || netaddr_parse(want, &w) != 0)
        return 0;
    if (w.sa.sa_family == AF_INET) {
        if (w.in4.sin_port == 0)
            return 0;
        if (h->family == AF_INET)
            return a->in4.sin_port == w.in4.sin_port &&
                   a->in4.sin_addr.s_addr == w.in4.sin_addr.s_addr;
        /* ListenStream=9464 binds [::]:9464 for IPv4 too; "*:9464" asks for just that. */
        return is_any4(&w.in4) && !h->v6only && a->in6.sin6_port == w.in4.sin_port &&
               IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr);
    }
    return h->family == AF_INET6 && w.in6.sin6_port != 0 && a->in6.sin6_port == w.in6.sin6_port &&
           memcmp(&a->in6.sin6_addr, &w.in6.sin6_addr, sizeof(w.in6.sin6_addr)) == 0 &&
           (w.in6.sin6_scope_id == 0 || a->in6.sin6_scope_id == w.in6.sin6_scope_id);
}

static int same_addr(const struct sockmatch_have *h, const struct sockmatch_want *w,
                     sockmatch_same_file_cb cb, void *arg)
{
    switch (w->kind) {
    case SOCKMATCH_UNIX_DGRAM:
        return same_path(h, w->addr, cb, arg);
    case SOCKMATCH_UDP:
        return same_inet(h, w->addr);
    case SOCKMATCH_STREAM:
        break;
    }
    if (strncmp(w->addr, "unix:", 5) == 0)
        return same_path(h, w->addr + 5, cb, arg);
    return same_inet(h, w->addr);
}

static int right_kind(const struct sockmatch_have *h, enum sockmatch_kind kind)
{
    if (kind == SOCKMATCH_STREAM)
        return h->type == SOCK_STREAM && h->listening;
    return h->type == SOCK_DGRAM;
}

/* What each ListenX= line of the .socket unit gives, for the messages. */
static const char *directive(enum sockmatch_kind kind)
{
    return kind == SOCKMATCH_STREAM ? "ListenStream=" : "ListenDatagram=";
}

long sockmatch_find(const struct sockmatch_have *h, const struct sockmatch_want *wants, size_t n,
                    sockmatch_same_file_cb same_file, void *arg, char *err, size_t errlen)
{
    char desc[SOCKMATCH_DESC_MAX];
    long wrong = -1;
    size_t i, used;

    for (i = 0; i < n; i++) {
        if (!same_addr(h, &wants[i], same_file, arg))
            continue;
        if (right_kind(h, wants[i].kind))
            return (long)i;
        if (wrong < 0)
            wrong = (long)i;
    }
    sockmatch_describe(h, desc, sizeof(desc));
    if (wrong >= 0) {
        const struct sockmatch_want *w = &wants[wrong];

        snprintf(err, errlen,
                 "socket activation: %s is at the address of %s (%s) but %s expects a %s (%s)%s",
                 desc, w->key, w->addr, w->key, sockmatch_kind_name(w->kind), directive(w->kind),
                 w->kind == SOCKMATCH_STREAM && h->type == SOCK_STREAM && !h->listening
                     ? "; Accept=yes is not supported"
                     : "");
        return ERRCODE_CONFIG;
    }
    snprintf(err, errlen,
             "socket activation: %s matches no configured socket; expected one of:", desc);
    used = errlen > 0 ? strlen(err) : 0;
    for (i = 0; i < n && used + 1 < errlen; i++) {
        int w = snprintf(err + used, errlen - used, "%s %s %s (%s)", i > 0 ? "," : "", wants[i].key,
                         wants[i].addr, sockmatch_kind_name(wants[i].kind));
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (n == 0 && used + 1 < errlen)
        snprintf(err + used, errlen - used, " none (no socket is configured)");
    return ERRCODE_CONFIG;
}

#include "base/netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The decimal port after the colon: 0 to 65535, nothing else. */
static int parse_port(const char *s, in_port_t *port)
{
    char *end;
    unsigned long v;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > 65535)
        return -EINVAL;
    *port = htons((uint16_t)v);
    return 0;
}

/* "addr" or "addr%scope" between the brackets, len bytes. */
static int parse_v6(const char *s, size_t len, struct sockaddr_in6 *out)
{
    char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
    char *pct;

    if (len == 0 || len >= sizeof(host))
        return -EINVAL;
    memcpy(host, s, len);
    host[len] = '\0';
    pct = strchr(host, '%');
    if (pct != NULL) {
        *pct++ = '\0';
        out->sin6_scope_id = if_nametoindex(pct);
        if (out->sin6_scope_id == 0) {
            char *end;
            unsigned long id = strtoul(pct, &end, 10);

            if (*pct == '\0' || *end != '\0' || id == 0 || id > UINT32_MAX)
                return -EINVAL;
            out->sin6_scope_id = (uint32_t)id;
        }
    }
    if (inet_pton(AF_INET6, host, &out->sin6_addr) != 1)
        return -EINVAL;
    out->sin6_family = AF_INET6;
    return 0;
}

int netaddr_parse(const char *s, union netaddr *out)
{
    char host[INET_ADDRSTRLEN];
    const char *colon;
    size_t hlen;

    memset(out, 0, sizeof(*out));
    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL || close[1] != ':' || parse_v6(s + 1, (size_t)(close - s - 1), &out->in6))
            return -EINVAL;
        return parse_port(close + 2, &out->in6.sin6_port);
    }
    colon = strrchr(s, ':');
    if (colon == NULL || parse_port(colon + 1, &out->in4.sin_port) != 0)
        return -EINVAL;
    hlen = (size_t)(colon - s);
    if (hlen >= sizeof(host))
        return -EINVAL;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    out->in4.sin_family = AF_INET;
    if (host[0] == '\0' || strcmp(host, "*") == 0)
        out->in4.sin_addr.s_addr = htonl(INADDR_ANY);
    else if (strcmp(host, "localhost") == 0)
        out->in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &out->in4.sin_addr) != 1)
        return -EINVAL;
    return 0;
}

socklen_t netaddr_len(const union netaddr *a)
{
    return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in4);
}

int netaddr_is_loopback(const struct sockaddr *a)
{
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)(const void *)a;

        return (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
    }
    if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)a;
        const uint8_t *b = in6->sin6_addr.s6_addr;

        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && b[12] == 127;
    }
    return 0;
}

char *netaddr_format(const struct sockaddr *a, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];

    if (cap == 0)
        return out;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)(const void *)a;

        inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof(ip));
        snprintf(out, cap, "%s:%u", ip, (unsigned)ntohs(in4->sin_port));
    } else if (a->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)a;

        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        snprintf(out, cap, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
    } else {
        snprintf(out, cap, "?");
    }
    return out;
}

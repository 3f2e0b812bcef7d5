#include "seedunit.h"

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "seedrun.h"

static void trim(char *t)
{
    size_t n = strlen(t);

    while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ' || t[n - 1] == '\t'))
        t[--n] = '\0';
}

void seedunit_read(const char *path, struct seedunit *u)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int in_socket = 0;

    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *eq, *key = line, *value;

        trim(line);
        if (line[0] == '[') {
            in_socket = strcmp(line, "[Socket]") == 0;
            continue;
        }
        if (!in_socket || line[0] == '#' || line[0] == ';' || (eq = strchr(line, '=')) == NULL)
            continue;
        *eq = '\0';
        value = eq + 1;
        if (strcmp(key, "ListenDatagram") == 0 || strcmp(key, "ListenStream") == 0) {
            int dgram = key[6] == 'D';
            char(*list)[128] = dgram ? u->dgram : u->stream;
            size_t *n = dgram ? &u->ndgram : &u->nstream;

            if (value[0] == '\0') {
                *n = 0;
                continue;
            }
            cr_assert_lt(*n, SEEDUNIT_MAX_SOCKETS, "%s: too many sockets", path);
            snprintf(list[(*n)++], sizeof(list[0]), "%s", value);
        } else if (strcmp(key, "SocketGroup") == 0) {
            snprintf(u->group, sizeof(u->group), "%s", value);
        } else if (strcmp(key, "SocketMode") == 0) {
            snprintf(u->mode, sizeof(u->mode), "%s", value);
        }
    }
    fclose(f);
}

static int listed(char (*list)[128], size_t n, const char *addr)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], addr) == 0)
            return 1;
    return 0;
}

void seedunit_check(const char *seed, json_t *root, const struct seedunit *u)
{
    json_t *daemon = json_object_get(root, "daemon"), *eps = json_object_get(root, "endpoints");
    json_t *ep, *v;
    char want[SEEDUNIT_MAX_SOCKETS][128];
    size_t nwant = 0, i;
    const char *sock = seed_str_or(json_string_value(json_object_get(daemon, "socket")),
                                   "/run/ustatsd/ustatsd.sock");
    const char *mode =
        seed_str_or(json_string_value(json_object_get(daemon, "socket_mode")), "0660");
    const char *group = json_string_value(json_object_get(daemon, "socket_group"));
    const char *fix = "its ustatsd.socket.d/override.conf";

    v = json_object_get(daemon, "metrics_listen");
    if (json_is_string(v) && json_string_length(v) > 0)
        snprintf(want[nwant++], sizeof(want[0]), "%s", json_string_value(v));
    else if (v == NULL && eps == NULL)
        snprintf(want[nwant++], sizeof(want[0]), "127.0.0.1:9464");
    v = json_object_get(daemon, "debug_listen");
    if (json_is_string(v) && json_string_length(v) > 0)
        snprintf(want[nwant++], sizeof(want[0]), "%s", json_string_value(v));
    json_array_foreach(eps, i, ep)
    {
        const char *l = json_string_value(json_object_get(ep, "listen"));

        if (l != NULL && l[0] != '\0' && !listed(want, nwant, l)) {
            cr_assert_lt(nwant, SEEDUNIT_MAX_SOCKETS);
            snprintf(want[nwant++], sizeof(want[0]), "%s", l);
        }
    }
    cr_assert(u->ndgram == 1 && strcmp(u->dgram[0], sock) == 0,
              "%s: the unit's ListenDatagram= (%zu, first %s) is not daemon.socket %s: fix %s",
              seed, u->ndgram, u->ndgram ? u->dgram[0] : "none", sock, fix);
    for (i = 0; i < nwant; i++)
        cr_assert(listed((char(*)[128])u->stream, u->nstream, want[i]),
                  "%s: the config listens on %s and the unit has no ListenStream=%s: fix %s", seed,
                  want[i], want[i], fix);
    for (i = 0; i < u->nstream; i++)
        cr_assert(listed(want, nwant, u->stream[i]),
                  "%s: the unit's ListenStream=%s is no listener of the config, which the "
                  "daemon refuses: fix %s",
                  seed, u->stream[i], fix);
    cr_assert_eq(strtol(u->mode, NULL, 8), strtol(mode, NULL, 8),
                 "%s: SocketMode=%s is not daemon.socket_mode %s: fix %s", seed, u->mode, mode,
                 fix);
    if (group != NULL)
        cr_assert_str_eq(u->group, group,
                         "%s: SocketGroup=%s is not daemon.socket_group %s: fix %s", seed, u->group,
                         group, fix);
}

int seedunit_bind_stream(const char *addr)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    char host[64];
    const char *colon = strrchr(addr, ':');
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    cr_assert_not_null(colon, "%s", addr);
    snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
    cr_assert_eq(inet_pton(AF_INET, host, &sa.sin_addr), 1, "%s", addr);
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    cr_assert_geq(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind %s: %s", addr,
                 strerror(errno));
    cr_assert_eq(listen(fd, 128), 0);
    return fd;
}

int seedunit_bind_dgram(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    cr_assert_geq(fd, 0);
    cr_assert_lt(strlen(path), sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind %s: %s", path,
                 strerror(errno));
    return fd;
}

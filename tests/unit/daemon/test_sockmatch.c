#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <string.h>

#include "base/errcode.h"
#include "daemon/sockmatch.h"

static const struct sockmatch_want wants[] = {
    { SOCKMATCH_UNIX_DGRAM, "daemon.socket", "/run/ustatsd/ustatsd.sock" },
    { SOCKMATCH_UDP, "daemon.udp_listen", "127.0.0.1:8125" },
    { SOCKMATCH_STREAM, "daemon.metrics_listen", "127.0.0.1:9464" },
    { SOCKMATCH_STREAM, "daemon.debug_listen", "unix:/run/ustatsd/debug.sock" },
    { SOCKMATCH_STREAM, "endpoints[0].listen", "[::1]:9465" },
    { SOCKMATCH_STREAM, "endpoints[1].listen", "*:9466" },
    { SOCKMATCH_STREAM, "endpoints[2].listen", "127.0.0.1:0" },
};
#define NWANTS (sizeof(wants) / sizeof(wants[0]))

static struct sockmatch_have unix_have(int type, int listening, const char *path)
{
    struct sockmatch_have h = { .fd = 3, .family = AF_UNIX, .type = type, .listening = listening };

    h.addr.un.sun_family = AF_UNIX;
    memcpy(h.addr.un.sun_path, path, strlen(path) + 1);
    return h;
}

static struct sockmatch_have inet_have(int type, int listening, const char *addr)
{
    struct sockmatch_have h = { .fd = 4, .type = type, .listening = listening };

    cr_assert_eq(netaddr_parse(addr, &h.addr.in), 0, "%s", addr);
    h.family = h.addr.in.sa.sa_family;
    return h;
}

static long find(const struct sockmatch_have *h, char *err, size_t cap)
{
    return sockmatch_find(h, wants, NWANTS, NULL, NULL, err, cap);
}

Test(sockmatch, matches_each_configured_socket_by_address_and_kind)
{
    char err[512];
    struct sockmatch_have h;

    h = unix_have(SOCK_DGRAM, 0, "/run/ustatsd/ustatsd.sock");
    cr_assert_eq(find(&h, err, sizeof(err)), 0);
    h = inet_have(SOCK_DGRAM, 0, "127.0.0.1:8125");
    cr_assert_eq(find(&h, err, sizeof(err)), 1);
    h = inet_have(SOCK_STREAM, 1, "127.0.0.1:9464");
    cr_assert_eq(find(&h, err, sizeof(err)), 2);
    h = unix_have(SOCK_STREAM, 1, "/run/ustatsd/debug.sock");
    cr_assert_eq(find(&h, err, sizeof(err)), 3);
    h = inet_have(SOCK_STREAM, 1, "[::1]:9465");
    cr_assert_eq(find(&h, err, sizeof(err)), 4);
    h = inet_have(SOCK_STREAM, 1, "0.0.0.0:9466");
    cr_assert_eq(find(&h, err, sizeof(err)), 5);
}

Test(sockmatch, an_ipv4_wildcard_takes_a_dual_stack_v6_wildcard_only)
{
    char err[512];
    struct sockmatch_have h = inet_have(SOCK_STREAM, 1, "[::]:9466");

    /* ListenStream=9466: [::]:9466 with IPV6_V6ONLY off serves IPv4 too. */
    cr_assert_eq(find(&h, err, sizeof(err)), 5);
    h.v6only = 1;
    cr_assert_eq(find(&h, err, sizeof(err)), ERRCODE_CONFIG);
    h = inet_have(SOCK_STREAM, 1, "[::]:9464");
    cr_assert_eq(find(&h, err, sizeof(err)), ERRCODE_CONFIG, "127.0.0.1 is not every address");
}

Test(sockmatch, refuses_what_matches_nothing_and_lists_what_was_expected)
{
    char err[1024];
    struct sockmatch_have h = inet_have(SOCK_DGRAM, 0, "127.0.0.1:8126");

    h.name = "ustatsd.socket";
    cr_assert_eq(find(&h, err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert_str_eq(err, "socket activation: fd 4 (127.0.0.1:8126, datagram, name "
                          "\"ustatsd.socket\") matches no configured socket; expected one of: "
                          "daemon.socket /run/ustatsd/ustatsd.sock (unix datagram socket), "
                          "daemon.udp_listen 127.0.0.1:8125 (UDP socket), daemon.metrics_listen "
                          "127.0.0.1:9464 (listening stream socket), daemon.debug_listen "
                          "unix:/run/ustatsd/debug.sock (listening stream socket), "
                          "endpoints[0].listen [::1]:9465 (listening stream socket), "
                          "endpoints[1].listen *:9466 (listening stream socket), "
                          "endpoints[2].listen 127.0.0.1:0 (listening stream socket)");
    /* Port 0 means "any free port": nothing passed can be that. */
    h = inet_have(SOCK_STREAM, 1, "127.0.0.1:0");
    cr_assert_eq(find(&h, err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert_eq(sockmatch_find(&h, wants, 0, NULL, NULL, err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert(strstr(err, "none (no socket is configured)") != NULL, "%s", err);
}

Test(sockmatch, refuses_the_right_address_with_the_wrong_kind)
{
    char err[512];
    struct sockmatch_have h = unix_have(SOCK_STREAM, 1, "/run/ustatsd/ustatsd.sock");

    cr_assert_eq(find(&h, err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert_str_eq(err, "socket activation: fd 3 (unix:/run/ustatsd/ustatsd.sock, stream) is at "
                          "the address of daemon.socket (/run/ustatsd/ustatsd.sock) but "
                          "daemon.socket expects a unix datagram socket (ListenDatagram=)");
    h = inet_have(SOCK_STREAM, 1, "127.0.0.1:8125");
    cr_assert_eq(find(&h, err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert(strstr(err, "expects a UDP socket (ListenDatagram=)") != NULL, "%s", err);
    h = inet_have(SOCK_DGRAM, 0, "127.0.0.1:9464");
    cr_assert_eq(find(&h, err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert(strstr(err, "expects a listening stream socket (ListenStream=)") != NULL, "%s", err);
    /* Accept=yes hands over a connection, not the listening socket. */
    h = inet_have(SOCK_STREAM, 0, "127.0.0.1:9464");
    cr_assert_eq(find(&h, err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert(strstr(err, "stream, not listening") != NULL, "%s", err);
    cr_assert(strstr(err, "Accept=yes is not supported") != NULL, "%s", err);
}

static int same_file(const char *a, const char *b, void *arg)
{
    (void)arg;
    return strcmp(a, "/var/run/ustatsd/ustatsd.sock") == 0 &&
           strcmp(b, "/run/ustatsd/ustatsd.sock") == 0;
}

Test(sockmatch, a_path_written_otherwise_matches_when_it_is_the_same_file)
{
    char err[512];
    struct sockmatch_have h = unix_have(SOCK_DGRAM, 0, "/var/run/ustatsd/ustatsd.sock");

    cr_assert_eq(find(&h, err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert_eq(sockmatch_find(&h, wants, NWANTS, same_file, NULL, err, sizeof(err)), 0);
}

Test(sockmatch, describes_abstract_unbound_and_foreign_sockets)
{
    char out[SOCKMATCH_DESC_MAX];
    struct sockmatch_have h = unix_have(SOCK_DGRAM, 0, "");

    cr_assert_str_eq(sockmatch_describe(&h, out, sizeof(out)), "fd 3 (unix:(unbound), datagram)");
    memcpy(h.addr.un.sun_path, "\0abstract", 10);
    cr_assert_str_eq(sockmatch_describe(&h, out, sizeof(out)), "fd 3 (unix:@abstract, datagram)");
    cr_assert_eq(sockmatch_find(&h, wants, NWANTS, NULL, NULL, out, sizeof(out)), ERRCODE_CONFIG);
    memset(h.addr.un.sun_path, 'a', sizeof(h.addr.un.sun_path));
    sockmatch_describe(&h, out, sizeof(out));
    cr_assert_eq(strlen(out), strlen("fd 3 (unix:, datagram)") + sizeof(h.addr.un.sun_path));
    h.family = AF_NETLINK;
    h.type = SOCK_RAW;
    cr_assert_str_eq(sockmatch_describe(&h, out, sizeof(out)),
                     "fd 3 (address family 16, socket type 3)");
}

#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "base/netaddr.h"

static void round_trip(const char *in, const char *out)
{
    union netaddr a;
    char text[NETADDR_TEXT_MAX];

    cr_assert_eq(netaddr_parse(in, &a), 0, "%s", in);
    cr_assert_str_eq(netaddr_format(&a.sa, text, sizeof(text)), out);
}

Test(netaddr, parses_and_formats_each_form)
{
    round_trip("127.0.0.1:8125", "127.0.0.1:8125");
    round_trip("localhost:1", "127.0.0.1:1");
    round_trip(":0", "0.0.0.0:0");
    round_trip("*:65535", "0.0.0.0:65535");
    round_trip("[::1]:8125", "[::1]:8125");
    round_trip("[::]:9", "[::]:9");
    round_trip("[fe80::1%1]:9", "[fe80::1]:9");
}

Test(netaddr, refuses_what_is_not_a_numeric_address)
{
    static const char *const bad[] = {
        "",       "8125",  "127.0.0.1", "127.0.0.1:", "1.2.3.4:x", "1.2.3.4:-1",  "1.2.3.4:65536",
        "host:1", "[::1]", "[::1]8125", "::1:8125",   "[zz]:1",    "1.2.3.4.5:1", "[::1%]:1"
    };
    union netaddr a;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(netaddr_parse(bad[i], &a), -EINVAL, "%s", bad[i]);
}

Test(netaddr, loopback_is_127_slash_8_and_the_v6_one)
{
    static const char *const yes[] = { "127.0.0.1:1", "127.255.0.9:1", "[::1]:1",
                                       "[::ffff:127.0.0.2]:1" };
    static const char *const no[] = { "0.0.0.0:1", "128.0.0.1:1", "10.0.0.1:1",
                                      "[::]:1",    "[::2]:1",     "[::ffff:10.0.0.1]:1" };
    union netaddr a;

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        cr_assert_eq(netaddr_parse(yes[i], &a), 0);
        cr_assert(netaddr_is_loopback(&a.sa), "%s", yes[i]);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        cr_assert_eq(netaddr_parse(no[i], &a), 0);
        cr_assert_not(netaddr_is_loopback(&a.sa), "%s", no[i]);
    }
}

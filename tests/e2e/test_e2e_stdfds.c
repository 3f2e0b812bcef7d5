/*
 * End to end through the real binary, started with standard descriptors closed, as a
 * supervisor, a test harness or a shell's `<&-` may start it. Before main() opened the
 * closed ones on /dev/null, the daemon's first socket took descriptor 0, and libuv,
 * which never closes a descriptor below 3, aborted the daemon at SIGTERM (exit status
 * 134 instead of 0).
 */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "daemon.h"

#define CONFIG "{\"families\": [{\"name\": \"stdfds\", \"type\": \"counter\"}]}"

/* Start with descriptors 0 .. nclosed-1 closed, serve a line, stop with status 0. */
static void serve_and_stop(int nclosed)
{
    struct daemon d;
    struct daemon_options o;

    memset(&o, 0, sizeof(o));
    o.closed_std_fds = nclosed;
    cr_assert_eq(daemon_start_with(&d, CONFIG, &o), 0);
    cr_assert_eq(daemon_sends(&d, "stdfds:3|c"), 0);
    cr_assert_eq(daemon_wait_value(&d, "stdfds_total", 3, 5000), 3);
    cr_assert_eq(daemon_stop(&d), 0, "the daemon did not exit 0 at SIGTERM");
}

Test(e2e_stdfds, stdin_closed_serves_and_stops_cleanly)
{
    serve_and_stop(1);
}

Test(e2e_stdfds, every_standard_descriptor_closed_serves_and_stops_cleanly)
{
    serve_and_stop(3);
}

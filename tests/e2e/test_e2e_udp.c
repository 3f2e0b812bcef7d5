/*
 * End to end through the real binary: the optional UDP listener. Lines over UDP and over
 * the Unix socket land in the same families, exactly; a rejected UDP line shows its
 * source address; UDP is off unless asked for; an address beyond loopback is refused at
 * start-up and on reload unless udp_allow_remote says otherwise.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "selfcheck.h"

static struct daemon d;

static void stop(void)
{
    cr_assert_eq(daemon_stop(&d), 0, "daemon did not stop cleanly");
}

static const char config[] =
    "{\"families\": [{\"name\": \"req\", \"type\": \"counter\", \"help\": \"Requests.\",\n"
    "  \"labels\": [{\"name\": \"via\", \"values\": [\"udp\", \"unix\"]}]}]}\n";

static const char *const udp_on[] = { "--udp-listen", "127.0.0.1:0", NULL };

static json_t *get_json(const char *path)
{
    char *body = NULL;
    json_t *j;

    cr_assert_eq(daemon_get(&d, path, NULL, &body), 200, "%s", path);
    j = json_loads(body, 0, NULL);
    cr_assert_not_null(j, "%s", body);
    free(body);
    return j;
}

static void write_config(const char *json)
{
    FILE *f = fopen(d.config, "w");

    cr_assert_not_null(f);
    cr_assert_geq(fputs(json, f), 0);
    cr_assert_eq(fclose(f), 0);
}

/* The metrics and the debug view agree, on UDP's values too (or leave them out when off). */
static void check_views(void)
{
    char *om = daemon_scrape(&d, NULL);
    json_t *j = get_json("/debug");

    selfcheck_agree(om, j, NULL);
    json_decref(j);
    free(om);
}

Test(e2e_udp, lines_over_udp_and_unix_are_aggregated_exactly, .fini = stop)
{
    int port, i;

    cr_assert_eq(daemon_start(&d, config, udp_on), 0);
    port = daemon_udp_port(&d);
    cr_assert_gt(port, 0, "the bound port is in /debug");
    for (i = 0; i < 300; i++)
        cr_assert_eq(daemon_udp_sends(port, "req:1|c|#via:udp\nreq:2|c|#via:udp"), 0);
    for (i = 0; i < 200; i++)
        cr_assert_eq(daemon_sends(&d, "req:3|c|#via:unix"), 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 800, 5000), 800);
    char *om = daemon_scrape(&d, NULL);
    cr_assert_eq(expo_value(om, "req_total{via=\"udp\"}"), 900);
    cr_assert_eq(expo_value(om, "req_total{via=\"unix\"}"), 600);
    cr_assert_eq(expo_value(om, "ustatsd_udp_datagrams_received_total"), 300);
    cr_assert_eq(expo_value(om, "ustatsd_datagrams_received_total"), 200);
    cr_assert_eq(expo_value(om, "ustatsd_udp_datagrams_dropped_total"), 0);
    cr_assert_gt(expo_value(om, "ustatsd_udp_receive_buffer_bytes"), 0);
    free(om);
    check_views();
}

Test(e2e_udp, a_rejected_udp_line_shows_its_source_address, .fini = stop)
{
    json_t *j, *rejects, *udp = NULL, *unix_one = NULL;
    char want[64];
    int port, from = 0;
    size_t i;

    cr_assert_eq(daemon_start(&d, config, udp_on), 0);
    port = daemon_udp_port(&d);
    cr_assert_eq(daemon_udp_send("127.0.0.1", port, "nope:1|c", 8, &from), 0);
    cr_assert_eq(daemon_sends(&d, "also.nope:1|c"), 0);
    cr_assert_eq(
        daemon_wait_value(&d, "ustatsd_lines_rejected_total{reason=\"unknown_family\"}", 2, 5000),
        2);
    j = get_json("/debug?section=rejects");
    rejects = json_object_get(j, "rejects");
    for (i = 0; i < json_array_size(rejects); i++) {
        json_t *e = json_array_get(rejects, i);
        const char *line = json_string_value(json_object_get(e, "line"));

        if (strcmp(line, "nope:1|c") == 0)
            udp = e;
        else if (strcmp(line, "also.nope:1|c") == 0)
            unix_one = e;
    }
    cr_assert_not_null(udp);
    cr_assert_not_null(unix_one);
    snprintf(want, sizeof(want), "127.0.0.1:%d", from);
    cr_assert_str_eq(json_string_value(json_object_get(udp, "source")), want);
    cr_assert(json_is_null(json_object_get(udp, "pid")), "UDP carries no credentials");
    cr_assert(json_is_null(json_object_get(udp, "uid")));
    cr_assert(json_is_null(json_object_get(unix_one, "source")));
    cr_assert_eq(json_integer_value(json_object_get(unix_one, "pid")), getpid());
    json_decref(j);
}

/* The inodes of the UDP sockets the daemon holds, read from /proc. */
static size_t udp_sockets_of(pid_t pid)
{
    char path[64], link[64], line[512];
    unsigned long inodes[256];
    size_t n = 0, found = 0;
    const char *tables[] = { "/proc/net/udp", "/proc/net/udp6" };
    DIR *dir;
    struct dirent *e;

    for (size_t t = 0; t < 2; t++) {
        FILE *f = fopen(tables[t], "r");

        if (f == NULL)
            continue;
        while (fgets(line, sizeof(line), f) != NULL && n < 256) {
            unsigned long inode;

            /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
            if (sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %lu", &inode) == 1)
                inodes[n++] = inode;
        }
        fclose(f);
    }
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    dir = opendir(path);
    cr_assert_not_null(dir);
    while ((e = readdir(dir)) != NULL) {
        char fd[320];
        ssize_t len;
        unsigned long inode;

        snprintf(fd, sizeof(fd), "%s/%s", path, e->d_name);
        len = readlink(fd, link, sizeof(link) - 1);
        if (len <= 0)
            continue;
        link[len] = '\0';
        if (sscanf(link, "socket:[%lu]", &inode) != 1)
            continue;
        for (size_t i = 0; i < n; i++)
            found += inodes[i] == inode;
    }
    closedir(dir);
    return found;
}

Test(e2e_udp, udp_is_off_by_default, .fini = stop)
{
    char *om;

    cr_assert_eq(daemon_start(&d, config, NULL), 0);
    cr_assert_eq(daemon_udp_port(&d), -1);
    cr_assert_eq(udp_sockets_of(d.pid), 0, "no UDP socket is bound");
    om = daemon_scrape(&d, NULL);
    cr_assert_null(strstr(om, "ustatsd_udp_"), "no UDP families while it is off");
    free(om);
    check_views();
}

Test(e2e_udp, the_bound_socket_is_found_in_proc, .fini = stop)
{
    cr_assert_eq(daemon_start(&d, config, udp_on), 0);
    cr_assert_eq(udp_sockets_of(d.pid), 1, "one UDP socket, the listener");
}

static char *run_with(const char *daemon_json, const char *const *more, int *status)
{
    char path[] = "/tmp/ustatsd-udpcfg-XXXXXX";
    const char *args[12] = { "--config",         path, "--socket", "/tmp/ustatsd-never-udp.sock",
                             "--metrics-listen", "" };
    char *out = NULL;
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    size_t n = 6;

    fprintf(f, "{\"daemon\": %s}", daemon_json);
    fclose(f);
    for (; more != NULL && *more != NULL; more++)
        args[n++] = *more;
    args[n] = NULL;
    *status = daemon_run_once(args, &out);
    unlink(path);
    cr_assert_not_null(out);
    return out;
}

Test(e2e_udp, an_address_beyond_loopback_is_refused_at_start_up_naming_file_key_and_problem)
{
    static const char *const addrs[] = { "0.0.0.0:0", "[::]:0", "192.0.2.1:8125" };
    int status;

    for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
        char json[96];
        char *out;

        snprintf(json, sizeof(json), "{\"udp_listen\": \"%s\"}", addrs[i]);
        out = run_with(json, NULL, &status);
        cr_assert_eq(status, 2, "%s: %s", addrs[i], out);
        cr_assert_not_null(strstr(out, "/tmp/ustatsd-udpcfg-"), "names the file: %s", out);
        cr_assert_not_null(strstr(out, "$.daemon.udp_listen"), "names the key: %s", out);
        cr_assert_not_null(strstr(out, "not a loopback address"), "says why: %s", out);
        cr_assert_not_null(strstr(out, addrs[i]), "quotes the value: %s", out);
        free(out);
    }
    /* From the flag, the message names the flag. */
    {
        static const char *const flag[] = { "--udp-listen", "0.0.0.0:0", NULL };
        char *out = run_with("{}", flag, &status);

        cr_assert_eq(status, 2, "%s", out);
        cr_assert_not_null(strstr(out, "--udp-listen \"0.0.0.0:0\": not a loopback"), "%s", out);
        free(out);
    }
    /* A name is never resolved: it is refused, not looked up. */
    {
        char *out = run_with("{\"udp_listen\": \"example.com:8125\"}", NULL, &status);

        cr_assert_eq(status, 1, "%s", out);
        cr_assert_not_null(strstr(out, "$.daemon.udp_listen"), "%s", out);
        cr_assert_not_null(strstr(out, "names are not resolved"), "%s", out);
        free(out);
    }
}

Test(e2e_udp, an_address_beyond_loopback_is_accepted_with_allow_remote, .fini = stop)
{
    static const char *const flag[] = { "--udp-allow-remote", NULL };
    char *om;
    int port;

    cr_assert_eq(daemon_start(&d,
                              "{\"daemon\": {\"udp_listen\": \"0.0.0.0:0\"}, \"families\": "
                              "[{\"name\": \"req\", \"type\": \"counter\"}]}",
                              flag),
                 0);
    port = daemon_udp_port(&d);
    cr_assert_gt(port, 0);
    cr_assert_eq(daemon_udp_sends(port, "req:5|c"), 0);
    cr_assert_eq(daemon_wait_value(&d, "req_total", 5, 5000), 5);
    om = daemon_scrape(&d, NULL);
    free(om);
}

Test(e2e_udp, allow_remote_in_the_file_is_enough, .fini = stop)
{
    cr_assert_eq(daemon_start(&d,
                              "{\"daemon\": {\"udp_listen\": \"0.0.0.0:0\", \"udp_allow_remote\": "
                              "true}, \"families\": [{\"name\": \"req\", \"type\": \"counter\"}]}",
                              NULL),
                 0);
    cr_assert_gt(daemon_udp_port(&d), 0);
}

Test(e2e_udp, a_reload_beyond_loopback_is_refused_and_the_old_config_keeps_running, .fini = stop)
{
    static const char before[] = "{\"daemon\": {\"udp_listen\": \"127.0.0.1:0\"},\n"
                                 " \"families\": [{\"name\": \"req\", \"type\": \"counter\"}]}\n";
    static const char after[] = "{\"daemon\": {\"udp_listen\": \"0.0.0.0:0\"},\n"
                                " \"families\": [{\"name\": \"req\", \"type\": \"counter\"},\n"
                                "              {\"name\": \"other\", \"type\": \"counter\"}]}\n";
    json_t *j;
    const char *why;
    int port;

    cr_assert_eq(daemon_start(&d, before, NULL), 0);
    port = daemon_udp_port(&d);
    write_config(after);
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_config_reloads_total{result=\"failure\"}", 1, 5000),
                 1);
    j = get_json("/debug?section=daemon");
    why = json_string_value(
        json_object_get(json_object_get(json_object_get(j, "daemon"), "reloads"), "last_error"));
    cr_assert_not_null(why);
    cr_assert_not_null(strstr(why, d.config), "names the file: %s", why);
    cr_assert_not_null(strstr(why, "$.daemon.udp_listen"), "names the key: %s", why);
    cr_assert_not_null(strstr(why, "not a loopback address"), "says why: %s", why);
    json_decref(j);
    /* The old config runs on: the same port, and "other" is still unknown. */
    cr_assert_eq(daemon_udp_port(&d), port);
    cr_assert_eq(daemon_udp_sends(port, "req:1|c\nother:1|c"), 0);
    cr_assert_eq(daemon_wait_value(&d, "req_total", 1, 5000), 1);
    cr_assert_eq(
        daemon_wait_value(&d, "ustatsd_lines_rejected_total{reason=\"unknown_family\"}", 1, 5000),
        1);
}

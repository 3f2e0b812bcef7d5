/*
 * End to end with a real DogStatsD client library: hot-shots 17.1.1 for Node, pinned by
 * tests/e2e/node/package-lock.json and installed by the node_client fixture. The script
 * tests/e2e/node/hotshots.js plays a service (counters, absolute and up-down gauges,
 * histograms, timings, distributions, a set, an event, a service check (which reports a
 * job, and names none here), global tags,
 * sample rates, unified service tags, the client's own telemetry), over the Unix socket
 * and over UDP; these tests check every value the daemon exposes and every line it
 * refuses, by reason and in /debug, against what the script sent and what it reports
 * having put on the wire.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "waitfor.h"

#define FAMILIES                                                                                 \
    "  \"families\": [\n"                                                                        \
    "    {\"name\": \"http.server.requests\", \"type\": \"counter\", \"help\": \"Requests.\",\n" \
    "     \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\"]},\n"               \
    "                {\"name\": \"code\", \"max_values\": 10},\n"                                \
    "                {\"name\": \"region\", \"values\": [\"eu-1\"]}]},\n"                        \
    "    {\"name\": \"queue.depth\", \"type\": \"gauge\", \"help\": \"Queue depth.\",\n"         \
    "     \"labels\": [{\"name\": \"queue\", \"max_values\": 4},\n"                              \
    "                {\"name\": \"region\", \"values\": [\"eu-1\"]}]},\n"                        \
    "    {\"name\": \"inflight\", \"type\": \"gauge\", \"updown\": true, \"help\": \"In "        \
    "flight.\",\n"                                                                               \
    "     \"labels\": [{\"name\": \"region\", \"values\": [\"eu-1\"]}]},\n"                      \
    "    {\"name\": \"request.latency\", \"type\": \"histogram\", \"help\": \"Latency.\",\n"     \
    "     \"buckets\": [0.01, 0.1, 1],\n"                                                        \
    "     \"labels\": [{\"name\": \"region\", \"values\": [\"eu-1\"]}]},\n"                      \
    "    {\"name\": \"db.query.duration\", \"type\": \"histogram\", \"help\": \"Queries.\",\n"   \
    "     \"buckets\": [0.01, 0.1, 1],\n"                                                        \
    "     \"labels\": [{\"name\": \"region\", \"values\": [\"eu-1\"]}]},\n"                      \
    "    {\"name\": \"payload.size\", \"type\": \"histogram\", \"unit\": \"bytes\",\n"           \
    "     \"help\": \"Payloads.\", \"buckets\": [100, 1000, 10000],\n"                           \
    "     \"labels\": [{\"name\": \"format\", \"values\": [\"webp\", \"png\"]},\n"               \
    "                {\"name\": \"region\", \"values\": [\"eu-1\"]}]},\n"                        \
    "    {\"name\": \"users.unique\", \"type\": \"gauge\", \"help\": \"A set, refused.\"}\n"     \
    "  ]"

static const char config[] = "{\n" FAMILIES "\n}\n";

/* Datadog's unified service tags, stripped before the allowlist sees them. */
static const char config_unified[] =
    "{\n" FAMILIES ",\n"
    "  \"clients\": {\"strip_tags\": [\"env\", \"service\", \"version\"]}\n"
    "}\n";

static const char config_no_telemetry[] = "{\n" FAMILIES ",\n"
                                          "  \"clients\": {\"dogstatsd_telemetry\": false}\n"
                                          "}\n";

/* The scenario's lines (hotshots.js): 29 accepted, and one refused for each reason. */
#define SCENARIO_ACCEPTED 29

static const struct refused {
    char reason[32];
    char line[48]; /* how the line starts, up to its tags */
    char tag[16];  /* a tag it carries, to tell it from its neighbours */
} refused[] = {
    { "negative_counter", "http.server.requests:-1|c|#", "method:GET" },
    { "label_value_not_allowed", "http.server.requests:1|c|#", "method:DELETE" },
    { "label_not_allowed", "http.server.requests:1|c|#", "user:u1" },
    { "unknown_family", "checkout.started:1|c|#", "region:eu-1" },
    { "set_unsupported", "users.unique:alice|s|#", "region:eu-1" },
    { "event_unsupported", "_e{6,13}:deploy|v2 rolled out|#", "region:eu-1" },
    { "unknown_job", "_sc|db.reachable|0|#", "region:eu-1" }, /* a check names a job */
};

static struct daemon d;

/* Every daemon here listens on UDP too, on a port the kernel picks. */
static const char *const udp_on[] = { "--udp-listen", "127.0.0.1:0", NULL };

static void start_with(const char *json)
{
    cr_assert_eq(daemon_start(&d, json, udp_on), 0, "daemon did not start");
}

static void start(void)
{
    start_with(config);
}

static void start_unified(void)
{
    start_with(config_unified);
}

static void start_no_telemetry(void)
{
    start_with(config_no_telemetry);
}

static void stop(void)
{
    cr_assert_eq(daemon_stop(&d), 0, "daemon did not stop cleanly");
}

/* How hotshots.js reaches the daemon, and the daemon's counters of that socket. */
struct transport {
    const char *name;   /* hotshots.js's, and the telemetry's client_transport */
    const char *prefix; /* of the socket's own counters */
    const char *other;  /* the other socket's datagram counter, which must stay at 0 */
};

static const struct transport uds = { "uds", "ustatsd_", "ustatsd_udp_datagrams_received_total" };
static const struct transport udp = { "udp", "ustatsd_udp_", "ustatsd_datagrams_received_total" };

/* One run of hotshots.js: its pid, exit status and report. */
struct client_run {
    const struct transport *t;
    pid_t pid;
    int status;
    char *out; /* stdout: key=value lines */
};

/*
 * Run `node hotshots.js transport target telemetry_ms` against the daemon, with the
 * pinned modules ($USTATSD_NODE_MODULES, set by ctest) and env (NULL-terminated "K=V"
 * strings, or NULL) added to the environment. Its stderr goes to the test's stderr.
 */
static void run_client(const struct transport *t, int telemetry_ms, const char *const *env,
                       struct client_run *r)
{
    const char *modules = getenv("USTATSD_NODE_MODULES");
    const char *src = getenv("USTATSD_SOURCE_DIR");
    char script[1024], target[256], ms[16], out[256];

    cr_assert_not_null(modules, "USTATSD_NODE_MODULES is not set: run the test through ctest");
    cr_assert_not_null(src);
    snprintf(script, sizeof(script), "%s/tests/e2e/node/hotshots.js", src);
    if (t == &uds) {
        snprintf(target, sizeof(target), "%.200s", d.sock);
    } else {
        int port = daemon_udp_port(&d);

        cr_assert_gt(port, 0, "the daemon has no UDP port");
        snprintf(target, sizeof(target), "127.0.0.1:%d", port);
    }
    snprintf(ms, sizeof(ms), "%d", telemetry_ms);
    snprintf(out, sizeof(out), "%.200s/client.out", d.dir);
    r->t = t;
    r->pid = fork();
    cr_assert_neq(r->pid, -1);
    if (r->pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        if (fd < 0 || dup2(fd, 1) < 0)
            _exit(126);
        close(fd);
        setenv("NODE_PATH", modules, 1);
        for (; env && *env; env++)
            putenv((char *)*env);
        execlp("node", "node", script, t->name, target, ms, (char *)NULL);
        _exit(127);
    }
    r->status = waitfor_exit(r->pid, 30000);
    if (r->status < 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
        cr_assert_fail("hotshots.js did not exit within 30 s");
    }
    r->out = daemon_read_file(out);
    cr_assert_not_null(r->out);
    cr_assert_eq(r->status, 0, "hotshots.js exited with %d; it printed:\n%s", r->status, r->out);
}

/* The number after "key=" on a line of the client's report; NAN when absent. */
static double reported(const struct client_run *r, const char *key)
{
    size_t n = strlen(key);
    const char *p;

    for (p = r->out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, key, n) == 0 && p[n] == '=')
            return strtod(p + n + 1, NULL);
    return NAN;
}

static void expect(const char *body, const char *series, double want)
{
    double got = expo_value(body, series);

    cr_expect(fabs(got - want) < 1e-9, "%s: got %.17g, want %.17g", series, got, want);
}

/* Every value of the scenario, as the daemon exposes it. */
static void check_values(const char *m)
{
    static const char *rq = "http_server_requests_total";
    char s[160];

    snprintf(s, sizeof(s), "%s{method=\"GET\",code=\"200\",region=\"eu-1\"}", rq);
    expect(m, s, 4);
    snprintf(s, sizeof(s), "%s{method=\"POST\",code=\"503\",region=\"eu-1\"}", rq);
    expect(m, s, 2);
    /* Ten calls at rate 0.5: five sent, each counted twice. */
    snprintf(s, sizeof(s), "%s{method=\"GET\",code=\"404\",region=\"eu-1\"}", rq);
    expect(m, s, 10);

    /* gauge(0), gauge(-4), gauge(-4) reads -4; the up-down gauge: 5 +3 -2 -10. */
    expect(m, "queue_depth{queue=\"mail\",region=\"eu-1\"}", -4);
    expect(m, "queue_depth{queue=\"jobs\",region=\"eu-1\"}", 7.5);
    expect(m, "inflight{region=\"eu-1\"}", -4);

    expect(m, "request_latency_bucket{region=\"eu-1\",le=\"0.01\"}", 0);
    expect(m, "request_latency_bucket{region=\"eu-1\",le=\"0.1\"}", 1);
    expect(m, "request_latency_bucket{region=\"eu-1\",le=\"1\"}", 2);
    expect(m, "request_latency_bucket{region=\"eu-1\",le=\"+Inf\"}", 3);
    expect(m, "request_latency_count{region=\"eu-1\"}", 3);
    expect(m, "request_latency_sum{region=\"eu-1\"}", 0.05 + 0.5 + 2);

    /* Timings in ms, exposed in seconds: 12, 250, 5, and 40 four times at rate 0.5. */
    expect(m, "db_query_duration_bucket{region=\"eu-1\",le=\"0.01\"}", 1);
    expect(m, "db_query_duration_bucket{region=\"eu-1\",le=\"0.1\"}", 6);
    expect(m, "db_query_duration_bucket{region=\"eu-1\",le=\"1\"}", 7);
    expect(m, "db_query_duration_bucket{region=\"eu-1\",le=\"+Inf\"}", 7);
    expect(m, "db_query_duration_count{region=\"eu-1\"}", 7);
    expect(m, "db_query_duration_sum{region=\"eu-1\"}", 0.012 + 0.25 + 0.005 + 4 * 0.04);

    expect(m, "payload_size_bucket{format=\"webp\",region=\"eu-1\",le=\"1000\"}", 0);
    expect(m, "payload_size_bucket{format=\"webp\",region=\"eu-1\",le=\"10000\"}", 2);
    expect(m, "payload_size_sum{format=\"webp\",region=\"eu-1\"}", 1024 + 5000);
    expect(m, "payload_size_bucket{format=\"png\",region=\"eu-1\",le=\"100\"}", 1);
    expect(m, "payload_size_count{format=\"png\",region=\"eu-1\"}", 1);
    expect(m, "payload_size_sum{format=\"png\",region=\"eu-1\"}", 50);
}

/* Each refused line counted under its reason, and no other reason counted. */
static void check_reasons(const char *m, double other_rejects)
{
    char s[128];
    int found;
    size_t i;

    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        snprintf(s, sizeof(s), "ustatsd_lines_rejected_total{reason=\"%.31s\"}", refused[i].reason);
        expect(m, s, 1 + (strcmp(refused[i].reason, "unknown_family") == 0 ? other_rejects : 0));
    }
    cr_expect_eq(expo_sum(m, "ustatsd_lines_rejected_total", &found),
                 (double)(sizeof(refused) / sizeof(refused[0])) + other_rejects);
    cr_expect_gt(found, 20, "every reason is exposed from start-up");
}

/*
 * The /debug rejects: each refused line once, with its reason and its sender (over the
 * Unix socket the client's pid; over UDP its address, the same for every line), and
 * carrying the tag every line of the run carries (all).
 */
static void check_debug_rejects(const struct client_run *r, const char *all)
{
    char *body = NULL, source[64] = "";
    json_error_t err;
    json_t *j, *list, *rj;
    size_t i, k, seen;

    cr_assert_eq(daemon_get(&d, "/debug?section=rejects", NULL, &body), 200);
    j = json_loads(body, 0, &err);
    cr_assert_not_null(j, "invalid JSON: %s", err.text);
    free(body);
    list = json_object_get(j, "rejects");
    cr_expect_eq(json_array_size(list), sizeof(refused) / sizeof(refused[0]));
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        seen = 0;
        json_array_foreach(list, k, rj)
        {
            const char *line = json_string_value(json_object_get(rj, "line"));
            const char *src = json_string_value(json_object_get(rj, "source"));

            if (strncmp(line, refused[i].line, strlen(refused[i].line)) != 0 ||
                strstr(line, refused[i].tag) == NULL)
                continue;
            seen++;
            cr_expect_str_eq(json_string_value(json_object_get(rj, "reason")), refused[i].reason,
                             "%s", line);
            cr_expect_not_null(strstr(line, all), "%s: no %s", line, all);
            if (r->t == &uds) {
                cr_expect_eq(json_integer_value(json_object_get(rj, "pid")), r->pid, "%s", line);
                cr_expect_null(src, "%s", line);
                continue;
            }
            cr_expect(json_is_null(json_object_get(rj, "pid")), "%s", line);
            cr_assert_not_null(src, "%s: no source", line);
            cr_expect_eq(strncmp(src, "127.0.0.1:", 10), 0, "%s: from %s", line, src);
            if (source[0] == '\0')
                snprintf(source, sizeof(source), "%s", src);
            cr_expect_str_eq(src, source, "one client socket sent every line");
        }
        cr_expect_eq(seen, 1, "%s: %zu rejects start with %s and carry %s", refused[i].reason, seen,
                     refused[i].line, refused[i].tag);
    }
    json_decref(j);
}

/* The name of the run's socket counter: prefix + what ("datagrams_received_total"). */
static const char *counter(const struct client_run *r, const char *what)
{
    static char name[96];

    snprintf(name, sizeof(name), "%s%s", r->t->prefix, what);
    return name;
}

/*
 * Wait until the daemon has read every datagram the client reports sending, then scrape.
 * The counts must then be exact: the client's datagrams and bytes are the daemon's, on
 * the socket it sent them to and on no other, and the kernel dropped none.
 */
static char *scrape_after(const struct client_run *r)
{
    double datagrams = reported(r, "wire.datagrams") + reported(r, "tele.datagrams");
    double bytes = reported(r, "wire.bytes") + reported(r, "tele.bytes");
    char *m;

    cr_assert_eq(daemon_wait_value(&d, counter(r, "datagrams_received_total"), datagrams, 5000),
                 datagrams);
    m = daemon_scrape(&d, NULL);
    expect(m, counter(r, "bytes_received_total"), bytes);
    expect(m, counter(r, "datagrams_truncated_total"), 0);
    expect(m, r->t->other, 0);
    if (r->t == &udp)
        expect(m, "ustatsd_udp_datagrams_dropped_total", 0);
    cr_expect_eq(expo_check(m, 0), 0, "promtool rejected the exposition");
    return m;
}

/* The scenario without the client's telemetry: every value, every reason. */
static void plain_run(const struct transport *t)
{
    struct client_run r;
    char *m;

    run_client(t, 0, NULL, &r);
    cr_expect_eq(reported(&r, "hot_shots"), 17.1, "not the pinned hot-shots:\n%s", r.out);
    cr_expect_eq(reported(&r, "wire.lines"), SCENARIO_ACCEPTED + 7);
    cr_expect_eq(reported(&r, "tele.datagrams"), 0);
    m = scrape_after(&r);
    check_values(m);
    expect(m, "ustatsd_lines_accepted_total", SCENARIO_ACCEPTED);
    check_reasons(m, 0);
    check_debug_rejects(&r, "region:eu-1");
    free(m);
    free(r.out);
}

Test(e2e_dogstatsd, hot_shots_over_the_unix_socket_every_value_and_reason, .init = start,
     .fini = stop)
{
    plain_run(&uds);
}

Test(e2e_dogstatsd, hot_shots_over_udp_every_value_and_reason, .init = start, .fini = stop)
{
    plain_run(&udp);
}

/*
 * hot-shots' own telemetry: what the application gave the client, and the datagrams and
 * bytes it sent, which must be the datagrams and bytes the daemon read, less the
 * telemetry's own (which the client does not count).
 */
static void check_telemetry(const char *m, const struct client_run *r)
{
    static const struct {
        char type[16];
        double calls;
    } by_type[] = { { "count", 19 },    { "gauge", 8 },        { "timing", 7 },
                    { "histogram", 3 }, { "distribution", 3 }, { "set", 1 } };
    double datagrams = expo_value(m, counter(r, "datagrams_received_total"));
    double bytes = expo_value(m, counter(r, "bytes_received_total"));
    char who[96], s[256];
    int found;

    snprintf(who, sizeof(who),
             "client=\"nodejs\",client_transport=\"%s\",client_version=\"17.1.1\"", r->t->name);
    snprintf(s, sizeof(s), "ustatsd_client_metrics_total{%s}", who);
    expect(m, s, 41);
    cr_expect_eq(reported(r, "tele.metrics"), 41);
    for (size_t i = 0; i < sizeof(by_type) / sizeof(by_type[0]); i++) {
        snprintf(s, sizeof(s), "ustatsd_client_metrics_by_type_total{%s,metrics_type=\"%.15s\"}",
                 who, by_type[i].type);
        expect(m, s, by_type[i].calls);
    }
    snprintf(s, sizeof(s), "ustatsd_client_events_total{%s}", who);
    expect(m, s, 1);
    snprintf(s, sizeof(s), "ustatsd_client_service_checks_total{%s}", who);
    expect(m, s, 1);
    snprintf(s, sizeof(s), "ustatsd_client_packets_sent_total{%s}", who);
    expect(m, s, reported(r, "wire.datagrams"));
    expect(m, s, datagrams - reported(r, "tele.datagrams"));
    snprintf(s, sizeof(s), "ustatsd_client_bytes_sent_total{%s}", who);
    expect(m, s, reported(r, "wire.bytes"));
    expect(m, s, bytes - reported(r, "tele.bytes"));
    /* Nothing was dropped, and hot-shots tags its telemetry with the three labels only. */
    expo_sum(m, "ustatsd_client_packets_dropped_total", &found);
    cr_expect_eq(found, 0, "the client dropped datagrams");
    expect(m, "ustatsd_labels_dropped_total{family=\"ustatsd_client_metrics\"}", 0);
    cr_expect_gt(reported(r, "tele.lines"), 10);
}

/*
 * A service deployed with Datadog's unified service tagging: DD_ENV, DD_SERVICE and
 * DD_VERSION put env, service and version on every line (and turn the client's telemetry
 * on by default). clients.strip_tags removes them, so every value is as without them; the
 * client's telemetry counts in its families.
 */
static void unified_run(const struct transport *t)
{
    static const char *const env[] = { "DD_ENV=prod", "DD_SERVICE=checkout", "DD_VERSION=1.2.3",
                                       NULL };
    static const char *const keys[] = { "env", "service", "version" };
    struct client_run r;
    char s[64];
    char *m;

    run_client(t, 50, env, &r);
    m = scrape_after(&r);
    check_values(m);
    expect(m, "ustatsd_lines_accepted_total", SCENARIO_ACCEPTED + reported(&r, "tele.lines"));
    check_reasons(m, 0);
    check_debug_rejects(&r, "service:checkout");
    for (size_t i = 0; i < 3; i++) {
        snprintf(s, sizeof(s), "ustatsd_tags_stripped_total{key=\"%s\"}", keys[i]);
        expect(m, s, SCENARIO_ACCEPTED);
    }
    check_telemetry(m, &r);
    free(m);
    free(r.out);
}

Test(e2e_dogstatsd, unified_service_tags_stripped_and_the_client_s_telemetry_counted,
     .init = start_unified, .fini = stop)
{
    unified_run(&uds);
}

Test(e2e_dogstatsd, the_same_over_udp, .init = start_unified, .fini = stop)
{
    unified_run(&udp);
}

/* With clients.dogstatsd_telemetry off, the telemetry is an unknown family like any other. */
Test(e2e_dogstatsd, the_switch_off_refuses_the_client_s_telemetry, .init = start_no_telemetry,
     .fini = stop)
{
    struct client_run r;
    int found;
    char *m;

    run_client(&uds, 50, NULL, &r);
    cr_expect_gt(reported(&r, "tele.lines"), 10);
    m = scrape_after(&r);
    check_values(m);
    expect(m, "ustatsd_lines_accepted_total", SCENARIO_ACCEPTED);
    check_reasons(m, reported(&r, "tele.lines"));
    expo_sum(m, "ustatsd_client_metrics_total", &found);
    cr_expect_eq(found, 0);
    free(m);
    free(r.out);
}

static void reload_to(const char *json, double reloads)
{
    FILE *f = fopen(d.config, "w");

    cr_assert_not_null(f);
    cr_assert_geq(fputs(json, f), 0);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert_eq(
        daemon_wait_value(&d, "ustatsd_config_reloads_total{result=\"success\"}", reloads, 5000),
        reloads);
}

/* clients.dogstatsd_telemetry is reloadable, both ways. */
Test(e2e_dogstatsd, a_reload_turns_the_client_s_telemetry_off_and_on, .init = start, .fini = stop)
{
    static const char line[] = "datadog.dogstatsd.client.packets_sent:3|c|#client:go,"
                               "client_version:5.3.0,client_transport:uds";
    static const char *series = "ustatsd_client_packets_sent_total{client=\"go\","
                                "client_transport=\"uds\",client_version=\"5.3.0\"}";
    char *m;
    int found;

    cr_assert_eq(daemon_sends(&d, line), 0);
    cr_assert_eq(daemon_wait_value(&d, series, 3, 5000), 3);
    reload_to(config_no_telemetry, 1);
    cr_assert_eq(daemon_sends(&d, line), 0);
    cr_assert_eq(
        daemon_wait_value(&d, "ustatsd_lines_rejected_total{reason=\"unknown_family\"}", 1, 5000),
        1);
    m = daemon_scrape(&d, NULL);
    expo_sum(m, "ustatsd_client_packets_sent_total", &found);
    cr_expect_eq(found, 0, "the family went with the reload");
    free(m);
    reload_to(config, 2);
    cr_assert_eq(daemon_sends(&d, line), 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 2, 5000), 2);
    m = daemon_scrape(&d, NULL);
    expect(m, series, 3); /* a new family: it starts again */
    free(m);
}

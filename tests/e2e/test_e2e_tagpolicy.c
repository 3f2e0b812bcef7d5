/*
 * End to end through the real binary: the tag and value policies. Datadog's unified
 * service tags are stripped, an undeclared attribute is dropped or rejected by the
 * family's policy, and a label's values are held to a pattern and folded into an
 * overflow value; the self-metrics and the debug view count each, on the cached path
 * too. A bad pattern or overflow value is refused at start-up and on reload, naming the
 * file, the key and the problem.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

static struct daemon d;

static void stop(void)
{
    cr_assert_eq(daemon_stop(&d), 0, "daemon did not stop cleanly");
}

static const char config[] =
    "{\"limits\": {\"max_label_value_length\": 32},\n"
    " \"clients\": {\"strip_tags\": [\"env\", \"service\", \"version\"]},\n"
    " \"families\": [\n"
    "  {\"name\": \"http.server.requests\", \"type\": \"counter\", \"help\": \"Requests.\",\n"
    "   \"undeclared_labels\": \"drop\",\n"
    "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\", \"_OTHER\"],\n"
    "                \"overflow\": \"_OTHER\"},\n"
    "               {\"name\": \"route\", \"max_values\": 2, \"pattern\": \"/[a-z]+\",\n"
    "                \"overflow\": \"__other__\"}]},\n"
    "  {\"name\": \"uploads\", \"type\": \"counter\", \"help\": \"Uploads.\",\n"
    "   \"labels\": [{\"name\": \"kind\", \"max_values\": 10, \"pattern\": \"[a-z]+\"}]}\n"
    " ]}\n";

static void write_config(const char *json)
{
    FILE *f = fopen(d.config, "w");

    cr_assert_not_null(f);
    cr_assert_eq(fputs(json, f) >= 0, 1);
    cr_assert_eq(fclose(f), 0);
}

static double value(const char *body, const char *series)
{
    double v = expo_value(body, series);

    cr_assert(v == v, "no sample %s in:\n%s", series, body);
    return v;
}

/* A service tagged for Datadog, sending what its instrumentation adds, 10 times over. */
static const char datagram[] =
    "http.server.requests:1|c|#env:prod,service:api,version:1.4.2,method:GET,route:/img\n"
    "http.server.requests:1|c|#method:GET,route:/img,error.type:timeout,env:prod\n"
    "http.server.requests:1|c|#method:BREW,route:/a/b/c,network.protocol.version:2\n"
    "http.server.requests:1|c|#method:POST,route:/upload\n"
    "http.server.requests:1|c|#method:POST,route:/other\n"
    "uploads:1|c|#kind:png,service:api\n"
    "uploads:1|c|#kind:PNG,env:prod\n"
    "uploads:1|c|#kind:png,error.type:x\n";

Test(e2e_tagpolicy, tags_are_stripped_dropped_and_folded_with_every_observation_counted,
     .fini = stop)
{
    char *text, *dbg;
    int i;

    cr_assert_eq(daemon_start(&d, config, NULL), 0);
    for (i = 0; i < 10; i++)
        cr_assert_eq(daemon_sends(&d, datagram), 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 60, 5000), 60);
    text = daemon_scrape(&d, NULL);
    cr_assert_eq(value(text, "http_server_requests_total{method=\"GET\",route=\"/img\"}"), 20,
                 "the stripped and dropped tags cost no observation");
    cr_assert_eq(value(text, "http_server_requests_total{method=\"_OTHER\",route=\"__other__\"}"),
                 10, "BREW is not allowed and /a/b/c breaks the pattern: both fold");
    cr_assert_eq(value(text, "http_server_requests_total{method=\"POST\",route=\"/upload\"}"), 10);
    cr_assert_eq(value(text, "http_server_requests_total{method=\"POST\",route=\"__other__\"}"), 10,
                 "the cap of 2 routes is reached: /other folds");
    cr_assert_eq(value(text, "uploads_total{kind=\"png\"}"), 10);
    cr_assert_eq(value(text, "ustatsd_lines_rejected_total{reason=\"label_value_pattern\"}"), 10,
                 "PNG breaks the pattern of a label without an overflow value");
    cr_assert_eq(value(text, "ustatsd_lines_rejected_total{reason=\"label_not_allowed\"}"), 10,
                 "uploads rejects an undeclared key");
    cr_assert_eq(value(text, "ustatsd_tags_stripped_total{key=\"env\"}"), 20,
                 "counted on accepted lines only: not on the uploads line that was rejected");
    cr_assert_eq(value(text, "ustatsd_tags_stripped_total{key=\"service\"}"), 20);
    cr_assert_eq(value(text, "ustatsd_tags_stripped_total{key=\"version\"}"), 10);
    cr_assert_eq(value(text, "ustatsd_labels_dropped_total{family=\"http_server_requests\"}"), 20);
    cr_assert_eq(value(text, "ustatsd_label_values_folded_total{family=\"http_server_requests\","
                             "label=\"method\",reason=\"not_allowed\"}"),
                 10);
    cr_assert_eq(value(text, "ustatsd_label_values_folded_total{family=\"http_server_requests\","
                             "label=\"route\",reason=\"pattern\"}"),
                 10);
    cr_assert_eq(value(text, "ustatsd_label_values_folded_total{family=\"http_server_requests\","
                             "label=\"route\",reason=\"cap\"}"),
                 10);
    cr_assert_eq(value(text, "ustatsd_label_values_folded_total{family=\"http_server_requests\","
                             "label=\"route\",reason=\"too_long\"}"),
                 0, "present at zero from the start");
    cr_assert_null(strstr(text, "ustatsd_labels_dropped_total{family=\"uploads\"}"),
                   "uploads rejects undeclared keys: nothing to drop");
    cr_assert_null(strstr(text, "ustatsd_label_values_folded_total{family=\"uploads\""),
                   "uploads has no overflow value: nothing to fold");
    cr_assert_eq(expo_check(text, 0), 0);
    free(text);
    text = daemon_scrape(&d, DAEMON_OPENMETRICS);
    cr_assert_eq(expo_check(text, 1), 0);
    free(text);

    cr_assert_eq(daemon_get(&d, "/debug?section=ingest", NULL, &dbg), 200);
    cr_assert_not_null(strstr(dbg, "\"tags_stripped\":{\"env\":20,\"service\":20,\"version\":10}"),
                       "%s", dbg);
    free(dbg);
    cr_assert_eq(daemon_get(&d, "/debug?section=families&family=http_server_requests", NULL, &dbg),
                 200);
    cr_assert_not_null(strstr(dbg, "\"undeclared_labels\":\"drop\",\"labels_dropped\":20"), "%s",
                       dbg);
    cr_assert_not_null(strstr(dbg, "\"pattern\":\"/[a-z]+\",\"overflow\":\"__other__\","
                                   "\"folded\":{\"not_allowed\":0,\"cap\":10,\"pattern\":10,"
                                   "\"too_long\":0}"),
                       "%s", dbg);
    free(dbg);
}

/* Bad policies are refused at start-up, naming the file, the key and the problem. */
Test(e2e_tagpolicy, bad_policies_are_refused_at_start_up)
{
    static const struct {
        const char *json, *path, *problem;
    } bad[] = {
        { "{\"families\": [{\"name\": \"a\", \"type\": \"counter\", \"labels\": [{\"name\": "
          "\"k\", \"pattern\": \"(a\"}]}]}",
          "$.families[0].labels[0].pattern", "is not a POSIX extended regular expression" },
        { "{\"families\": [{\"name\": \"a\", \"type\": \"counter\", \"labels\": [{\"name\": "
          "\"k\", \"overflow\": \"a|b\"}]}]}",
          "$.families[0].labels[0].overflow", "contains '|'" },
        { "{\"families\": [{\"name\": \"a\", \"type\": \"counter\", \"undeclared_labels\": "
          "\"ignore\"}]}",
          "$.families[0].undeclared_labels", "expected \"reject\" or \"drop\"" },
        { "{\"clients\": {\"strip_tags\": [\"k\"]}, \"families\": [{\"name\": \"a\", \"type\": "
          "\"counter\", \"labels\": [{\"name\": \"k\"}]}]}",
          "$.clients.strip_tags[0]", "is a label of family \"a\"" },
    };
    char path[] = "/tmp/ustatsd-policy-XXXXXX";
    const char *run[] = { "--config", path, "--socket", "/tmp/ustatsd-policy-never.sock", NULL };
    int fd = mkstemp(path);
    size_t i;

    cr_assert_geq(fd, 0);
    close(fd);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *f = fopen(path, "w");
        char *out = NULL;

        cr_assert_not_null(f);
        fputs(bad[i].json, f);
        fclose(f);
        cr_assert_eq(daemon_run_once(run, &out), 1, "%s", bad[i].json);
        cr_assert_not_null(strstr(out, path), "the file is not named: %s", out);
        cr_assert_not_null(strstr(out, bad[i].path), "the key is not named: %s", out);
        cr_assert_not_null(strstr(out, bad[i].problem), "the problem is not named: %s", out);
        free(out);
        cr_assert_eq(access("/tmp/ustatsd-policy-never.sock", F_OK), -1);
    }
    unlink(path);
}

static void reload_and_wait(const char *result, double want)
{
    char series[96];

    snprintf(series, sizeof series, "ustatsd_config_reloads_total{result=\"%s\"}", result);
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert_eq(daemon_wait_value(&d, series, want, 5000), want, "%s", series);
}

/* A bad pattern on reload keeps the running policies; a good one takes over. */
Test(e2e_tagpolicy, a_reload_with_a_bad_pattern_keeps_the_running_policies, .fini = stop)
{
    char *text, *log, next[sizeof config + 64], *at;

    cr_assert_eq(daemon_start(&d, config, NULL), 0);
    snprintf(next, sizeof next, "%s", config);
    at = strstr(next, "/[a-z]+");
    memcpy(at, "/[a-z+ ", 7);
    write_config(next);
    reload_and_wait("failure", 1);
    log = daemon_read_file(d.log);
    cr_assert_not_null(strstr(log, "$.families[0].labels[1].pattern: \"/[a-z+ \" is not a POSIX"),
                       "%s", log);
    free(log);
    cr_assert_eq(daemon_sends(&d, "http.server.requests:1|c|#route:/A,env:x\n"), 0);
    cr_assert_eq(daemon_wait_value(&d, "http_server_requests_total{route=\"__other__\"}", 1, 5000),
                 1, "the old pattern still folds /A");

    /* Now without the pattern and with a new strip list: the counts follow the keys. */
    write_config(
        "{\"limits\": {\"max_label_value_length\": 32},\n"
        " \"clients\": {\"strip_tags\": [\"service\", \"env\"]},\n"
        " \"families\": [\n"
        "  {\"name\": \"http.server.requests\", \"type\": \"counter\",\n"
        "   \"labels\": [{\"name\": \"method\", \"values\": [\"GET\", \"POST\", \"_OTHER\"],\n"
        "                \"overflow\": \"_OTHER\"},\n"
        "               {\"name\": \"route\", \"max_values\": 2, \"overflow\": \"__other__\"}]}\n"
        " ]}\n");
    reload_and_wait("success", 1);
    cr_assert_eq(daemon_sends(&d, "http.server.requests:1|c|#route:/A,env:x\n"
                                  "http.server.requests:1|c|#route:/A,host:h\n"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "http_server_requests_total{route=\"/A\"}", 1, 5000), 1);
    text = daemon_scrape(&d, NULL);
    cr_assert_eq(value(text, "ustatsd_tags_stripped_total{key=\"env\"}"), 2);
    cr_assert_eq(value(text, "ustatsd_tags_stripped_total{key=\"service\"}"), 0);
    cr_assert_eq(value(text, "ustatsd_lines_rejected_total{reason=\"label_not_allowed\"}"), 1,
                 "host: the family rejects undeclared keys again");
    cr_assert_null(strstr(text, "ustatsd_labels_dropped_total"), "%s", text);
    free(text);
}

/*
 * A million distinct values from a sender, against a label that folds what it does not
 * allow: every observation is counted, the series stay at the cap and the overflow
 * value, and the series store stops growing once the cap is full.
 */
static const char attack_config[] =
    "{\"families\": [\n"
    "  {\"name\": \"requests\", \"type\": \"counter\", \"help\": \"Requests.\",\n"
    "   \"labels\": [{\"name\": \"route\", \"max_values\": 50, \"pattern\": \"/[a-z0-9]+\",\n"
    "                \"overflow\": \"__other__\"}]}]}\n";

/* Lines [from, to) of the attack: odd ones fit the pattern, even ones are object keys. */
static void send_attack(int from, int to)
{
    char dgram[8192];
    int i = from;

    while (i < to) {
        size_t n = 0;
        int k;

        for (k = 0; k < 40 && i < to; k++, i++)
            n += (size_t)snprintf(dgram + n, sizeof dgram - n,
                                  i % 2 ? "requests:1|c|#route:/r%d\n"
                                        : "requests:1|c|#route:/objects/%08d.jpg\n",
                                  i);
        cr_assert_eq(daemon_send(&d, dgram, n), 0);
    }
}

Test(e2e_tagpolicy, a_million_value_attack_is_folded_with_exact_totals_and_bounded_memory,
     .fini = stop, .timeout = 120)
{
    char *text;
    double mem_early, sum;
    int found;

    cr_assert_eq(daemon_start(&d, attack_config, NULL), 0);
    send_attack(0, 100000);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 100000, 20000), 100000);
    text = daemon_scrape(&d, NULL);
    mem_early = value(text, "ustatsd_series_memory_bytes");
    free(text);
    send_attack(100000, 1000000);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 1000000, 60000), 1000000);
    text = daemon_scrape(&d, NULL);
    sum = expo_sum(text, "requests_total", &found);
    cr_assert_eq(sum, 1000000, "every observation is counted once");
    cr_assert_eq(found, 51, "50 routes and __other__");
    cr_assert_eq(value(text, "requests_total{route=\"/r1\"}"), 1);
    cr_assert_eq(value(text, "requests_total{route=\"__other__\"}"), 1000000 - 50);
    cr_assert_eq(value(text, "ustatsd_label_values_folded_total{family=\"requests\","
                             "label=\"route\",reason=\"pattern\"}"),
                 500000);
    cr_assert_eq(value(text, "ustatsd_label_values_folded_total{family=\"requests\","
                             "label=\"route\",reason=\"cap\"}"),
                 500000 - 50);
    cr_assert_eq(value(text, "ustatsd_series_memory_bytes"), mem_early,
                 "the series store grew after the first 100,000 lines");
    cr_assert_lt(mem_early, 256 * 1024, "%.0f bytes", mem_early);
    cr_assert_eq(expo_value(text, "ustatsd_lines_rejected_total{reason=\"label_values_cap\"}"), 0);
    free(text);
}

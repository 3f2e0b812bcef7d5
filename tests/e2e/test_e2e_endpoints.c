/*
 * End to end through the real binary: scrape endpoints. Each seed's set-up from its own
 * shipped config (packaging/seeds), with the endpoints' addresses moved to Unix sockets
 * in a directory of the test's: seed 003's three targets from one daemon, seed 004's
 * endpoint of the application's families only, seed 000's resource attributes from the
 * OpenTelemetry variables on every series. Then reloads, per-endpoint bearer tokens,
 * promhttp's counts and its limit of scrapes in flight, and the configurations that must be
 * refused.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <math.h>

#include "daemon.h"
#include "httpc.h"
#include "waitfor.h"

static struct daemon d;
static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/ustatsd-ep-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void fini(void)
{
    char cmd[128];

    if (d.pid > 0)
        daemon_stop(&d);
    if (dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        cr_assert_eq(system(cmd), 0);
    }
    dir[0] = '\0';
}

TestSuite(e2e_endpoints, .fini = fini);

/* A shipped seed config with every endpoint's listen moved to unix:<dir>/<name>.sock. */
static char *seed_config(const char *seed, void (*edit)(json_t *root))
{
    char path[512];
    json_error_t err;
    json_t *root, *eps, *ep;
    size_t i;
    char *text;

    snprintf(path, sizeof(path), "%s/packaging/seeds/%s/ustatsd.json", USTATSD_SOURCE_DIR, seed);
    root = json_load_file(path, 0, &err);
    cr_assert_not_null(root, "%s: %s", path, err.text);
    eps = json_object_get(root, "endpoints");
    json_array_foreach(eps, i, ep)
    {
        char listen[160];

        snprintf(listen, sizeof(listen), "unix:%s/%s.sock", dir,
                 json_string_value(json_object_get(ep, "name")));
        json_object_set_new(ep, "listen", json_string(listen));
    }
    if (edit != NULL)
        edit(root);
    text = json_dumps(root, 0);
    json_decref(root);
    return text;
}

/* GET <dir>/<endpoint>.sock path; the body (malloc'd) of a 200, else the test fails. */
static char *get_at(const char *endpoint, const char *path, const char *headers, int *status)
{
    char addr[160];
    struct httpc_response r;
    char *body;

    snprintf(addr, sizeof(addr), "unix:%s/%s.sock", dir, endpoint);
    cr_assert_eq(httpc_get(addr, path, headers, &r), 0, "GET %s%s", addr, path);
    if (status != NULL)
        *status = r.status;
    else
        cr_assert_eq(r.status, 200, "GET %s%s: %d %s", addr, path, r.status, r.body);
    body = strdup(r.body);
    httpc_response_release(&r);
    return body;
}

static char *scrape_at(const char *endpoint, const char *path)
{
    return get_at(endpoint, path, NULL, NULL);
}

/* The number of "# TYPE " lines: families in a text exposition. */
static int families_in(const char *body)
{
    int n = 0;

    for (const char *p = body; (p = strstr(p, "# TYPE ")) != NULL; p++)
        n++;
    return n;
}

static int has_family(const char *body, const char *name)
{
    char line[160];

    snprintf(line, sizeof(line), "# TYPE %s ", name);
    return strstr(body, line) != NULL;
}

static void check_both_formats(const char *endpoint, const char *path)
{
    char *text = scrape_at(endpoint, path), *om;

    cr_assert_eq(expo_check(text, 0), 0, "promtool refused %s%s", endpoint, path);
    om = get_at(endpoint, path, "Accept: " DAEMON_OPENMETRICS "\r\n", NULL);
    cr_assert_eq(expo_check(om, 1), 0, "the OpenMetrics parser refused %s%s", endpoint, path);
    free(text);
    free(om);
}

/* ---- seed 003: one target per process ---- */

Test(e2e_endpoints, seed_003_three_targets_from_one_daemon)
{
    char *cfg, *api, *micro, *ml, *own;

    make_dir();
    cfg = seed_config("003-gallery", NULL);
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0);
    free(cfg);
    cr_assert_eq(daemon_sends(&d,
                              "immich_users_total:3|g\n"
                              "immich_assets_total:120|g|#type:image\n"
                              "immich_queues_jobs:4|g|#queue:thumbnailGeneration,status:waiting\n"
                              "immich_ml_requests_total:1|c|#task:search,type:clip,status:success"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 4, 5000), 4);

    api = scrape_at("immich_api", "/metrics");
    micro = scrape_at("immich_microservices", "/metrics");
    ml = scrape_at("immich_machine_learning", "/metrics");
    own = scrape_at("ustatsd", "/ustatsd/metrics");
    /* Each target has its own process's families and nothing else. */
    cr_assert(has_family(api, "immich_users_total") && has_family(api, "immich_assets_total"), "%s",
              api);
    cr_assert(!has_family(api, "immich_queues_jobs") && strstr(api, "immich_ml_") == NULL, "%s",
              api);
    cr_assert(has_family(micro, "immich_queues_jobs"), "%s", micro);
    cr_assert(strstr(micro, "immich_users") == NULL && strstr(micro, "immich_ml_") == NULL, "%s",
              micro);
    cr_assert(has_family(ml, "immich_ml_requests_total"), "%s", ml);
    cr_assert(strstr(ml, "immich_users") == NULL && strstr(ml, "immich_queues") == NULL, "%s", ml);
    /* The daemon's own metrics are on their own path only. */
    cr_assert(strstr(api, "ustatsd_") == NULL && strstr(api, "process_") == NULL, "%s", api);
    cr_assert(strstr(micro, "ustatsd_") == NULL && strstr(ml, "ustatsd_") == NULL);
    cr_assert(has_family(own, "ustatsd_lines_accepted_total"), "%s", own);
    cr_assert(has_family(own, "process_cpu_seconds_total"), "%s", own);
    cr_assert(!has_family(own, "immich_users_total") && !has_family(own, "immich_queues_jobs") &&
                  !has_family(own, "immich_ml_requests_total"),
              "%s", own);
    /* Each target names its own service. */
    cr_assert_eq(expo_value(api, "target_info{service_name=\"immich-api\"}"), 1, "%s", api);
    cr_assert_eq(expo_value(micro, "target_info{service_name=\"immich-microservices\"}"), 1);
    cr_assert_eq(expo_value(ml, "target_info{service_name=\"immich-machine-learning\"}"), 1);
    /* Each also answers the probes. */
    free(get_at("immich_machine_learning", "/-/healthy", NULL, NULL));
    free(get_at("immich_microservices", "/-/ready", NULL, NULL));
    check_both_formats("immich_api", "/metrics");
    check_both_formats("immich_microservices", "/metrics");
    check_both_formats("immich_machine_learning", "/metrics");
    check_both_formats("ustatsd", "/ustatsd/metrics");
    free(api);
    free(micro);
    free(ml);
    free(own);
}

/* ---- seed 004: a dedicated registry ---- */

Test(e2e_endpoints, seed_004_an_endpoint_with_only_the_application_families)
{
    static const char *const families[] = { "inference_requests_total",  "inference_errors_total",
                                            "inference_latency_seconds", "executor_inflight",
                                            "executor_timeouts_total",   "job_queue_depth" };
    char *cfg, *app;

    make_dir();
    cfg = seed_config("004-inference", NULL);
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0);
    free(cfg);
    cr_assert_eq(daemon_sends(&d, "inference_errors_total:1|c|#model:m,version:1,error_type:"
                                  "timeout,tenant:t\n"
                                  "executor_inflight:2|g|#device:cuda0\n"
                                  "job_queue_depth:+3|g|#model:m,version:1"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 3, 5000), 3);
    app = scrape_at("inference", "/metrics");
    /* Every family on it is one of the six the service documents, and nothing else. */
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        cr_assert(has_family(app, families[i]) || strstr(app, families[i]) == NULL);
    cr_assert(has_family(app, "inference_errors_total"), "%s", app);
    cr_assert(has_family(app, "executor_inflight") && has_family(app, "job_queue_depth"), "%s",
              app);
    for (const char *p = app; (p = strstr(p, "# TYPE ")) != NULL; p++) {
        int known = 0;

        for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
            known |= strncmp(p + 7, families[i], strlen(families[i])) == 0 &&
                     p[7 + strlen(families[i])] == ' ';
        cr_assert(known, "a family the service does not have: %.60s", p);
    }
    cr_assert_leq(families_in(app), 6);
    cr_assert_eq(expo_value(app, "job_queue_depth{model=\"m\",version=\"1\"}"), 3, "%s", app);
    free(app);
    app = scrape_at("ustatsd", "/ustatsd/metrics");
    cr_assert(has_family(app, "ustatsd_lines_accepted_total"), "%s", app);
    cr_assert(!has_family(app, "inference_errors_total") && !has_family(app, "executor_inflight"),
              "%s", app);
    free(app);
    check_both_formats("inference", "/metrics");
}

/* ---- seed 000: resource attributes on every series ---- */

/* Seed 000 without PostgreSQL: its families, jobs and resource settings. */
static void no_postgres(json_t *root)
{
    json_object_del(root, "postgres");
    json_object_del(root, "sql_metrics");
    json_object_del(json_object_get(root, "daemon"), "socket_group"); /* a group of the host's */
}

static void start_imgsrv(const char *attrs)
{
    char *cfg = seed_config("000-imgsrv", no_postgres);

    if (attrs != NULL)
        setenv("OTEL_RESOURCE_ATTRIBUTES", attrs, 1);
    else
        unsetenv("OTEL_RESOURCE_ATTRIBUTES");
    unsetenv("OTEL_SERVICE_NAME");
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0);
    unsetenv("OTEL_RESOURCE_ATTRIBUTES");
    free(cfg);
    cr_assert_eq(daemon_sends(&d, "imgsrv_objectstore_operations_total:1|c|#operation:put,"
                                  "outcome:success\n"
                                  "imgsrv_objectstore_operation_duration_seconds:0.2|h|#"
                                  "operation:put,outcome:success\n"
                                  "cas-promotion:worked|j\n"
                                  "datadog.dogstatsd.client.packets_sent:3|c|#client:go,"
                                  "client_version:5.3.0,client_transport:uds"),
                 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 4, 5000), 4);
}

Test(e2e_endpoints, seed_000_resource_attributes_from_the_environment_on_every_series)
{
    char *m, *line;

    make_dir();
    start_imgsrv("service.version=1.4.2%2Bbuild.7, deployment.environment = prod");
    m = daemon_scrape(&d, NULL);
    cr_assert_eq(expo_value(m,
                            "target_info{deployment_environment=\"prod\",service_name=\"imgsrv\","
                            "service_version=\"1.4.2+build.7\"}"),
                 1, "%s", m);
    /* The two chosen attributes on every application series, jobs included... */
    cr_assert_eq(expo_value(m, "imgsrv_objectstore_operations_total{operation=\"put\",outcome="
                               "\"success\",service_name=\"imgsrv\",service_version=\"1.4.2+build."
                               "7\"}"),
                 1, "%s", m);
    line = strstr(m, "\nimgsrv_background_job_errors_total{job=\"cas-promotion\",service_name="
                     "\"imgsrv\",service_version=\"1.4.2+build.7\"} 0\n");
    cr_assert_not_null(line, "%s", m);
    /* ... histograms' buckets with le last; not on the daemon's own. */
    cr_assert_not_null(strstr(m, ",service_name=\"imgsrv\",service_version=\"1.4.2+build.7\","
                                 "le=\""),
                       "%s", m);
    cr_assert_null(strstr(m, "ustatsd_lines_accepted_total{service_name"), "%s", m);
    /* Client telemetry is the daemon's own: it does not get them either. */
    cr_assert_not_null(strstr(m, "\nustatsd_client_packets_sent_total{client=\"go\",client_"
                                 "transport=\"uds\",client_version=\"5.3.0\"} 3\n"),
                       "%s", m);
    cr_assert_eq(expo_check(m, 0), 0);
    free(m);
    m = daemon_scrape(&d, DAEMON_OPENMETRICS);
    cr_assert_eq(expo_check(m, 1), 0);
    free(m);
}

Test(e2e_endpoints, seed_000_without_a_version_the_label_is_absent_not_empty)
{
    char *m;

    make_dir();
    start_imgsrv(NULL);
    m = daemon_scrape(&d, NULL);
    cr_assert_eq(expo_value(m, "target_info{service_name=\"imgsrv\"}"), 1, "%s", m);
    cr_assert_eq(expo_value(m, "imgsrv_objectstore_operations_total{operation=\"put\",outcome="
                               "\"success\",service_name=\"imgsrv\"}"),
                 1, "%s", m);
    cr_assert_null(strstr(m, "service_version"), "%s", m);
    free(m);
}

Test(e2e_endpoints, a_malformed_otel_variable_is_refused_naming_it)
{
    char path[128];
    const char *args[] = { "--config",         path, "--socket", "/tmp/ustatsd-ep-never.sock",
                           "--metrics-listen", "",   NULL };
    char *out = NULL;
    FILE *f;

    make_dir();
    snprintf(path, sizeof(path), "%s/c.json", dir);
    f = fopen(path, "w");
    fputs("{}", f);
    fclose(f);
    setenv("OTEL_RESOURCE_ATTRIBUTES", "service.version=1.0,broken", 1);
    cr_assert_eq(daemon_run_once(args, &out), 2, "%s", out);
    unsetenv("OTEL_RESOURCE_ATTRIBUTES");
    cr_assert_not_null(strstr(out, "OTEL_RESOURCE_ATTRIBUTES: \"broken\": expected key=value"),
                       "%s", out);
    free(out);
    setenv("OTEL_SERVICE_NAME", "a\001b", 1);
    cr_assert_eq(daemon_run_once(args, &out), 0 + 2, "%s", out);
    unsetenv("OTEL_SERVICE_NAME");
    free(out);
}

/* ---- promhttp, tokens, sharing a listener ---- */

static char *endpoints_config(const char *extra_family, const char *api_groups)
{
    static char buf[4096];

    snprintf(buf, sizeof(buf),
             "{\"families\": ["
             "  {\"name\": \"api_requests\", \"type\": \"counter\", \"group\": \"api\","
             "   \"help\": \"API requests.\"},"
             "  {\"name\": \"ml_requests\", \"type\": \"counter\", \"group\": \"ml\","
             "   \"help\": \"ML requests.\"}%s],"
             " \"endpoints\": ["
             "  {\"name\": \"api\", \"listen\": \"unix:%s/api.sock\", \"groups\": %s,"
             "   \"promhttp\": true},"
             "  {\"name\": \"ml\", \"listen\": \"unix:%s/api.sock\", \"path\": \"/ml/metrics\","
             "   \"groups\": [\"ml\"], \"bearer_token_file\": \"%s/token\"}]}",
             extra_family, dir, api_groups, dir, dir);
    return buf;
}

static void write_token(const char *token)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/token", dir);
    f = fopen(path, "w");
    fputs(token, f);
    fclose(f);
}

Test(e2e_endpoints, promhttp_counts_the_scrapes_of_its_endpoint)
{
    char *m;

    make_dir();
    write_token("s3cret\n");
    cr_assert_eq(daemon_start(&d, endpoints_config("", "[\"api\"]"), NULL), 0);
    m = scrape_at("api", "/metrics");
    /* The first scrape is in flight and not yet counted; every code is there from the start. */
    cr_assert_eq(expo_value(m, "promhttp_metric_handler_requests_in_flight"), 1, "%s", m);
    cr_assert_eq(expo_value(m, "promhttp_metric_handler_requests_total{code=\"200\"}"), 0, "%s", m);
    cr_assert_eq(expo_value(m, "promhttp_metric_handler_requests_total{code=\"500\"}"), 0);
    cr_assert_eq(expo_value(m, "promhttp_metric_handler_requests_total{code=\"503\"}"), 0);
    free(m);
    free(scrape_at("api", "/metrics"));
    m = scrape_at("api", "/metrics");
    cr_assert_eq(expo_value(m, "promhttp_metric_handler_requests_total{code=\"200\"}"), 2, "%s", m);
    cr_assert_eq(expo_check(m, 0), 0);
    free(m);
    /* The debug view lists the endpoints with their counts. */
    cr_assert_eq(daemon_get(&d, "/debug", NULL, &m), 200);
    cr_assert_not_null(strstr(m, "{\"name\":\"api\",\"address\":\"unix:"), "%s", m);
    cr_assert_not_null(strstr(m, "\"path\":\"/metrics\",\"in_flight\":0,\"scrapes\":{\"200\":3,"),
                       "%s", m);
    free(m);
    /* The other endpoint on the same listener counts nothing of these, and has no promhttp. */
    m = get_at("api", "/ml/metrics", "Authorization: Bearer s3cret\r\n", NULL);
    cr_assert_null(strstr(m, "promhttp"), "%s", m);
    free(m);
}

Test(e2e_endpoints, endpoints_sharing_a_listener_have_their_own_token)
{
    int status;
    char *m;

    make_dir();
    write_token("s3cret");
    cr_assert_eq(daemon_start(&d, endpoints_config("", "[\"api\"]"), NULL), 0);
    free(get_at("api", "/metrics", NULL, NULL)); /* open */
    m = get_at("api", "/ml/metrics", NULL, &status);
    cr_assert_eq(status, 401, "%s", m);
    free(m);
    m = get_at("api", "/ml/metrics", "Authorization: Bearer wrong\r\n", &status);
    cr_assert_eq(status, 401);
    free(m);
    m = get_at("api", "/ml/metrics", "Authorization: Bearer s3cret\r\n", NULL);
    cr_assert(has_family(m, "ml_requests_total") && !has_family(m, "api_requests_total"), "%s", m);
    free(m);
    free(get_at("api", "/-/healthy", NULL, NULL));
}

/* ---- reload ---- */

static void write_config(const char *json)
{
    FILE *f = fopen(d.config, "w");

    cr_assert_not_null(f);
    fputs(json, f);
    fclose(f);
}

static void reload_and_wait(const char *result, double want)
{
    char series[128];

    snprintf(series, sizeof series, "ustatsd_config_reloads_total{result=\"%s\"}", result);
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert_eq(daemon_wait_value(&d, series, want, 5000), want);
}

Test(e2e_endpoints, a_reload_changes_what_an_endpoint_serves_but_not_where)
{
    char *m, *log;
    char moved[4096];

    make_dir();
    write_token("s3cret");
    cr_assert_eq(daemon_start(&d, endpoints_config("", "[\"api\"]"), NULL), 0);
    cr_assert_eq(daemon_sends(&d, "api_requests:1|c\nml_requests:1|c"), 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 2, 5000), 2);
    m = scrape_at("api", "/metrics");
    cr_assert(!has_family(m, "ml_requests_total"), "%s", m);
    free(m);

    /* Its families, and a family the reload adds to a group it serves: reloaded. */
    write_config(endpoints_config(",{\"name\": \"api_errors\", \"type\": \"counter\", \"group\": "
                                  "\"api\", \"help\": \"API errors.\"}",
                                  "[\"api\", \"ml\"]"));
    reload_and_wait("success", 1);
    m = scrape_at("api", "/metrics");
    cr_assert(has_family(m, "ml_requests_total") && has_family(m, "api_errors_total"), "%s", m);
    cr_assert_eq(expo_value(m, "api_requests_total"), 1, "the series were kept: %s", m);
    free(m);

    /* Where it listens: only a restart. */
    snprintf(moved, sizeof(moved), "%s", endpoints_config("", "[\"api\"]"));
    {
        char *p = strstr(moved, "/api.sock");
        memcpy(p, "/apx.sock", 9);
    }
    write_config(moved);
    reload_and_wait("failure", 1);
    log = daemon_read_file(d.log);
    cr_assert_not_null(strstr(log, "$.endpoints[0].listen: differs from the running"), "%s", log);
    free(log);
    m = scrape_at("api", "/metrics");
    cr_assert(has_family(m, "ml_requests_total"), "the running config stays: %s", m);
    free(m);
}

/* ---- refused ---- */

static void refused(const char *json, const char *const *extra, const char *want)
{
    char path[128];
    const char *args[16] = { "--config", path, "--socket", "/tmp/ustatsd-ep-never.sock" };
    size_t n = 4;
    char *out = NULL;
    FILE *f;
    int rc;

    snprintf(path, sizeof(path), "%s/refused.json", dir);
    f = fopen(path, "w");
    fputs(json, f);
    fclose(f);
    for (; extra && *extra; extra++)
        args[n++] = *extra;
    args[n] = NULL;
    rc = daemon_run_once(args, &out);
    cr_assert(rc == 1 || rc == 2, "exit %d: %s", rc, out);
    cr_assert_not_null(strstr(out, want), "wanted \"%s\" in: %s", want, out);
    free(out);
}

Test(e2e_endpoints, hostile_configurations_are_refused_with_the_key)
{
    char json[2048];

    make_dir();
    /* A path clash on one address. */
    snprintf(json, sizeof(json),
             "{\"families\": [{\"name\": \"a\", \"type\": \"counter\", \"group\": \"g\"}],"
             " \"endpoints\": [{\"name\": \"x\", \"listen\": \"unix:%s/x.sock\"},"
             "                 {\"name\": \"y\", \"listen\": \"unix:%s/x.sock\"}]}",
             dir, dir);
    refused(json, NULL, "$.endpoints[1]: \"y\" and $.endpoints[0] (\"x\") are both at");
    /* An unknown group, an unknown family, a job family by name. */
    snprintf(json, sizeof(json),
             "{\"families\": [{\"name\": \"a\", \"type\": \"counter\", \"group\": \"g\"}],"
             " \"endpoints\": [{\"name\": \"x\", \"listen\": \"unix:%s/x.sock\", \"groups\": "
             "[\"g\", \"nope\"]}]}",
             dir);
    refused(json, NULL, "$.endpoints[0].groups[1]: no family or SQL metric has the group \"nope\"");
    snprintf(json, sizeof(json),
             "{\"families\": [{\"name\": \"a\", \"type\": \"counter\"}],"
             " \"endpoints\": [{\"name\": \"x\", \"listen\": \"unix:%s/x.sock\", \"families\": "
             "[\"a_total\", \"b\"]}]}",
             dir);
    refused(json, NULL, "$.endpoints[0].families[1]: no family or SQL metric is named \"b\"");
    /* The default endpoint's address and path, as the flags leave them. */
    snprintf(json, sizeof(json),
             "{\"endpoints\": [{\"name\": \"x\", \"listen\": \"unix:%s/x.sock\", \"families\": "
             "[]}]}",
             dir);
    {
        char listen[128];
        const char *flags[] = { "--metrics-listen", listen, NULL };

        snprintf(listen, sizeof(listen), "unix:%s/x.sock", dir);
        refused(json, flags, "the default endpoint's address and path");
    }
    /* A resource label a served family already has. */
    snprintf(json, sizeof(json),
             "{\"resource\": {\"service.name\": \"s\"},"
             " \"families\": [{\"name\": \"a\", \"type\": \"counter\", \"labels\": [{\"name\": "
             "\"service_name\", \"values\": [\"v\"]}]}],"
             " \"endpoints\": [{\"name\": \"x\", \"listen\": \"unix:%s/x.sock\", "
             "\"resource_labels\": true}]}",
             dir);
    refused(json, NULL, "$.endpoints[0].resource_labels: the attribute service.name");
    snprintf(json, sizeof(json),
             "{\"resource\": {\"outcome\": \"x\"}, \"jobs\": {\"list\": [\"j\"]},"
             " \"endpoints\": [{\"name\": \"x\", \"listen\": \"unix:%s/x.sock\", "
             "\"resource_labels\": [\"outcome\"]}]}",
             dir);
    refused(json, NULL, "but the job families have a label outcome");
    refused("{\"families\": [{\"name\": \"promhttp_metric_handler_requests\", \"type\": "
            "\"counter\"}]}",
            NULL, "$.families[0].name: \"promhttp_metric_handler_requests\": the prefixes");
    /* Reserved names and paths. */
    snprintf(json, sizeof(json),
             "{\"endpoints\": [{\"name\": \"debug\", \"listen\": \"unix:%s/x.sock\"}]}", dir);
    refused(json, NULL, "$.endpoints[0].name: reserved");
    snprintf(json, sizeof(json),
             "{\"endpoints\": [{\"name\": \"x\", \"listen\": \"unix:%s/x.sock\", \"path\": "
             "\"/-/ready\"}]}",
             dir);
    refused(json, NULL, "$.endpoints[0].path: every listener serves /-/healthy");
    /* A service whose user does not exist. */
    snprintf(json, sizeof(json),
             "{\"endpoints\": [{\"name\": \"x\", \"listen\": \"unix:%s/x.sock\", \"service\": "
             "{\"user\": \"no-such-user-here\"}}]}",
             dir);
    refused(json, NULL, "$.endpoints[0].service.user: no user \"no-such-user-here\"");
}

/* A free TCP port on loopback, for a test that needs two spellings of one address. */
static int free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

Test(e2e_endpoints, one_address_in_two_spellings_fails_to_bind_naming_the_endpoint)
{
    char json[1024], path[128], *out = NULL;
    const char *args[] = { "--config",         path, "--socket", "/tmp/ustatsd-ep-never2.sock",
                           "--metrics-listen", "",   NULL };
    int port = free_port();
    FILE *f;

    make_dir();
    snprintf(json, sizeof(json),
             "{\"endpoints\": [{\"name\": \"x\", \"listen\": \"127.0.0.1:%d\"},"
             "                 {\"name\": \"y\", \"listen\": \"localhost:%d\", \"path\": \"/y\"}]}",
             port, port);
    snprintf(path, sizeof(path), "%s/bind.json", dir);
    f = fopen(path, "w");
    fputs(json, f);
    fclose(f);
    cr_assert_eq(daemon_run_once(args, &out), 1, "%s", out);
    snprintf(json, sizeof(json), "listener localhost:%d (y): ", port);
    cr_assert_not_null(strstr(out, json), "%s", out);
    free(out);
}

Test(e2e_endpoints, a_flag_given_twice_is_an_error)
{
    const char *args[] = { "--config",    "x.json",           "--metrics-listen",
                           "127.0.0.1:1", "--metrics-listen", "127.0.0.1:2",
                           NULL };
    char *out = NULL;

    cr_assert_eq(daemon_run_once(args, &out), 2, "%s", out);
    cr_assert_not_null(
        strstr(out, "--metrics-listen given twice (\"127.0.0.1:1\" and \"127.0.0.1:2\")"), "%s",
        out);
    free(out);
}

/* ---- seed 002: the service's own process metrics ---- */

static void service_is_me(json_t *root)
{
    json_t *ep = json_array_get(json_object_get(root, "endpoints"), 0);

    json_object_set_new(json_object_get(ep, "service"), "user", json_integer((json_int_t)getuid()));
}

/* A sender that sends one line and waits to be killed: a live process of the service. */
static pid_t start_sender(const char *sock, const char *line)
{
    pid_t pid = fork();

    cr_assert_geq(pid, 0);
    if (pid == 0) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

        if (strlen(sock) >= sizeof(sa.sun_path))
            _exit(1);
        memcpy(sa.sun_path, sock, strlen(sock) + 1);
        if (fd < 0 || sendto(fd, line, strlen(line), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            _exit(1);
        for (;;)
            pause();
    }
    return pid;
}

/* /proc/<pid>/stat field 22 (starttime, ticks after boot) as Unix seconds. */
static double start_time_of(pid_t pid)
{
    char path[64], *text, *p;
    unsigned long long ticks = 0, btime = 0;
    FILE *f;
    char line[256];

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    text = daemon_read_file(path);
    cr_assert_not_null(text);
    p = strrchr(text, ')');
    cr_assert_not_null(p);
    /* After ") ": state is field 3, starttime field 22. */
    cr_assert_eq(sscanf(p + 2,
                        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d "
                        "%*d %*d %llu",
                        &ticks),
                 1);
    free(text);
    f = fopen("/proc/stat", "r");
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "btime %llu", &btime) == 1)
            break;
    fclose(f);
    return (double)btime + (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

static int open_fds_of(pid_t pid)
{
    char cmd[96];
    FILE *p;
    int n = -1;

    snprintf(cmd, sizeof(cmd), "ls /proc/%d/fd | wc -l", (int)pid);
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    cr_assert_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

Test(e2e_endpoints, seed_002_the_service_process_metrics_and_promhttp)
{
    char *cfg, *m;
    pid_t child;
    double start;

    make_dir();
    cfg = seed_config("002-connaisseur", service_is_me);
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0);
    free(cfg);
    /* No sender yet: its process metrics are absent, not zero; promhttp's are there. */
    m = scrape_at("connaisseur", "/metrics");
    cr_assert_null(strstr(m, "process_"), "%s", m);
    cr_assert_eq(expo_value(m, "promhttp_metric_handler_requests_total{code=\"503\"}"), 0, "%s", m);
    free(m);

    child = start_sender(d.sock, "connaisseur_requests_total:1|c");
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 1, 5000), 1);
    m = scrape_at("connaisseur", "/metrics");
    start = start_time_of(child);
    cr_assert_eq(expo_check(m, 0), 0);
    cr_assert(fabs(expo_value(m, "process_start_time_seconds") - start) < 0.011,
              "the sender's start time %f: %s", start, m);
    cr_assert_eq(expo_value(m, "process_open_fds"), open_fds_of(child), "%s", m);
    cr_assert_geq(expo_value(m, "process_cpu_seconds_total"), 0, "%s", m);
    cr_assert_gt(expo_value(m, "process_resident_memory_bytes"), 0, "%s", m);
    cr_assert_gt(expo_value(m, "process_max_fds"), 0, "%s", m);
    cr_assert_eq(expo_value(m, "promhttp_metric_handler_requests_total{code=\"200\"}"), 1, "%s", m);
    cr_assert_eq(expo_value(m, "connaisseur_requests_total"), 1, "%s", m);
    cr_assert_null(strstr(m, "ustatsd_"), "%s", m);
    free(m);
    /* The daemon's own process metrics are where its own metrics are, and describe it. */
    m = scrape_at("ustatsd", "/metrics");
    cr_assert(fabs(expo_value(m, "process_start_time_seconds") - start_time_of(d.pid)) < 0.011,
              "%s", m);
    free(m);

    /* The sender exits: the service has no live process, its metrics go. */
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    m = scrape_at("connaisseur", "/metrics");
    cr_assert_null(strstr(m, "process_"), "%s", m);
    free(m);
}

/*
 * Under the packaged service the daemon runs as ustatsd and the service as its own user:
 * its descriptors and network namespace are another user's, which the kernel shows only
 * with CAP_SYS_PTRACE (seed 002's ustatsd.service.d/override.conf). Here the daemon runs
 * as nobody, with that capability (ambient, as systemd's AmbientCapabilities= gives it)
 * or without, and the sender as root.
 */
static void seed_002_as_another_user(int ptrace)
{
    const char *with[] = { "/usr/bin/setpriv",
                           "--reuid=65534",
                           "--regid=65534",
                           "--clear-groups",
                           "--inh-caps=-all,+sys_ptrace",
                           "--ambient-caps=+sys_ptrace",
                           NULL };
    const char *without[] = { "/usr/bin/setpriv", "--reuid=65534",   "--regid=65534",
                              "--clear-groups",   "--inh-caps=-all", NULL };
    struct daemon_options o = { .wrap = ptrace ? with : without, .owner = 65534 };
    char *cfg, *m;
    pid_t child;

    if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0)
        cr_skip_test("needs root and setpriv to run the daemon as another user");
    make_dir();
    cr_assert_eq(chown(dir, 65534, 65534), 0);
    cfg = seed_config("002-connaisseur", service_is_me);
    cr_assert_eq(daemon_start_with(&d, cfg, &o), 0);
    free(cfg);
    child = start_sender(d.sock, "connaisseur_requests_total:1|c");
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 1, 5000), 1);
    m = scrape_at("connaisseur", "/metrics");
    /* /proc/<pid>/stat and limits are anyone's: these are there either way. */
    cr_assert_gt(expo_value(m, "process_start_time_seconds"), 0, "%s", m);
    cr_assert_gt(expo_value(m, "process_max_fds"), 0, "%s", m);
    if (ptrace) {
        cr_assert_eq(expo_value(m, "process_open_fds"), open_fds_of(child), "%s", m);
        cr_assert_not_null(strstr(m, "process_network_"), "%s", m);
    } else {
        cr_assert_null(strstr(m, "process_open_fds"), "%s", m);
        cr_assert_null(strstr(m, "process_network_"), "%s", m);
    }
    free(m);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
}

Test(e2e_endpoints, seed_002_a_daemon_of_another_user_with_cap_sys_ptrace_has_them)
{
    seed_002_as_another_user(1);
}

Test(e2e_endpoints, seed_002_a_daemon_of_another_user_without_capabilities_has_not)
{
    seed_002_as_another_user(0);
}

/* ---- a scrape across reloads ---- */

/* A family whose help names the generation, so that each reload makes a new config. */
static void hits_config(char *out, size_t len, int gen)
{
    snprintf(out, len,
             "{\"limits\": {\"max_label_values\": 100000, \"max_series_per_family\": 100000},"
             " \"families\": [{\"name\": \"hits\", \"type\": \"counter\", \"help\": \"H%d.\","
             "   \"labels\": [{\"name\": \"k\", \"max_values\": 100000}]}],"
             " \"endpoints\": [{\"name\": \"app\", \"listen\": \"unix:%s/app.sock\"}]}",
             gen, dir);
}

/* 40,000 series of hits: a response that outgrows the socket buffers. */
static void send_hits(void)
{
    for (int b = 0; b < 400; b++) {
        char dgram[8192];
        size_t len = 0;

        for (int i = 0; i < 100; i++)
            len += (size_t)snprintf(dgram + len, sizeof(dgram) - len, "hits:1|c|#k:v%d\n",
                                    b * 100 + i);
        cr_assert_eq(daemon_send(&d, dgram, len), 0);
    }
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 40000, 10000), 40000);
}

Test(e2e_endpoints, a_scrape_in_flight_outlives_the_config_it_started_with)
{
    char cfg[4096], addr[160];
    struct httpc h;
    struct httpc_response r;

    make_dir();
    hits_config(cfg, sizeof(cfg), 0);
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0);
    send_hits();
    /* The scrape starts under a reloaded config (the start-up one is never freed)... */
    hits_config(cfg, sizeof(cfg), 1);
    write_config(cfg);
    reload_and_wait("success", 1);
    snprintf(addr, sizeof(addr), "unix:%s/app.sock", dir);
    cr_assert_eq(httpc_open(&h, addr, 10000), 0);
    cr_assert_eq(httpc_request(&h, "GET", "/metrics", NULL), 0);
    /* ... and while it is held back, the next reload swaps that config out. */
    for (int i = 2; i <= 3; i++) {
        hits_config(cfg, sizeof(cfg), i);
        write_config(cfg);
        reload_and_wait("success", i);
    }
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, "# TYPE hits_total counter"), "%.200s", r.body);
    cr_assert_eq(expo_check(r.body, 0), 0);
    httpc_response_release(&r);
    httpc_close(&h);
}

/* Whether /debug shows want scrapes in flight on the endpoint's path; waits up to 5 s. */
static int in_flight_reaches(int want)
{
    char needle[64];

    snprintf(needle, sizeof(needle), "\"path\":\"/metrics\",\"in_flight\":%d,", want);
    for (int i = 0; i < 500; i++) {
        char *m = NULL;
        int found = daemon_get(&d, "/debug", NULL, &m) == 200 && m && strstr(m, needle);

        free(m);
        if (found)
            return 1;
        usleep(10 * 1000);
    }
    return 0;
}

Test(e2e_endpoints, beyond_16_scrapes_in_flight_a_scrape_gets_503_and_the_connection_closes)
{
    char cfg[4096], addr[160];
    struct httpc held[16], h;
    struct httpc_response r;
    const char two[] = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
                       "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
    char *m;

    make_dir();
    hits_config(cfg, sizeof(cfg), 0);
    cfg[strlen(cfg) - 3] = '\0'; /* the endpoint's closing "}]}": promhttp on it */
    strcat(cfg, ", \"promhttp\": true}]}");
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0);
    send_hits(); /* a scrape nobody reads stays in flight */
    snprintf(addr, sizeof(addr), "unix:%s/app.sock", dir);
    for (int i = 0; i < 16; i++) {
        cr_assert_eq(httpc_open(&held[i], addr, 10000), 0);
        cr_assert_eq(httpc_request(&held[i], "GET", "/metrics", NULL), 0);
    }
    cr_assert(in_flight_reaches(16), "16 scrapes are not in flight");

    /* The 17th, with a second request pipelined behind it: 503, then the close. */
    cr_assert_eq(httpc_open(&h, addr, 10000), 0);
    cr_assert_eq(httpc_send(&h, two, sizeof(two) - 1), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 503);
    cr_assert_str_eq(httpc_header(&r, "Connection"), "close");
    cr_assert_not_null(strstr(r.body, "too many scrapes in flight"), "%s", r.body);
    httpc_response_release(&r);
    cr_assert_eq(httpc_wait_closed(&h, 3000), 0, "the pipelined request was answered");
    httpc_close(&h);

    for (int i = 0; i < 16; i++)
        httpc_close(&held[i]);
    cr_assert(in_flight_reaches(0), "the abandoned scrapes are still in flight");
    m = scrape_at("app", "/metrics");
    cr_assert_eq(expo_value(m, "promhttp_metric_handler_requests_total{code=\"503\"}"), 1);
    free(m);
}

/*
 * A route that cannot be added (the default endpoint's path taken by /debug, which shares
 * its listener) stops start-up: the log names the address and the path, then the stop,
 * and the status is 1.
 */
Test(e2e_endpoints, a_route_that_cannot_be_added_stops_start_up_naming_it)
{
    char path[128], sock[128], *out = NULL;
    const char *args[] = {
        "--config",       path,     "--socket", sock, "--metrics-listen", "127.0.0.1:0",
        "--metrics-path", "/debug", NULL
    };
    FILE *f;

    make_dir();
    snprintf(path, sizeof(path), "%s/route.json", dir);
    snprintf(sock, sizeof(sock), "%s/route.sock", dir);
    f = fopen(path, "w");
    fputs("{}\n", f);
    fclose(f);
    cr_assert_eq(daemon_run_once(args, &out), 1, "%s", out);
    cr_assert_not_null(strstr(out, "start-up failed: 127.0.0.1:0/debug: two endpoints on one path"),
                       "%s", out);
    cr_assert_not_null(strstr(out, "start-up failure: stopping"), "%s", out);
    free(out);
}

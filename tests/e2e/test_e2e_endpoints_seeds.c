/*
 * End to end through the real binary: each seed's scrape endpoints set up from its own
 * shipped config (packaging/seeds), with the endpoints' addresses moved to Unix sockets
 * in a directory of the test's: seed 003's three targets from one daemon, seed 004's
 * endpoint of the application's families only, seed 000's resource attributes from the
 * OpenTelemetry variables on every series.
 */
#include "endpoints_fixture.h"

TestSuite(e2e_endpoints, .fini = fini);

/* The number of "# TYPE " lines: families in a text exposition. */
static int families_in(const char *body)
{
    int n = 0;

    for (const char *p = body; (p = strstr(p, "# TYPE ")) != NULL; p++)
        n++;
    return n;
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

/*
 * The daemon on a seed's config (edited by edit, when not NULL), sent lines, once it has
 * accepted all n of them.
 */
static void start_fed(const char *seed, void (*edit)(json_t *root), const char *lines, double n)
{
    char *cfg = seed_config(seed, edit);

    cr_assert_eq(daemon_start(&d, cfg, NULL), 0);
    free(cfg);
    cr_assert_eq(daemon_sends(&d, lines), 0);
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", n, 5000), n);
}

/* ---- seed 003: one target per process ---- */

Test(e2e_endpoints, seed_003_three_targets_from_one_daemon)
{
    char *api, *micro, *ml, *own;

    make_dir();
    start_fed("003-gallery", NULL,
              "immich_users_total:3|g\n"
              "immich_assets_total:120|g|#type:image\n"
              "immich_queues_jobs:4|g|#queue:thumbnailGeneration,status:waiting\n"
              "immich_ml_requests_total:1|c|#task:search,type:clip,status:success",
              4);

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
    char *app;

    make_dir();
    start_fed("004-inference", NULL,
              "inference_errors_total:1|c|#model:m,version:1,error_type:timeout,tenant:t\n"
              "executor_inflight:2|g|#device:cuda0\n"
              "job_queue_depth:+3|g|#model:m,version:1",
              3);
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
    if (attrs != NULL)
        setenv("OTEL_RESOURCE_ATTRIBUTES", attrs, 1);
    else
        unsetenv("OTEL_RESOURCE_ATTRIBUTES");
    unsetenv("OTEL_SERVICE_NAME");
    start_fed("000-imgsrv", no_postgres,
              "imgsrv_objectstore_operations_total:1|c|#operation:put,outcome:success\n"
              "imgsrv_objectstore_operation_duration_seconds:0.2|h|#operation:put,"
              "outcome:success\n"
              "cas-promotion:worked|j\n"
              "datadog.dogstatsd.client.packets_sent:3|c|#client:go,client_version:5.3.0,"
              "client_transport:uds",
              4);
    unsetenv("OTEL_RESOURCE_ATTRIBUTES");
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

/*
 * End to end through the real binary: two endpoints sharing a listener, one with promhttp
 * counting its scrapes, the other behind a bearer token of its own; a reload changes
 * what an endpoint serves, never where.
 */
#include "endpoints_fixture.h"

TestSuite(e2e_endpoints, .fini = fini);

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

/*
 * End to end through the real binary: what stops start-up, naming its cause. Hostile
 * endpoint configurations, refused with their key; a malformed OpenTelemetry variable;
 * one address in two spellings; a flag given twice; a route that cannot be added.
 */
#include "endpoints_fixture.h"

TestSuite(e2e_endpoints, .fini = fini);

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

/* tmpl with each @ replaced by the test's directory, into out. */
static void in_dir(char *out, size_t cap, const char *tmpl)
{
    size_t n = 0;

    for (const char *p = tmpl; *p != '\0'; p++) {
        const char *s = *p == '@' ? dir : p;
        size_t len = *p == '@' ? strlen(dir) : 1;

        cr_assert_lt(n + len, cap, "too long: %s", tmpl);
        memcpy(out + n, s, len);
        n += len;
    }
    out[n] = '\0';
}

/*
 * Configurations refused, each with what the refusal names (its key, mostly); @ stands
 * for the test's directory. metrics_listen, when set, is the --metrics-listen flag.
 */
static const struct hostile {
    const char *json, *metrics_listen, *want;
} hostile[] = {
    /* A path clash on one address. */
    { "{\"families\": [{\"name\": \"a\", \"type\": \"counter\", \"group\": \"g\"}],"
      " \"endpoints\": [{\"name\": \"x\", \"listen\": \"unix:@/x.sock\"},"
      "                 {\"name\": \"y\", \"listen\": \"unix:@/x.sock\"}]}",
      NULL, "$.endpoints[1]: \"y\" and $.endpoints[0] (\"x\") are both at" },
    /* An unknown group, an unknown family, a job family by name. */
    { "{\"families\": [{\"name\": \"a\", \"type\": \"counter\", \"group\": \"g\"}],"
      " \"endpoints\": [{\"name\": \"x\", \"listen\": \"unix:@/x.sock\", \"groups\": "
      "[\"g\", \"nope\"]}]}",
      NULL, "$.endpoints[0].groups[1]: no family or SQL metric has the group \"nope\"" },
    { "{\"families\": [{\"name\": \"a\", \"type\": \"counter\"}],"
      " \"endpoints\": [{\"name\": \"x\", \"listen\": \"unix:@/x.sock\", \"families\": "
      "[\"a_total\", \"b\"]}]}",
      NULL, "$.endpoints[0].families[1]: no family or SQL metric is named \"b\"" },
    /* The default endpoint's address and path, as the flags leave them. */
    { "{\"endpoints\": [{\"name\": \"x\", \"listen\": \"unix:@/x.sock\", \"families\": []}]}",
      "unix:@/x.sock", "the default endpoint's address and path" },
    /* A resource label a served family already has. */
    { "{\"resource\": {\"service.name\": \"s\"},"
      " \"families\": [{\"name\": \"a\", \"type\": \"counter\", \"labels\": [{\"name\": "
      "\"service_name\", \"values\": [\"v\"]}]}],"
      " \"endpoints\": [{\"name\": \"x\", \"listen\": \"unix:@/x.sock\", "
      "\"resource_labels\": true}]}",
      NULL, "$.endpoints[0].resource_labels: the attribute service.name" },
    { "{\"resource\": {\"outcome\": \"x\"}, \"jobs\": {\"list\": [\"j\"]},"
      " \"endpoints\": [{\"name\": \"x\", \"listen\": \"unix:@/x.sock\", "
      "\"resource_labels\": [\"outcome\"]}]}",
      NULL, "but the job families have a label outcome" },
    { "{\"families\": [{\"name\": \"promhttp_metric_handler_requests\", \"type\": "
      "\"counter\"}]}",
      NULL, "$.families[0].name: \"promhttp_metric_handler_requests\": the prefixes" },
    /* Reserved names and paths. */
    { "{\"endpoints\": [{\"name\": \"debug\", \"listen\": \"unix:@/x.sock\"}]}", NULL,
      "$.endpoints[0].name: reserved" },
    { "{\"endpoints\": [{\"name\": \"x\", \"listen\": \"unix:@/x.sock\", \"path\": "
      "\"/-/ready\"}]}",
      NULL, "$.endpoints[0].path: every listener serves /-/healthy" },
    /* A service whose user does not exist. */
    { "{\"endpoints\": [{\"name\": \"x\", \"listen\": \"unix:@/x.sock\", \"service\": "
      "{\"user\": \"no-such-user-here\"}}]}",
      NULL, "$.endpoints[0].service.user: no user \"no-such-user-here\"" },
};

Test(e2e_endpoints, hostile_configurations_are_refused_with_the_key)
{
    make_dir();
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        char json[2048], listen[128];
        const char *flags[] = { "--metrics-listen", listen, NULL };

        in_dir(json, sizeof(json), hostile[i].json);
        if (hostile[i].metrics_listen != NULL)
            in_dir(listen, sizeof(listen), hostile[i].metrics_listen);
        refused(json, hostile[i].metrics_listen != NULL ? flags : NULL, hostile[i].want);
    }
}

Test(e2e_endpoints, one_address_in_two_spellings_fails_to_bind_naming_the_endpoint)
{
    char json[1024], path[128], *out = NULL;
    const char *args[] = { "--config",         path, "--socket", "/tmp/ustatsd-ep-never2.sock",
                           "--metrics-listen", "",   NULL };
    int port = daemon_free_port();
    FILE *f;

    cr_assert_gt(port, 0);
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

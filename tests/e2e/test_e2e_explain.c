/*
 * `ustatsd explain` through the real binary: against a config file, against a running
 * daemon (--url, its config and counts from /debug), and the README's "Sending metrics"
 * lines against the quick-start config, read from README.md itself so that the test
 * fails when the README drifts.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"

#define EXAMPLE_CONFIG USTATSD_SOURCE_DIR "/packaging/ustatsd.example.json"

/*
 * The statsd lines of README.md's "Sending metrics": every line of its first fenced block
 * that has no language, and every inline code span that reads as a line (starts with a
 * letter or '_' and holds a '|'). At most max; returns how many.
 */
static size_t readme_lines(char *readme, char **lines, size_t max)
{
    char *sec = strstr(readme, "\n## Sending metrics\n"), *end, *p, *fence;
    size_t n = 0;

    cr_assert_not_null(sec, "README.md has no \"Sending metrics\" section");
    sec += 1;
    end = strstr(sec + 3, "\n## ");
    if (end != NULL)
        *end = '\0';
    fence = strstr(sec, "\n```\n");
    cr_assert_not_null(fence, "no plain fenced block in \"Sending metrics\"");
    for (p = fence + 5; *p != '\0' && strncmp(p, "```", 3) != 0 && n < max;) {
        char *nl = strchr(p, '\n');

        cr_assert_not_null(nl);
        *nl = '\0';
        if (*p != '\0')
            lines[n++] = p;
        p = nl + 1;
    }
    cr_assert_eq(strncmp(p, "```", 3), 0, "the block ends");
    for (p = strchr(p + 3, '\n'); p != NULL && (p = strchr(p, '`')) != NULL && n < max;) {
        char *close;

        if (p[1] == '`') { /* a fence: skip it whole */
            p = strstr(p + 3, "```");
            p = p != NULL ? p + 3 : NULL;
            continue;
        }
        close = strchr(p + 1, '`');
        if (close == NULL)
            break;
        *close = '\0';
        if ((p[1] == '_' || (p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z')) &&
            strchr(p + 1, '|') != NULL && strchr(p + 1, ' ') == NULL)
            lines[n++] = p + 1;
        p = close + 1;
    }
    return n;
}

Test(e2e_explain, the_readmes_sending_metrics_lines_are_accepted_by_the_quick_start_config)
{
    char *readme = daemon_read_file(USTATSD_SOURCE_DIR "/README.md"), *lines[32], *out = NULL;
    const char *args[40] = { "explain", "--config", EXAMPLE_CONFIG };
    size_t n, i;
    int rc;

    cr_assert_not_null(readme);
    n = readme_lines(readme, lines, 32);
    cr_assert_geq(n, 4, "the section's lines: %zu", n);
    for (i = 0; i < n; i++)
        args[3 + i] = lines[i];
    args[3 + n] = NULL;
    rc = daemon_run_once(args, &out);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    for (i = 0; i < n; i++)
        daemon_want(out, 1, "accepted  %s\n", lines[i]);
    daemon_want(out, 0, "rejected");
    free(out);
    free(readme);
}

Test(e2e_explain, a_refused_line_exits_1_with_the_reason_and_a_bad_config_2)
{
    const char *refused[] = { "explain",
                              "--config",
                              EXAMPLE_CONFIG,
                              "--",
                              "imgsrv_objectstore_operations_total:1|c|#operation:fetch",
                              "imgsrv_objectstore_operations_total:1|c",
                              NULL };
    const char *nofile[] = { "explain", "--config", "/nonexistent/ustatsd.json", "a:1|c", NULL };
    const char *nolines[] = { "explain", "--config", EXAMPLE_CONFIG, NULL };
    char *out = NULL;

    cr_assert_eq(daemon_run_once(refused, &out), 1, "%s", out);
    daemon_want(out, 1,
                "rejected  imgsrv_objectstore_operations_total:1|c|#operation:fetch\n"
                "  reason    label_value_not_allowed: label value not in the enumeration\n"
                "  at        operation:fetch\n"
                "  config    families.imgsrv_objectstore_operations.labels.operation."
                "values\n");
    daemon_want(out, 1, "accepted  imgsrv_objectstore_operations_total:1|c\n");
    free(out);
    cr_assert_eq(daemon_run_once(nofile, &out), 2, "%s", out);
    daemon_want(out, 1, "/nonexistent/ustatsd.json");
    free(out);
    cr_assert_eq(daemon_run_once(nolines, &out), 2, "%s", out);
    daemon_want(out, 1, "usage: ustatsd explain");
    free(out);
}

Test(e2e_explain, lines_from_standard_input)
{
    char cmd[1024], buf[4096];
    FILE *p;
    size_t n;
    int status;

    snprintf(cmd, sizeof cmd,
             "printf 'nope:1|c\\n\\npublish:worked|j\\n' | '%s' explain --config '%s' -",
             getenv("USTATSD_BIN"), EXAMPLE_CONFIG);
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = '\0';
    status = pclose(p);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d:\n%s", status, buf);
    daemon_want(buf, 1, "rejected  nope:1|c\n  reason    unknown_family");
    daemon_want(buf, 1, "accepted  publish:worked|j\n  job       publish (jobs.list)\n");
}

Test(e2e_explain, a_running_daemons_config_and_counts)
{
    struct daemon d;
    char config[512], url[64], *out = NULL;
    int port = daemon_free_port();
    const char *args[] = {
        "explain",           "--url",   url, "hits:1|c|#code:200", "hits:1|c|#code:201",
        "hits:1|c|#code:2x", "hit:1|c", NULL
    };

    snprintf(config, sizeof config,
             "{\"daemon\": {\"debug_listen\": \"127.0.0.1:%d\"},"
             " \"families\": [{\"name\": \"hits\", \"type\": \"counter\","
             "   \"labels\": [{\"name\": \"code\", \"max_values\": 2, \"pattern\": \"[0-9]+\"}]}]}",
             port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    cr_assert_eq(daemon_start(&d, config, NULL), 0);
    daemon_sends(&d, "hits:1|c|#code:200");
    cr_assert_eq(daemon_wait_value(&d, "hits_total{code=\"200\"}", 1, 5000), 1);
    cr_assert_eq(daemon_run_once(args, &out), 1, "%s", out);
    daemon_want(out, 1,
                "accepted  hits:1|c|#code:200\n"
                "  family    hits (counter)\n"
                "  series    hits_total{code=\"200\"}\n");
    daemon_want(out, 2,
                "  daemon    family hits holds 1 of 20000 series; all families 1 of "
                "200000\n");
    daemon_want(out, 1, "  daemon    label code holds 1 of 2 values; \"200\" is one of them\n");
    daemon_want(out, 1,
                "  daemon    label code holds 1 of 2 values; \"201\" is not among those "
                "shown\n");
    daemon_want(out, 1, "  config    families.hits.labels.code.pattern\n");
    daemon_want(out, 1,
                "rejected  hit:1|c\n"
                "  reason    unknown_family: metric name is not in the allowlist\n"
                "  at        hit\n"
                "  config    families\n"
                "  nearest   hits (family)\n");
    free(out);
    cr_assert_eq(daemon_stop(&d), 0);
}

Test(e2e_explain, debug_serves_the_running_allowlist_only_when_asked)
{
    struct daemon d;
    char *body = NULL;

    cr_assert_eq(daemon_start(&d,
                              "{\"families\": [{\"name\": \"a\", \"type\": \"gauge\"}],"
                              " \"clients\": {\"strip_tags\": [\"env\"]}}",
                              NULL),
                 0);
    cr_assert_eq(daemon_get(&d, "/debug?section=config", NULL, &body), 200);
    daemon_want(body, 1,
                "\"allowlist\":{\"families\":[{\"name\":\"a\",\"type\":\"gauge\"}],"
                "\"clients\":{\"strip_tags\":[\"env\"]}}");
    daemon_want(body, 0, "\"daemon\"");
    free(body);
    cr_assert_eq(daemon_get(&d, "/debug", NULL, &body), 200);
    daemon_want(body, 0, "allowlist");
    free(body);
    cr_assert_eq(daemon_stop(&d), 0);
}

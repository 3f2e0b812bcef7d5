/*
 * The restart key: what a reload cannot change (cfgload_restart_key), by row of the
 * daemon's keys and for the postgres section.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgtest.h"
#include "config/cfgload.h"
#include "config/config.h"

/* "%s" is where each case puts its own settings. */
static const char restart_base[] = "{%s 'families': [{'name': 'f', 'type': 'gauge'}],"
                                   " 'postgres': {'conninfo': 'host=/tmp'},"
                                   " 'sql_metrics': [{'name': 's', 'group': 'g',"
                                   "   'query': 'SELECT 1 AS v', 'value_column': 'v'}]}";

static const char *restart_key_for(const char *settings, char *buf, size_t len)
{
    static char key[128];
    struct config a, b;
    char text[1024];
    const char *k;

    snprintf(text, sizeof(text), restart_base, "");
    must_parse(&a, text);
    snprintf(text, sizeof(text), restart_base, settings);
    must_parse(&b, text);
    k = cfgload_restart_key(&a, &b, buf, len);
    snprintf(key, sizeof(key), "%s", k ? k : "(none)");
    cfgload_release(&a);
    cfgload_release(&b);
    return key;
}

Test(config, restart_key_names_what_a_reload_cannot_change)
{
    char buf[128];

    cr_assert_str_eq(restart_key_for("", buf, sizeof(buf)), "(none)");
    cr_assert_str_eq(restart_key_for("'limits': {'max_series': 5}, 'groups': {'exclude': ['x']},"
                                     " 'daemon': {'log_level': 'debug'},",
                                     buf, sizeof(buf)),
                     "(none)", "limits, groups and log settings reload");
    cr_assert_str_eq(restart_key_for("'daemon': {'socket': '/run/other.sock'},", buf, sizeof(buf)),
                     "$.daemon.socket");
    cr_assert_str_eq(restart_key_for("'daemon': {'socket_mode': '0600'},", buf, sizeof(buf)),
                     "$.daemon.socket_mode");
    cr_assert_str_eq(
        restart_key_for("'daemon': {'metrics_listen': '127.0.0.1:9999'},", buf, sizeof(buf)),
        "$.daemon.metrics_listen");
    cr_assert_str_eq(
        restart_key_for("'daemon': {'bearer_token_file': '/etc/token'},", buf, sizeof(buf)),
        "(none)", "the token file reloads");
    cr_assert_str_eq(restart_key_for("'groups': {'exclude': ['g']},", buf, sizeof(buf)),
                     "$.groups (sql_metrics[0] \"s\")");
}

/* Every key the daemon and postgres tables flag restart-only is compared, by table order. */
Test(config, restart_key_covers_every_restart_only_row)
{
    static const struct {
        const char *settings, *key;
    } cases[] = {
        { "'daemon': {'socket_group': 'metrics'},", "$.daemon.socket_group" },
        { "'daemon': {'metrics_path': '/m'},", "$.daemon.metrics_path" },
        { "'daemon': {'debug_listen': ''},", "$.daemon.debug_listen" },
        { "'daemon': {'log_format': 'json', 'log_level': 'warn'},", "(none)" },
        { "'daemon': {'bearer_token_file': '/t', 'socket': '/s.sock'},", "$.daemon.socket" },
        { "'daemon': {'socket_group': 'g', 'socket_mode': '0600'},", "$.daemon.socket_mode" },
    };
    char buf[128];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        cr_assert_str_eq(restart_key_for(cases[i].settings, buf, sizeof(buf)), cases[i].key, "%s",
                         cases[i].settings);
}

Test(config, restart_key_compares_the_postgres_sections)
{
    struct config a, b;
    char buf[128];

    must_parse(&a,
               "{'postgres': {'conninfo': 'host=/tmp'},"
               " 'sql_metrics': [{'name': 's', 'query': 'SELECT 1 AS v', 'value_column': 'v'},"
               "                 {'name': 't', 'query': 'SELECT 1 AS v', 'value_column': 'v'}]}");
    must_parse(&b,
               "{'postgres': {'conninfo': 'host=/tmp'},"
               " 'sql_metrics': [{'name': 's', 'query': 'SELECT 1 AS v', 'value_column': 'v'},"
               "                 {'name': 't', 'query': 'SELECT 2 AS v', 'value_column': 'v'}]}");
    cr_assert_str_eq(cfgload_restart_key(&a, &b, buf, sizeof(buf)), "$.sql_metrics[1]");
    cfgload_release(&b);
    must_parse(&b,
               "{'postgres': {'conninfo': 'host=/tmp', 'pool_size': 3},"
               " 'sql_metrics': [{'name': 's', 'query': 'SELECT 1 AS v', 'value_column': 'v'},"
               "                 {'name': 't', 'query': 'SELECT 1 AS v', 'value_column': 'v'}]}");
    cr_assert_str_eq(cfgload_restart_key(&a, &b, buf, sizeof(buf)), "$.postgres.pool_size");
    cfgload_release(&b);
    must_parse(&b,
               "{'postgres': {'conninfo': 'host=/tmp', 'statement_timeout_seconds': 1},"
               " 'sql_metrics': [{'name': 's', 'query': 'SELECT 1 AS v', 'value_column': 'v'},"
               "                 {'name': 't', 'query': 'SELECT 1 AS v', 'value_column': 'v'}]}");
    cr_assert_str_eq(cfgload_restart_key(&a, &b, buf, sizeof(buf)),
                     "$.postgres.statement_timeout_seconds");
    cfgload_release(&b);
    must_parse(&b, "{'postgres': {'conninfo': 'host=/other'}}");
    cr_assert_str_eq(cfgload_restart_key(&a, &b, buf, sizeof(buf)), "$.postgres.conninfo");
    cfgload_release(&b);
    must_parse(&b, "{}");
    cr_assert_str_eq(cfgload_restart_key(&a, &b, buf, sizeof(buf)), "$.postgres");
    cfgload_release(&b);
    cfgload_release(&a);
}

/* The tag and value policies, as loaded: keys normalised, patterns compiled and anchored. */

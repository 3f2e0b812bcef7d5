#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "config/cfgclient.h"
#include "cfgtest.h"
#include "config/cfgread.h"
#include "config/config.h"
#include "config/cfgload.h"
#include "base/errcode.h"
#include "statsd.h"

static void load_source(struct config *c, const char *rel)
{
    char path[1024], err[512];
    int rc;

    snprintf(path, sizeof(path), "%s/%s", USTATSD_SOURCE_DIR, rel);
    rc = cfgload_file(c, path, err, sizeof(err));
    cr_assert_eq(rc, 0, "%s: %s", rel, err);
}

static const struct config_family *family(const struct config *c, const char *name)
{
    long i = config_find_family(c, name, strlen(name));

    cr_assert_geq(i, 0, "family %s not found", name);
    return &c->families[i];
}

Test(config, loads_every_seed_config)
{
    static const char *const files[] = {
        "packaging/seeds/000-imgsrv/ustatsd.json",      "packaging/seeds/001-imgforge/ustatsd.json",
        "packaging/seeds/002-connaisseur/ustatsd.json", "packaging/seeds/003-gallery/ustatsd.json",
        "packaging/seeds/004-inference/ustatsd.json",
    };

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        struct config c;

        load_source(&c, files[i]);
        cr_assert_gt(c.nfamilies, 0, "%s", files[i]);
        cfgload_release(&c);
    }
}

Test(config, example_shows_every_feature)
{
    struct config c;
    const struct config_family *f;
    long j;

    load_source(&c, "packaging/ustatsd.example.json");
    cr_assert_str_eq(c.socket_path, "/tmp/ustatsd.sock");
    cr_assert_str_eq(c.metrics_listen, "127.0.0.1:9464");
    cr_assert_eq(c.socket_mode, 0660);
    cr_assert_eq(c.has_postgres, 0, "the example needs no external service");
    cr_assert_eq(c.nresource, 2);
    cr_assert_str_eq(c.resource[0].key, "service.name");
    cr_assert_str_eq(c.resource[0].value, "imgsrv");
    cr_assert_str_eq(c.resource[1].key, "service.version");

    f = family(&c, "imgsrv_objectstore_operations_total");
    cr_assert_eq(f->type, FAMILY_COUNTER);
    cr_assert_str_eq(f->name, "imgsrv_objectstore_operations");
    cr_assert_eq(f->labels[1].nvalues, 7);
    cr_assert_str_eq(f->labels[1].values[2], "conflict");

    f = family(&c, "inference_latency_seconds");
    cr_assert_eq(f->nbuckets, 11);
    cr_assert_eq(f->buckets[0], 0.005);
    cr_assert_eq(f->buckets[2], 0.02);
    cr_assert_eq(f->buckets[10], 10.0);
    cr_assert_eq(f->labels[2].max_values, 200);

    f = family(&c, "immich_ml_request_duration_ms");
    cr_assert_eq(f->unit_ms, 1);
    cr_assert_eq(f->nbuckets, 11);
    cr_assert_eq(f->buckets[0], 5.0);
    cr_assert_eq(f->buckets[10], 10000.0);

    cr_assert_eq(family(&c, "job_queue_depth")->ttl_seconds, 300.0);
    cr_assert_eq(family(&c, "imgsrv_host_load_ratio")->excluded, 1);
    cr_assert_eq(family(&c, "job_queue_depth")->excluded, 0);

    cr_assert_str_eq(c.job_prefix, "imgsrv_background_job");
    j = config_find_job(&c, "cas-promotion", strlen("cas-promotion"));
    cr_assert_geq(j, 0);
    cr_assert_eq(c.jobs[j].failure_threshold, 3);
    cr_assert_eq(c.jobs[j].open_seconds, 30.0);
    j = config_find_job(&c, "publish", strlen("publish"));
    cr_assert_geq(j, 0);
    cr_assert_eq(c.jobs[j].failure_threshold, 5);
    cr_assert_eq(c.jobs[j].open_seconds, 60.0);
    cr_assert_eq(config_find_job(&c, "publis", 6), ERRCODE_UNKNOWN);

    /* writers: only names every Linux machine has, so the example loads anywhere; what
     * the quick start sends stays open to any user. */
    cr_assert_eq(c.nwriters, 2);
    f = family(&c, "imgsrv_host_load_ratio");
    cr_assert_not_null(f->writers);
    cr_assert_eq(f->writers->scope, CONFIG_WRITERS_PREFIX);
    cr_assert_eq(f->writers->nuids, 1);
    cr_assert_eq(f->writers->uids[0], 0);
    cr_assert_eq(f->writers->ngids, 1);
    cr_assert_eq(f->writers->gids[0], 0);
    cr_assert_null(family(&c, "imgsrv_objectstore_operations_total")->writers);
    cr_assert_null(family(&c, "job_queue_depth")->writers);
    j = config_find_job(&c, "cas-promotion", strlen("cas-promotion"));
    cr_assert_not_null(c.jobs[j].writers);
    cr_assert_eq(c.jobs[j].writers->scope, CONFIG_WRITERS_JOB);
    j = config_find_job(&c, "publish", strlen("publish"));
    cr_assert_null(c.jobs[j].writers);
    cfgload_release(&c);
}

Test(config, imgsrv_seed_has_bounded_http_labels_and_sql_metrics)
{
    struct config c;
    const struct config_family *f;

    load_source(&c, "packaging/seeds/000-imgsrv/ustatsd.json");
    f = family(&c, "http.server.request.duration_seconds");
    cr_assert_str_eq(f->name, "http_server_request_duration_seconds");
    cr_assert_eq(f->nlabels, 8, "the 7 of the seed, and OpenTelemetry's error_type");
    for (size_t i = 0; i < f->nlabels; i++)
        cr_assert(f->labels[i].nvalues > 0 || f->labels[i].max_values <= 100, "%s unbounded",
                  f->labels[i].name);
    cr_assert_str_eq(f->labels[0].name, "http_request_method");
    cr_assert_eq(f->undeclared, CONFIG_UNDECLARED_DROP, "a new attribute costs no request");
    cr_assert_str_eq(f->labels[0].overflow, "_OTHER");
    cr_assert_not_null(f->labels[2].pattern_re, "http_route holds route patterns only");
    cr_assert_eq(c.has_postgres, 1);
    cr_assert_str_eq(c.pg_conninfo,
                     "host=/var/run/postgresql dbname=imgsrv application_name=ustatsd");
    cr_assert_eq(c.pg_pool_size, 2);
    cr_assert_eq(c.nsql_metrics, 12);
    cr_assert_str_eq(c.sql_metrics[0].name, "imgsrv_upload_sessions");
    cr_assert_str_eq(c.sql_metrics[0].label_columns[0], "state");
    cr_assert_str_eq(c.sql_metrics[0].value_column, "n");
    cr_assert_eq(c.sql_metrics[0].min_interval_seconds, CONFIG_DEFAULT_SQL_MIN_INTERVAL);
    cr_assert_eq(c.sql_metrics[4].min_interval_seconds, 30.0);
    cr_assert_str_eq(c.sql_metrics[2].unit, "seconds");
    cr_assert_eq(c.sql_metrics[2].nlabels, 0);
    cr_assert_str_eq(c.sql_metrics[7].labels[0].overflow, "__other__");
    cr_assert_not_null(c.sql_metrics[7].labels[1].pattern_re, "publish step states");
    cr_assert_eq(c.sql_metrics[7].fold, CONFIG_SQL_FOLD_SUM, "counts of rows add up");
    cr_assert_eq(c.sql_metrics[8].fold, CONFIG_SQL_FOLD_MAX, "the oldest of the steps folded");
    cr_assert_eq(c.njobs, 2);
    cfgload_release(&c);
}

Test(config, defaults_apply_when_the_file_is_silent)
{
    struct config c;
    const struct config_family *f;

    must_parse(
        &c, "{'limits': {'max_label_values': 7},"
            " 'families': [{'name': 'lat', 'type': 'histogram',"
            "               'labels': [{'name': 'route'}]},"
            "              {'name': 'up', 'type': 'gauge'}],"
            " 'jobs': {'failure_threshold': 2, 'list': ['a', {'name': 'b', 'open_seconds': 9}]}}");
    cr_assert_str_eq(c.path, "test.json");
    cr_assert_str_eq(c.socket_path, CONFIG_DEFAULT_SOCKET);
    cr_assert_eq(c.socket_mode, CONFIG_DEFAULT_SOCKET_MODE);
    cr_assert_null(c.socket_group);
    cr_assert_str_eq(c.metrics_listen, CONFIG_DEFAULT_METRICS_LISTEN);
    cr_assert_str_eq(c.metrics_path, CONFIG_DEFAULT_METRICS_PATH);
    cr_assert_null(c.debug_listen);
    cr_assert_str_eq(c.log_format, "console");
    cr_assert_str_eq(c.log_level, "info");
    cr_assert_null(c.bearer_token_file);
    cr_assert_eq(c.max_series, CONFIG_DEFAULT_MAX_SERIES);
    cr_assert_eq(c.max_series_per_family, CONFIG_DEFAULT_MAX_FAMILY_SERIES);
    cr_assert_eq(c.max_label_value_len, CONFIG_DEFAULT_MAX_LABEL_LEN);
    cr_assert_eq(c.max_label_values, 7);
    cr_assert_eq(c.nresource, 0);
    cr_assert_null(c.include_groups);
    cr_assert_eq(c.has_postgres, 0);
    cr_assert_eq(c.pg_pool_size, CONFIG_DEFAULT_PG_POOL_SIZE);

    f = family(&c, "lat");
    cr_assert_str_eq(f->unit, "seconds");
    cr_assert_eq(f->unit_ms, 0);
    cr_assert_eq(f->nbuckets, 11);
    cr_assert_eq(f->buckets[0], 0.005);
    cr_assert_eq(f->buckets[10], 10.0);
    cr_assert_str_eq(f->help, "");
    cr_assert_str_eq(f->group, "");
    cr_assert_eq(f->ttl_seconds, 0.0);
    cr_assert_null(f->labels[0].values);
    cr_assert_eq(f->labels[0].max_values, 7);
    f = family(&c, "up");
    cr_assert_str_eq(f->unit, "");
    cr_assert_null(f->buckets);

    cr_assert_str_eq(c.job_prefix, CONFIG_DEFAULT_JOB_PREFIX);
    cr_assert_eq(c.njobs, 2);
    cr_assert_eq(c.jobs[0].failure_threshold, 2);
    cr_assert_eq(c.jobs[0].open_seconds, CONFIG_DEFAULT_OPEN_SECONDS);
    cr_assert_eq(c.jobs[1].failure_threshold, 2);
    cr_assert_eq(c.jobs[1].open_seconds, 9.0);
    cfgload_release(&c);
}

Test(config, empty_object_is_a_valid_config)
{
    struct config c;

    /* The default job prefix is under the reserved "ustatsd_", and may be written out. */
    must_parse(&c, "{'jobs': {'prefix': 'ustatsd_background_job'}}");
    cr_assert_str_eq(c.job_prefix, CONFIG_DEFAULT_JOB_PREFIX);
    cfgload_release(&c);
    must_parse(&c, "{}");
    cr_assert_eq(c.nfamilies, CFGCLIENT_NFAMILIES, "only the client telemetry families");
    cr_assert_eq(config_find_family(&c, "x", 1), ERRCODE_UNKNOWN);
    cr_assert_eq(config_find_job(&c, "x", 1), ERRCODE_UNKNOWN);
    cfgload_release(&c);
}

Test(config, postgres_conninfo_file_is_read_relative_to_the_config)
{
    char dir[] = "/tmp/ustatsd-config-XXXXXX";
    char cfg[256], pg[256], err[512];
    struct config c;
    FILE *f;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(cfg, sizeof(cfg), "%s/ustatsd.json", dir);
    snprintf(pg, sizeof(pg), "%s/pg.conninfo", dir);
    f = fopen(pg, "w");
    cr_assert_not_null(f);
    fputs("host=/var/run/postgresql dbname=imgsrv \n\n", f);
    fclose(f);
    f = fopen(cfg, "w");
    cr_assert_not_null(f);
    fputs("{\"postgres\": {\"conninfo_file\": \"pg.conninfo\", \"pool_size\": 64,"
          " \"statement_timeout_seconds\": 0.5}}",
          f);
    fclose(f);

    cr_assert_eq(cfgload_file(&c, cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(c.has_postgres, 1);
    cr_assert_str_eq(c.pg_conninfo, "host=/var/run/postgresql dbname=imgsrv");
    cr_assert_eq(c.pg_pool_size, 64);
    cr_assert_eq(c.pg_connect_timeout, CONFIG_DEFAULT_PG_CONNECT_TIMEOUT);
    cr_assert_eq(c.pg_statement_timeout, 0.5);
    cfgload_release(&c);

    /* An empty file is refused, and the refusal leaves nothing behind. */
    f = fopen(pg, "w");
    cr_assert_not_null(f);
    fputs(" \n", f);
    fclose(f);
    cr_assert_eq(cfgload_file(&c, cfg, err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert_not_null(strstr(err, ": $.postgres.conninfo_file: is empty"), "%s", err);
    cr_assert_null(c.pg_conninfo);

    unlink(pg);
    cr_assert_eq(cfgload_file(&c, cfg, err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert_not_null(strstr(err, "$.postgres.conninfo_file: cannot read"), "%s", err);
    cr_assert_not_null(strstr(err, "No such file or directory"), "%s", err);

    /* A FIFO in its place is refused at once, not waited on for a writer. */
    cr_assert_eq(mkfifo(pg, 0600), 0);
    cr_assert_eq(cfgload_file(&c, cfg, err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert_not_null(strstr(err, "$.postgres.conninfo_file: cannot read "), "%s", err);
    cr_assert_not_null(strstr(err, "/pg.conninfo: not a regular file"), "%s", err);
    unlink(pg);
    unlink(cfg);
    rmdir(dir);
}

Test(config, missing_file_is_named)
{
    struct config c;
    char err[512];

    cr_assert_eq(cfgload_file(&c, "/nonexistent/ustatsd.json", err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert_str_eq(err, "/nonexistent/ustatsd.json: cannot read: No such file or directory");
    cr_assert_eq(cfgload_file(&c, "/tmp", err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert_str_eq(err, "/tmp: cannot read: not a regular file");
    cfgload_release(&c);
}

Test(config, syntax_errors_carry_line_and_column)
{
    struct config c;
    char err[512];
    const char *text = "{\n  \"daemon\": {\n    \"socket\": ,\n  }\n}\n";

    cr_assert_eq(cfgload_text(&c, text, strlen(text), "ustatsd.json", err, sizeof(err)),
                 ERRCODE_CONFIG);
    cr_assert_eq(strncmp(err, "ustatsd.json:3:15: ", 19), 0, "%s", err);
    cr_assert_eq(c.nfamilies, 0);

    /* jansson refuses bytes that are not UTF-8, so every string we keep is UTF-8. */
    text = "{\"resource\": {\"service.name\": \"\xff\"}}";
    cr_assert_eq(cfgload_text(&c, text, strlen(text), "ustatsd.json", err, sizeof(err)),
                 ERRCODE_CONFIG);
    cr_assert_eq(strncmp(err, "ustatsd.json:1:", 15), 0, "%s", err);
    cr_assert_not_null(strstr(err, "0xff"), "%s", err);

    text = "{\"daemon\": {}, \"daemon\": {}}";
    cr_assert_eq(cfgload_text(&c, text, strlen(text), "ustatsd.json", err, sizeof(err)),
                 ERRCODE_CONFIG);
    cr_assert_not_null(strstr(err, "duplicate object key"), "%s", err);
    cfgload_release(&c);
}

struct bad {
    char json[360];
    char path[96];
    char msg[72];
};

ParameterizedTestParameters(config, refuses_broken_configs)
{
    static struct bad cases[] = {
        /* structure and unknown keys, at every level */
        { "[]", "$", "expected an object, got an array" },
        { "{'famlies': []}", "$.famlies", "unknown key" },
        { "{'daemon': {'sockt': '/x'}}", "$.daemon.sockt", "unknown key" },
        { "{'daemon': []}", "$.daemon", "expected an object" },
        /* the UDP listener: its syntax here; the loopback rule once the flags are read */
        { "{'daemon': {'udp_listen': 'example.com:8125'}}", "$.daemon.udp_listen",
          "names are not resolved" },
        { "{'daemon': {'udp_listen': '127.0.0.1'}}", "$.daemon.udp_listen", "host:port" },
        { "{'daemon': {'udp_listen': '127.0.0.1:65536'}}", "$.daemon.udp_listen", "port 0 to" },
        { "{'daemon': {'udp_listen': '[::1:8125'}}", "$.daemon.udp_listen", "[IPv6]:port" },
        { "{'daemon': {'udp_listen': 8125}}", "$.daemon.udp_listen", "expected a string" },
        { "{'daemon': {'udp_allow_remote': 'yes'}}", "$.daemon.udp_allow_remote",
          "expected true or false" },
        { "{'daemon': {'udp_rcvbuf': 100}}", "$.daemon.udp_rcvbuf", "4096" },
        { "{'daemon': {'udp_rcvbuf': 2147483648}}", "$.daemon.udp_rcvbuf", "1073741824" },
        { "{'limits': {'max_serie': 1}}", "$.limits.max_serie", "unknown key" },
        { "{'groups': {'inlcude': 'all'}}", "$.groups.inlcude", "unknown key" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labls': []}]}", "$.families[0].labls",
          "unknown key" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'value': "
          "['a']}]}]}",
          "$.families[0].labels[0].value", "unknown key" },
        { "{'jobs': {'lst': []}}", "$.jobs.lst", "unknown key" },
        { "{'jobs': {'list': [{'name': 'a', 'threshold': 1}]}}", "$.jobs.list[0].threshold",
          "unknown key" },
        { "{'postgres': {'conninfo': 'x', 'pool': 1}}", "$.postgres.pool", "unknown key" },
        { "{'postgres': {'conninfo': 'x'}, 'sql_metrics': [{'name': 'a', 'qury': 'x'}]}",
          "$.sql_metrics[0].qury", "unknown key" },
        /* daemon */
        { "{'daemon': {'socket': ''}}", "$.daemon.socket", "must not be empty" },
        { "{'daemon': {'socket': 1}}", "$.daemon.socket", "expected a string, got a number" },
        { "{'daemon': {'socket_mode': 432}}", "$.daemon.socket_mode", "expected an octal string" },
        { "{'daemon': {'socket_mode': '0989'}}", "$.daemon.socket_mode", "octal" },
        { "{'daemon': {'socket_mode': '1777'}}", "$.daemon.socket_mode", "at most 0777" },
        { "{'daemon': {'socket_group': ''}}", "$.daemon.socket_group", "must not be empty" },
        { "{'daemon': {'metrics_listen': 'localhost'}}", "$.daemon.metrics_listen",
          "is not \"host:port\"" },
        { "{'daemon': {'metrics_listen': '127.0.0.1:99999'}}", "$.daemon.metrics_listen",
          "host:port" },
        { "{'daemon': {'debug_listen': 'unix:relative'}}", "$.daemon.debug_listen", "unix:/path" },
        { "{'daemon': {'metrics_path': 'metrics'}}", "$.daemon.metrics_path",
          "must start with '/'" },
        { "{'daemon': {'log_format': 'text'}}", "$.daemon.log_format", "\"console\" or" },
        { "{'daemon': {'log_level': 'verbose'}}", "$.daemon.log_level", "\"warn\"" },
        { "{'daemon': {'bearer_token_file': 3}}", "$.daemon.bearer_token_file", "or null" },
        /* limits */
        { "{'limits': {'max_series': 0}}", "$.limits.max_series", "expected an integer >= 1" },
        { "{'limits': {'max_series': '10'}}", "$.limits.max_series", "integer" },
        { "{'limits': {'max_series_per_family': 1.5}}", "$.limits.max_series_per_family",
          "integer" },
        { "{'limits': {'max_label_value_length': 257}}", "$.limits.max_label_value_length",
          "from 1 to 256" },
        { "{'limits': {'max_label_values': -1}}", "$.limits.max_label_values", ">= 1" },
        /* resource */
        { "{'resource': {'service.name': 1}}", "$.resource[\"service.name\"]",
          "expected the value (a string)" },
        { "{'resource': {'9lives': 'x'}}", "$.resource[\"9lives\"]", "not a valid label name" },
        { "{'resource': {'a.b': 'x', 'a-b': 'y'}}", "$.resource[\"a-b\"]", "clashes with" },
        { "{'resource': {'service.name': ''}}", "$.resource[\"service.name\"]",
          "must not be empty" },
        { "{'resource': {'k00': 'v', 'k01': 'v', 'k02': 'v', 'k03': 'v', 'k04': 'v', 'k05': 'v', "
          "'k06': 'v', 'k07': 'v', 'k08': 'v', 'k09': 'v', 'k10': 'v', 'k11': 'v', 'k12': 'v', "
          "'k13': 'v', 'k14': 'v', 'k15': 'v', 'k16': 'v'}}",
          "$.resource", "17 attributes, at most 16" },
        { "{'resource': {'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk': 'v'}}",
          "$.resource.kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
          "longer than 63" },
        /* groups */
        { "{'groups': {'include': 'some'}}", "$.groups.include", "expected \"all\"" },
        { "{'groups': {'exclude': [1]}}", "$.groups.exclude[0]", "expected a group name" },
        { "{'groups': {'exclude': ['a b']}}", "$.groups.exclude[0]", "expected a group name" },
        /* family names */
        { "{'families': {}}", "$.families", "expected an array of family objects" },
        { "{'families': ['a']}", "$.families[0]", "expected an object, got a string" },
        { "{'families': [{'name': 'a'}]}", "$.families[0].type", "missing" },
        { "{'families': [{'name': 'a', 'type': 'timer'}]}", "$.families[0].type",
          "\"histogram\" or \"summary\"" },
        { "{'families': [{'type': 'gauge'}]}", "$.families[0].name", "missing" },
        { "{'families': [{'name': 'a b', 'type': 'gauge'}]}", "$.families[0].name",
          "not a valid metric name" },
        { "{'families': [{'name': '1a', 'type': 'gauge'}]}", "$.families[0].name",
          "not a valid metric name" },
        { "{'families': [{'name': 'a:b', 'type': 'gauge'}]}", "$.families[0].name",
          "not a valid metric name" },
        { "{'families': [{'name': '__a', 'type': 'gauge'}]}", "$.families[0].name",
          "not a valid metric name" },
        { "{'families': [{'name': 'ustatsd_up', 'type': 'gauge'}]}", "$.families[0].name",
          "reserved" },
        { "{'families': [{'name': 'process_open_fds', 'type': 'gauge'}]}", "$.families[0].name",
          "reserved" },
        { "{'postgres': {'conninfo': 'a'}, 'sql_metrics': [{'name': 'ustatsd.x', 'query': 'q', "
          "'value_column': 'v'}]}",
          "$.sql_metrics[0].name", "reserved" },
        { "{'families': [{'name': '_total', 'type': 'counter'}]}", "$.families[0].name",
          "empty without" },
        { "{'families': [{'name': 'a.b', 'type': 'gauge'}, {'name': 'a-b', 'type': 'gauge'}]}",
          "$.families[1].name", "clashes with $.families[0].name" },
        { "{'families': [{'name': 'x_total', 'type': 'counter'}, {'name': 'x', 'type': "
          "'counter'}]}",
          "$.families[1].name", "clashes with $.families[0].name" },
        { "{'families': [{'name': 'x', 'type': 'counter'}, {'name': 'x_total', 'type': "
          "'gauge'}]}",
          "$.families[1].name", "both expose \"x_total\"" },
        { "{'families': [{'name': 'h_count', 'type': 'gauge'}, {'name': 'h', 'type': "
          "'histogram'}]}",
          "$.families[1].name", "both expose \"h_count\"" },
        { "{'families': [{'name': 'target_info', 'type': 'gauge'}]}", "$.families[0].name",
          "target_info" },
        /* family fields */
        { "{'families': [{'name': 'a', 'type': 'gauge', 'help': 1}]}", "$.families[0].help",
          "expected a string" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'unit': 'Seconds'}]}", "$.families[0].unit",
          "not a unit" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'group': ''}]}", "$.families[0].group",
          "not a group name" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'ttl_seconds': -1}]}",
          "$.families[0].ttl_seconds", "expected a number >= 0" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'ttl_seconds': '5'}]}",
          "$.families[0].ttl_seconds", "expected a number" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'ttl_seconds': 1e300}]}",
          "$.families[0].ttl_seconds", "expected a number >= 0 and <= 315360000" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'ttl_seconds': 315360000.5}]}",
          "$.families[0].ttl_seconds", "<= 315360000" },
        /* labels */
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': {}}]}", "$.families[0].labels",
          "expected an array of label objects" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{}]}]}",
          "$.families[0].labels[0].name", "missing" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'a.b'}]}]}",
          "$.families[0].labels[0].name", "not a valid label name" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': '__x'}]}]}",
          "$.families[0].labels[0].name", "not a valid label name" },
        { "{'families': [{'name': 'a', 'type': 'histogram', 'labels': [{'name': 'le'}]}]}",
          "$.families[0].labels[0].name", "reserved for histogram buckets" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x'}, {'name': "
          "'x'}]}]}",
          "$.families[0].labels[1].name", "duplicate label \"x\"" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'a'}, {'name': 'b'}, "
          "{'name': 'c'}, {'name': 'd'}, {'name': 'e'}, {'name': 'f'}, {'name': 'g'}, {'name': "
          "'h'}, {'name': 'i'}]}]}",
          "$.families[0].labels", "9 labels, at most 8" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'values': "
          "'get'}]}]}",
          "$.families[0].labels[0].values", "expected a non-empty array of strings" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'values': "
          "[]}]}]}",
          "$.families[0].labels[0].values", "got an empty array" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'values': "
          "[1]}]}]}",
          "$.families[0].labels[0].values[0]", "expected a label value (a string)" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'values': "
          "['a', '']}]}]}",
          "$.families[0].labels[0].values[1]", "must not be empty" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'values': "
          "['a', 'b', 'a']}]}]}",
          "$.families[0].labels[0].values[2]", "duplicate value \"a\"" },
        { "{'limits': {'max_label_value_length': 3}, 'families': [{'name': 'a', 'type': "
          "'gauge', 'labels': [{'name': 'x', 'values': ['abcd']}]}]}",
          "$.families[0].labels[0].values[0]", "longer than max_label_value_length (3" },
        /* enumerated values that no tag can carry (statsd.c parse_tags) */
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'values': "
          "['a', 'b,c']}]}]}",
          "$.families[0].labels[0].values[1]", "\"b,c\" contains ','" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'values': "
          "['a|b']}]}]}",
          "$.families[0].labels[0].values[0]", "contains '|': no tag can carry it" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'values': "
          "['a\\nb']}]}]}",
          "$.families[0].labels[0].values[0]", "\"a\\x0ab\" contains the control byte 0x0a" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'values': "
          "['\\t']}]}]}",
          "$.families[0].labels[0].values[0]", "control byte 0x09" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'y'}, {'name': 'x', "
          "'values': ['a\\u007f']}]}]}",
          "$.families[0].labels[1].values[0]", "control byte 0x7f" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'values': "
          "['a\\u001b']}]}]}",
          "$.families[0].labels[0].values[0]", "control byte 0x1b" },
        { "{'postgres': {'conninfo': 'a'}, 'sql_metrics': [{'name': 'a', 'query': 'q', "
          "'value_column': 'v', 'labels': [{'name': 's', 'values': ['ok', 'x,y']}]}]}",
          "$.sql_metrics[0].labels[0].values[1]", "contains ','" },
        { "{'postgres': {'conninfo': 'a'}, 'sql_metrics': [{'name': 'a', 'query': 'q', "
          "'value_column': 'v', 'labels': [{'name': 's', 'values': ['\\r']}]}]}",
          "$.sql_metrics[0].labels[0].values[0]", "control byte 0x0d" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'values': "
          "['a'], 'max_values': 2}]}]}",
          "$.families[0].labels[0]", "exclusive" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'max_values': "
          "0}]}]}",
          "$.families[0].labels[0].max_values", "expected an integer >= 1" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'max_values': "
          "4294967296}]}]}",
          "$.families[0].labels[0].max_values", "expected an integer >= 1" },
        /* updown */
        { "{'families': [{'name': 'a', 'type': 'counter', 'updown': true}]}",
          "$.families[0].updown", "only a gauge can be up-down" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'updown': 1}]}", "$.families[0].updown",
          "expected true or false, got a number" },
        /* tag and value policy */
        { "{'families': [{'name': 'a', 'type': 'counter', 'undeclared_labels': 'keep'}]}",
          "$.families[0].undeclared_labels", "expected \"reject\" or \"drop\"" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'pattern': "
          "'[a-'}]}]}",
          "$.families[0].labels[0].pattern",
          "\"[a-\" is not a POSIX extended regular expression: " },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'pattern': "
          "'[0-9]+)|(x'}]}]}",
          "$.families[0].labels[0].pattern",
          "\"[0-9]+)|(x\" is not a POSIX extended regular expression" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'pattern': "
          "''}]}]}",
          "$.families[0].labels[0].pattern", "expected 1 to 256 bytes" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'pattern': "
          "7}]}]}",
          "$.families[0].labels[0].pattern", "expected a string, got a number" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'values': "
          "['a'], 'pattern': 'a'}]}]}",
          "$.families[0].labels[0].pattern", "\"pattern\" is for a capped label" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'overflow': "
          "'a,b'}]}]}",
          "$.families[0].labels[0].overflow", "\"a,b\" contains ','" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'x', 'overflow': "
          "''}]}]}",
          "$.families[0].labels[0].overflow", "the overflow value must not be empty" },
        { "{'limits': {'max_label_value_length': 4}, 'families': [{'name': 'a', 'type': 'gauge', "
          "'labels': [{'name': 'x', 'overflow': '__other__'}]}]}",
          "$.families[0].labels[0].overflow", "longer than max_label_value_length (4 bytes)" },
        { "{'clients': {'strip_tags': 'env'}}", "$.clients.strip_tags",
          "expected an array of tag keys, got a string" },
        { "{'clients': {'strip_tags': ['env', 'env']}}", "$.clients.strip_tags[1]",
          "duplicate key \"env\"" },
        { "{'clients': {'strip_tags': ['dd.env', 'dd_env']}}", "$.clients.strip_tags[1]",
          "duplicate key \"dd_env\"" },
        { "{'clients': {'strip_tags': ['a b']}}", "$.clients.strip_tags[0]",
          "\"a b\" is not a tag key that names a label" },
        { "{'clients': {'strip_tags': [1]}}", "$.clients.strip_tags[0]",
          "expected a tag key (a string), got a number" },
        { "{'clients': {'strip_tags': ['a','b','c','d','e','f','g','h','i','j','k','l','m','n',"
          "'o','p','q']}}",
          "$.clients.strip_tags", "17 keys, at most 16 are allowed" },
        { "{'families': [{'name': 'a', 'type': 'gauge', 'labels': [{'name': 'env'}]}], "
          "'clients': {'strip_tags': ['service', 'env']}}",
          "$.clients.strip_tags[1]", "\"env\" is a label of family \"a\" ($.families[0])" },
        { "{'clients': {'strip': ['env']}}", "$.clients.strip", "unknown key" },
        /* buckets */
        { "{'families': [{'name': 'a', 'type': 'counter', 'buckets': [1]}]}",
          "$.families[0].buckets", "only histograms have buckets" },
        { "{'families': [{'name': 'a', 'type': 'histogram', 'buckets': []}]}",
          "$.families[0].buckets", "non-empty array of numbers" },
        { "{'families': [{'name': 'a', 'type': 'histogram', 'buckets': [1, 1]}]}",
          "$.families[0].buckets[1]", "strictly increasing" },
        { "{'families': [{'name': 'a', 'type': 'histogram', 'buckets': [2, 1]}]}",
          "$.families[0].buckets[1]", "strictly increasing (1 after 2)" },
        { "{'families': [{'name': 'a', 'type': 'histogram', 'buckets': ['1']}]}",
          "$.families[0].buckets[0]", "expected a finite number, got a string" },
        /* jobs */
        { "{'jobs': []}", "$.jobs", "expected an object" },
        { "{'jobs': {'prefix': 'a b'}}", "$.jobs.prefix", "not a valid metric name" },
        { "{'jobs': {'failure_threshold': 0}}", "$.jobs.failure_threshold",
          "expected an integer >= 1" },
        { "{'jobs': {'open_seconds': 0}}", "$.jobs.open_seconds", "expected a number > 0" },
        { "{'jobs': {'open_seconds': 1e300}}", "$.jobs.open_seconds",
          "expected a number > 0 and <= 315360000" },
        { "{'jobs': {'list': [{'name': 'a', 'open_seconds': 315360001}]}}",
          "$.jobs.list[0].open_seconds", "<= 315360000" },
        { "{'jobs': {'list': 'a'}}", "$.jobs.list", "expected an array of jobs" },
        { "{'jobs': {'list': [1]}}", "$.jobs.list[0]", "expected a job name or a job object" },
        { "{'jobs': {'list': ['']}}", "$.jobs.list[0]", "must not be empty" },
        { "{'jobs': {'list': ['a', 'a']}}", "$.jobs.list[1]", "duplicate job \"a\"" },
        { "{'jobs': {'list': [{'failure_threshold': 1}]}}", "$.jobs.list[0].name", "missing" },
        { "{'jobs': {'list': [{'name': 2}]}}", "$.jobs.list[0].name", "a string" },
        { "{'jobs': {'list': [{'name': 'a', 'open_seconds': -1}]}}", "$.jobs.list[0].open_seconds",
          "> 0" },
        { "{'limits': {'max_label_value_length': 2}, 'jobs': {'list': ['abc']}}", "$.jobs.list[0]",
          "longer than max_label_value_length" },
        /* job names: a job line carries them where a metric name goes */
        { "{'jobs': {'list': ['ok', 'my job']}}", "$.jobs.list[1]",
          "\"my job\" is not a valid job name" },
        { "{'jobs': {'list': ['9x']}}", "$.jobs.list[0]",
          "([A-Za-z_][A-Za-z0-9_.-]*, at most 200" },
        { "{'jobs': {'list': ['-x']}}", "$.jobs.list[0]", "not a valid job name" },
        { "{'jobs': {'list': ['a:b']}}", "$.jobs.list[0]", "not a valid job name" },
        { "{'jobs': {'list': ['a|j']}}", "$.jobs.list[0]", "not a valid job name" },
        { "{'jobs': {'list': ['caf\\u00e9']}}", "$.jobs.list[0]", "not a valid job name" },
        { "{'jobs': {'list': ['a\\u001fb']}}", "$.jobs.list[0]", "\"a\\x1fb\" is not a valid" },
        { "{'jobs': {'list': [{'name': 'a b'}]}}", "$.jobs.list[0].name", "not a valid job name" },
        { "{'limits': {'max_label_value_length': 256}, 'jobs': {'list': ['"
          "jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj"
          "jjj"
          "jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj"
          "jjj"
          "jjjjjjjjjjjjjjjjjjj']}}",
          "$.jobs.list[0]", "at most 200 bytes" },
        { "{'jobs': {'prefix': 'bg'}, 'families': [{'name': 'bg_errors_total', 'type': "
          "'counter'}]}",
          "$.families[0].name", "the job families of $.jobs.prefix" },
        { "{'jobs': {'prefix': 'bg'}, 'families': [{'name': 'bg_consecutive_failures', 'type': "
          "'gauge'}]}",
          "$.families[0].name", "the job families of $.jobs.prefix" },
        { "{'jobs': {'prefix': 'bg'}, 'families': [{'name': 'bg_circuit_state', 'type': "
          "'gauge'}]}",
          "$.families[0].name", "the job families of $.jobs.prefix" },
        /* postgres */
        { "{'postgres': {}}", "$.postgres", "exactly one of" },
        { "{'postgres': {'conninfo': 'a', 'conninfo_file': 'b'}}", "$.postgres", "exactly one of" },
        { "{'postgres': {'conninfo': ''}}", "$.postgres.conninfo", "must not be empty" },
        { "{'postgres': {'conninfo': 'a', 'pool_size': 0}}", "$.postgres.pool_size",
          "from 1 to 64" },
        { "{'postgres': {'conninfo': 'a', 'pool_size': 65}}", "$.postgres.pool_size",
          "from 1 to 64" },
        { "{'postgres': {'conninfo': 'a', 'connect_timeout_seconds': 0}}",
          "$.postgres.connect_timeout_seconds", "> 0" },
        { "{'postgres': {'conninfo': 'a', 'connect_timeout_seconds': 1e300}}",
          "$.postgres.connect_timeout_seconds", "expected a number > 0 and <= 86400" },
        { "{'postgres': {'conninfo': 'a', 'statement_timeout_seconds': 86400.001}}",
          "$.postgres.statement_timeout_seconds", "<= 86400" },
        { "{'postgres': {'conninfo_file': '/nonexistent/pg'}}", "$.postgres.conninfo_file",
          "cannot read /nonexistent/pg" },
        /* sql_metrics */
        { "{'sql_metrics': [{'name': 'a', 'query': 'q', 'value_column': 'v'}]}", "$.sql_metrics",
          "need a \"postgres\" section" },
        { "{'postgres': {'conninfo': 'a'}, 'sql_metrics': {}}", "$.sql_metrics",
          "expected an array" },
        { "{'postgres': {'conninfo': 'a'}, 'sql_metrics': [{'name': 'a', 'value_column': "
          "'v'}]}",
          "$.sql_metrics[0].query", "missing" },
        { "{'postgres': {'conninfo': 'a'}, 'sql_metrics': [{'name': 'a', 'query': 'q'}]}",
          "$.sql_metrics[0].value_column", "missing" },
        { "{'postgres': {'conninfo': 'a'}, 'sql_metrics': [{'name': 'a', 'query': 'q', "
          "'value_column': 'v', 'labels': [{'name': 's', 'values': [3]}]}]}",
          "$.sql_metrics[0].labels[0].values[0]", "expected a label value" },
        { "{'postgres': {'conninfo': 'a'}, 'sql_metrics': [{'name': 'a', 'query': 'q', "
          "'value_column': 'v', 'labels': [{'name': 's', 'colum': 's'}]}]}",
          "$.sql_metrics[0].labels[0].colum", "unknown key" },
        { "{'postgres': {'conninfo': 'a'}, 'sql_metrics': [{'name': 'a', 'query': 'q', "
          "'value_column': 'v', 'labels': [{'name': 's', 'column': 'v'}]}]}",
          "$.sql_metrics[0].value_column", "also a label column" },
        { "{'postgres': {'conninfo': 'a'}, 'sql_metrics': [{'name': 'a', 'query': 'q', "
          "'value_column': 'v', 'min_interval_seconds': -1}]}",
          "$.sql_metrics[0].min_interval_seconds", ">= 0" },
        { "{'postgres': {'conninfo': 'a'}, 'sql_metrics': [{'name': 'a', 'query': 'q', "
          "'value_column': 'v', 'timeout_seconds': 0}]}",
          "$.sql_metrics[0].timeout_seconds", "> 0" },
        { "{'postgres': {'conninfo': 'a'}, 'sql_metrics': [{'name': 'a', 'query': 'q', "
          "'value_column': 'v', 'timeout_seconds': 1e300}]}",
          "$.sql_metrics[0].timeout_seconds", "> 0 and <= 86400" },
        { "{'postgres': {'conninfo': 'a'}, 'sql_metrics': [{'name': 'a', 'query': 'q', "
          "'value_column': 'v', 'min_interval_seconds': 1e300}]}",
          "$.sql_metrics[0].min_interval_seconds", ">= 0 and <= 86400" },
        { "{'families': [{'name': 'a', 'type': 'gauge'}], 'postgres': {'conninfo': 'a'}, "
          "'sql_metrics': [{'name': 'a', 'query': 'q', 'value_column': 'v'}]}",
          "$.sql_metrics[0].name", "clashes with $.families[0].name" },
    };

    return cr_make_param_array(struct bad, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad *b, config, refuses_broken_configs)
{
    must_refuse(b->json, b->path, b->msg);
}

Test(config, tag_and_value_policies_load)
{
    struct config c;

    must_parse(&c, "{'families': [{'name': 'req', 'type': 'counter', 'undeclared_labels': 'drop',"
                   "  'labels': [{'name': 'route', 'max_values': 5, 'pattern': '/[a-z]+',"
                   "              'overflow': '__other__'},"
                   "             {'name': 'method', 'values': ['GET'], 'overflow': 'other'}]},"
                   " {'name': 'hits', 'type': 'counter'}],"
                   " 'clients': {'strip_tags': ['env', 'dd.internal-id']}}");
    cr_assert_eq(c.families[0].undeclared, CONFIG_UNDECLARED_DROP);
    cr_assert_eq(c.families[1].undeclared, CONFIG_UNDECLARED_REJECT);
    cr_assert_str_eq(c.families[0].labels[0].pattern, "/[a-z]+");
    cr_assert_not_null(c.families[0].labels[0].pattern_re);
    cr_assert(config_label_matches(&c.families[0].labels[0], "/img", 4));
    cr_assert(!config_label_matches(&c.families[0].labels[0], "/img/a", 6),
              "the pattern matches whole values");
    cr_assert(!config_label_matches(&c.families[0].labels[0], "x/img", 5));
    cr_assert(config_label_matches(&c.families[0].labels[1], "anything", 8), "no pattern");
    cr_assert_str_eq(c.families[0].labels[0].overflow, "__other__");
    cr_assert_str_eq(c.families[0].labels[1].overflow, "other");
    cr_assert_null(c.families[0].labels[1].pattern_re);
    cr_assert_eq(c.nstrip_tags, 2);
    cr_assert_str_eq(c.strip_tags[0], "env");
    cr_assert_str_eq(c.strip_tags[1], "dd_internal_id");
    cfgload_release(&c);
}

/* "updown" declares an up-down gauge; every gauge is absolute unless it says so. */
Test(config, updown_marks_a_gauge_up_down)
{
    struct config c;

    must_parse(&c, "{'families': [{'name': 'depth', 'type': 'gauge', 'updown': true},"
                   " {'name': 'temp', 'type': 'gauge'},"
                   " {'name': 'hits', 'type': 'counter', 'updown': false}]}");
    cr_assert_eq(c.families[0].updown, 1);
    cr_assert_eq(c.families[1].updown, 0);
    cr_assert_eq(c.families[2].updown, 0);
    cfgload_release(&c);
}

Test(config, udp_is_off_by_default_and_its_keys_are_read)
{
    struct config c;

    must_parse(&c, "{}");
    cr_assert_str_eq(c.udp_listen, "");
    cr_assert_eq(c.udp_allow_remote, 0);
    cr_assert_eq(c.udp_rcvbuf, CONFIG_DEFAULT_UDP_RCVBUF);
    cfgload_release(&c);
    must_parse(&c, "{'daemon': {'udp_listen': '0.0.0.0:8125', 'udp_allow_remote': true, "
                   "'udp_rcvbuf': 65536}}");
    cr_assert_str_eq(c.udp_listen, "0.0.0.0:8125");
    cr_assert_eq(c.udp_allow_remote, 1);
    cr_assert_eq(c.udp_rcvbuf, 65536);
    cfgload_release(&c);
}

/* The loopback rule, as main applies it once the flags and variables are read. */
Test(config, udp_beyond_loopback_needs_allow_remote)
{
    static const char *const loopback[] = {
        "", "127.0.0.1:8125", "127.1.2.3:0", "localhost:8125", "[::1]:8125", "[::ffff:127.0.0.1]:1"
    };
    static const char *const remote[] = { "0.0.0.0:8125",
                                          ":8125",
                                          "*:8125",
                                          "[::]:8125",
                                          "192.168.1.5:8125",
                                          "[2001:db8::1]:8125",
                                          "[::ffff:10.0.0.1]:1" };

    for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++)
        cr_assert_null(config_udp_problem(loopback[i], 0), "%s", loopback[i]);
    for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++) {
        const char *p = config_udp_problem(remote[i], 0);

        cr_assert_not_null(p, "%s", remote[i]);
        cr_assert_not_null(strstr(p, "not a loopback address"), "%s: %s", remote[i], p);
        cr_assert_null(config_udp_problem(remote[i], 1), "%s", remote[i]);
    }
    cr_assert_not_null(config_udp_problem("host.example:1", 1));
}

/* Only a restart can move the UDP socket. */
Test(config, the_udp_keys_are_restart_only)
{
    static const char *const changes[][2] = {
        { "{}", "{'daemon': {'udp_listen': '127.0.0.1:8125'}}" },
        { "{}", "{'daemon': {'udp_allow_remote': true}}" },
        { "{}", "{'daemon': {'udp_rcvbuf': 65536}}" },
    };
    static const char *const keys[] = { "$.daemon.udp_listen", "$.daemon.udp_allow_remote",
                                        "$.daemon.udp_rcvbuf" };
    struct config a, b;
    char buf[128];

    for (size_t i = 0; i < 3; i++) {
        must_parse(&a, changes[i][0]);
        must_parse(&b, changes[i][1]);
        cr_assert_str_eq(cfgload_restart_key(&a, &b, buf, sizeof(buf)), keys[i]);
        cfgload_release(&a);
        cfgload_release(&b);
    }
}

/*
 * The daemon's table: a row's flag is its key with '-' (or '.') for '_', its variable the
 * key in capitals after USTATSD_, and only a boolean takes no argument.
 */
Test(config, each_daemon_flag_names_its_key_and_variable)
{
    size_t flags = 0;

    for (size_t i = 0; i < cfgload_ndaemon_keys; i++) {
        const struct cfgread_key *k = &cfgload_daemon_keys[i];
        char key[64], env[64] = "USTATSD_";
        size_t n = 0;

        if (k->flag.name == NULL)
            continue;
        flags++;
        for (; k->flag.name[n] != '\0' && n + 1 < sizeof(key); n++)
            key[n] = k->flag.name[n] == '-' || k->flag.name[n] == '.' ? '_' : k->flag.name[n];
        key[n] = '\0';
        cr_assert_str_eq(key, k->name);
        for (n = 0; k->name[n] != '\0'; n++)
            env[8 + n] = (char)toupper((unsigned char)k->name[n]);
        env[8 + n] = '\0';
        cr_assert_str_eq(k->flag.env, env);
        cr_assert_eq(k->flag.arg == NULL, k->kind == CFGREAD_BOOL, "%s", k->name);
        cr_assert(k->flag.help != NULL && k->flag.man != NULL, "%s", k->name);
    }
    cr_assert_eq(flags, 12);
}

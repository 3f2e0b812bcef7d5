#include "config/cfgload.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config/cfgalias.h"
#include "config/cfgclash.h"
#include "config/cfgclient.h"
#include "config/cfgendpoint.h"
#include "config/cfgfamily.h"
#include "config/cfgjob.h"
#include "config/cfgmetric.h"
#include "config/cfgread.h"
#include "config/cfgremote.h"
#include "config/cfgsql.h"
#include "config/cfgwriters.h"
#include "base/errcode.h"
#include "base/logname.h"
#include "base/mem.h"
#include "statsd.h"

/*
 * The loader walks the document section by section in a fixed order (limits first, since
 * the label rules depend on them) rather than in key order; struct cfgread keeps the JSON
 * path for the messages. Each section is a schema table (cfgread.h) whose rows say what
 * cfgload_restart_key() compares: the restart-only list is the tables' RESTART flags.
 */

#define STR_(x) #x
#define STR(x)  STR_(x)

_Static_assert(CONFIG_SOCKET_PATH_MAX == CFGREAD_SUN_PATH_MAX, "one bound for sun_path");

static const char *socket_problem(const char *s)
{
    return strlen(s) > CONFIG_SOCKET_PATH_MAX
               ? "longer than " STR(CONFIG_SOCKET_PATH_MAX) " bytes (sun_path)"
               : NULL;
}

/*
 * The syntax alone. Whether it may be other than loopback depends on udp_allow_remote,
 * which a flag or a variable may set: main checks it once every source has been read.
 */
static const char *udp_listen_problem(const char *s)
{
    return config_udp_problem(s, 1);
}

/*
 * $.daemon: every setting of the daemon, once. Each row is the key with its kind, bounds,
 * default and whether only a restart changes it, and, for most, the flag and USTATSD_*
 * variable that override it (.flag): the daemon's option parser, --help and the manual
 * page's option list (ustatsd --help-man) read the same rows, in this order.
 */
static const struct cfgread_key daemon_keys[] = {
    { .name = "socket",
      .kind = CFGREAD_STRING,
      .flags = CFGREAD_NONEMPTY | CFGREAD_RESTART,
      .off = offsetof(struct config, socket_path),
      .sdflt = CONFIG_DEFAULT_SOCKET,
      .check = socket_problem,
      .flag = { .name = "socket",
                .short_name = 's',
                .arg = "PATH",
                .env = "USTATSD_SOCKET",
                .help = "Unix datagram socket to receive on",
                .man = "The Unix datagram socket to receive on (default\n"
                       ".IR /run/ustatsd/ustatsd.sock ).\n" } },
    { .name = "socket_mode",
      .kind = CFGREAD_MODE,
      .flags = CFGREAD_RESTART,
      .off = offsetof(struct config, socket_mode),
      .udflt = CONFIG_DEFAULT_SOCKET_MODE,
      .flag = { .name = "socket-mode",
                .arg = "MODE",
                .env = "USTATSD_SOCKET_MODE",
                .help = "socket file mode, octal (0660)",
                .man = "The socket file's permission bits, octal (default 0660).\n" } },
    { .name = "socket_group",
      .kind = CFGREAD_STRING,
      .flags = CFGREAD_NULLABLE | CFGREAD_NONEMPTY | CFGREAD_RESTART,
      .off = offsetof(struct config, socket_group),
      .flag = { .name = "socket-group",
                .arg = "GROUP",
                .env = "USTATSD_SOCKET_GROUP",
                .help = "socket file group",
                .man = "The group to give the socket file (default: left as created).\n" } },
    { .name = "metrics_listen",
      .kind = CFGREAD_LISTEN,
      .flags = CFGREAD_RESTART,
      .off = offsetof(struct config, metrics_listen),
      .sdflt = CONFIG_DEFAULT_METRICS_LISTEN,
      .flag = { .name = "metrics-listen",
                .arg = "ADDR",
                .env = "USTATSD_METRICS_LISTEN",
                .help = "host:port or unix:/path; \"\" disables",
                .man = "The Prometheus endpoint's listener (default 127.0.0.1:9464).\n" } },
    { .name = "metrics_path",
      .kind = CFGREAD_STRING,
      .flags = CFGREAD_RESTART,
      .off = offsetof(struct config, metrics_path),
      .sdflt = CONFIG_DEFAULT_METRICS_PATH,
      .check = config_http_path_problem,
      .flag = { .name = "metrics-path",
                .arg = "PATH",
                .env = "USTATSD_METRICS_PATH",
                .help = "scrape path (/metrics)",
                .man = "The HTTP path of the exposition (default\n"
                       ".IR /metrics ).\n" } },
    { .name = "debug_listen",
      .kind = CFGREAD_LISTEN,
      .flags = CFGREAD_NULLABLE | CFGREAD_RESTART,
      .off = offsetof(struct config, debug_listen),
      .flag = { .name = "debug-listen",
                .arg = "ADDR",
                .env = "USTATSD_DEBUG_LISTEN",
                .help = "separate listener for /debug; \"\" off",
                .man = "A separate listener for the JSON debug view\n"
                       ".RI ( /debug );\n"
                       "unset, the view is served on the metrics listener; empty, it is off.\n" } },
    { .name = "log_format",
      .kind = CFGREAD_STRING,
      .off = offsetof(struct config, log_format),
      .sdflt = "console",
      .choices = logname_formats,
      .flag = { .name = "log-format",
                .arg = "FORMAT",
                .env = "USTATSD_LOG_FORMAT",
                .help = "console or json",
                .man = ".B console\n"
                       "(default) or\n"
                       ".BR json ,\n"
                       "on standard error.\n" } },
    { .name = "log_level",
      .kind = CFGREAD_STRING,
      .off = offsetof(struct config, log_level),
      .sdflt = "info",
      .choices = logname_levels,
      .flag = { .name = "log-level",
                .arg = "LEVEL",
                .env = "USTATSD_LOG_LEVEL",
                .help = "debug, info, warn or error",
                .man = ".BR debug ,\n"
                       ".B info\n"
                       "(default),\n"
                       ".B warn\n"
                       "or\n"
                       ".BR error .\n" } },
    { .name = "udp_listen",
      .kind = CFGREAD_STRING,
      .flags = CFGREAD_RESTART,
      .off = offsetof(struct config, udp_listen),
      .sdflt = "",
      .check = udp_listen_problem,
      .flag = { .name = "udp-listen",
                .arg = "ADDR",
                .env = "USTATSD_UDP_LISTEN",
                .help = "UDP host:port to receive on; \"\" off",
                .man = "A UDP address to receive on as well, numeric\n"
                       ".IR host : port\n"
                       "(port 0: any free port); a loopback address unless remote UDP is "
                       "allowed.\n"
                       "Off by default.\n" } },
    { .name = "state_file",
      .kind = CFGREAD_STRING,
      .flags = CFGREAD_RESTART,
      .off = offsetof(struct config, state_file),
      .sdflt = "",
      .check = config_state_file_problem,
      .flag = { .name = "state-file",
                .arg = "PATH",
                .env = "USTATSD_STATE_FILE",
                .help = "state snapshots, restored at start; \"\" off",
                .man = "The state snapshots: restored at start, written every\n"
                       ".B daemon.state_interval_seconds\n"
                       "and on a clean stop, so that a restart loses no count.\n"
                       "An absolute path in an existing directory; empty: off (default).\n" } },
    { .name = "udp_allow_remote",
      .kind = CFGREAD_BOOL,
      .flags = CFGREAD_RESTART,
      .off = offsetof(struct config, udp_allow_remote),
      .flag = { .name = "udp-allow-remote",
                .env = "USTATSD_UDP_ALLOW_REMOTE",
                .help = "let UDP bind beyond loopback",
                .man = "Let\n"
                       ".B \\-\\-udp\\-listen\n"
                       "bind an address other than loopback.\n"
                       "UDP lines carry no credentials: anyone who reaches the port can "
                       "send.\n" } },
    { .name = "web_config_file",
      .kind = CFGREAD_STRING,
      .flags = CFGREAD_NULLABLE,
      .off = offsetof(struct config, web_config_file),
      .flag = { .name = "web.config.file",
                .arg = "FILE",
                .env = "USTATSD_WEB_CONFIG_FILE",
                .help = "TLS for the listeners (web config YAML); \"\" off",
                .man = "The web configuration file that Prometheus exporters share (YAML): "
                       "TLS, basic\n"
                       "authentication users and extra headers for every HTTP listener; "
                       "empty: none.\n" } },
    { .name = "bearer_token_file", /* reloads: SIGHUP reads the file, or another one */
      .kind = CFGREAD_STRING,
      .flags = CFGREAD_NULLABLE | CFGREAD_NONEMPTY,
      .off = offsetof(struct config, bearer_token_file) },
    { .name = "resource_labels",
      .kind = CFGREAD_CUSTOM,
      .off = CFGREAD_NOWHERE,
      .read = cfgendpoint_read_labels },
    { .name = "udp_rcvbuf",
      .kind = CFGREAD_SIZE,
      .flags = CFGREAD_RESTART,
      .off = offsetof(struct config, udp_rcvbuf),
      .udflt = CONFIG_DEFAULT_UDP_RCVBUF,
      .umin = 4096,
      .umax = CONFIG_MAX_UDP_RCVBUF },
    { .name = "state_interval_seconds",
      .kind = CFGREAD_NUMBER,
      .off = offsetof(struct config, state_interval),
      .ddflt = CONFIG_DEFAULT_STATE_INTERVAL,
      .dmin = 1,
      .dmax = CONFIG_MAX_STATE_INTERVAL },
    { .name = "reject_log_interval_seconds",
      .kind = CFGREAD_NUMBER,
      .off = offsetof(struct config, reject_log_interval),
      .ddflt = 60,
      .dmin = 0,
      .dmax = 86400 },
    { .name = "credentials_linger_seconds",
      .kind = CFGREAD_NUMBER,
      .off = offsetof(struct config, credentials_linger),
      .ddflt = 600,
      .dmin = 0,
      .dmax = 86400 },
};

const struct cfgread_key *const cfgload_daemon_keys = daemon_keys;
const size_t cfgload_ndaemon_keys = ARRAY_SIZE(daemon_keys);

/* $.limits */
static const struct cfgread_key limits_keys[] = {
    { .name = "max_series",
      .kind = CFGREAD_SIZE,
      .off = offsetof(struct config, max_series),
      .udflt = CONFIG_DEFAULT_MAX_SERIES,
      .umin = 1,
      .umax = SIZE_MAX },
    { .name = "max_series_per_family",
      .kind = CFGREAD_SIZE,
      .off = offsetof(struct config, max_series_per_family),
      .udflt = CONFIG_DEFAULT_MAX_FAMILY_SERIES,
      .umin = 1,
      .umax = SIZE_MAX },
    /* A longer value could never arrive: the wire protocol caps tag values. */
    { .name = "max_label_value_length",
      .kind = CFGREAD_SIZE,
      .off = offsetof(struct config, max_label_value_len),
      .udflt = CONFIG_DEFAULT_MAX_LABEL_LEN,
      .umin = 1,
      .umax = STATSD_MAX_TAG_VALUE },
    { .name = "max_label_values",
      .kind = CFGREAD_UINT32,
      .off = offsetof(struct config, max_label_values),
      .udflt = CONFIG_DEFAULT_MAX_LABEL_VALUES,
      .umin = 1,
      .umax = UINT32_MAX },
};

static int read_section(struct cfgread *r, json_t *obj, const char *name,
                        const struct cfgread_key *keys, size_t n)
{
    size_t old = cfgread_push_key(r, name);

    if (cfgread_section(r, obj, keys, n, r->root) < 0)
        return ERRCODE_CONFIG;
    cfgread_pop(r, old);
    return 0;
}

/* ---- jobs ---- */

/*
 * A job line carries the job where a metric name goes (PROTOCOL.md "The job extension"),
 * and config_find_job() matches it as sent, so the name must be one a line can hold:
 *
 *   cas-promotion:error|j
 *   ^^^^^^^^^^^^^ [A-Za-z_][A-Za-z0-9_.-]*, 1 to STATSD_MAX_NAME bytes
 */
#define JOB_NAME_START "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"

static int in_set(const char *set, char ch)
{
    return ch != '\0' && strchr(set, ch) != NULL;
}

static int valid_job_name(const char *s, size_t len)
{
    if (len == 0 || len > STATSD_MAX_NAME || !in_set(JOB_NAME_START, s[0]))
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!in_set(JOB_NAME_START "0123456789.-", s[i]))
            return 0;
    return 1;
}

static int job_name(struct cfgread *r, json_t *name, struct config_job *j)
{
    char q[260];

    if (cfgmetric_label_value(r, r->root, name, "a job name", &j->name) < 0)
        return ERRCODE_CONFIG;
    if (!valid_job_name(json_string_value(name), json_string_length(name)))
        return cfgread_fail(r,
                            "\"%s\" is not a valid job name: job lines carry it as a metric name "
                            "([A-Za-z_][A-Za-z0-9_.-]*, at most %d bytes)",
                            cfgread_shown(q, json_string_value(name), json_string_length(name)),
                            STATSD_MAX_NAME);
    return 0;
}

static int read_nothing(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                        void *base)
{
    (void)r, (void)k, (void)obj, (void)v, (void)base;
    return 0;
}

/* $.jobs.list[i] as an object; absent values keep the section's. */
static const struct cfgread_key job_keys[] = {
    /* Read last, once the others are known good. */
    { .name = "name",
      .kind = CFGREAD_CUSTOM,
      .flags = CFGREAD_REQUIRED,
      .off = CFGREAD_NOWHERE,
      .read = read_nothing },
    { .name = "failure_threshold",
      .kind = CFGREAD_UINT32,
      .flags = CFGREAD_KEEP,
      .off = offsetof(struct config_job, failure_threshold),
      .umin = 1,
      .umax = UINT32_MAX },
    { .name = "open_seconds",
      .kind = CFGREAD_NUMBER,
      .flags = CFGREAD_KEEP | CFGREAD_GT,
      .off = offsetof(struct config_job, open_seconds),
      .dmin = 0,
      .dmax = CONFIG_MAX_OPEN_SECONDS },
    /* Read by cfgjob_counter(), once the name is known. */
    { .name = "counter", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_nothing },
};

/* A job name, or a job object; dflt holds the section's threshold and open_seconds. */
static int parse_job(struct cfgread *r, json_t *v, struct config_job *j,
                     const struct config_job *dflt)
{
    size_t o;

    j->failure_threshold = dflt->failure_threshold;
    j->open_seconds = dflt->open_seconds;
    if (json_is_object(v)) {
        if (cfgread_section(r, v, job_keys, ARRAY_SIZE(job_keys), j) < 0)
            return ERRCODE_CONFIG;
        o = cfgread_push_key(r, "name");
        if (job_name(r, json_object_get(v, "name"), j) < 0)
            return ERRCODE_CONFIG;
        cfgread_pop(r, o);
        return cfgjob_counter(r, json_object_get(v, "counter"), j);
    }
    if (!json_is_string(v))
        return cfgread_fail(r, "expected a job name or a job object, got %s", cfgread_type_name(v));
    if (job_name(r, v, j) < 0)
        return ERRCODE_CONFIG;
    return cfgjob_counter(r, NULL, j);
}

static int read_job_list(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *list,
                         void *base)
{
    struct config *c = r->root;
    size_t o;

    (void)obj;
    if (list == NULL)
        return 0;
    o = cfgread_push_key(r, k->name);
    if (!json_is_array(list))
        return cfgread_fail(r, "expected an array of jobs, got %s", cfgread_type_name(list));
    c->njobs = json_array_size(list);
    c->jobs = mem_calloc(c->njobs, sizeof(*c->jobs));
    for (size_t i = 0; i < c->njobs; i++) {
        size_t oi = cfgread_push_index(r, i);

        if (parse_job(r, json_array_get(list, i), &c->jobs[i], base) < 0)
            return ERRCODE_CONFIG;
        for (size_t n = 0; n < i; n++)
            if (strcmp(c->jobs[n].name, c->jobs[i].name) == 0)
                return cfgread_fail(r, "duplicate job \"%s\"", c->jobs[i].name);
        cfgread_pop(r, oi);
    }
    cfgread_pop(r, o);
    return 0;
}

static int read_job_prefix(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                           void *base)
{
    struct config *c = r->root;

    (void)base;
    if (v == NULL)
        return 0;
    free(c->job_prefix);
    c->job_prefix = NULL;
    return cfgmetric_name(r, obj, k->name, 0, 0, &c->job_prefix);
}

/* $.jobs, stored into a job that the list's entries start from. */
static const struct cfgread_key jobs_keys[] = {
    { .name = "prefix", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_job_prefix },
    { .name = "failure_threshold",
      .kind = CFGREAD_UINT32,
      .off = offsetof(struct config_job, failure_threshold),
      .udflt = CONFIG_DEFAULT_FAILURE_THRESHOLD,
      .umin = 1,
      .umax = UINT32_MAX },
    { .name = "open_seconds",
      .kind = CFGREAD_NUMBER,
      .flags = CFGREAD_GT,
      .off = offsetof(struct config_job, open_seconds),
      .ddflt = CONFIG_DEFAULT_OPEN_SECONDS,
      .dmin = 0,
      .dmax = CONFIG_MAX_OPEN_SECONDS },
    { .name = "list", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_job_list },
};

/* ---- the root ---- */

static int read_limits(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                       void *base)
{
    (void)obj, (void)base;
    return read_section(r, v, k->name, limits_keys, ARRAY_SIZE(limits_keys));
}

static int read_daemon(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                       void *base)
{
    (void)obj, (void)base;
    return read_section(r, v, k->name, daemon_keys, ARRAY_SIZE(daemon_keys));
}

/*
 * With endpoints, the default endpoint is off unless the daemon section (or a flag) asks
 * for it: read after $.daemon, whose metrics_listen is then "" unless it was given.
 */
static int read_endpoints(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                          void *base)
{
    struct config *c = base;
    json_t *d = json_object_get(obj, "daemon");

    (void)k;
    if (v == NULL)
        return 0;
    if (!json_is_object(d) || json_object_get(d, "metrics_listen") == NULL) {
        free(c->metrics_listen);
        c->metrics_listen = mem_strdup("");
    }
    return cfgendpoint_read(r, c, v);
}

static int read_resource(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                         void *base)
{
    (void)k, (void)obj;
    return v != NULL ? cfgfamily_resource(r, base, v) : 0;
}

static int read_groups(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                       void *base)
{
    (void)k, (void)obj;
    return v != NULL ? cfgfamily_groups(r, base, v) : 0;
}

static int read_families(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                         void *base)
{
    (void)k, (void)obj;
    return v != NULL ? cfgfamily_families(r, base, v) : 0;
}

/* "clients": what every line goes through, whatever its family. */
static const struct cfgread_key clients_keys[] = {
    { .name = "strip_tags",
      .kind = CFGREAD_CUSTOM,
      .off = CFGREAD_NOWHERE,
      .read = cfgfamily_read_strip_tags },
    { .name = "dogstatsd_telemetry",
      .kind = CFGREAD_BOOL,
      .off = offsetof(struct config, dogstatsd_telemetry),
      .udflt = 1 },
};

static int read_clients(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                        void *base)
{
    (void)obj, (void)base;
    return read_section(r, v, k->name, clients_keys, ARRAY_SIZE(clients_keys));
}

/* "learn": learn mode's summary and proposal; a reload may change either key. */
static const struct cfgread_key learn_keys[] = {
    { .name = "enabled",
      .kind = CFGREAD_BOOL,
      .off = offsetof(struct config, learn_enabled),
      .udflt = 1 },
    { .name = "max_bytes",
      .kind = CFGREAD_SIZE,
      .off = offsetof(struct config, learn_max_bytes),
      .udflt = CONFIG_DEFAULT_LEARN_MAX_BYTES,
      .umin = CONFIG_MIN_LEARN_MAX_BYTES,
      .umax = CONFIG_MAX_LEARN_MAX_BYTES },
};

static int read_learn(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                      void *base)
{
    (void)obj, (void)base;
    return read_section(r, v, k->name, learn_keys, ARRAY_SIZE(learn_keys));
}

static int read_jobs(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                     void *base)
{
    struct config_job dflt;
    size_t old;

    (void)obj, (void)base;
    if (v == NULL)
        return 0;
    old = cfgread_push_key(r, k->name);
    if (cfgread_section(r, v, jobs_keys, ARRAY_SIZE(jobs_keys), &dflt) < 0)
        return ERRCODE_CONFIG;
    cfgread_pop(r, old);
    return 0;
}

static int read_postgres(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                         void *base)
{
    (void)k, (void)obj;
    return cfgsql_postgres(r, base, v);
}

static int read_sql_metrics(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                            void *base)
{
    (void)k, (void)obj;
    return v != NULL ? cfgsql_metrics(r, base, v) : 0;
}

/* Read after the families and the jobs, which its rules name. */
static int read_writers(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                        void *base)
{
    (void)k, (void)obj;
    return v != NULL ? cfgwriters_read(r, base, v) : 0;
}

/* Read after the endpoints, which its targets name. */
static int read_remote_write(struct cfgread *r, const struct cfgread_key *k, json_t *obj, json_t *v,
                             void *base)
{
    (void)k, (void)obj;
    return cfgremote_read(r, base, v);
}

/* The document, read in this order: the label rules depend on the limits. */
static const struct cfgread_key root_keys[] = {
    { .name = "limits", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_limits },
    { .name = "daemon", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_daemon },
    { .name = "resource", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_resource },
    { .name = "endpoints", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_endpoints },
    { .name = "groups", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_groups },
    { .name = "families", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_families },
    { .name = "clients", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_clients },
    { .name = "jobs", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_jobs },
    { .name = "postgres", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_postgres },
    { .name = "sql_metrics",
      .kind = CFGREAD_CUSTOM,
      .off = CFGREAD_NOWHERE,
      .read = read_sql_metrics },
    { .name = "writers", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_writers },
    { .name = "learn", .kind = CFGREAD_CUSTOM, .off = CFGREAD_NOWHERE, .read = read_learn },
    { .name = "remote_write",
      .kind = CFGREAD_CUSTOM,
      .off = CFGREAD_NOWHERE,
      .read = read_remote_write },
};

static int parse_root(struct cfgread *r, struct config *c, json_t *root)
{
    c->job_prefix = mem_strdup(CONFIG_DEFAULT_JOB_PREFIX);
    if (cfgread_section(r, root, root_keys, ARRAY_SIZE(root_keys), c) < 0 ||
        cfgclash_check(r, c) < 0)
        return ERRCODE_CONFIG;
    cfgclient_families(c);
    cfgalias_assign(c);
    cfgwriters_assign(c);
    for (size_t i = 0; i < c->nfamilies; i++)
        c->families[i].excluded = cfgfamily_excluded(c, c->families[i].group);
    for (size_t i = 0; i < c->nsql_metrics; i++)
        c->sql_metrics[i].excluded = cfgfamily_excluded(c, c->sql_metrics[i].group);
    return cfgendpoint_check(r, c);
}

/*
 * config.allowlist: the sections of root that judge a line, as a document of their own;
 * config.judges (families 0): the same without "families".
 */
static char *allowlist_of(json_t *root, int families)
{
    static const char *const names[] = { CONFIG_ALLOWLIST_SECTIONS };
    json_t *doc = json_object();
    char *s;

    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        json_t *v = json_object_get(root, names[i]);

        if (v != NULL && (families || strcmp(names[i], "families") != 0))
            json_object_set(doc, names[i], v);
    }
    s = cfgread_compact(doc);
    json_decref(doc);
    return s;
}

static int parse(struct config *c, const char *text, size_t len, const char *name,
                 const char *basedir, char *err, size_t errlen)
{
    struct cfgread r;
    json_error_t jerr;
    json_t *root;
    int rc;

    memset(c, 0, sizeof(*c));
    memset(&r, 0, sizeof(r));
    r.root = c;
    r.file = name;
    r.basedir = basedir;
    r.err = err;
    r.errlen = errlen;
    if (errlen > 0)
        err[0] = '\0';
    /* Duplicate keys are rejected like unknown ones: the second would silently win. */
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        snprintf(err, errlen, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
        return ERRCODE_CONFIG;
    }
    c->path = mem_strdup(name);
    rc = parse_root(&r, c, root);
    if (rc == 0) {
        c->allowlist = allowlist_of(root, 1);
        c->judges = allowlist_of(root, 0);
    }
    json_decref(root);
    if (rc < 0)
        cfgload_release(c);
    return rc;
}

int cfgload_text(struct config *c, const char *text, size_t len, const char *name, char *err,
                 size_t errlen)
{
    return parse(c, text, len, name, NULL, err, errlen);
}

/* parse() for cfgread_load(). */
static int parse_file(void *c, const char *text, size_t len, const char *name, const char *basedir,
                      char *err, size_t errlen)
{
    return parse(c, text, len, name, basedir, err, errlen);
}

int cfgload_file(struct config *c, const char *path, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    return cfgread_load(c, path, CONFIG_MAX_FILE_SIZE, "cannot read: ", parse_file, err, errlen);
}

void cfgload_release(struct config *c)
{
    free(c->path);
    free(c->allowlist);
    free(c->judges);
    cfgread_release(daemon_keys, ARRAY_SIZE(daemon_keys), c);
    cfgfamily_release(c);
    free(c->job_prefix);
    for (size_t i = 0; i < c->njobs; i++) {
        free(c->jobs[i].name);
        cfgjob_release(&c->jobs[i]);
    }
    free(c->jobs);
    cfgsql_release(c);
    cfgendpoint_release(c);
    cfgwriters_release(c);
    cfgremote_release(c);
    memset(c, 0, sizeof(*c));
}

/* ---- reload ---- */

const char *cfgload_restart_key(const struct config *a, const struct config *b, char *buf,
                                size_t len)
{
    /* The sections whose rows say, by their RESTART flag, what a reload cannot change. */
    const struct {
        const char *name;
        const struct cfgread_key *keys;
        size_t n;
    } sections[] = {
        { "daemon", daemon_keys, ARRAY_SIZE(daemon_keys) },
        { "postgres", cfgsql_postgres_keys, cfgsql_npostgres_keys },
    };

    if (a->has_postgres != b->has_postgres)
        return "$.postgres";
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        const struct cfgread_key *k = cfgread_changed(sections[i].keys, sections[i].n, a, b);

        if (k != NULL) {
            snprintf(buf, len, "$.%s.%s", sections[i].name, k->name);
            return buf;
        }
    }
    if (cfgendpoint_changed(a, b, buf, len) != NULL)
        return buf;
    return cfgsql_changed(a, b, buf, len);
}

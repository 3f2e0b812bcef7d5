/*
 * config: the daemon's configuration as data, above all the allowlist: the structs that
 * every layer reads, their defaults and bounds, and the lookups on them.
 *
 * A domain module with no reader in it: cfgload fills and frees a struct config (every
 * string and array in it is owned by it until cfgload_release()), from schema tables read
 * by cfgread (which also keeps the JSON path for messages); the allowlist sections by
 * cfgfamily, the name clash check by cfgclash, and the postgres and sql_metrics sections by
 * cfgsql. The section readers include this header for the types and the lookups, and
 * cfgload includes theirs, so the dependencies point one way.
 * The schema is documented in docs/configuration.md; a complete example lives in
 * packaging/ustatsd.example.json.
 *
 * Values that could never take effect are refused at load: a job name that is not a valid
 * metric name (PROTOCOL.md "Names"; no job line could name it), an enumerated label value
 * that no tag can carry (PROTOCOL.md "Tags": ',', '|' or a control character), and a
 * duration above its bound: ttl_seconds and open_seconds at most 10 years
 * (CONFIG_MAX_TTL_SECONDS, CONFIG_MAX_OPEN_SECONDS), the postgres and SQL timeouts and
 * min_interval_seconds at most 1 day (CONFIG_MAX_TIMEOUT_SECONDS,
 * CONFIG_MAX_SQL_MIN_INTERVAL).
 */
#ifndef USTATSD_CONFIG_H
#define USTATSD_CONFIG_H

#include <stddef.h>
#include <regex.h>
#include <stdint.h>

#include "base/errcode.h"

/* Defaults, used when the file does not say. */
#define CONFIG_DEFAULT_SOCKET               "/run/ustatsd/ustatsd.sock"
#define CONFIG_DEFAULT_SOCKET_MODE          0660
#define CONFIG_DEFAULT_METRICS_LISTEN       "127.0.0.1:9464"
#define CONFIG_DEFAULT_METRICS_PATH         "/metrics"
#define CONFIG_DEFAULT_UDP_RCVBUF           (8u << 20) /* SO_RCVBUF request, as the Unix socket */
#define CONFIG_MAX_UDP_RCVBUF               (1u << 30) /* the kernel doubles it into an int */
#define CONFIG_STATE_FILE_MAX               4000 /* bytes; with ".tmp.<12 hex>" it fits PATH_MAX */
#define CONFIG_DEFAULT_STATE_INTERVAL       15.0 /* seconds between state snapshots */
#define CONFIG_MAX_STATE_INTERVAL           86400.0
#define CONFIG_DEFAULT_MAX_SERIES           200000
#define CONFIG_DEFAULT_MAX_FAMILY_SERIES    20000
#define CONFIG_DEFAULT_MAX_LABEL_VALUES     1000       /* per label key, when not enumerated */
#define CONFIG_DEFAULT_LEARN_MAX_BYTES      (8u << 20) /* learn mode's summary, bytes */
#define CONFIG_MIN_LEARN_MAX_BYTES          (64u << 10)
#define CONFIG_MAX_LEARN_MAX_BYTES          (1u << 30)
#define CONFIG_DEFAULT_MAX_LABEL_LEN        128 /* bytes in a label value */
#define CONFIG_DEFAULT_JOB_PREFIX           "ustatsd_background_job"
#define CONFIG_DEFAULT_FAILURE_THRESHOLD    5
#define CONFIG_DEFAULT_OPEN_SECONDS         60.0
#define CONFIG_DEFAULT_PG_POOL_SIZE         2
#define CONFIG_DEFAULT_PG_CONNECT_TIMEOUT   5.0  /* seconds */
#define CONFIG_DEFAULT_PG_STATEMENT_TIMEOUT 5.0  /* seconds */
#define CONFIG_DEFAULT_SQL_MIN_INTERVAL     10.0 /* seconds */
#define CONFIG_DEFAULT_SQL_TIMEOUT          5.0  /* seconds */
/*
 * Upper bounds of the durations, in seconds, inclusive. Consumers turn them into integer
 * milliseconds (ceil(ttl * 1000) into a uint64_t, llround() for the SQL cache), which is
 * undefined for a double such as 1e300; these keep every product far inside 2^53.
 */
#define CONFIG_MAX_TTL_SECONDS      315360000.0 /* ttl_seconds: 10 years of 365 days */
#define CONFIG_MAX_OPEN_SECONDS     315360000.0 /* jobs open_seconds: 10 years */
#define CONFIG_MAX_TIMEOUT_SECONDS  86400.0     /* postgres and SQL timeouts: 1 day */
#define CONFIG_MAX_SQL_MIN_INTERVAL 86400.0     /* sql min_interval_seconds: 1 day */
#define CONFIG_MAX_LABELS           8           /* label keys per family */
#define CONFIG_MAX_BUCKETS          64          /* histogram buckets per family, +Inf excluded */
#define CONFIG_MAX_QUANTILES        16          /* summary quantiles per family */
/* A histogram's "native" block (cfgnative.h): client_golang's settings and defaults. */
#define CONFIG_NATIVE_SCHEMA_MIN             (-4)
#define CONFIG_NATIVE_SCHEMA_MAX             8
#define CONFIG_NATIVE_DEFAULT_SCHEMA         3        /* NativeHistogramBucketFactor 1.1 */
#define CONFIG_NATIVE_DEFAULT_ZERO_THRESHOLD 0x1p-128 /* DefNativeHistogramZeroThreshold */
#define CONFIG_NATIVE_DEFAULT_BUCKETS        160
#define CONFIG_NATIVE_MAX_BUCKETS            4096  /* populated buckets, both signs */
#define CONFIG_DEFAULT_MAX_AGE               600.0 /* summary max_age, seconds (client_golang) */
#define CONFIG_MIN_MAX_AGE                   1.0   /* summary max_age bounds, seconds */
#define CONFIG_MAX_MAX_AGE                   86400.0
#define CONFIG_DEFAULT_AGE_BUCKETS           5  /* summary age_buckets (client_golang) */
#define CONFIG_MAX_AGE_BUCKETS               10 /* summary age_buckets: streams per series */
#define CONFIG_MAX_FILE_SIZE                 (16u << 20) /* bytes in a config file */
#define CONFIG_MAX_CONNINFO_FILE_SIZE        (64u << 10) /* bytes in a conninfo_file */
#define CONFIG_MAX_PG_POOL_SIZE              64
#define CONFIG_SOCKET_PATH_MAX               107 /* bytes; sun_path holds 108 with the NUL */
#define CONFIG_MAX_RESOURCE_ATTRS            16  /* "resource" entries (target_info labels) */
#define CONFIG_MAX_STRIP_TAGS                16  /* clients.strip_tags entries */
#define CONFIG_MAX_PATTERN_LEN               256 /* bytes in a label's "pattern" */
#define CONFIG_MAX_RESOURCE_KEY              63  /* bytes in a "resource" key */
#define CONFIG_MAX_ENDPOINTS                 16  /* "endpoints" entries */
#define CONFIG_MAX_REMOTES                   8   /* "remote_write" targets */
#define CONFIG_MAX_REMOTE_HEADERS            32  /* a target's "headers" */
#define CONFIG_MAX_REMOTE_LABELS             32  /* a target's "external_labels" */
#define CONFIG_RESERVED_PREFIX               "ustatsd_"  /* the daemon's own families */
#define CONFIG_RESERVED_PROCESS_PREFIX       "process_"  /* the daemon's process metrics */
#define CONFIG_RESERVED_PROMHTTP_PREFIX      "promhttp_" /* an endpoint's promhttp families */

/*
 * The families that the jobs section generates, as suffixes of jobs.prefix: X(ID, suffix,
 * type). Counters are named without "_total", like every counter in struct config. A
 * configured family or SQL metric whose exposition names clash with these is an error.
 */
#define CONFIG_JOB_FAMILY_MAP(X)                                     \
    X(ATTEMPTS, "_attempts", FAMILY_COUNTER)                         \
    X(ERRORS, "_errors", FAMILY_COUNTER)                             \
    X(CIRCUIT_OPEN, "_circuit_open", FAMILY_COUNTER)                 \
    X(CONSECUTIVE_FAILURES, "_consecutive_failures", FAMILY_GAUGE)   \
    X(LAST_SUCCESS, "_last_success_timestamp_seconds", FAMILY_GAUGE) \
    X(LAST_ERROR, "_last_error_timestamp_seconds", FAMILY_GAUGE)     \
    X(CIRCUIT_STATE_SECONDS, "_circuit_state_seconds", FAMILY_GAUGE) \
    X(CIRCUIT_STATE, "_circuit_state", FAMILY_GAUGE) /* a stateset; a gauge in text 0.0.4 */

/* The family types, X(ID, name): the name is the one "type" takes in the file. */
#define CONFIG_FAMILY_TYPE_MAP(X) \
    X(COUNTER, "counter")         \
    X(GAUGE, "gauge")             \
    X(HISTOGRAM, "histogram")     \
    X(SUMMARY, "summary")

enum family_type {
#define CONFIG_FAMILY_TYPE_ENUM(id, name) FAMILY_##id,
    CONFIG_FAMILY_TYPE_MAP(CONFIG_FAMILY_TYPE_ENUM)
#undef CONFIG_FAMILY_TYPE_ENUM
};

/* What a family does with a tag whose key it does not declare: "undeclared_labels". */
enum config_undeclared {
    CONFIG_UNDECLARED_REJECT, /* the line is rejected: label_not_allowed */
    CONFIG_UNDECLARED_DROP    /* the tag is dropped, the observation kept and counted */
};

/* One allowed label key of a family (or of an SQL metric). */
struct config_label {
    char *name;    /* a valid Prometheus label name */
    char **values; /* enumerated allowed values, or NULL when capped; each one a value that a
                    * tag can carry (PROTOCOL.md "Tags"): non-empty, at most
                    * max_label_value_len bytes, no ',', '|' nor control character */
    size_t nvalues;
    uint32_t max_values; /* cap on distinct values when not enumerated; nvalues when enumerated */
    char *pattern;       /* capped labels: a POSIX extended regular expression that a new
                          * value must match whole, as written; NULL when none */
    regex_t *pattern_re; /* pattern compiled (REG_EXTENDED), or NULL; config_label_matches() */
    char *overflow;      /* the value that a value outside the set, the cap or the pattern
                          * folds into (a value a tag can carry); NULL: such a line is
                          * rejected, such an SQL row skipped */
};

/*
 * Why a label value folded into its label's overflow value (config_label.overflow) instead
 * of rejecting the line (or skipping the SQL row): X(ID, name), the name being the "reason"
 * label of ustatsd_label_values_folded_total and ustatsd_sql_label_values_folded_total.
 * ID 0 is CONFIG_FOLD_NONE.
 */
#define CONFIG_FOLD_MAP(X)        \
    X(NOT_ALLOWED, "not_allowed") \
    X(CAP, "cap")                 \
    X(PATTERN, "pattern")         \
    X(TOO_LONG, "too_long")

enum config_fold {
    CONFIG_FOLD_NONE,
#define CONFIG_FOLD_ENUM(id, name) CONFIG_FOLD_##id,
    CONFIG_FOLD_MAP(CONFIG_FOLD_ENUM)
#undef CONFIG_FOLD_ENUM
        CONFIG_FOLD_MAX
};

/*
 * One quantile of a summary (client_golang's Objectives): the value reported for q is the
 * q'-quantile of the window for some q' in [q - err, q + err]. err is in [0, 0.5); it is 0
 * only for q 0 and 1, which are then the window's exact minimum and maximum.
 */
struct config_quantile {
    double q;
    double err;
};

/* A histogram's native buckets (cfgnative.h); on 0: none. */
struct config_native {
    int on;
    int schema;            /* CONFIG_NATIVE_SCHEMA_MIN..MAX */
    double zero_threshold; /* observations with |v| <= this count in the zero bucket */
    uint32_t max_buckets;  /* populated buckets past which the resolution halves */
};

struct config_family {
    char *name; /* normalised exposition name; counters without "_total" (see total_in_name) */
    enum family_type type;
    char *help;      /* "" when absent */
    char *unit;      /* "" when absent; "seconds" by default for histograms */
    char *alias;     /* the name without "_<unit>", which lines may use too (OpenTelemetry's
                      * name, cfgalias.h); NULL: none, or one that clashes */
    char *group;     /* "" when absent: never excluded */
    int unit_ms;     /* unit is "milliseconds" or "ms": ms lines are kept unchanged */
    double *buckets; /* histograms: sorted, finite upper bounds; +Inf is implied */
    size_t nbuckets; /* 0 (buckets NULL): a native histogram without classic buckets */
    struct config_native native;
    struct config_quantile *quantiles; /* summaries: ascending by q, distinct; may be none */
    size_t nquantiles;                 /* <= CONFIG_MAX_QUANTILES */
    double max_age;                    /* summaries: seconds a quantile's window spans */
    uint32_t age_buckets;              /* summaries: streams the window rotates through */
    struct config_label *labels;
    size_t nlabels;     /* <= CONFIG_MAX_LABELS */
    double ttl_seconds; /* idle expiry; 0 for never; <= CONFIG_MAX_TTL_SECONDS */
    int updown;         /* gauges: a signed value (+N, -N) moves the value instead of setting it */
    enum config_undeclared undeclared; /* a tag of a key not in labels */
    int excluded;                      /* set by cfgload from the groups section */
    int client_telemetry; /* synthesised by cfgclient: DogStatsD client telemetry, which
                           * lines name datadog.dogstatsd.client.*, never by this name */
    uint32_t endpoints;   /* bit i: endpoints[i] serves it */
    int precreate;        /* "precreate": every combination of the enumerated labels' values
                    * (cfgfamily_combinations) exists at zero from start-up; no gauge,
                    * every label enumerated */
    const struct config_writers *writers; /* the rule that says who may write it (the most
                                           * specific of "writers"); NULL: anyone */
    /*
     * A counter declared "x_total" beside a gauge "x" (client_golang's go_memstats_alloc_bytes
     * and go_memstats_alloc_bytes_total): its stored name is "x_total", the one name lines
     * find it by, since "x" is the gauge's (config_takes_total()). 0 for every other family.
     */
    int total_in_name;
    /*
     * The family's object in the file, in compact JSON (cfgfamily_families): with the same
     * text and the same other sections that judge a line (config.judges), and the same
     * name, alias and total_in_name, a line of it is judged the same
     * (config_family_judged_alike). NULL: none (cfgclient's families, which the clients
     * section makes).
     */
    char *judged;
};

struct config_job {
    char *name; /* as job lines send it: a valid metric name ([A-Za-z_][A-Za-z0-9_.-]*, at
                 * most STATSD_MAX_NAME and max_label_value_len bytes), not normalised */
    uint32_t failure_threshold;           /* >= 1 */
    double open_seconds;                  /* > 0, <= CONFIG_MAX_OPEN_SECONDS */
    const struct config_writers *writers; /* as a family's: NULL: anyone may report it */
    /*
     * The counter form ("counter", cfgjob.h): "<counter>:N|c|#<outcome_tag>:error" and
     * "<prefix>_attempts:N|c|#<job_tag>:<name>,<outcome_tag>:error" report N runs.
     */
    char *counter;     /* normalised, without "_total"; NULL: the counter form is off */
    char *outcome_tag; /* normalised tag keys; NULL when the counter form is off */
    char *job_tag;
};

/* What a rule of "writers" names: exactly one of its four keys. */
enum config_writers_scope {
    CONFIG_WRITERS_FAMILY,    /* "family": one configured family */
    CONFIG_WRITERS_PREFIX,    /* "prefix": every family whose name starts with it */
    CONFIG_WRITERS_JOB,       /* "job": one configured job */
    CONFIG_WRITERS_JOB_PREFIX /* "job_prefix": every job whose name starts with it */
};

/*
 * One rule of "writers" (docs/configuration.md, "writers", and cfgwriters.h): the senders that may
 * write the families or jobs it names. A family or job takes its most specific rule: an
 * exact one, else the longest prefix; with none, anyone may write it.
 */
struct config_writers {
    enum config_writers_scope scope;
    char *name;     /* the family's stored name (normalised, counters without "_total"), the
                     * job's, or the prefix (a family prefix normalised like a name) */
    uint32_t *uids; /* "users", resolved at load: sorted ascending, no duplicates */
    size_t nuids;
    uint32_t *gids; /* "groups", the same */
    size_t ngids;
    int unauthenticated; /* lines that carry no credentials (UDP) are allowed */
};

/*
 * How an SQL metric combines the values of rows with the same label values: rows that
 * folded into an overflow value, or that the query returned twice ("fold").
 */
enum config_sql_fold {
    CONFIG_SQL_FOLD_SUM, /* "sum", the default: counts of rows by state */
    CONFIG_SQL_FOLD_MAX, /* "max": an age of the oldest, a high-water mark */
    CONFIG_SQL_FOLD_MIN  /* "min" */
};

struct config_sql_metric {
    char *name;  /* gauge family name, normalised like a family's */
    char *help;  /* "" when absent */
    char *group; /* "" when absent: never excluded */
    int excluded;
    char *query;
    struct config_label *labels; /* one per label column, same order */
    size_t nlabels;
    char **label_columns; /* result column names, nlabels of them */
    char *value_column;
    double min_interval_seconds; /* result cache; >= 0, <= CONFIG_MAX_SQL_MIN_INTERVAL */
    double timeout_seconds;      /* > 0, <= CONFIG_MAX_TIMEOUT_SECONDS */
    char *unit;                  /* "" when absent */
    uint32_t endpoints;          /* bit i: endpoints[i] serves it */
    enum config_sql_fold fold;
};

struct config_resource_attr {
    char *key; /* "service.name", as written; a label name once '.' and '-' read as '_' */
    char *value;
};

/*
 * The service an endpoint stands for ("endpoints[].service"): the processes that send to
 * the daemon with these credentials. Every field given must match.
 */
struct config_service {
    uint32_t uid; /* "user": a user name (resolved at load) or a number */
    char *exe;    /* NULL: any; an absolute path that readlink(/proc/<pid>/exe) must equal */
    char *cgroup; /* NULL: any; a cgroup v2 path ("/system.slice/x.service") that the
                   * sender's cgroup (/proc/<pid>/cgroup, line "0::") equals or lies under */
};

/*
 * One scrape endpoint of "endpoints" (docs/exposition.md, "Endpoints"): a path on a listener that
 * serves a chosen part of the exposition, as one of the services would serve it.
 */
struct config_endpoint {
    char *name;              /* [A-Za-z0-9_.-]+, unique; the handler label of its requests */
    char *listen;            /* as metrics_listen, never "" */
    char *path;              /* starts with '/' */
    char *bearer_token_file; /* NULL: none; absent in the file: daemon.bearer_token_file */
    int all;                 /* neither "groups" nor "families": every application family */
    char **groups;           /* families and SQL metrics of these groups, ... */
    size_t ngroups;
    char **families; /* ... and these, by name (a family, an SQL metric or a job family) */
    size_t nfamilies;
    int jobs;         /* the job families: "jobs", by default when all */
    int self_metrics; /* the daemon's own: ustatsd_*, its process_* and client telemetry */
    int promhttp;     /* promhttp_metric_handler_requests_total and _in_flight */
    int has_service;
    struct config_service service;
    struct config_resource_attr *resource; /* the endpoint's own, over the daemon's; sorted */
    size_t nresource;
    char **resource_labels; /* attribute keys copied onto every series as labels */
    size_t nresource_labels;
    int resource_labels_all; /* "resource_labels": true: every attribute */
};

/* "remote_write": one target (cfgremote.h). */
struct config_remote_header {
    char *name; /* an HTTP header name (a token) */
    char *value;
};
struct config_remote_label {
    char *name;  /* a label name, not starting with "__" */
    char *value; /* not empty */
};
struct config_remote {
    char *name;                           /* unique among targets; default "remote_write_<i>" */
    char *url;                            /* http:// or https://, with a host */
    double timeout;                       /* "remote_timeout", seconds */
    struct config_remote_header *headers; /* "headers", in file order */
    size_t nheaders;                      /* <= CONFIG_MAX_REMOTE_HEADERS */
    char *bearer_token_file;              /* NULL: none; absolute */
    char *basic_username; /* "basic_auth": {"username", "password" | "password_file"} */
    char *basic_password; /* NULL when password_file is given */
    char *basic_password_file;
    /* "tls_config": {"ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"} */
    char *ca_file;
    char *cert_file;
    char *key_file;
    char *server_name;
    int insecure_skip_verify;
    char **endpoints;  /* the endpoints whose series it sends; default {"metrics"} */
    size_t nendpoints; /* 1 .. CONFIG_MAX_ENDPOINTS + 1 */
    double interval;   /* seconds */
    struct config_remote_label *external_labels; /* sorted by name */
    size_t nexternal_labels;                     /* <= CONFIG_MAX_REMOTE_LABELS */
    int send_native_histograms;                  /* native buckets as Histogram messages */
    /* "queue_config" */
    size_t max_bytes;
    double min_backoff, max_backoff; /* seconds */
};

/* The sections of config.allowlist, in file order of the schema. */
#define CONFIG_ALLOWLIST_SECTIONS "limits", "groups", "families", "clients", "jobs", "writers"

struct config {
    char *path; /* the file it was loaded from, for messages; "" for a string */
    /*
     * The sections that judge a line (limits, groups, families, clients, jobs, writers), as
     * the file had them, in compact JSON: a config file of its own, which `ustatsd explain
     * --url` reads from /debug?section=config (CONFIG_ALLOWLIST_SECTIONS).
     */
    char *allowlist;
    /* The same without "families": what judges a line of any family (config_judges_alike). */
    char *judges;

    /* "daemon": defaults that CLI flags and USTATSD_* variables override. */
    char *socket_path;
    uint32_t socket_mode;
    char *socket_group;   /* NULL: leave as is */
    char *metrics_listen; /* "host:port", "unix:/path" or "" (disabled) */
    char *metrics_path;
    char *debug_listen;      /* NULL: the metrics listener; "": disabled */
    char *log_format;        /* "console" or "json" */
    char *log_level;         /* "debug", "info", "warn" or "error" */
    char *bearer_token_file; /* NULL: no auth */
    char *web_config_file;   /* NULL or "": none; TLS and more for the listeners (webcfg.h) */
    char *udp_listen;        /* "" (off), "host:port" or "[v6]:port" (netaddr.h); port 0: any */
    int udp_allow_remote;    /* 0: udp_listen must be a loopback address */
    size_t udp_rcvbuf;       /* SO_RCVBUF request of the UDP socket, bytes */
    char *state_file;        /* "" (off) or an absolute path: the state snapshots (persist.h) */
    double state_interval;   /* seconds between snapshots, 1 to CONFIG_MAX_STATE_INTERVAL */
    /* Seconds between summaries of rejects in the log (rejectlog.h); 0: none. */
    double reject_log_interval;
    /*
     * Seconds the Unix socket asks for senders' credentials after start-up, a reload or a
     * rejected line, when no writer rule or service endpoint needs them (credwant.h).
     */
    double credentials_linger;

    /* "limits" */
    size_t max_series;
    size_t max_series_per_family;
    size_t max_label_value_len;
    uint32_t max_label_values; /* default cap of a label that neither enumerates nor caps */

    struct config_resource_attr *resource; /* sorted by key; OTEL_* variables applied on top */
    size_t nresource;                      /* <= CONFIG_MAX_RESOURCE_ATTRS */
    /* daemon.resource_labels: the attributes the default endpoint copies onto every series */
    char **resource_labels;
    size_t nresource_labels;
    int resource_labels_all;

    /* "endpoints"; has_endpoints when the file has the section (metrics_listen's default is
     * then ""). Each family and SQL metric says which of them serve it (.endpoints). */
    struct config_endpoint *endpoints;
    size_t nendpoints; /* <= CONFIG_MAX_ENDPOINTS */
    int has_endpoints;

    /* "clients": tag keys removed from every line before validation, normalised ('.' and
     * '-' read as '_'); none is a label of any family. */
    char **strip_tags;
    size_t nstrip_tags;      /* <= CONFIG_MAX_STRIP_TAGS */
    int dogstatsd_telemetry; /* clients.dogstatsd_telemetry: families holds cfgclient's */

    /* "learn": the summary of refused lines and its proposal (ingest/learnsum.h). */
    int learn_enabled;
    size_t learn_max_bytes; /* CONFIG_MIN_LEARN_MAX_BYTES to CONFIG_MAX_LEARN_MAX_BYTES */

    /* "groups": include and exclude lists; families have .excluded set from them. */
    char **include_groups; /* NULL: all included */
    size_t ninclude_groups;
    char **exclude_groups;
    size_t nexclude_groups;

    struct config_family *families;
    size_t nfamilies;

    /* "jobs" */
    char *job_prefix;
    struct config_job *jobs;
    size_t njobs;

    /* "writers": the rules, in file order; families[i].writers and jobs[i].writers point
     * into it. nwriters == 0: no policy, anyone may write anything. */
    struct config_writers *writers;
    size_t nwriters;

    /* "remote_write": the targets, in file order (cfgremote.h). */
    struct config_remote *remotes;
    size_t nremotes; /* <= CONFIG_MAX_REMOTES */

    /* "postgres"; has_postgres is 0 when the section is absent. */
    int has_postgres;
    char *pg_conninfo; /* from "conninfo" or read from "conninfo_file" */
    uint32_t pg_pool_size;
    double pg_connect_timeout;   /* seconds, > 0, <= CONFIG_MAX_TIMEOUT_SECONDS */
    double pg_statement_timeout; /* seconds, > 0, <= CONFIG_MAX_TIMEOUT_SECONDS */
    struct config_sql_metric *sql_metrics;
    size_t nsql_metrics;
};

/*
 * Index of the family with this name (counters: with or without "_total", but a
 * total_in_name one only by its stored name), or
 * ERRCODE_UNKNOWN. The name need not be NUL-terminated nor normalised: '.' and '-' compare equal to
 * '_', so a line's name as sent can be looked up directly. A linear scan: call it at registry
 * set-up, not per line. Excluded families are found too (check .excluded).
 */
long config_find_family(const struct config *c, const char *name, size_t len);

/*
 * Whether lines may name family f by its stored name plus "_total": a counter, except one
 * whose stored name already ends in it (total_in_name).
 */
static inline int config_takes_total(const struct config_family *f)
{
    return f->type == FAMILY_COUNTER && !f->total_in_name;
}

/* The families the file configures: c->nfamilies without the synthesised ones. */
size_t config_file_families(const struct config *c);

/*
 * Whether s (a NUL-terminated value of len bytes) matches the label's pattern whole:
 * regexec()'s leftmost-longest match spans it. 1 when the label has no pattern.
 */
int config_label_matches(const struct config_label *cl, const char *s, size_t len);

/* "not_allowed", "cap", "pattern" or "too_long"; "" for CONFIG_FOLD_NONE. */
const char *config_fold_name(enum config_fold f);

/*
 * Whether a value of label cl can fold for this reason (labelset_check's rules, and
 * sqlgauge's): not_allowed on an enumerated label, cap on a capped one, pattern where it
 * has one, too_long on any.
 */
int config_fold_applies(const struct config_label *cl, enum config_fold why);

/* Index of the job, or ERRCODE_UNKNOWN. */
long config_find_job(const struct config *c, const char *name, size_t len);

/*
 * Whether a and b judge every line alike apart from their families: the same sections
 * "limits", "groups", "clients", "jobs" and "writers" (config.judges); 0 when either has
 * none (a config not read from a file).
 */
int config_judges_alike(const struct config *a, const struct config *b);

/*
 * Whether family a (of a config) and b (of one that judges alike, config_judges_alike)
 * judge a line alike: the same object in the file, name, alias and total_in_name (which
 * the other families decide), or both cfgclient's of the same name. 0 when unsure.
 */
int config_family_judged_alike(const struct config_family *a, const struct config_family *b);

/* What is wrong with a state_file value ("" is off), or NULL. */
const char *config_state_file_problem(const char *s);

/*
 * What is wrong with an HTTP path a listener serves (metrics_path, an endpoint's path):
 * NULL, or "must start with '/'".
 */
const char *config_http_path_problem(const char *s);

/*
 * What is wrong with a UDP listen address (as udp_listen holds it) given allow_remote:
 * NULL when it is "" (off) or acceptable, else the problem, for a message that names
 * where the value came from. No name is resolved: a host must be numeric or "localhost".
 * cfgload checks the syntax of $.daemon.udp_listen (allow_remote 1); the loopback
 * rule needs the flags and variables too, so the caller checks it once they are applied.
 */
const char *config_udp_problem(const char *listen, int allow_remote);

/*
 * Whether an endpoint serves what carries these endpoints bits (config_family, SQL
 * metric): bit is the endpoint's, 0 for the default endpoint, which serves everything.
 */
static inline int config_serves(uint32_t endpoints, uint32_t bit)
{
    return bit == 0 || (endpoints & bit) != 0;
}

/*
 * Whether s is a Prometheus name as families, labels and resource keys must be:
 * [a-zA-Z_][a-zA-Z0-9_]*, no colon (those belong to recording rules, and ':' ends a statsd
 * name), not starting with the reserved "__".
 */
int config_valid_name(const char *s);

/* "counter", "gauge", "histogram" or "summary". */
const char *config_family_type_name(enum family_type t);

#endif

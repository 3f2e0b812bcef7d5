/*
 * ustatsd: command line, environment and start-up.
 *
 * Precedence, highest first: flags, USTATSD_* environment variables, the config file's
 * "daemon" section, built-in defaults. An empty --metrics-listen (or USTATSD_METRICS_LISTEN)
 * disables the listener, as seed 000 asks.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "daemon/app.h"
#include "config/cfgendpoint.h"
#include "config/cfglint.h"
#include "base/common.h"
#include "config/cfgwriters.h"
#include "config/config.h"
#include "pg/conninfo.h"
#include "base/errcode.h"
#include "ingest/ingest.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/resattr.h"
#include "state/statefile.h"

static const char *check_log_format(const char *s)
{
    return log_format_parse(s) < 0 ? "expected console or json" : NULL;
}

static const char *check_log_level(const char *s)
{
    return log_level_parse(s) < 0 ? "expected debug, info, warn or error" : NULL;
}

static const char *check_udp_listen(const char *s)
{
    /* The syntax here; whether it may be other than loopback, once every source is read. */
    return config_udp_problem(s, 1);
}

static const char *check_state_file(const char *s)
{
    return config_state_file_problem(s);
}

enum opt_kind {
    OPT_CONFIG, /* the config file */
    OPT_STRING, /* a string of struct config at .field, replaced */
    OPT_MODE,   /* an octal mode at .field */
    OPT_FLAG,   /* an int of struct config at .field: the flag takes no argument and sets it
                 * to 1; the variable says 1/true/yes/on or 0/false/no/off */
    OPT_CHECK,  /* --check-config FILE */
    OPT_VERSION,
    OPT_HELP
};

/*
 * Every option, once: getopt's long and short options, the usage text, the USTATSD_*
 * variables and the override of the config file's daemon section all derive from it.
 */
static const struct opt {
    const char *flag;
    char short_name; /* 0: none */
    const char *arg; /* NULL: takes no argument */
    const char *env; /* NULL: no variable */
    enum opt_kind kind;
    size_t field; /* offsetof(struct config, ...) for OPT_STRING and OPT_MODE */
    const char *help;
    /* A check of the value it ends with, after the overrides: NULL, or what it expects. */
    const char *(*check)(const char *value);
} opts[] = {
    { "config", 'c', "FILE", "USTATSD_CONFIG", OPT_CONFIG, 0, "allowlist configuration (JSON)",
      NULL },
    { "socket", 's', "PATH", "USTATSD_SOCKET", OPT_STRING, offsetof(struct config, socket_path),
      "Unix datagram socket to receive on", NULL },
    { "socket-mode", 0, "MODE", "USTATSD_SOCKET_MODE", OPT_MODE,
      offsetof(struct config, socket_mode), "socket file mode, octal (0660)", NULL },
    { "socket-group", 0, "GROUP", "USTATSD_SOCKET_GROUP", OPT_STRING,
      offsetof(struct config, socket_group), "socket file group", NULL },
    { "metrics-listen", 0, "ADDR", "USTATSD_METRICS_LISTEN", OPT_STRING,
      offsetof(struct config, metrics_listen), "host:port or unix:/path; \"\" disables", NULL },
    { "metrics-path", 0, "PATH", "USTATSD_METRICS_PATH", OPT_STRING,
      offsetof(struct config, metrics_path), "scrape path (/metrics)", config_http_path_problem },
    { "debug-listen", 0, "ADDR", "USTATSD_DEBUG_LISTEN", OPT_STRING,
      offsetof(struct config, debug_listen), "separate listener for /debug; \"\" off", NULL },
    { "log-format", 0, "FORMAT", "USTATSD_LOG_FORMAT", OPT_STRING,
      offsetof(struct config, log_format), "console or json", check_log_format },
    { "log-level", 0, "LEVEL", "USTATSD_LOG_LEVEL", OPT_STRING, offsetof(struct config, log_level),
      "debug, info, warn or error", check_log_level },
    { "udp-listen", 0, "ADDR", "USTATSD_UDP_LISTEN", OPT_STRING,
      offsetof(struct config, udp_listen), "UDP host:port to receive on; \"\" off",
      check_udp_listen },
    { "state-file", 0, "PATH", "USTATSD_STATE_FILE", OPT_STRING,
      offsetof(struct config, state_file), "state snapshots, restored at start; \"\" off",
      check_state_file },
    { "udp-allow-remote", 0, NULL, "USTATSD_UDP_ALLOW_REMOTE", OPT_FLAG,
      offsetof(struct config, udp_allow_remote), "let UDP bind beyond loopback", NULL },
    { "web.config.file", 0, "FILE", "USTATSD_WEB_CONFIG_FILE", OPT_STRING,
      offsetof(struct config, web_config_file), "TLS for the listeners (web config YAML); \"\" off",
      NULL },
    { "check-config", 0, "FILE", NULL, OPT_CHECK, 0,
      "check FILE with the other options as start-up would, and exit: 0 ok (warnings "
      "included), 1 invalid",
      NULL },
    { "version", 'V', NULL, NULL, OPT_VERSION, 0, "print the version and exit", NULL },
    { "help", 'h', NULL, NULL, OPT_HELP, 0, "print this help and exit", NULL },
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* The option values as given, by row of opts[]; NULL means "not given here". */
struct options {
    const char *value[NOPTS];
};

static void usage(FILE *f)
{
    fputs("usage: ustatsd [options]\n"
          "       ustatsd --check-config FILE [options]\n"
          "\n",
          f);
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt *o = &opts[i];
        char left[64], sw[8] = "    ";

        if (o->short_name)
            snprintf(sw, sizeof(sw), "-%c, ", o->short_name);
        snprintf(left, sizeof(left), "  %s--%s%s%s", sw, o->flag, o->arg ? " " : "",
                 o->arg ? o->arg : "");
        if (o->env)
            fprintf(f, "%-29s%-36s [%s]\n", left, o->help, o->env);
        else
            fprintf(f, "%-29s%s\n", left, o->help);
    }
    fputs("\n--check-config binds no socket and connects nowhere. It checks what start-up "
          "needs of\nthe host too: the socket's directory and group, the state file's "
          "directory, the\nbearer token files, the web config file with its certificates "
          "and keys. Names that\nPrometheus conventions flag (promtool check metrics) are "
          "warnings on stderr.\n",
          f);
}

static void from_env(struct options *o)
{
    for (size_t i = 0; i < NOPTS; i++)
        o->value[i] = opts[i].env ? getenv(opts[i].env) : NULL;
}

/* Where the configuration comes from, for start-up and for every reload. */
struct loader {
    const char *path;
    const struct options *cli;
    const struct options *env;
    const char *otel_service_name;        /* OTEL_SERVICE_NAME, or NULL */
    const char *otel_resource_attributes; /* OTEL_RESOURCE_ATTRIBUTES, or NULL */
};

static const char *source(const struct opt *o, const char *given, int env, char *buf, size_t len);

/* The row of opts[] for a field of struct config. */
static size_t opt_row(size_t field_off)
{
    size_t i = 0;

    while (i < NOPTS &&
           !(opts[i].kind >= OPT_STRING && opts[i].kind <= OPT_FLAG && opts[i].field == field_off))
        i++;
    return i;
}

/*
 * Whether the UDP address may be bound, now that the file, the variables and the flags
 * have all had their say (udp_listen and udp_allow_remote may come from different ones).
 * The message names where the address came from: the flag, the variable, or the file's
 * $.daemon.udp_listen.
 */
static int check_udp(const struct config *c, const struct loader *ld, char *err, size_t errlen)
{
    size_t i = opt_row(offsetof(struct config, udp_listen));
    const char *problem = config_udp_problem(c->udp_listen, c->udp_allow_remote);
    char name[64];

    if (problem == NULL)
        return 0;
    if (ld->cli != NULL && (ld->cli->value[i] != NULL || ld->env->value[i] != NULL))
        snprintf(err, errlen, "%s \"%s\": %s",
                 source(&opts[i], ld->cli->value[i] ? ld->cli->value[i] : ld->env->value[i],
                        ld->cli->value[i] == NULL, name, sizeof(name)),
                 c->udp_listen, problem);
    else
        snprintf(err, errlen, "%s: $.daemon.udp_listen: \"%s\": %s", c->path, c->udp_listen,
                 problem);
    return ERRCODE_CONFIG;
}

/*
 * The OpenTelemetry variables on top of the file's resource attributes, then what the
 * endpoints need of the result and of the listeners the flags left.
 */
static int check_endpoints(struct config *c, const struct loader *ld, char *err, size_t errlen)
{
    char buf[768];
    const char *why;

    if (resattr_from_env(ld->otel_service_name, ld->otel_resource_attributes,
                         c->max_label_value_len, &c->resource, &c->nresource, buf,
                         sizeof(buf)) != 0) {
        snprintf(err, errlen, "%s", buf);
        return ERRCODE_CONFIG;
    }
    if ((why = cfgendpoint_problem(c, buf, sizeof(buf))) != NULL) {
        snprintf(err, errlen, "%s: %s", c->path, why);
        return ERRCODE_CONFIG;
    }
    return 0;
}

static int parse_mode(const char *s, uint32_t *mode)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 8);
    if (errno != 0 || end == s || *end != '\0' || v > 0777)
        return ERRCODE_CONFIG;
    *mode = (uint32_t)v;
    return 0;
}

/* A boolean variable: 1 or 0, or -1 when it is neither. */
static int parse_flag(const char *s)
{
    static const char *const on[] = { "1", "true", "yes", "on" };
    static const char *const off[] = { "0", "false", "no", "off", "" };

    for (size_t i = 0; i < ARRAY_SIZE(on); i++)
        if (strcasecmp(s, on[i]) == 0)
            return 1;
    for (size_t i = 0; i < ARRAY_SIZE(off); i++)
        if (strcasecmp(s, off[i]) == 0)
            return 0;
    return -1;
}

static void *field(struct config *c, const struct opt *o)
{
    return (char *)c + o->field;
}

/* "--metrics-path" or "USTATSD_METRICS_PATH" when that source gave it, else "metrics path". */
static const char *source(const struct opt *o, const char *given, int env, char *buf, size_t len)
{
    size_t i;

    if (given != NULL && env)
        return o->env;
    if (given != NULL) {
        snprintf(buf, len, "--%s", o->flag);
        return buf;
    }
    for (i = 0; o->flag[i] != '\0' && i + 1 < len; i++)
        buf[i] = o->flag[i] == '-' ? ' ' : o->flag[i];
    buf[i] = '\0';
    return buf;
}

/*
 * Apply the flags (env 0) or the USTATSD_* variables (env 1) on top of the loaded config,
 * in the table's order; ERRCODE_CONFIG with a message naming the flag or variable.
 */
static int apply_options(struct config *c, const struct options *o, int env, char *err,
                         size_t errlen)
{
    for (size_t i = 0; i < NOPTS; i++) {
        const struct opt *opt = &opts[i];
        const char *v = o->value[i], *problem;
        char name[64];

        if (v != NULL && opt->kind == OPT_STRING) {
            char **slot = field(c, opt), *copy = mem_strdup(v);

            free(*slot);
            *slot = copy;
        }
        if (v != NULL && opt->kind == OPT_MODE && parse_mode(v, field(c, opt)) != 0) {
            snprintf(err, errlen, "%s \"%s\": expected an octal mode such as 0660",
                     source(opt, v, env, name, sizeof(name)), v);
            return ERRCODE_CONFIG;
        }
        if (v != NULL && opt->kind == OPT_FLAG) {
            int b = parse_flag(v);

            if (b < 0) {
                snprintf(err, errlen,
                         "%s \"%s\": expected 1, true, yes or on, or 0, false, no or off",
                         source(opt, v, env, name, sizeof(name)), v);
                return ERRCODE_CONFIG;
            }
            *(int *)field(c, opt) = b;
        }
        if (opt->check == NULL)
            continue;
        v = *(char **)field(c, opt);
        if ((problem = opt->check(v)) != NULL) {
            snprintf(err, errlen, "%s \"%s\": %s",
                     source(opt, o->value[i], env, name, sizeof(name)), v ? v : "", problem);
            return ERRCODE_CONFIG;
        }
    }
    return 0;
}

/* The environment's settings, then the flags', on top of the file's. */
static int override_config(struct config *c, const struct loader *ld, char *err, size_t errlen)
{
    int rc = apply_options(c, ld->env, 1, err, errlen);

    if (rc == 0)
        rc = apply_options(c, ld->cli, 0, err, errlen);
    if (rc == 0)
        rc = check_udp(c, ld, err, errlen);
    return rc != 0 ? rc : check_endpoints(c, ld, err, errlen);
}

/* app_load_cb: the file, the overrides, and the checks sqlpool_init would make. */
static int reload_config(struct config *c, void *arg, char *err, size_t errlen)
{
    const struct loader *ld = arg;

    int rc = config_load(c, ld->path, err, errlen);

    if (rc != 0)
        return rc;
    rc = override_config(c, ld, err, errlen);
    if (rc == 0)
        rc = conninfo_check(c, err, errlen);
    if (rc != 0)
        config_release(c);
    return rc;
}

/*
 * Where the setting of a daemon field came from, for a message: "--state-file",
 * "USTATSD_STATE_FILE", or "FILE: $.daemon.state_file" (the file, or the default).
 */
static const char *where(const struct loader *ld, const struct config *c, size_t field_off,
                         char *buf, size_t len)
{
    size_t i = opt_row(field_off), n;
    int w;

    if (ld->cli->value[i] != NULL)
        return source(&opts[i], ld->cli->value[i], 0, buf, len);
    if (ld->env->value[i] != NULL)
        return source(&opts[i], ld->env->value[i], 1, buf, len);
    /* The key is the flag's name with '_' for '-' and '.': "web.config.file". */
    w = snprintf(buf, len, "%s: $.daemon.", c->path);
    n = w < 0 ? 0 : (size_t)w;
    for (const char *f = opts[i].flag; *f != '\0' && n + 1 < len; f++)
        buf[n++] = *f == '-' || *f == '.' ? '_' : *f;
    if (n < len)
        buf[n] = '\0';
    return buf;
}

/* cfglint_cb for --check-config: on stderr, as the errors are. */
static void print_lint(void *arg, const char *where_, const char *msg)
{
    fprintf(stderr, "ustatsd: %s: %s: warning: %s\n", (const char *)arg, where_, msg);
}

/*
 * What start-up needs of the host, beyond the file: each check the one start-up (or a
 * snapshot) makes, without binding a socket or connecting anywhere. Every problem is
 * printed, not only the first. Returns how many there were.
 */
static int check_host(const struct config *c, const struct loader *ld)
{
    char err[1024], name[512];
    int problems = 0;

    if (ingest_check_socket(c->socket_path, err, sizeof(err)) != 0 && ++problems)
        fprintf(stderr, "ustatsd: %s: %s\n",
                where(ld, c, offsetof(struct config, socket_path), name, sizeof(name)), err);
    if (ingest_check_group(c->socket_group, err, sizeof(err)) != 0 && ++problems)
        fprintf(stderr, "ustatsd: %s: %s\n",
                where(ld, c, offsetof(struct config, socket_group), name, sizeof(name)), err);
    /* A unix: listener is bound as the ingest socket is: a stale file replaced, no other. */
    if (strncmp(c->metrics_listen, "unix:", 5) == 0 &&
        ingest_check_socket(c->metrics_listen + 5, err, sizeof(err)) != 0 && ++problems)
        fprintf(stderr, "ustatsd: %s: %s\n",
                where(ld, c, offsetof(struct config, metrics_listen), name, sizeof(name)), err);
    if (c->debug_listen != NULL && strncmp(c->debug_listen, "unix:", 5) == 0 &&
        ingest_check_socket(c->debug_listen + 5, err, sizeof(err)) != 0 && ++problems)
        fprintf(stderr, "ustatsd: %s: %s\n",
                where(ld, c, offsetof(struct config, debug_listen), name, sizeof(name)), err);
    for (size_t i = 0; i < c->nendpoints; i++)
        if (strncmp(c->endpoints[i].listen, "unix:", 5) == 0 &&
            ingest_check_socket(c->endpoints[i].listen + 5, err, sizeof(err)) != 0 && ++problems)
            fprintf(stderr, "ustatsd: %s: $.endpoints[%zu].listen: %s\n", c->path, i, err);
    if (c->state_file[0] != '\0' && statefile_check(c->state_file, err, sizeof(err)) != 0 &&
        ++problems)
        fprintf(stderr, "ustatsd: %s: %s\n",
                where(ld, c, offsetof(struct config, state_file), name, sizeof(name)), err);
    if (app_check_tokens(c, err, sizeof(err)) != 0 && ++problems)
        fprintf(stderr, "ustatsd: %s\n", err);
    if (app_check_web(c, err, sizeof(err)) != 0 && ++problems)
        fprintf(stderr, "ustatsd: %s: %s\n",
                where(ld, c, offsetof(struct config, web_config_file), name, sizeof(name)), err);
    return problems;
}

/*
 * --check-config: the file, the variables and flags on top, and every check start-up
 * makes, each with the same function; then the lints. 0 when start-up would go ahead
 * (warnings or not), 1 when it would refuse.
 */
static int check_config(const struct loader *ld)
{
    struct config c;
    char err[1024];
    size_t warnings;
    int problems;

    memset(&c, 0, sizeof(c));
    if (config_load(&c, ld->path, err, sizeof(err)) != 0) {
        fprintf(stderr, "ustatsd: %s\n", err);
        return 1;
    }
    if (override_config(&c, ld, err, sizeof(err)) != 0 ||
        conninfo_check(&c, err, sizeof(err)) != 0) {
        fprintf(stderr, "ustatsd: %s\n", err);
        config_release(&c);
        return 1;
    }
    problems = check_host(&c, ld);
    warnings = cfglint_run(&c, print_lint, (void *)ld->path);
    if (problems > 0) {
        fprintf(stderr, "ustatsd: %s: %d problem%s: the daemon would not start\n", ld->path,
                problems, problems == 1 ? "" : "s");
        config_release(&c);
        return 1;
    }
    printf("%s: ok (%zu families, %zu jobs, %zu sql metrics; DogStatsD client telemetry %s)\n",
           ld->path, config_file_families(&c), c.njobs, c.nsql_metrics,
           c.dogstatsd_telemetry ? "on" : "off");
    if (c.nwriters > 0)
        printf("%s: writers: %zu rules guard %zu of %zu families and %zu of %zu jobs; the "
               "others are open to every sender\n",
               ld->path, c.nwriters, cfgwriters_guarded_families(&c), config_file_families(&c),
               cfgwriters_guarded_jobs(&c), c.njobs);
    if (warnings > 0)
        printf("%s: %zu warning%s (on stderr): names Prometheus conventions flag, served as "
               "configured\n",
               ld->path, warnings, warnings == 1 ? "" : "s");
    config_release(&c);
    return 0;
}

/*
 * Read the flags into cli. Returns -1 to go on, or the exit status of an option that ends
 * the run at once (--version, --help, a bad option or argument). --check-config goes on:
 * the other flags and the variables apply to what it checks.
 */
static int parse_args(int argc, char **argv, struct options *cli)
{
    struct option longopts[NOPTS + 1];
    char shortopts[2 * NOPTS + 1];
    size_t ns = 0;
    int ch;

    memset(cli, 0, sizeof(*cli));
    memset(longopts, 0, sizeof(longopts));
    for (size_t i = 0; i < NOPTS; i++) {
        longopts[i].name = opts[i].flag;
        longopts[i].has_arg = opts[i].arg ? required_argument : no_argument;
        longopts[i].val = opts[i].short_name ? opts[i].short_name : 256 + (int)i;
        if (opts[i].short_name) {
            shortopts[ns++] = opts[i].short_name;
            if (opts[i].arg)
                shortopts[ns++] = ':';
        }
    }
    shortopts[ns] = '\0';
    while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        size_t i = 0;

        while (i < NOPTS && longopts[i].val != ch)
            i++;
        if (i == NOPTS) {
            usage(stderr);
            return 2;
        }
        if (opts[i].kind == OPT_VERSION) {
            printf("ustatsd %s\n", USTATSD_VERSION);
            return 0;
        }
        if (opts[i].kind == OPT_HELP) {
            usage(stdout);
            return 0;
        }
        /* Last-one-wins would silently drop a listener or a socket the operator asked for. */
        if (cli->value[i] != NULL) {
            if (opts[i].arg)
                fprintf(stderr, "ustatsd: --%s given twice (\"%s\" and \"%s\"): give it once\n",
                        opts[i].flag, cli->value[i], optarg);
            else
                fprintf(stderr, "ustatsd: --%s given twice: give it once\n", opts[i].flag);
            return 2;
        }
        cli->value[i] = opts[i].arg ? optarg : "1";
    }
    if (optind != argc) {
        fprintf(stderr, "ustatsd: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    return -1;
}

/*
 * Started with 0, 1 or 2 closed (a supervisor, a test harness, a shell's `<&-`), the
 * daemon's first socket would take that descriptor: libuv asserts that it never closes
 * one below 3, so the daemon aborted at shutdown, and a log line would go to whichever
 * socket took 2. Each closed one is opened on /dev/null first, as daemons do. Returns 0,
 * or -1 when one cannot be.
 */
static int open_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        /* The ones below fd are open: open() takes the lowest free descriptor, fd. */
        int got = open("/dev/null", O_RDWR);
        if (got != fd) {
            if (got >= 0)
                close(got);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options cli, env;
    struct loader ld;
    size_t check_row;
    struct config cfg;
    char err[1024];
    int rc;

    if (open_std_fds() != 0)
        return 1;
    if ((rc = parse_args(argc, argv, &cli)) >= 0)
        return rc;
    from_env(&env);
    ld.cli = &cli;
    ld.env = &env;
    ld.otel_service_name = getenv("OTEL_SERVICE_NAME");
    ld.otel_resource_attributes = getenv("OTEL_RESOURCE_ATTRIBUTES");
    check_row = 0;
    while (opts[check_row].kind != OPT_CHECK)
        check_row++;
    if (cli.value[check_row] != NULL) {
        /* The file to check is the one named; USTATSD_CONFIG does not stand in for it. */
        if (cli.value[0] != NULL && strcmp(cli.value[0], cli.value[check_row]) != 0) {
            fprintf(stderr, "ustatsd: --check-config \"%s\" and --config \"%s\": give one file\n",
                    cli.value[check_row], cli.value[0]);
            return 2;
        }
        ld.path = cli.value[check_row];
        return check_config(&ld);
    }
    if (cli.value[0] == NULL) /* opts[0] is --config */
        cli.value[0] = env.value[0];
    if (cli.value[0] == NULL) {
        fprintf(stderr, "ustatsd: no configuration: give --config FILE or USTATSD_CONFIG\n");
        return 2;
    }
    ld.path = cli.value[0];
    memset(&cfg, 0, sizeof(cfg));
    if (config_load(&cfg, ld.path, err, sizeof(err)) != 0) {
        fprintf(stderr, "ustatsd: %s\n", err);
        fprintf(stderr, "ustatsd: refusing to start with an invalid configuration\n");
        return 1;
    }
    if (override_config(&cfg, &ld, err, sizeof(err)) != 0) {
        fprintf(stderr, "ustatsd: %s\n", err);
        config_release(&cfg);
        return 2;
    }
    /*
     * libuv writes with writev(2): a scraper that goes away mid-response would raise
     * SIGPIPE and kill the daemon. The write fails with EPIPE instead, and the connection
     * is closed.
     */
    signal(SIGPIPE, SIG_IGN);
    /*
     * A state file past the file-size limit (ulimit -f) would raise SIGXFSZ and kill the
     * daemon mid-snapshot: the write fails with EFBIG instead, counted and logged.
     */
    signal(SIGXFSZ, SIG_IGN);
    /*
     * No fastbins: glibc parks freed blocks of up to 128 bytes (series, label values) in
     * them unmerged, and the next free of 64 KiB or more merges them all at once. After an
     * expiry or a reload freed 30,000 series, that one free() held the loop for 8 ms.
     */
    mallopt(M_MXFAST, 0);
    rc = app_run(&cfg, ld.path, reload_config, &ld);
    config_release(&cfg);
    return rc;
}

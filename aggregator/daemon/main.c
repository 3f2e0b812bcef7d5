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
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/resource.h>

#include "cli/cli.h"
#include "daemon/app.h"
#include "daemon/reload.h"
#include "daemon/security.h"
#include "config/cfgendpoint.h"
#include "config/cfglint.h"
#include "config/cfgread.h"
#include "base/common.h"
#include "config/cfgwriters.h"
#include "config/config.h"
#include "config/cfgload.h"
#include "pg/conninfo.h"
#include "pg/sqlcheck.h"
#include "base/errcode.h"
#include "ingest/ingest.h"
#include "base/log.h"
#include "base/mem.h"
#include "config/resattr.h"
#include "state/statefile.h"

enum opt_kind {
    OPT_CONFIG,  /* the config file */
    OPT_SETTING, /* a row of cfgload_daemon_keys: a string, an octal mode, or a boolean that
                  * the flag sets to 1 and the variable says 1/true/yes/on or 0/false/no/off */
    OPT_CHECK,   /* --check-config FILE */
    OPT_CONNECT, /* --connect, with --check-config */
    OPT_VERSION,
    OPT_HELP
};

/* The options that are no setting of the daemon: the file, and what ends the run. */
static const struct cfgread_flag config_flag = {
    .name = "config",
    .short_name = 'c',
    .arg = "FILE",
    .env = "USTATSD_CONFIG",
    .help = "allowlist configuration (JSON)",
    .man = "The allowlist configuration, JSON.\n",
};
static const struct cfgread_flag command_flags[] = {
    [OPT_CHECK] = { .name = "check-config",
                    .arg = "FILE",
                    .help = "check FILE with the other options as start-up would, and exit: 0 "
                            "ok (warnings included), 1 invalid",
                    .man = "Check\n"
                           ".I FILE\n"
                           "as start-up would, without binding a socket or connecting anywhere "
                           "(but see\n"
                           ".BR \\-\\-connect ):\n"
                           "the file, and what\n"
                           "start-up needs of the host (the socket's directory and group, the "
                           "state file's\n"
                           "directory, the bearer token files, the web configuration file with "
                           "its certificates and\n"
                           "keys).\n"
                           "Print\n"
                           ".B ok\n"
                           "or the problem, and exit.\n"
                           "Names that Prometheus conventions flag are warnings on standard "
                           "error; they do not make\n"
                           "the file invalid.\n" },
    [OPT_CONNECT] = { .name = "connect",
                      .help = "with --check-config: also connect to PostgreSQL and try each "
                              "SQL metric's query",
                      .man = "With\n"
                             ".BR \\-\\-check\\-config :\n"
                             "also connect to PostgreSQL as the daemon would (the postgres "
                             "section) and try each SQL\n"
                             "metric's query there, in a read-only transaction: each query that "
                             "does not run, or whose\n"
                             "result lacks a column the metric needs or has a value column that "
                             "is not a number, is a\n"
                             "problem line naming the file, the metric and PostgreSQL's message, "
                             "and the exit status is 1.\n" },
    [OPT_VERSION] = { .name = "version",
                      .short_name = 'V',
                      .help = "print the version and exit",
                      .man = "Print the version and exit.\n" },
    [OPT_HELP] = { .name = "help",
                   .short_name = 'h',
                   .help = "print this help and exit",
                   .man = "Print the options and exit.\n" },
};

/*
 * Every option, once: --config, each row of cfgload_daemon_keys that has a flag, then the
 * commands. getopt's long and short options, the usage text, the manual page's option
 * list, the USTATSD_* variables and the override of the config file's daemon section all
 * derive from it. Filled once by opts_init(), before anything reads it.
 */
#define MAX_OPTS 32

static struct opt {
    const struct cfgread_flag *flag;
    const struct cfgread_key *key; /* OPT_SETTING: its row; else NULL */
    enum opt_kind kind;
} opts[MAX_OPTS];
static size_t nopts;

static void opt_add(const struct cfgread_flag *flag, const struct cfgread_key *key,
                    enum opt_kind kind)
{
    opts[nopts].flag = flag;
    opts[nopts].key = key;
    opts[nopts++].kind = kind;
}

static void opts_init(void)
{
    _Static_assert(ARRAY_SIZE(command_flags) == OPT_HELP + 1, "a row for each command");
    opt_add(&config_flag, NULL, OPT_CONFIG); /* opts[0] */
    for (size_t i = 0; i < cfgload_ndaemon_keys && nopts + 3 < MAX_OPTS; i++)
        if (cfgload_daemon_keys[i].flag.name != NULL)
            opt_add(&cfgload_daemon_keys[i].flag, &cfgload_daemon_keys[i], OPT_SETTING);
    for (int k = OPT_CHECK; k <= OPT_HELP; k++)
        opt_add(&command_flags[k], NULL, (enum opt_kind)k);
}

/* The option values as given, by row of opts[]; NULL means "not given here". */
struct options {
    const char *value[MAX_OPTS];
};

static void usage(FILE *f)
{
    fputs("usage: ustatsd [options]\n"
          "       ustatsd --check-config FILE [--connect] [options]\n",
          f);
    cli_usage(f);
    fputs("\n", f);
    for (size_t i = 0; i < nopts; i++) {
        const struct cfgread_flag *o = opts[i].flag;
        char left[64], sw[8] = "    ";

        if (o->short_name)
            snprintf(sw, sizeof(sw), "-%c, ", o->short_name);
        snprintf(left, sizeof(left), "  %s--%s%s%s", sw, o->name, o->arg ? " " : "",
                 o->arg ? o->arg : "");
        if (o->env)
            fprintf(f, "%-29s%-36s [%s]\n", left, o->help, o->env);
        else
            fprintf(f, "%-29s%s\n", left, o->help);
    }
    fputs("\n--check-config binds no socket and, without --connect, connects nowhere. It "
          "checks\nwhat start-up needs of the host too: the socket's directory and group, the "
          "state\nfile's directory, the bearer token files, the web config file with its "
          "certificates\nand keys. Names that Prometheus conventions flag (promtool check "
          "metrics) are warnings\non stderr. With --connect it also connects to PostgreSQL "
          "and runs each SQL metric's\nquery once, read-only, checking the columns the metric "
          "needs.\n",
          f);
}

/* What a boolean variable takes, in any case: 1 or 0, or -1 when it is neither. */
static const char *const flag_on[] = { "1", "true", "yes", "on" };
static const char *const flag_off[] = { "0", "false", "no", "off", "" };

/* A flag as roff writes it: "\-\-metrics\-path". */
static void man_flag(FILE *f, const char *name)
{
    fputs("\\-\\-", f);
    for (const char *c = name; *c != '\0'; c++) {
        if (*c == '-')
            fputs("\\-", f);
        else
            fputc(*c, f);
    }
}

/*
 * --help-man (not listed): the manual page's option list, one .TP entry per option, which
 * the build puts into the page (packaging/ustatsd.1).
 */
static void usage_man(FILE *f)
{
    for (size_t i = 0; i < nopts; i++) {
        const struct cfgread_flag *o = opts[i].flag;

        fputs(".TP\n", f);
        fputs(o->short_name || o->arg ? ".BR " : ".B ", f);
        if (o->short_name)
            fprintf(f, "\\-%c \", \" ", o->short_name);
        man_flag(f, o->name);
        if (o->arg)
            fprintf(f, " \" \\fI%s\\fR\"", o->arg);
        fprintf(f, "\n%s", o->man);
        if (o->env == NULL)
            continue;
        if (o->arg != NULL) {
            fprintf(f, "Variable:\n.BR %s .\n", o->env);
            continue;
        }
        fprintf(f, "Variable:\n.BR %s ,\nwhich takes", o->env);
        for (size_t j = 0; j < ARRAY_SIZE(flag_on); j++)
            fprintf(f, "%s %s", j == 0 ? "" : ",", flag_on[j]);
        for (size_t j = 0; j < ARRAY_SIZE(flag_off) && flag_off[j][0] != '\0'; j++)
            fprintf(f, "%s %s", j == 0 ? " or" : ",", flag_off[j]);
        fputs(", in any case.\n", f);
    }
}

static void from_env(struct options *o)
{
    for (size_t i = 0; i < nopts; i++)
        o->value[i] = opts[i].flag->env ? getenv(opts[i].flag->env) : NULL;
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

/* The row of opts[] for a field of struct config that has a flag. */
static size_t opt_row(size_t field_off)
{
    size_t i = 0;

    while (i < nopts && !(opts[i].kind == OPT_SETTING && opts[i].key->off == field_off))
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
    for (size_t i = 0; i < ARRAY_SIZE(flag_on); i++)
        if (strcasecmp(s, flag_on[i]) == 0)
            return 1;
    for (size_t i = 0; i < ARRAY_SIZE(flag_off); i++)
        if (strcasecmp(s, flag_off[i]) == 0)
            return 0;
    return -1;
}

static void *field(struct config *c, const struct opt *o)
{
    return (char *)c + o->key->off;
}

/* "--metrics-path" or "USTATSD_METRICS_PATH" when that source gave it, else "metrics path". */
static const char *source(const struct opt *o, const char *given, int env, char *buf, size_t len)
{
    size_t i;

    const char *name = o->flag->name;

    if (given != NULL && env)
        return o->flag->env;
    if (given != NULL) {
        snprintf(buf, len, "--%s", name);
        return buf;
    }
    for (i = 0; name[i] != '\0' && i + 1 < len; i++)
        buf[i] = name[i] == '-' ? ' ' : name[i];
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
    for (size_t i = 0; i < nopts; i++) {
        const struct opt *opt = &opts[i];
        const char *v = o->value[i], *problem;
        char name[64], buf[256];

        if (opt->kind != OPT_SETTING)
            continue;
        if (v != NULL && (opt->key->kind == CFGREAD_STRING || opt->key->kind == CFGREAD_LISTEN)) {
            char **slot = field(c, opt), *copy = mem_strdup(v);

            free(*slot);
            *slot = copy;
        }
        if (v != NULL && opt->key->kind == CFGREAD_MODE && parse_mode(v, field(c, opt)) != 0) {
            snprintf(err, errlen, "%s \"%s\": expected an octal mode such as 0660",
                     source(opt, v, env, name, sizeof(name)), v);
            return ERRCODE_CONFIG;
        }
        if (v != NULL && opt->key->kind == CFGREAD_BOOL) {
            int b = parse_flag(v);

            if (b < 0) {
                snprintf(err, errlen,
                         "%s \"%s\": expected 1, true, yes or on, or 0, false, no or off",
                         source(opt, v, env, name, sizeof(name)), v);
                return ERRCODE_CONFIG;
            }
            *(int *)field(c, opt) = b;
        }
        if (opt->key->kind != CFGREAD_STRING && opt->key->kind != CFGREAD_LISTEN)
            continue;
        /* The row's own checks, on what it ends with: the file's value or this one. */
        v = *(char **)field(c, opt);
        if ((problem = cfgread_value_problem(opt->key, v, buf, sizeof(buf))) != NULL) {
            snprintf(err, errlen, "%s \"%s\": %s",
                     source(opt, o->value[i], env, name, sizeof(name)), v, problem);
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

/* app_override_cb: for a reload, the variables and flags on top of the file, as at start. */
static int reload_override(struct config *c, void *arg, char *err, size_t errlen)
{
    return override_config(c, arg, err, errlen);
}

/*
 * Where the setting of a daemon field came from, for a message: "--state-file",
 * "USTATSD_STATE_FILE", or "FILE: $.daemon.state_file" (the file, or the default).
 */
static const char *where(const struct loader *ld, const struct config *c, size_t field_off,
                         char *buf, size_t len)
{
    size_t i = opt_row(field_off);

    if (ld->cli->value[i] != NULL)
        return source(&opts[i], ld->cli->value[i], 0, buf, len);
    if (ld->env->value[i] != NULL)
        return source(&opts[i], ld->env->value[i], 1, buf, len);
    snprintf(buf, len, "%s: $.daemon.%s", c->path, opts[i].key->name);
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
    char err[1024], warn[1024], name[512];
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
    if (c->state_file[0] != '\0' && statefile_check_dir(c->state_file, err, sizeof(err)) != 0)
        fprintf(stderr, "ustatsd: %s: warning: %s\n",
                where(ld, c, offsetof(struct config, state_file), name, sizeof(name)), err);
    if (reload_check_tokens(c, err, sizeof(err)) != 0 && ++problems)
        fprintf(stderr, "ustatsd: %s\n", err);
    if (security_check(c, err, sizeof(err), warn, sizeof(warn)) != 0 && ++problems)
        fprintf(stderr, "ustatsd: %s: %s\n",
                where(ld, c, offsetof(struct config, web_config_file), name, sizeof(name)), err);
    else if (warn[0] != '\0')
        fprintf(stderr, "ustatsd: %s: warning: %s\n",
                where(ld, c, offsetof(struct config, web_config_file), name, sizeof(name)), warn);
    return problems;
}

/*
 * --connect: each SQL metric's query tried on the database (sqlcheck.h), its problems on
 * stderr. 0 when every one passed (or there is no postgres section), with the line to
 * print in ok; 1 when one failed or no connection could be made.
 */
static int check_sql(const struct config *c, const char *path, char *ok, size_t oklen)
{
    struct sqlcheck_result r;
    long failed;

    if (!c->has_postgres) {
        snprintf(ok, oklen, "%s: --connect: no postgres section, nothing to connect to\n", path);
        return 0;
    }
    failed = sqlcheck_run(c, stderr, &r);
    if (failed < 0)
        return 1; /* the line says why */
    if (failed > 0) {
        fprintf(stderr, "ustatsd: %s: --connect: %ld of %zu SQL metric%s failed on the database\n",
                path, failed, r.checked, r.checked == 1 ? "" : "s");
        return 1;
    }
    snprintf(ok, oklen,
             "%s: --connect: %zu SQL metric%s ok on the database (%zu excluded by groups, not "
             "checked; %zu warning%s on stderr: rows the daemon would skip today)\n",
             path, r.checked, r.checked == 1 ? "" : "s", r.excluded, r.warnings,
             r.warnings == 1 ? "" : "s");
    return 0;
}

/*
 * --check-config: the file, the variables and flags on top, and every check start-up
 * makes, each with the same function; then the lints; then, with --connect, the SQL
 * metrics on the database. 0 when start-up would go ahead (warnings or not) and every
 * query passed, 1 otherwise.
 */
static int check_config(const struct loader *ld, int connect)
{
    struct config c;
    char err[1024], sql_ok[1024] = "";
    size_t warnings;
    int problems;

    memset(&c, 0, sizeof(c));
    if (cfgload_file(&c, ld->path, err, sizeof(err)) != 0) {
        fprintf(stderr, "ustatsd: %s\n", err);
        return 1;
    }
    if (override_config(&c, ld, err, sizeof(err)) != 0 ||
        conninfo_check(&c, err, sizeof(err)) != 0) {
        fprintf(stderr, "ustatsd: %s\n", err);
        cfgload_release(&c);
        return 1;
    }
    problems = check_host(&c, ld);
    warnings = cfglint_run(&c, print_lint, (void *)ld->path);
    if (problems > 0) {
        fprintf(stderr, "ustatsd: %s: %d problem%s: the daemon would not start\n", ld->path,
                problems, problems == 1 ? "" : "s");
        cfgload_release(&c);
        return 1;
    }
    if (connect && check_sql(&c, ld->path, sql_ok, sizeof(sql_ok)) != 0) {
        cfgload_release(&c);
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
    fputs(sql_ok, stdout);
    cfgload_release(&c);
    return 0;
}

/*
 * Read the flags into cli. Returns -1 to go on, or the exit status of an option that ends
 * the run at once (--version, --help, a bad option or argument). --check-config goes on:
 * the other flags and the variables apply to what it checks.
 */
static int parse_args(int argc, char **argv, struct options *cli)
{
    struct option longopts[MAX_OPTS + 1];
    char shortopts[2 * MAX_OPTS + 1];
    size_t ns = 0;
    int ch;

    memset(cli, 0, sizeof(*cli));
    memset(longopts, 0, sizeof(longopts));
    for (size_t i = 0; i < nopts; i++) {
        const struct cfgread_flag *o = opts[i].flag;

        longopts[i].name = o->name;
        longopts[i].has_arg = o->arg ? required_argument : no_argument;
        longopts[i].val = o->short_name ? o->short_name : 256 + (int)i;
        if (o->short_name) {
            shortopts[ns++] = o->short_name;
            if (o->arg)
                shortopts[ns++] = ':';
        }
    }
    shortopts[ns] = '\0';
    while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        size_t i = 0;

        while (i < nopts && longopts[i].val != ch)
            i++;
        if (i == nopts) {
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
            if (opts[i].flag->arg)
                fprintf(stderr, "ustatsd: --%s given twice (\"%s\" and \"%s\"): give it once\n",
                        opts[i].flag->name, cli->value[i], optarg);
            else
                fprintf(stderr, "ustatsd: --%s given twice: give it once\n", opts[i].flag->name);
            return 2;
        }
        cli->value[i] = opts[i].flag->arg ? optarg : "1";
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

/*
 * Descriptors: the soft limit up to the hard one, as Go's runtime does at start-up. The
 * HTTP servers park the connections they evict (http/httppark.c) in a lot sized from
 * this limit, and a soft limit of 1024 (a shell's, systemd's default) would make it
 * small. A limit that cannot be raised stays as it is; the lot fits it.
 */
static void nofile_raise(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/*
 * No fastbins: glibc parks freed blocks of up to 128 bytes (series, label values) in them
 * unmerged, and the next free of 64 KiB or more merges them all at once. After an expiry
 * or a reload freed 30,000 series, that one free() held the loop for 8 ms. Set here, just
 * before app_run(): set at the start of app_run() instead, a scrape of 100,000 series ran
 * about 9% slower (bench_scrape, the two binaries alternated), the series laid out less
 * well. Another allocator (a sanitizer's, a preloaded one) may refuse: said in the log's
 * own format, since it changes nothing the daemon does.
 */
static void fastbins_off(const struct config *cfg)
{
    struct log l;

    if (mallopt(M_MXFAST, 0) == 1)
        return;
    log_init(&l, (enum log_format)log_format_parse(cfg->log_format),
             (enum log_level)log_level_parse(cfg->log_level), stderr);
    log_msg(&l, LOG_INFO, "app",
            "mallopt(M_MXFAST, 0) refused by the allocator, ignored: freeing many series at "
            "once may hold the loop longer");
    log_release(&l);
}

int main(int argc, char **argv)
{
    struct options cli, env;
    struct loader ld;
    size_t check_row, connect_row;
    struct config cfg;
    char err[1024];
    int rc;

    mem_setup(); /* before anything allocates */
    if (open_std_fds() != 0)
        return 1;
    opts_init();
    if (cli_dispatch(argc, argv, &rc))
        return rc;
    if (argc == 2 && strcmp(argv[1], "--help-man") == 0) {
        usage_man(stdout);
        return 0;
    }
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
    connect_row = check_row + 1; /* opts_init adds the commands in enum order */
    if (cli.value[connect_row] != NULL && cli.value[check_row] == NULL) {
        fprintf(stderr, "ustatsd: --connect goes with --check-config FILE\n");
        return 2;
    }
    if (cli.value[check_row] != NULL) {
        /* The file to check is the one named; USTATSD_CONFIG does not stand in for it. */
        if (cli.value[0] != NULL && strcmp(cli.value[0], cli.value[check_row]) != 0) {
            fprintf(stderr, "ustatsd: --check-config \"%s\" and --config \"%s\": give one file\n",
                    cli.value[check_row], cli.value[0]);
            return 2;
        }
        ld.path = cli.value[check_row];
        return check_config(&ld, cli.value[connect_row] != NULL);
    }
    if (cli.value[0] == NULL) /* opts[0] is --config */
        cli.value[0] = env.value[0];
    if (cli.value[0] == NULL) {
        fprintf(stderr, "ustatsd: no configuration: give --config FILE or USTATSD_CONFIG\n");
        return 2;
    }
    ld.path = cli.value[0];
    memset(&cfg, 0, sizeof(cfg));
    if (cfgload_file(&cfg, ld.path, err, sizeof(err)) != 0) {
        fprintf(stderr, "ustatsd: %s\n", err);
        fprintf(stderr, "ustatsd: refusing to start with an invalid configuration\n");
        return 1;
    }
    if (override_config(&cfg, &ld, err, sizeof(err)) != 0) {
        fprintf(stderr, "ustatsd: %s\n", err);
        cfgload_release(&cfg);
        return 2;
    }
    /*
     * libuv writes with writev(2): a scraper that goes away mid-response would raise
     * SIGPIPE and kill the daemon. The write fails with EPIPE instead, and the connection
     * is closed.
     */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        fprintf(stderr, "ustatsd: signal(SIGPIPE, SIG_IGN) failed: %s; exiting\n", strerror(errno));
        cfgload_release(&cfg);
        return 1;
    }
    /*
     * A state file past the file-size limit (ulimit -f) would raise SIGXFSZ and kill the
     * daemon mid-snapshot: the write fails with EFBIG instead, counted and logged.
     */
    if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR) {
        fprintf(stderr, "ustatsd: signal(SIGXFSZ, SIG_IGN) failed: %s; exiting\n", strerror(errno));
        cfgload_release(&cfg);
        return 1;
    }
    fastbins_off(&cfg);
    nofile_raise();
    rc = app_run(&cfg, ld.path, reload_override, &ld);
    cfgload_release(&cfg);
    return rc;
}

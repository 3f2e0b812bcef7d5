/*
 * ustatsd: command line, environment and start-up.
 *
 * Precedence, highest first: flags, USTATSD_* environment variables, the config file's
 * "daemon" section, built-in defaults. An empty --metrics-listen (or USTATSD_METRICS_LISTEN)
 * disables the listener, as seed 000 asks.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "log.h"
#include "mem.h"
#include "conninfo.h"

static const char usage_text[] =
    "usage: ustatsd [options]\n"
    "       ustatsd --check-config FILE\n"
    "\n"
    "  -c, --config FILE          allowlist configuration (JSON)       [USTATSD_CONFIG]\n"
    "  -s, --socket PATH          Unix datagram socket to receive on   [USTATSD_SOCKET]\n"
    "      --socket-mode MODE     socket file mode, octal (0660)       [USTATSD_SOCKET_MODE]\n"
    "      --socket-group GROUP   socket file group                    [USTATSD_SOCKET_GROUP]\n"
    "      --metrics-listen ADDR  host:port or unix:/path; \"\" disables [USTATSD_METRICS_LISTEN]\n"
    "      --metrics-path PATH    scrape path (/metrics)               [USTATSD_METRICS_PATH]\n"
    "      --debug-listen ADDR    separate listener for /debug; \"\" off [USTATSD_DEBUG_LISTEN]\n"
    "      --log-format FORMAT    console or json                      [USTATSD_LOG_FORMAT]\n"
    "      --log-level LEVEL      debug, info, warn or error           [USTATSD_LOG_LEVEL]\n"
    "      --check-config FILE    validate FILE and exit (0 valid, 1 invalid)\n"
    "  -V, --version              print the version and exit\n"
    "  -h, --help                 print this help and exit\n";

enum {
    OPT_SOCKET_MODE = 256,
    OPT_SOCKET_GROUP,
    OPT_METRICS_LISTEN,
    OPT_METRICS_PATH,
    OPT_DEBUG_LISTEN,
    OPT_LOG_FORMAT,
    OPT_LOG_LEVEL,
    OPT_CHECK_CONFIG
};

static const struct option long_options[] = {
    { "config", required_argument, NULL, 'c' },
    { "socket", required_argument, NULL, 's' },
    { "socket-mode", required_argument, NULL, OPT_SOCKET_MODE },
    { "socket-group", required_argument, NULL, OPT_SOCKET_GROUP },
    { "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
    { "metrics-path", required_argument, NULL, OPT_METRICS_PATH },
    { "debug-listen", required_argument, NULL, OPT_DEBUG_LISTEN },
    { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
    { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
    { "check-config", required_argument, NULL, OPT_CHECK_CONFIG },
    { "version", no_argument, NULL, 'V' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* The option values as given; NULL means "not given here". */
struct options {
    const char *config;
    const char *socket;
    const char *socket_mode;
    const char *socket_group;
    const char *metrics_listen;
    const char *metrics_path;
    const char *debug_listen;
    const char *log_format;
    const char *log_level;
};

static void from_env(struct options *o)
{
    o->config = getenv("USTATSD_CONFIG");
    o->socket = getenv("USTATSD_SOCKET");
    o->socket_mode = getenv("USTATSD_SOCKET_MODE");
    o->socket_group = getenv("USTATSD_SOCKET_GROUP");
    o->metrics_listen = getenv("USTATSD_METRICS_LISTEN");
    o->metrics_path = getenv("USTATSD_METRICS_PATH");
    o->debug_listen = getenv("USTATSD_DEBUG_LISTEN");
    o->log_format = getenv("USTATSD_LOG_FORMAT");
    o->log_level = getenv("USTATSD_LOG_LEVEL");
}

static int check_config(const char *path)
{
    struct config c;
    char err[1024];

    memset(&c, 0, sizeof(c));
    if (config_load(&c, path, err, sizeof(err)) != 0) {
        fprintf(stderr, "ustatsd: %s\n", err);
        return 1;
    }
    /* What the daemon would refuse at start-up, --check-config refuses too. */
    if (conninfo_check(&c, err, sizeof(err)) != 0) {
        fprintf(stderr, "ustatsd: %s\n", err);
        config_release(&c);
        return 1;
    }
    printf("%s: ok (%zu families, %zu jobs, %zu sql metrics)\n", path, c.nfamilies, c.njobs,
           c.nsql_metrics);
    config_release(&c);
    return 0;
}

/* Replace *slot by a copy of value, when value was given. */
static void override(char **slot, const char *value)
{
    char *copy;

    if (value == NULL)
        return;
    copy = mem_strdup(value);
    free(*slot);
    *slot = copy;
}

static int parse_mode(const char *s, uint32_t *mode)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 8);
    if (errno != 0 || end == s || *end != '\0' || v > 0777)
        return -1;
    *mode = (uint32_t)v;
    return 0;
}

/*
 * Apply the flags (env 0) or the USTATSD_* variables (env 1) on top of the loaded config;
 * -1 with a message naming the flag or variable on error.
 */
static int apply_options(struct config *c, const struct options *o, int env, char *err,
                         size_t errlen)
{
    override(&c->socket_path, o->socket);
    override(&c->socket_group, o->socket_group);
    override(&c->metrics_listen, o->metrics_listen);
    override(&c->metrics_path, o->metrics_path);
    override(&c->debug_listen, o->debug_listen);
    override(&c->log_format, o->log_format);
    override(&c->log_level, o->log_level);
    if (o->socket_mode && parse_mode(o->socket_mode, &c->socket_mode) != 0) {
        snprintf(err, errlen, "%s \"%s\": expected an octal mode such as 0660",
                 env ? "USTATSD_SOCKET_MODE" : "--socket-mode", o->socket_mode);
        return -1;
    }
    if (c->metrics_path == NULL || c->metrics_path[0] != '/') {
        snprintf(err, errlen, "%s \"%s\": must start with '/'",
                 o->metrics_path ? (env ? "USTATSD_METRICS_PATH" : "--metrics-path")
                                 : "metrics path",
                 c->metrics_path ? c->metrics_path : "");
        return -1;
    }
    if (log_format_parse(c->log_format) < 0) {
        snprintf(err, errlen, "%s \"%s\": expected console or json",
                 o->log_format ? (env ? "USTATSD_LOG_FORMAT" : "--log-format") : "log format",
                 c->log_format);
        return -1;
    }
    if (log_level_parse(c->log_level) < 0) {
        snprintf(err, errlen, "%s \"%s\": expected debug, info, warn or error",
                 o->log_level ? (env ? "USTATSD_LOG_LEVEL" : "--log-level") : "log level",
                 c->log_level);
        return -1;
    }
    return 0;
}

/* Where the configuration comes from, for start-up and for every reload. */
struct loader {
    const char *path;
    const struct options *cli;
    const struct options *env;
};

/* The environment's settings, then the flags', on top of the file's. */
static int override_config(struct config *c, const struct loader *ld, char *err, size_t errlen)
{
    return apply_options(c, ld->env, 1, err, errlen) != 0 ||
                   apply_options(c, ld->cli, 0, err, errlen) != 0
               ? -1
               : 0;
}

/* app_load_fn: the file, the overrides, and the checks sqlpool_init would make. */
static int reload_config(struct config *c, void *arg, char *err, size_t errlen)
{
    const struct loader *ld = arg;

    if (config_load(c, ld->path, err, errlen) != 0)
        return -1;
    if (override_config(c, ld, err, errlen) != 0 || conninfo_check(c, err, errlen) != 0) {
        config_release(c);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options cli, env;
    struct loader ld;
    struct config cfg;
    char err[1024];
    int ch, rc;

    memset(&cli, 0, sizeof(cli));
    while ((ch = getopt_long(argc, argv, "c:s:Vh", long_options, NULL)) != -1) {
        switch (ch) {
        case 'c':
            cli.config = optarg;
            break;
        case 's':
            cli.socket = optarg;
            break;
        case OPT_SOCKET_MODE:
            cli.socket_mode = optarg;
            break;
        case OPT_SOCKET_GROUP:
            cli.socket_group = optarg;
            break;
        case OPT_METRICS_LISTEN:
            cli.metrics_listen = optarg;
            break;
        case OPT_METRICS_PATH:
            cli.metrics_path = optarg;
            break;
        case OPT_DEBUG_LISTEN:
            cli.debug_listen = optarg;
            break;
        case OPT_LOG_FORMAT:
            cli.log_format = optarg;
            break;
        case OPT_LOG_LEVEL:
            cli.log_level = optarg;
            break;
        case OPT_CHECK_CONFIG:
            return check_config(optarg);
        case 'V':
            printf("ustatsd %s\n", USTATSD_VERSION);
            return 0;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            fputs(usage_text, stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "ustatsd: unexpected argument \"%s\"\n%s", argv[optind], usage_text);
        return 2;
    }

    from_env(&env);
    if (cli.config == NULL)
        cli.config = env.config;
    if (cli.config == NULL) {
        fprintf(stderr, "ustatsd: no configuration: give --config FILE or USTATSD_CONFIG\n");
        return 2;
    }
    ld.path = cli.config;
    ld.cli = &cli;
    ld.env = &env;
    memset(&cfg, 0, sizeof(cfg));
    if (config_load(&cfg, cli.config, err, sizeof(err)) != 0) {
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
     * No fastbins: glibc parks freed blocks of up to 128 bytes (series, label values) in
     * them unmerged, and the next free of 64 KiB or more merges them all at once. After an
     * expiry or a reload freed 30,000 series, that one free() held the loop for 8 ms.
     */
    mallopt(M_MXFAST, 0);
    rc = app_run(&cfg, cli.config, reload_config, &ld);
    config_release(&cfg);
    return rc;
}

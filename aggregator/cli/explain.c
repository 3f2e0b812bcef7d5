/*
 * explain: `ustatsd explain [--config FILE | --url URL ...] LINE...|-`, an I/O module.
 *
 * Each line is judged by the daemon's own code (intake_explain(): the parser, the jobs,
 * the writer policy and the registry's checks, read-only) against a registry built from
 * the config, as a daemon that has just started on it, and the verdict is printed
 * (explaintext.h). The config is a file, or a running daemon's (its allowlist sections,
 * from /debug?section=config); with a daemon, its counts of series and label values are
 * printed beside each accepted line, since they decide the caps. The sender is this
 * process (its uid and gid, for the writer policy), as if it had sent the lines with
 * ustatsd-send. Exit status: 0 when every line is accepted, 1 when one is refused, 2 on a
 * usage or config error.
 */
#include "cli/explain.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "cli/clifetch.h"
#include "cli/explaintext.h"
#include "config/cfgload.h"
#include "ingest/intake.h"
#include "ingest/rejects.h"
#include "store/jobs.h"
#include "store/registry.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE   2

static void usage(FILE *out)
{
    fputs("usage: ustatsd explain [--config FILE | --url URL [options]] LINE... | -\n"
          "Say what the daemon would do with each statsd line, and why, without sending it:\n"
          "accepted into which family and series, or the reason, the part of the line at\n"
          "fault, the config key that decides it, and the nearest declared name.\n"
          "  --config FILE        judge against this config file (default: $USTATSD_CONFIG)\n"
          "  -                    read lines from standard input, one a line\n"
          "or against a running daemon's config and counts (/debug?section=config):\n",
          out);
    clifetch_usage(out);
    fputs("Exit status: 0 all accepted, 1 one refused or more, 2 usage or config error.\n", out);
}

/* The judging machinery over one config: a daemon that has just started on it. */
struct judge {
    struct config cfg;
    struct registry reg;
    struct jobs jobs;
    struct rejects rejects;
    struct intake in;
    json_t *families; /* the running daemon's /debug families, or NULL */
};

static double no_clock(void *arg)
{
    (void)arg;
    return 0;
}

/* GET path from the daemon and parse its JSON; NULL with a message on stderr. */
static json_t *fetch_json(const struct clifetch_opts *o, const char *path)
{
    struct buf body = BUF_INIT;
    char err[512];
    long status = 0;
    json_error_t jerr;
    json_t *doc = NULL;

    if (clifetch_get(o, path, &body, &status, err, sizeof err) != 0)
        fprintf(stderr, "ustatsd explain: %s\n", err);
    else if (status != 200)
        fprintf(stderr, "ustatsd explain: %s%s: HTTP %ld: %.*s\n", o->url, path, status,
                (int)(body.len > 300 ? 300 : body.len), body.ptr ? body.ptr : "");
    else if ((doc = json_loadb(body.ptr, body.len, 0, &jerr)) == NULL)
        fprintf(stderr, "ustatsd explain: %s%s: not JSON: %s\n", o->url, path, jerr.text);
    buf_release(&body);
    return doc;
}

/* The running daemon's allowlist, loaded as a config file; and its families' counts. */
static int load_remote(struct judge *j, const struct clifetch_opts *o)
{
    json_t *doc = fetch_json(o, "/debug?section=config"), *list;
    char err[1024], name[600];
    char *text;
    int rc;

    if (doc == NULL)
        return EXIT_USAGE;
    list = json_object_get(json_object_get(doc, "config"), "allowlist");
    if (!json_is_object(list)) {
        fprintf(stderr,
                "ustatsd explain: %s/debug?section=config: no config.allowlist "
                "(a daemon older than explain?)\n",
                o->url);
        json_decref(doc);
        return EXIT_USAGE;
    }
    snprintf(name, sizeof name, "%s (running config %s)", o->url,
             json_string_value(json_object_get(json_object_get(doc, "config"), "file")));
    text = json_dumps(list, JSON_COMPACT);
    json_decref(doc);
    rc = cfgload_text(&j->cfg, text, strlen(text), name, err, sizeof err);
    free(text);
    if (rc != 0) {
        fprintf(stderr, "ustatsd explain: %s\n", err);
        return EXIT_USAGE;
    }
    doc = fetch_json(o, "/debug?section=families");
    if (doc == NULL)
        return EXIT_USAGE;
    j->families = json_incref(json_object_get(doc, "families"));
    json_decref(doc);
    return 0;
}

/* The element of a /debug array whose "name" is name, or NULL. */
static json_t *named(json_t *array, const char *name)
{
    size_t i;
    json_t *e;

    json_array_foreach(array, i, e)
    {
        const char *s = json_string_value(json_object_get(e, "name"));

        if (s != NULL && strcmp(s, name) == 0)
            return e;
    }
    return NULL;
}

static int value_seen(json_t *label, const char *v, size_t len)
{
    size_t i;
    json_t *s;

    json_array_foreach(json_object_get(label, "seen"), i,
                       s) if (json_string_length(s) == len &&
                              memcmp(json_string_value(s), v, len) == 0) return 1;
    return 0;
}

/* With a running daemon: its counts for the family and labels of an accepted line. */
static void add_counts(struct buf *out, const struct judge *j, const struct intake_verdict *v)
{
    const struct config_family *cf = registry_family_config(&j->reg, (size_t)v->fam.family);
    json_t *f = named(j->families, cf->name), *labels;
    size_t i, total = 0;
    json_t *e;

    if (f == NULL)
        return;
    json_array_foreach(j->families, i, e) total +=
        (size_t)json_integer_value(json_object_get(e, "series"));
    buf_addf(out, "  daemon    family %s holds %lld of %lld series; all families %zu of %zu\n",
             cf->name, json_integer_value(json_object_get(f, "series")),
             json_integer_value(json_object_get(f, "series_cap")), total, j->cfg.max_series);
    labels = json_object_get(f, "labels");
    for (i = 0; i < v->fam.nlabels; i++) {
        const struct expo_label *l = &v->fam.labels[i];
        json_t *rl = named(labels, l->name);

        if (rl == NULL)
            continue;
        buf_addf(out, "  daemon    label %s holds %lld of %lld values; \"%.*s\" %s\n", l->name,
                 json_integer_value(json_object_get(rl, "distinct_values")),
                 json_integer_value(json_object_get(rl, "cap")), (int)l->value_len, l->value,
                 value_seen(rl, l->value, l->value_len) ? "is one of them"
                                                        : "is not among "
                                                          "those shown");
    }
}

/* Judge one line and print the verdict; returns 1 when it is refused. */
static int explain_line(struct judge *j, const char *p, size_t len)
{
    struct intake_sender me = { getpid(), geteuid(), getegid(), NULL };
    struct intake_verdict v;
    struct buf out = BUF_INIT;

    if (len > 0 && p[len - 1] == '\r')
        len--;
    intake_explain(&j->in, p, len, &me, 1, &v);
    explaintext_write(&out, &j->cfg, &j->reg, p, len, &v);
    if (v.reason == STATSD_OK && j->families != NULL && v.job < 0 && v.fam.family >= 0)
        add_counts(&out, j, &v);
    fwrite(out.ptr, 1, out.len, stdout);
    buf_release(&out);
    return v.reason != STATSD_OK;
}

/* Lines from standard input, one a line; empty ones skipped as the daemon skips them. */
static int explain_stdin(struct judge *j)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int refused = 0;

    while ((n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            n--;
        if (n > 0 && !(n == 1 && line[0] == '\r'))
            refused |= explain_line(j, line, (size_t)n);
    }
    free(line);
    return refused;
}

int explain_run(int argc, char **argv)
{
    struct clifetch_opts o;
    struct judge j;
    const char *file = NULL;
    char err[1024];
    int remote = 0, first = 0, refused = 0, i, rc;

    clifetch_opts_init(&o);
    memset(&j, 0, sizeof j);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--config") == 0) {
            if (++i == argc) {
                fprintf(stderr, "ustatsd explain: --config needs a FILE\n");
                return EXIT_USAGE;
            }
            file = argv[i];
        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            rc = clifetch_take_opt(&o, argc, argv, &i, err, sizeof err);
            if (rc <= 0) {
                fprintf(stderr, "ustatsd explain: %s\n",
                        rc == 0 ? "unknown option (see --help)" : err);
                return EXIT_USAGE;
            }
            remote = 1;
        } else {
            break;
        }
    }
    first = i;
    if (first >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (file == NULL && !remote)
        file = getenv("USTATSD_CONFIG");
    if (file != NULL && remote) {
        fprintf(stderr, "ustatsd explain: give --config FILE or a daemon's --url, not both\n");
        return EXIT_USAGE;
    }
    if (file == NULL && !remote) {
        fprintf(stderr, "ustatsd explain: no configuration: give --config FILE, "
                        "USTATSD_CONFIG, or a running daemon's --url\n");
        return EXIT_USAGE;
    }
    if (file != NULL && cfgload_file(&j.cfg, file, err, sizeof err) != 0) {
        fprintf(stderr, "ustatsd explain: %s\n", err);
        return EXIT_USAGE;
    }
    if (remote && (rc = load_remote(&j, &o)) != 0) {
        cfgload_release(&j.cfg);
        return rc;
    }
    registry_init(&j.reg, &j.cfg);
    jobs_init(&j.jobs, &j.cfg, 1);
    rejects_init(&j.rejects);
    intake_init(&j.in, &j.reg, &j.jobs, &j.rejects, no_clock, NULL);
    for (i = first; i < argc; i++)
        refused |= strcmp(argv[i], "-") == 0 ? explain_stdin(&j)
                                             : explain_line(&j, argv[i], strlen(argv[i]));
    json_decref(j.families);
    jobs_release(&j.jobs);
    registry_release(&j.reg);
    cfgload_release(&j.cfg);
    return refused ? EXIT_REFUSED : 0;
}

#include "cli/learn.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/errcode.h"
#include "cli/cfgmerge.h"
#include "cli/clifetch.h"
#include "config/cfgload.h"
#include "config/config.h"

extern char **environ;

struct learn_opts {
    struct clifetch_opts fetch;
    const char *merge;
    int dry_run, json, add_labels;
};

static void usage(FILE *out)
{
    fputs("usage: ustatsd learn [--json] [options]\n"
          "       ustatsd learn --merge FILE [--dry-run] [options]\n"
          "\n"
          "The allowlist a running daemon proposes from the lines it refused (learn mode,\n"
          "GET /debug/learn): printed as a configuration fragment, the labels it left out\n"
          "and why on stderr.\n"
          "\n"
          "  --json                print /debug/learn as the daemon answers it\n"
          "  --merge FILE          add the proposal to FILE without changing what FILE\n"
          "                        declares: print the change as a unified diff, check the\n"
          "                        result as the daemon would load it, write it in place;\n"
          "                        then reload the daemon (SIGHUP, systemctl reload ustatsd)\n"
          "  --dry-run             with --merge: print the diff, write nothing\n"
          "  --add-labels          with --merge: also add the labels proposed for families FILE\n"
          "                        declares (their series are dropped at the reload and start\n"
          "                        again); without it, only families and values are added\n",
          out);
    clifetch_usage(out);
}

static int parse(int argc, char **argv, struct learn_opts *o)
{
    char err[256];

    memset(o, 0, sizeof(*o));
    clifetch_opts_init(&o->fetch);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--json") == 0 || strcmp(a, "--dry-run") == 0 ||
            strcmp(a, "--add-labels") == 0) {
            *(a[2] == 'j' ? &o->json : a[2] == 'd' ? &o->dry_run : &o->add_labels) = 1;
            continue;
        }
        if (strcmp(a, "--merge") == 0) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0') {
                fprintf(stderr, "ustatsd learn: --merge needs a file\n");
                return 2;
            }
            o->merge = argv[++i];
            continue;
        }
        rc = clifetch_take_opt(&o->fetch, argc, argv, &i, err, sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "ustatsd learn: %s\n", err);
            return 2;
        }
        if (rc == 0) {
            fprintf(stderr, "ustatsd learn: unknown argument \"%s\"\n", a);
            usage(stderr);
            return 2;
        }
    }
    if ((o->dry_run || o->add_labels) && o->merge == NULL) {
        fprintf(stderr, "ustatsd learn: %s goes with --merge FILE\n",
                o->dry_run ? "--dry-run" : "--add-labels");
        return 2;
    }
    if (o->json && o->merge != NULL) {
        fprintf(stderr, "ustatsd learn: --json and --merge: give one\n");
        return 2;
    }
    return -1;
}

/* GET /debug/learn into *doc. Returns 0, or 1 with the reason said. */
static int fetch(const struct learn_opts *o, struct buf *body, json_t **doc)
{
    char err[512];
    long status = 0;
    json_error_t jerr;

    if (clifetch_get(&o->fetch, "/debug/learn", body, &status, err, sizeof(err)) != 0) {
        fprintf(stderr, "ustatsd learn: %s\n", err);
        return 1;
    }
    if (status != 200) {
        fprintf(stderr, "ustatsd learn: %s/debug/learn answered %ld%s\n", o->fetch.url, status,
                status == 401   ? " (give --token-file, or --user with a password)"
                : status == 404 ? " (is /debug served on this listener? see debug_listen)"
                                : "");
        return 1;
    }
    *doc = json_loadb(body->ptr, body->len, 0, &jerr);
    if (*doc == NULL || !json_is_array(json_object_get(*doc, "proposal"))) {
        fprintf(stderr, "ustatsd learn: %s/debug/learn: not learn mode's answer%s%s\n",
                o->fetch.url, *doc == NULL ? ": " : "", *doc == NULL ? jerr.text : "");
        json_decref(*doc);
        *doc = NULL;
        return 1;
    }
    return 0;
}

/* The fragment: the config of each proposal that adds or extends a family. */
static json_t *fragment_of(const json_t *doc)
{
    json_t *fams = json_array(), *p;
    size_t i;

    json_array_foreach(json_object_get(doc, "proposal"), i, p)
    {
        const char *action = json_string_value(json_object_get(p, "action"));
        json_t *cfg = json_object_get(p, "config");

        if (action != NULL && strcmp(action, "none") != 0 && json_is_object(cfg))
            json_array_append(fams, cfg);
    }
    return json_pack("{s:o}", "families", fams);
}

/* On stderr: the labels left out of the proposal, with why and an example. */
static void say_flagged(const json_t *doc)
{
    json_t *p, *fl;
    size_t i, j;

    json_array_foreach(json_object_get(doc, "proposal"), i, p)
    {
        json_array_foreach(json_object_get(p, "flagged"), j, fl)
        {
            fprintf(stderr, "left out: %s label %s: %s (e.g. \"%s\")\n",
                    json_string_value(json_object_get(p, "family")),
                    json_string_value(json_object_get(fl, "label")),
                    json_string_value(json_object_get(fl, "why")),
                    json_string_value(json_object_get(fl, "example")));
        }
        if (json_string_value(json_object_get(p, "action")) != NULL &&
            strcmp(json_string_value(json_object_get(p, "action")), "none") == 0 &&
            json_array_size(json_object_get(p, "flagged")) == 0 &&
            json_string_value(json_array_get(json_object_get(p, "reasons"), 0)) != NULL)
            fprintf(stderr, "not proposed: %s: %s\n",
                    json_string_value(json_object_get(p, "family")),
                    json_string_value(json_array_get(json_object_get(p, "reasons"), 0)));
    }
}

static int read_file(const char *path, struct buf *out, struct stat *st)
{
    FILE *f = fopen(path, "rb");
    char chunk[65536];
    size_t n;

    if (f == NULL || fstat(fileno(f), st) != 0) {
        fprintf(stderr, "ustatsd learn: %s: %s\n", path, strerror(errno));
        if (f != NULL)
            fclose(f);
        return 1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_add(out, chunk, n);
    if (ferror(f)) {
        fprintf(stderr, "ustatsd learn: %s: %s\n", path, strerror(errno));
        fclose(f);
        return 1;
    }
    fclose(f);
    return 0;
}

/* Write text to a new file beside path (the owner and mode of st), named in tmp. Returns 0
 * or 1. */
static int write_beside(const char *path, const struct buf *text, const struct stat *st, char *tmp,
                        size_t tmplen)
{
    int fd;

    snprintf(tmp, tmplen, "%s.learn-XXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "ustatsd learn: %s: %s\n", tmp, strerror(errno));
        return 1;
    }
    /* The file's owner kept where the user may (root, or the owner itself). */
    if (fchown(fd, st->st_uid, st->st_gid) != 0 && geteuid() == 0) {
        fprintf(stderr, "ustatsd learn: %s: %s\n", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return 1;
    }
    if (fchmod(fd, st->st_mode & 07777) != 0 ||
        write(fd, text->ptr, text->len) != (ssize_t)text->len || fsync(fd) != 0) {
        fprintf(stderr, "ustatsd learn: %s: %s\n", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return 1;
    }
    close(fd);
    return 0;
}

/* diff -u of path and merged, labelled as path before and after. */
static void print_diff(const char *path, const char *merged)
{
    char before[4096], after[4096];
    char *args[] = { "diff", "-u",         "--label",      before, "--label",
                     after,  (char *)path, (char *)merged, NULL };
    pid_t pid;
    int status;

    snprintf(before, sizeof(before), "%s", path);
    snprintf(after, sizeof(after), "%s (with the proposal)", path);
    fflush(stdout);
    if (posix_spawnp(&pid, "diff", NULL, NULL, args, environ) != 0) {
        fprintf(stderr, "ustatsd learn: diff(1) could not be run; the change is not shown\n");
        return;
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
}

static int merge(const struct learn_opts *o, const json_t *doc)
{
    char *target = realpath(o->merge, NULL); /* a symbolic link: its target is edited */
    struct buf text = BUF_INIT;
    struct cfgmerge_result res;
    struct config check;
    struct stat st;
    char err[1024], tmp[4096];
    json_t *frag = fragment_of(doc);
    int rc = 1;

    cfgmerge_init(&res);
    if (read_file(o->merge, &text, &st) != 0)
        goto done;
    if (cfgmerge(text.ptr, text.len, frag, o->add_labels, &res, err, sizeof(err)) != 0) {
        fprintf(stderr, "ustatsd learn: %s: %s\n", o->merge, err);
        goto done;
    }
    fputs(res.notes.ptr != NULL ? res.notes.ptr : "", stderr);
    if (res.families + res.labels + res.values == 0) {
        printf("%s: nothing to add: it declares all the daemon proposes\n", o->merge);
        rc = 0;
        goto done;
    }
    /* Checked as the daemon would load it, before anything is written. */
    memset(&check, 0, sizeof(check));
    if (cfgload_text(&check, res.text.ptr, res.text.len, o->merge, err, sizeof(err)) != 0) {
        fprintf(stderr, "ustatsd learn: %s with the proposal would not load: %s\n", o->merge, err);
        fprintf(stderr, "ustatsd learn: nothing written\n");
        goto done;
    }
    cfgload_release(&check);
    if (write_beside(target != NULL ? target : o->merge, &res.text, &st, tmp, sizeof(tmp)) != 0)
        goto done;
    print_diff(o->merge, tmp);
    if (o->dry_run) {
        unlink(tmp);
        printf("%s: not written (--dry-run): %zu families, %zu labels, %zu values to add\n",
               o->merge, res.families, res.labels, res.values);
        rc = 0;
        goto done;
    }
    if (rename(tmp, target != NULL ? target : o->merge) != 0) {
        fprintf(stderr, "ustatsd learn: %s: %s\n", o->merge, strerror(errno));
        unlink(tmp);
        goto done;
    }
    printf("%s: written: %zu families, %zu labels, %zu values added; review it, then reload the "
           "daemon (systemctl reload ustatsd, or kill -HUP its pid)\n",
           o->merge, res.families, res.labels, res.values);
    rc = 0;
done:
    free(target);
    json_decref(frag);
    cfgmerge_release(&res);
    buf_release(&text);
    return rc;
}

int learn_main(int argc, char **argv)
{
    struct learn_opts o;
    struct buf body = BUF_INIT;
    json_t *doc = NULL;
    int rc = parse(argc, argv, &o);

    if (rc >= 0)
        return rc;
    rc = fetch(&o, &body, &doc);
    if (rc == 0 && o.json) {
        fwrite(body.ptr, 1, body.len, stdout);
        if (body.len > 0 && body.ptr[body.len - 1] != '\n')
            putchar('\n');
    } else if (rc == 0 && o.merge != NULL) {
        say_flagged(doc);
        rc = merge(&o, doc);
    } else if (rc == 0) {
        json_t *frag = fragment_of(doc);
        char *s = json_dumps(frag, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));

        if (s != NULL)
            puts(s);
        free(s);
        json_decref(frag);
        say_flagged(doc);
    }
    json_decref(doc);
    buf_release(&body);
    return rc;
}

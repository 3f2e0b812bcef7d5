#include "cli/top.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/errcode.h"
#include "cli/topread.h"
#include "cli/toprender.h"
#include "cli/topscreen.h"

static void usage(FILE *out)
{
    fputs("usage: ustatsd top [--once | --json] [--interval SECONDS] [--sort KEY] [options]\n"
          "\n"
          "A running daemon, from its JSON debug view: families by series and line rate,\n"
          "every cap and how full it is, rejects by reason with their latest lines and\n"
          "senders, jobs and breakers, ingest rate, event-loop turns, state snapshots.\n"
          "Refreshes in place; keys: s series, r rate, n name, j rejects, ? help, q quit.\n"
          "\n"
          "  --once                print one plain snapshot and exit: two readings --interval\n"
          "                        apart, so that rates are rates\n"
          "  --json                print one reading of the debug view (one JSON object), exit\n"
          "  --interval SECONDS    between readings (default 1)\n"
          "  --sort KEY            series, rate, name or rejects (or s, r, n, j)\n",
          out);
    clifetch_usage(out);
}

static int take_sort(struct top_opts *o, const char *v)
{
    static const char *const names[] = { "series", "rate", "name", "rejects" };
    static const char keys[] = "srnj";

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(v, names[i]) == 0 || (v[0] == keys[i] && v[1] == '\0'))
            return top_sort_of_key(keys[i], &o->sort) ? 0 : ERRCODE_BADPARAM;
    return ERRCODE_BADPARAM;
}

/* One option of top's own at argv[*i]: 1 taken, 0 not one of them, else an error. */
static int take_opt(struct top_opts *o, int argc, char **argv, int *i, char *err, size_t errlen)
{
    const char *a = argv[*i];

    if (strcmp(a, "--once") == 0 || strcmp(a, "--json") == 0) {
        *(a[2] == 'o' ? &o->once : &o->json) = 1;
        return 1;
    }
    if (strcmp(a, "--interval") != 0 && strcmp(a, "--sort") != 0)
        return 0;
    if (*i + 1 >= argc) {
        snprintf(err, errlen, "%s needs a value", a);
        return ERRCODE_BADPARAM;
    }
    *i += 1;
    if (a[2] == 's') {
        if (take_sort(o, argv[*i]) != 0) {
            snprintf(err, errlen, "--sort \"%s\": give series, rate, name or rejects", argv[*i]);
            return ERRCODE_BADPARAM;
        }
        return 1;
    }
    {
        char *end;
        double s;

        errno = 0;
        s = strtod(argv[*i], &end);
        if (errno != 0 || end == argv[*i] || *end != '\0' || !(s >= 0.1 && s <= 3600)) {
            snprintf(err, errlen, "--interval \"%s\": give seconds, from 0.1 to 3600", argv[*i]);
            return ERRCODE_BADPARAM;
        }
        o->interval = s;
    }
    return 1;
}

static void sleep_s(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* --json: one reading, as it came. */
static int print_json(const struct top_opts *o)
{
    struct top_reading r;
    struct buf raw = BUF_INIT;
    char err[512];

    if (top_read(&o->fetch, &r, &raw, err, sizeof(err)) != 0) {
        fprintf(stderr, "ustatsd top: %s\n", err);
        buf_release(&raw);
        return 1;
    }
    fwrite(raw.ptr, 1, raw.len, stdout);
    if (raw.len > 0 && raw.ptr[raw.len - 1] != '\n')
        fputc('\n', stdout);
    top_reading_release(&r);
    buf_release(&raw);
    return 0;
}

/* --once: two readings an interval apart, one plain table. */
static int print_once(const struct top_opts *o)
{
    struct top_reading a, b;
    struct top_layout lay = { 0 };
    struct top_view v;
    struct buf out = BUF_INIT;
    char err[512];

    if (top_read(&o->fetch, &a, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "ustatsd top: %s\n", err);
        return 1;
    }
    sleep_s(o->interval);
    if (top_read(&o->fetch, &b, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "ustatsd top: %s\n", err);
        top_reading_release(&a);
        return 1;
    }
    top_view_compute(&v, &a, &b, o->sort);
    top_render(&v, &lay, &out);
    fwrite(out.ptr, 1, out.len, stdout);
    buf_release(&out);
    top_view_release(&v);
    top_reading_release(&a);
    top_reading_release(&b);
    return 0;
}

int top_main(int argc, char **argv)
{
    struct top_opts o;
    char err[512];
    int i, rc;

    memset(&o, 0, sizeof(o));
    clifetch_opts_init(&o.fetch);
    o.interval = 1.0;
    o.sort = TOP_SORT_SERIES;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        rc = take_opt(&o, argc, argv, &i, err, sizeof(err));
        if (rc == 0)
            rc = clifetch_take_opt(&o.fetch, argc, argv, &i, err, sizeof(err));
        if (rc == 0) {
            snprintf(err, sizeof(err), "unknown argument \"%s\"", argv[i]);
            rc = ERRCODE_BADPARAM;
        }
        if (rc < 0) {
            fprintf(stderr, "ustatsd top: %s\n\n", err);
            usage(stderr);
            return 2;
        }
    }
    if (o.once && o.json) {
        fprintf(stderr, "ustatsd top: --once and --json: give one\n");
        return 2;
    }
    if (o.json)
        return print_json(&o);
    if (o.once)
        return print_once(&o);
    return topscreen_run(&o);
}

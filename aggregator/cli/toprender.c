#include "cli/toprender.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define NAME_MIN  12 /* the name column's width, from the longest name within these */
#define NAME_MAX  40
#define CAP_WIDTH 64 /* "values of <family>.<label>" */

/* A byte that starts a character (not a UTF-8 continuation byte). */
static int starts_char(unsigned char c)
{
    return (c & 0xC0) != 0x80;
}

void top_render_cut(struct buf *out, const char *s, size_t len, size_t width)
{
    size_t i, cols = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (starts_char(c)) {
            if (width > 0 && cols == width)
                break;
            cols++;
        }
        buf_addch(out, c < 0x20 || c == 0x7F ? '?' : (char)c);
    }
}

/* The line built so far, cut to the layout's width, ends; line is emptied. */
static void end_line(struct buf *out, struct buf *line, const struct top_layout *lay)
{
    top_render_cut(out, line->ptr != NULL ? line->ptr : "", line->len, lay->width);
    buf_addch(out, '\n');
    buf_reset(line);
}

/* Text from the daemon, at most cols columns (0: all), padded to pad columns. */
static void add_text(struct buf *line, const char *s, size_t cols, size_t pad)
{
    size_t len = strlen(s), n = 0, i;

    for (i = 0; i < len; i++) {
        if (starts_char((unsigned char)s[i])) {
            if (cols > 0 && n == cols)
                break;
            n++;
        }
    }
    if (i < len && n > 0) { /* cut: the last column says so */
        while (i > 0 && !starts_char((unsigned char)s[i - 1]))
            i--;
        i--;
        top_render_cut(line, s, i, 0);
        buf_addch(line, '~');
    } else {
        top_render_cut(line, s, i, 0);
    }
    for (; n < pad; n++)
        buf_addch(line, ' ');
}

static void add_rate(struct buf *line, struct top_rate r, int width)
{
    char tmp[32];

    if (r.known)
        snprintf(tmp, sizeof(tmp), "%.1f", r.per_s);
    else
        snprintf(tmp, sizeof(tmp), "n/a");
    buf_addf(line, "%*s", width, tmp);
}

static void add_duration(struct buf *line, double s)
{
    unsigned long long t = s > 0 ? (unsigned long long)s : 0;

    if (t >= 86400)
        buf_addf(line, "%llud%02lluh", t / 86400, t % 86400 / 3600);
    else if (t >= 3600)
        buf_addf(line, "%lluh%02llum", t / 3600, t % 3600 / 60);
    else if (t >= 60)
        buf_addf(line, "%llum%02llus", t / 60, t % 60);
    else
        buf_addf(line, "%.1fs", s > 0 ? s : 0);
}

static void add_bytes(struct buf *line, uint64_t b)
{
    if (b >= 1024ull * 1024)
        buf_addf(line, "%.1f MiB", (double)b / (1024.0 * 1024.0));
    else
        buf_addf(line, "%.1f KiB", (double)b / 1024.0);
}

/* "... and N more" after a table cut at rows. */
static void more_rows(struct buf *out, struct buf *line, const struct top_layout *lay, size_t shown,
                      size_t total)
{
    if (shown < total) {
        buf_addf(line, "  ... %zu more", total - shown);
        end_line(out, line, lay);
    }
}

static size_t rows_of(size_t limit, size_t n)
{
    return limit > 0 && limit < n ? limit : n;
}

static void summary(const struct top_view *v, const struct top_layout *lay, struct buf *out,
                    struct buf *line)
{
    buf_adds(line, "ustatsd ");
    add_text(line, v->version, 32, 0);
    buf_adds(line, "  up ");
    add_duration(line, v->uptime_seconds);
    if (v->interval_seconds > 0)
        buf_addf(line, "  rates over %.1fs", v->interval_seconds);
    else
        buf_adds(line, "  rates n/a (one reading)");
    buf_addf(line, "  sort: %s", top_sort_name(v->sort));
    end_line(out, line, lay);

    buf_addf(line, "ingest     lines accepted %llu (", (unsigned long long)v->accepted);
    add_rate(line, v->accepted_rate, 0);
    buf_addf(line, "/s)  rejected %llu (", (unsigned long long)v->rejected);
    add_rate(line, v->rejected_rate, 0);
    buf_addf(line, "/s)  datagrams %llu (", (unsigned long long)v->datagrams);
    add_rate(line, v->datagram_rate, 0);
    buf_adds(line, "/s)");
    end_line(out, line, lay);

    buf_addf(line, "series     %llu of %llu (%.1f%%)  memory ", (unsigned long long)v->series,
             (unsigned long long)v->series_limit,
             v->series_limit > 0 ? 100.0 * (double)v->series / (double)v->series_limit : 0.0);
    add_bytes(line, v->memory_bytes);
    end_line(out, line, lay);

    buf_addf(line, "loop       %llu turns (", (unsigned long long)v->loop_turns);
    add_rate(line, v->loop_rate, 0);
    buf_adds(line, "/s)");
    if (v->loop_mean_ms >= 0)
        buf_addf(line, "  busy per turn: mean %.3f ms", v->loop_mean_ms);
    if (isinf(v->loop_p99_ms))
        buf_adds(line, ", p99 > 1000 ms");
    else if (v->loop_p99_ms >= 0)
        buf_addf(line, ", p99 <= %g ms", v->loop_p99_ms);
    end_line(out, line, lay);

    buf_adds(line, "snapshots  ");
    if (!v->snapshots_on) {
        buf_adds(line, "off (no state file)");
    } else {
        buf_addf(line, "%llu written, %llu failed", (unsigned long long)v->snapshots_ok,
                 (unsigned long long)v->snapshots_failed);
        if (v->snapshot_age_seconds >= 0) {
            buf_adds(line, ", last ");
            add_duration(line, v->snapshot_age_seconds);
            buf_addf(line, " ago in %.3fs", v->snapshot_seconds);
        }
        if (v->snapshot_error != NULL) {
            buf_adds(line, ", last error: ");
            add_text(line, v->snapshot_error, 0, 0);
        }
    }
    end_line(out, line, lay);
}

static size_t name_width(const struct top_view *v)
{
    size_t w = NAME_MIN, i;

    for (i = 0; i < v->nfamilies; i++)
        if (strlen(v->families[i].name) > w)
            w = strlen(v->families[i].name);
    return w < NAME_MAX ? w : NAME_MAX;
}

static void families(const struct top_view *v, const struct top_layout *lay, struct buf *out,
                     struct buf *line)
{
    size_t nw = name_width(v), i, n = rows_of(lay->family_rows, v->nfamilies);

    add_text(line, "FAMILY", 0, nw);
    buf_addf(line, " %-9s %8s %8s %6s %10s %8s %7s", "TYPE", "SERIES", "CAP", "CAP%", "LINES",
             "LINES/S", "REJECTS");
    end_line(out, line, lay);
    for (i = 0; i < n; i++) {
        const struct top_family *f = &v->families[i];

        add_text(line, f->name, nw, nw);
        buf_addch(line, ' ');
        add_text(line, f->type, 9, 9);
        buf_addf(line, " %8llu %8llu %5.1f%% %10llu ", (unsigned long long)f->series,
                 (unsigned long long)f->series_cap,
                 f->series_cap > 0 ? 100.0 * (double)f->series / (double)f->series_cap : 0.0,
                 (unsigned long long)f->lines);
        add_rate(line, f->rate, 8);
        buf_addf(line, " %7llu", (unsigned long long)f->rejects);
        end_line(out, line, lay);
    }
    more_rows(out, line, lay, n, v->nfamilies);
}

static void caps(const struct top_view *v, const struct top_layout *lay, struct buf *out,
                 struct buf *line)
{
    size_t i, n = rows_of(lay->cap_rows, v->ncaps);

    buf_addf(line, "%-*s %10s %10s %6s", CAP_WIDTH, "CAP (fullest first)", "USED", "CAP", "USE%");
    end_line(out, line, lay);
    for (i = 0; i < n; i++) {
        const struct top_cap *c = &v->caps[i];
        struct buf what = BUF_INIT;

        if (c->kind == TOP_CAP_GLOBAL) {
            buf_adds(&what, "all series (limits.max_series)");
        } else if (c->kind == TOP_CAP_FAMILY) {
            buf_adds(&what, "series of ");
            buf_adds(&what, c->family);
        } else {
            buf_adds(&what, "values of ");
            buf_adds(&what, c->family);
            buf_addch(&what, '.');
            buf_adds(&what, c->label);
        }
        buf_addch(&what, '\0');
        add_text(line, what.ptr, CAP_WIDTH, CAP_WIDTH);
        buf_release(&what);
        buf_addf(line, " %10llu %10llu %5.1f%%", (unsigned long long)c->used,
                 (unsigned long long)c->cap, c->percent);
        end_line(out, line, lay);
    }
    more_rows(out, line, lay, n, v->ncaps);
}

static void reasons(const struct top_view *v, const struct top_layout *lay, struct buf *out,
                    struct buf *line)
{
    size_t i, k, n = rows_of(lay->reason_rows, v->nreasons);

    buf_addf(line, "%-26s %8s %8s  %-32s %s", "REJECT REASON", "COUNT", "PER S", "LATEST",
             "SENDERS");
    end_line(out, line, lay);
    if (v->nreasons == 0) {
        buf_adds(line, "  none");
        end_line(out, line, lay);
    }
    for (i = 0; i < n; i++) {
        const struct top_reason *r = &v->reasons[i];

        add_text(line, r->reason, 26, 26);
        buf_addf(line, " %8llu ", (unsigned long long)r->count);
        add_rate(line, r->rate, 8);
        buf_adds(line, "  ");
        add_text(line, r->example != NULL ? r->example : "-", 32, 32);
        for (k = 0; k < r->nsenders; k++) {
            buf_adds(line, k == 0 ? " " : ", ");
            add_text(line, r->senders[k], 0, 0);
        }
        end_line(out, line, lay);
    }
    more_rows(out, line, lay, n, v->nreasons);
}

static void recent(const struct top_view *v, const struct top_layout *lay, struct buf *out,
                   struct buf *line)
{
    size_t i, n = rows_of(lay->reject_rows, v->nrejects);

    if (v->nrejects == 0)
        return;
    buf_addf(line, "%-10s %-26s %-24s %s", "AGE", "RECENT REJECT", "SENDER", "LINE");
    end_line(out, line, lay);
    for (i = 0; i < n; i++) {
        const struct top_reject *r = &v->rejects[i];

        add_duration(line, r->age_seconds);
        while (line->len < 11)
            buf_addch(line, ' ');
        add_text(line, r->reason, 26, 26);
        buf_addch(line, ' ');
        add_text(line, r->sender, 24, 24);
        buf_addch(line, ' ');
        add_text(line, r->line, 0, 0);
        end_line(out, line, lay);
    }
    more_rows(out, line, lay, n, v->nrejects);
}

static void jobs(const struct top_view *v, const struct top_layout *lay, struct buf *out,
                 struct buf *line)
{
    size_t i, n = rows_of(lay->job_rows, v->njobs);

    buf_addf(line, "%-24s %-10s %9s %8s %8s %s", "JOB", "BREAKER", "FAILURES", "ERRORS", "OPENINGS",
             "IN STATE");
    end_line(out, line, lay);
    if (v->njobs == 0) {
        buf_adds(line, "  none");
        end_line(out, line, lay);
    }
    for (i = 0; i < n; i++) {
        const struct top_job *j = &v->jobs[i];
        char fails[48];

        add_text(line, j->job, 24, 24);
        buf_addch(line, ' ');
        add_text(line, j->state, 10, 10);
        snprintf(fails, sizeof(fails), "%llu/%llu", (unsigned long long)j->consecutive_failures,
                 (unsigned long long)j->failure_threshold);
        buf_addf(line, " %9s %8llu %8llu ", fails, (unsigned long long)j->errors,
                 (unsigned long long)j->openings);
        add_duration(line, j->state_seconds);
        end_line(out, line, lay);
    }
    more_rows(out, line, lay, n, v->njobs);
}

void top_render(const struct top_view *v, const struct top_layout *lay, struct buf *out)
{
    struct buf line = BUF_INIT;

    summary(v, lay, out, &line);
    end_line(out, &line, lay);
    families(v, lay, out, &line);
    end_line(out, &line, lay);
    caps(v, lay, out, &line);
    end_line(out, &line, lay);
    reasons(v, lay, out, &line);
    recent(v, lay, out, &line);
    end_line(out, &line, lay);
    jobs(v, lay, out, &line);
    buf_release(&line);
}

void top_render_keys(struct buf *out)
{
    buf_adds(out, "keys: s series  r rate  n name  j rejects  ? help  q quit");
}

void top_render_help(struct buf *out)
{
    buf_adds(out, "ustatsd top: a running daemon, from its JSON debug view (/debug)\n"
                  "\n"
                  "Sort the families by:\n"
                  "  s   series held, most first (the default)\n"
                  "  r   accepted lines per second, fastest first\n"
                  "  n   name\n"
                  "  j   recent rejected lines that name the family, most first\n"
                  "\n"
                  "  ?   this help; any key goes back\n"
                  "  q   quit\n"
                  "\n"
                  "Tables: the families (series against their cap, lines and their rate);\n"
                  "every cap (all series, each family's series, each label's values), fullest\n"
                  "first; the reject reasons with their latest line and senders, and the recent\n"
                  "rejects; the jobs and their breakers. Rates are over the refresh interval.\n");
}

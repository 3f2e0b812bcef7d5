/*
 * ustatsd top's plain table: what --once prints and the screen shows. The tables in
 * order, rates or "n/a", lines cut to a width at a character boundary, tables cut to
 * their rows with the count left out, and no byte from the daemon that could drive a
 * terminal.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "cli/toprender.h"

/* Two families, a reject whose line holds an escape sequence and UTF-8, a job. */
static const char doc_a[] =
    "{\"daemon\": {\"version\": \"0.1.0\", \"uptime_seconds\": 3725,"
    "  \"series\": {\"total\": 4, \"limit\": 100, \"memory_bytes\": 2048}},"
    " \"ingest\": {\"datagrams\": 10, \"lines_accepted\": 20, \"lines_rejected\": 1,"
    "  \"rejected_by_reason\": {\"unknown_family\": 1}},"
    " \"families\": ["
    "  {\"name\": \"requests\", \"type\": \"counter\", \"lines\": 15, \"series\": 1,"
    "   \"series_cap\": 50, \"labels\": [{\"name\": \"route\", \"distinct_values\": 1, \"cap\": "
    "5}]},"
    "  {\"name\": \"queue_depth\", \"type\": \"gauge\", \"lines\": 5, \"series\": 3,"
    "   \"series_cap\": 50, \"labels\": []}],"
    " \"jobs\": [{\"job\": \"mailer\", \"state\": \"half_open\", \"consecutive_failures\": 1,"
    "  \"failure_threshold\": 3, \"errors\": 1, \"circuit_openings\": 0, \"state_seconds\": 75}],"
    " \"rejects\": [{\"time\": 100, \"reason\": \"unknown_family\","
    "  \"line\": \"caf\\u00e9\\u001b[2J:1|c\", \"pid\": 42, \"uid\": 1000, \"source\": null}]}";

static const char doc_b[] =
    "{\"daemon\": {\"version\": \"0.1.0\", \"uptime_seconds\": 3727,"
    "  \"series\": {\"total\": 4, \"limit\": 100, \"memory_bytes\": 2048}},"
    " \"ingest\": {\"datagrams\": 12, \"lines_accepted\": 40, \"lines_rejected\": 1,"
    "  \"rejected_by_reason\": {\"unknown_family\": 1}},"
    " \"families\": ["
    "  {\"name\": \"requests\", \"type\": \"counter\", \"lines\": 33, \"series\": 1,"
    "   \"series_cap\": 50, \"labels\": [{\"name\": \"route\", \"distinct_values\": 1, \"cap\": "
    "5}]},"
    "  {\"name\": \"queue_depth\", \"type\": \"gauge\", \"lines\": 7, \"series\": 3,"
    "   \"series_cap\": 50, \"labels\": []}],"
    " \"jobs\": [{\"job\": \"mailer\", \"state\": \"half_open\", \"consecutive_failures\": 1,"
    "  \"failure_threshold\": 3, \"errors\": 1, \"circuit_openings\": 0, \"state_seconds\": 77}],"
    " \"rejects\": [{\"time\": 100, \"reason\": \"unknown_family\","
    "  \"line\": \"caf\\u00e9\\u001b[2J:1|c\", \"pid\": 42, \"uid\": 1000, \"source\": null}]}";

struct fixture {
    struct top_reading a, b;
    struct top_view v;
    struct buf out;
};

static void render(struct fixture *f, int two, const struct top_layout *lay)
{
    char err[256];

    cr_assert_eq(top_reading_parse(&f->a, doc_a, strlen(doc_a), 1000, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_eq(top_reading_parse(&f->b, doc_b, strlen(doc_b), 3000, err, sizeof(err)), 0, "%s",
                 err);
    top_view_compute(&f->v, two ? &f->a : NULL, two ? &f->b : &f->a, TOP_SORT_SERIES);
    buf_init(&f->out);
    top_render(&f->v, lay, &f->out);
    buf_addch(&f->out, '\0');
}

static void done(struct fixture *f)
{
    buf_release(&f->out);
    top_view_release(&f->v);
    top_reading_release(&f->a);
    top_reading_release(&f->b);
}

/* The line of out that starts with prefix, or NULL. */
static const char *line_of(const char *out, const char *prefix)
{
    const char *p = out;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            return p;
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    return NULL;
}

Test(toprender, the_tables_in_order_with_rates)
{
    static const struct top_layout all = { 0 };
    struct fixture f;
    const char *o, *fam, *q, *r;

    render(&f, 1, &all);
    o = f.out.ptr;
    cr_assert_not_null(strstr(o, "ustatsd 0.1.0  up 1h02m  rates over 2.0s  sort: series\n"), "%s",
                       o);
    cr_assert_not_null(strstr(o, "lines accepted 40 (10.0/s)  rejected 1 (0.0/s)"), "%s", o);
    cr_assert_not_null(strstr(o, "series     4 of 100 (4.0%)  memory 2.0 KiB"), "%s", o);
    cr_assert_not_null(strstr(o, "snapshots  off"), "%s", o);
    fam = strstr(o, "FAMILY");
    q = line_of(o, "queue_depth ");
    r = line_of(o, "requests ");
    cr_assert(fam != NULL && q != NULL && r != NULL && fam < q && q < r,
              "by series: queue_depth (3) first\n%s", o);
    cr_assert_not_null(strstr(r, "counter          1       50   2.0%         33      9.0       0"),
                       "%s", o);
    cr_assert(strstr(o, "CAP (fullest first)") > r);
    cr_assert_not_null(line_of(o, "series of queue_depth "), "%s", o);
    cr_assert_not_null(line_of(o, "values of requests.route "), "%s", o);
    cr_assert_not_null(line_of(o, "unknown_family                    1      0.0  caf"), "%s", o);
    cr_assert_not_null(strstr(o, "pid 42 uid 1000"), "%s", o);
    cr_assert_not_null(
        line_of(o, "0.0s       unknown_family             pid 42 uid 1000          caf"),
        "the recent rejects\n%s", o);
    cr_assert_not_null(
        line_of(o, "mailer                   half_open        1/3        1        0 1m17s"), "%s",
        o);
    done(&f);
}

Test(toprender, one_reading_shows_rates_as_na)
{
    static const struct top_layout all = { 0 };
    struct fixture f;

    render(&f, 0, &all);
    cr_assert_not_null(strstr(f.out.ptr, "rates n/a (one reading)"), "%s", f.out.ptr);
    cr_assert_not_null(strstr(f.out.ptr, "lines accepted 20 (n/a/s)"), "%s", f.out.ptr);
    cr_assert_not_null(strstr(line_of(f.out.ptr, "requests "), "     n/a "), "%s", f.out.ptr);
    done(&f);
}

Test(toprender, no_control_byte_from_the_daemon_reaches_the_terminal)
{
    static const struct top_layout all = { 0 };
    struct fixture f;
    const char *p;

    render(&f, 1, &all);
    for (p = f.out.ptr; *p != '\0'; p++)
        cr_assert(*p == '\n' || (unsigned char)*p >= 0x20, "byte 0x%02x at %zu", *p,
                  (size_t)(p - f.out.ptr));
    cr_assert_not_null(strstr(f.out.ptr, "caf\xc3\xa9?[2J:1|c"), "%s", f.out.ptr);
    done(&f);
}

Test(toprender, lines_are_cut_to_the_width_at_a_character_boundary)
{
    static const struct top_layout narrow = { .width = 20 };
    struct fixture f;
    const char *p = NULL, *line;
    struct buf cut = BUF_INIT;

    render(&f, 1, &narrow);
    for (line = f.out.ptr; *line != '\0'; line = p + 1) {
        size_t cols = 0;

        for (p = line; *p != '\n'; p++)
            cols += ((unsigned char)*p & 0xC0) != 0x80;
        cr_assert_leq(cols, 20, "%.*s", (int)(p - line), line);
    }
    cr_assert_not_null(line_of(f.out.ptr, "ustatsd 0.1.0  up 1h\n"), "%s", f.out.ptr);
    done(&f);

    top_render_cut(&cut, "ab\xc3\xa9\xc3\xa9", 6, 3);
    cr_assert_eq(cut.len, 4, "a, b and the whole of the first e-acute");
    cr_assert_eq(memcmp(cut.ptr, "ab\xc3\xa9", 4), 0);
    buf_release(&cut);
}

Test(toprender, tables_keep_their_first_rows_and_count_the_rest)
{
    static const struct top_layout few = { .family_rows = 1, .cap_rows = 2 };
    struct fixture f;

    render(&f, 1, &few);
    cr_assert_not_null(line_of(f.out.ptr, "queue_depth "), "%s", f.out.ptr);
    cr_assert_null(line_of(f.out.ptr, "requests "), "%s", f.out.ptr);
    cr_assert_not_null(strstr(f.out.ptr, "  ... 1 more\n"), "%s", f.out.ptr);
    cr_assert_not_null(strstr(f.out.ptr, "  ... 2 more\n"), "4 caps, 2 shown\n%s", f.out.ptr);
    done(&f);
}

Test(toprender, the_keys_and_the_help)
{
    struct buf b = BUF_INIT;

    top_render_keys(&b);
    buf_addch(&b, '\0');
    cr_assert_str_eq(b.ptr, "keys: s series  r rate  n name  j rejects  ? help  q quit");
    buf_reset(&b);
    top_render_help(&b);
    buf_addch(&b, '\0');
    cr_assert_not_null(strstr(b.ptr, "  j   recent rejected lines"), "%s", b.ptr);
    cr_assert_not_null(strstr(b.ptr, "  q   quit"), "%s", b.ptr);
    buf_release(&b);
}

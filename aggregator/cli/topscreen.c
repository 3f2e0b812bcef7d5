#include "cli/topscreen.h"

#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/toprender.h"

/* What the screen shows between refreshes. */
struct screen {
    const struct top_opts *o;
    struct top_reading prev, cur; /* doc NULL: none yet */
    char err[512];                /* the last read's failure, or "" */
    enum top_sort sort;
    int help;
};

/* Draw text (lines ending '\n') from row, one screen line each, cut to the width; stops at
 * the last row. Returns the next free row. */
static int draw_lines(int row, const char *text, size_t len)
{
    const char *p = text, *end = text + len;

    while (p < end && row < LINES) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
        struct buf cut = BUF_INIT;

        top_render_cut(&cut, p, n, (size_t)COLS);
        if (cut.len > 0)
            mvaddnstr(row, 0, cut.ptr, (int)cut.len);
        buf_release(&cut);
        row++;
        p += n + (nl != NULL);
    }
    return row;
}

/* Rows per table for a terminal of rows lines: the families get a third, the rest a few. */
static void layout_for(struct top_layout *lay, int rows, int cols)
{
    size_t third = rows > 9 ? (size_t)rows / 3 : 3;

    memset(lay, 0, sizeof(*lay));
    lay->width = (size_t)cols;
    lay->family_rows = third;
    lay->cap_rows = 5;
    lay->reason_rows = 5;
    lay->reject_rows = 5;
    lay->job_rows = 5;
}

static void draw(struct screen *s)
{
    struct buf text = BUF_INIT;
    int row;

    erase();
    if (LINES < 1 || COLS < 1) {
        refresh();
        return;
    }
    top_render_keys(&text);
    attron(A_REVERSE);
    draw_lines(0, text.ptr, text.len);
    attroff(A_REVERSE);
    buf_reset(&text);
    if (s->err[0] != '\0')
        buf_addf(&text, "error (retrying every %gs): %s", s->o->interval, s->err);
    else
        buf_addf(&text, "%s every %gs", s->o->fetch.url, s->o->interval);
    if (s->err[0] != '\0')
        attron(A_BOLD);
    row = draw_lines(1, text.ptr, text.len);
    attroff(A_BOLD);
    buf_reset(&text);
    if (s->help) {
        top_render_help(&text);
    } else if (s->cur.doc != NULL) {
        struct top_view v;
        struct top_layout lay;

        layout_for(&lay, LINES, COLS);
        top_view_compute(&v, s->prev.doc != NULL ? &s->prev : NULL, &s->cur, s->sort);
        top_render(&v, &lay, &text);
        top_view_release(&v);
    } else if (s->err[0] == '\0') {
        buf_adds(&text, "reading the daemon...\n");
    }
    if (text.len > 0)
        draw_lines(row + 1, text.ptr, text.len);
    buf_release(&text);
    refresh();
}

/* A new reading: the one before becomes the base of the rates. */
static void read_again(struct screen *s)
{
    struct top_reading r;

    if (top_read(&s->o->fetch, &r, NULL, s->err, sizeof(s->err)) != 0)
        return; /* the last data stays, under the error */
    s->err[0] = '\0';
    top_reading_release(&s->prev);
    s->prev = s->cur;
    s->cur = r;
}

int topscreen_run(const struct top_opts *o)
{
    struct screen s;
    uint64_t interval_ms = (uint64_t)(o->interval * 1000.0), next = 0;
    SCREEN *term;

    memset(&s, 0, sizeof(s));
    s.o = o;
    s.sort = o->sort;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "ustatsd top: not a terminal; for a script, --once or --json\n");
        return 1;
    }
    setlocale(LC_ALL, "");
    term = newterm(NULL, stdout, stdin);
    if (term == NULL) {
        fprintf(stderr, "ustatsd top: this terminal cannot be used (TERM?); try --once\n");
        return 1;
    }
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    for (;;) {
        uint64_t now = top_now_ms();
        int c;

        if (now >= next) {
            read_again(&s);
            next = top_now_ms() + interval_ms;
        }
        draw(&s);
        now = top_now_ms();
        timeout(next > now ? (int)(next - now) : 0);
        c = getch();
        if (c == 'q' || c == 'Q')
            break;
        if (c == ERR || c == KEY_RESIZE)
            continue;
        if (s.help) {
            s.help = 0;
            continue;
        }
        if (c == '?' || c == 'h')
            s.help = 1;
        else
            top_sort_of_key(c, &s.sort);
    }
    endwin();
    delscreen(term);
    top_reading_release(&s.prev);
    top_reading_release(&s.cur);
    return 0;
}

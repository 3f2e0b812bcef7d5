#include "base/log.h"

#include "base/jsonstr.h"
#include "base/logname.h"
#include "base/wallclock.h"

#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Static_assert(LOG_JSON + 1 == LOGNAME_NFORMATS, "a name for each format (logname.c)");
_Static_assert(LOG_ERROR + 1 == LOGNAME_NLEVELS, "a name for each level (logname.c)");

void log_init(struct log *l, enum log_format fmt, enum log_level min, FILE *out)
{
    l->out = out != NULL ? out : stderr;
    l->fmt = fmt;
    l->min = min;
    l->pid = (long)getpid();
    buf_init(&l->line);
}

void log_release(struct log *l)
{
    buf_release(&l->line);
}

int log_enabled(const struct log *l, enum log_level level)
{
    return level >= l->min;
}

const char *log_level_name(enum log_level level)
{
    return level <= LOG_ERROR ? logname_levels[level] : "error";
}

int log_format_parse(const char *s)
{
    return logname_find(logname_formats, s);
}

int log_level_parse(const char *s)
{
    return logname_find(logname_levels, s);
}

static const char hex[] = "0123456789abcdef";

/* Console: keep the line one line and printable; UTF-8 passes through untouched. */
static void add_console(struct buf *b, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\n') {
            buf_add(b, "\\n", 2);
        } else if (c == '\t') {
            buf_add(b, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f) {
            char esc[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };

            buf_add(b, esc, 4);
        } else {
            buf_addch(b, (char)c);
        }
    }
}

static void add_u64(struct buf *b, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof(tmp);

    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    buf_add(b, tmp + i, sizeof(tmp) - i);
}

void log_vmsg(struct log *l, enum log_level level, const char *context, const char *fmt, va_list ap)
{
    char msg[LOG_MSG_MAX];
    struct tm tm;
    struct buf *b = &l->line;
    uint64_t ms;
    size_t len;
    int n;

    if (!log_enabled(l, level))
        return;
    if (level > LOG_ERROR)
        level = LOG_ERROR;
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (n < 0) {
        len = strlen(strcpy(msg, "(unformattable log message)"));
    } else if ((size_t)n >= sizeof(msg)) {
        len = sizeof(msg) - 1;
        memcpy(msg + len - 3, "...", 3);
    } else {
        len = (size_t)n;
    }
    ms = wallclock_ms();

    buf_reset(b);
    if (l->fmt == LOG_JSON) {
        /* Key order as the services in the seeds write it: level, pid, timestamp, ... */
        buf_adds(b, "{\"level\":\"");
        buf_adds(b, logname_levels[level]);
        buf_adds(b, "\",\"pid\":");
        add_u64(b, (uint64_t)l->pid);
        buf_adds(b, ",\"timestamp\":");
        add_u64(b, ms);
        buf_adds(b, ",\"message\":\"");
        jsonstr_add(b, msg, len);
        buf_addch(b, '"');
        if (context != NULL && context[0] != '\0') {
            buf_adds(b, ",\"context\":\"");
            jsonstr_add(b, context, strlen(context));
            buf_addch(b, '"');
        }
        buf_adds(b, "}\n");
    } else {
        char stamp[32];
        time_t secs = (time_t)(ms / 1000);

        gmtime_r(&secs, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
        /* "2026-11-21T06:40:01.123Z info  message (context)": levels padded to 5. */
        buf_addf(b, "%s.%03uZ %-5s ", stamp, (unsigned)(ms % 1000), logname_levels[level]);
        add_console(b, msg, len);
        if (context != NULL && context[0] != '\0') {
            buf_add(b, " (", 2);
            add_console(b, context, strlen(context));
            buf_addch(b, ')');
        }
        buf_addch(b, '\n');
    }
    (void)!fwrite(b->ptr, 1, b->len, l->out);
    fflush(l->out);
}

void log_msg(struct log *l, enum log_level level, const char *context, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(l, level, context, fmt, ap);
    va_end(ap);
}

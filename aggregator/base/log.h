/*
 * log: the daemon's own log lines, human-readable or JSON lines.
 *
 *   console: 2026-11-21T06:40:01.123Z info  listening on /run/ustatsd.sock (ingest)
 *   json:    {"level":"info","pid":36,"timestamp":1795242001123,"message":"listening on
 *             /run/ustatsd.sock","context":"ingest"}   (one line)
 *
 * There is no global logger: the application owns one struct log and hands it to the
 * modules that log. An I/O module (it reads the wall clock). Loop thread only: a struct log
 * keeps a line buffer that it reuses.
 *
 * Every line is built whole and written with one fwrite() and an fflush(), so lines from
 * several processes sharing stderr do not interleave mid-line. Messages never span lines:
 * the console format writes control characters as \n, \t, \xNN; JSON escapes them as the
 * RFC 8259 grammar requires and replaces bytes that are not UTF-8 with U+FFFD, so every line
 * parses. A message longer than LOG_MSG_MAX bytes is cut and ends in "...".
 *
 * Client input is not this module's business: callers count bad datagrams, they never log
 * one line per packet, so there is no rate limiting here.
 */
#ifndef USTATSD_LOG_H
#define USTATSD_LOG_H

#include <stdarg.h>
#include <stdio.h>

#include "base/buf.h"
#include "base/errcode.h"

#define LOG_MSG_MAX 4096

enum log_format { LOG_CONSOLE, LOG_JSON };

/* In increasing severity; a struct log writes levels >= its minimum. */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

struct log {
    FILE *out;
    enum log_format fmt;
    enum log_level min;
    long pid;
    struct buf line; /* reused for every line */
};

/*
 * Initialise a logger writing to out (NULL means stderr; the caller keeps out open for
 * the logger's life and closes it). Caches getpid(). Allocates nothing until the first line.
 */
void log_init(struct log *l, enum log_format fmt, enum log_level min, FILE *out);

/* Free the line buffer. Does not close out. */
void log_release(struct log *l);

/* Whether a line at level would be written: skip costly argument preparation otherwise. */
int log_enabled(const struct log *l, enum log_level level);

/*
 * Write one line when level >= the minimum. context names the module ("ingest", "http"),
 * may be NULL or "" (then omitted: no parentheses, no "context" key). fmt is printf's.
 * Write errors are ignored: there is nowhere left to report them.
 */
void log_msg(struct log *l, enum log_level level, const char *context, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void log_vmsg(struct log *l, enum log_level level, const char *context, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* The names of the formats and of the levels are logname.h's. */
/* "console" or "json" to LOG_CONSOLE or LOG_JSON; ERRCODE_UNKNOWN for anything else (exact,
 * lowercase). */
int log_format_parse(const char *s);
/* "debug", "info", "warn", "error" to enum log_level; ERRCODE_UNKNOWN for anything else. */
int log_level_parse(const char *s);
/* The name of a level, as log_level_parse() takes it and as lines print it. */
const char *log_level_name(enum log_level level);

#endif

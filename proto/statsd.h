/*
 * statsd: the ustatsd wire format (DogStatsD-compatible), see PROTOCOL.md.
 *
 * The parser is zero-copy and never allocates: a parsed line holds views into the
 * caller's datagram, valid as long as the datagram is. It never reads the clock and
 * never depends on the locale.
 */
#ifndef USTATSD_PROTO_STATSD_H
#define USTATSD_PROTO_STATSD_H

#include <stddef.h>
#include <stdint.h>

/* Default limits (PROTOCOL.md, "Limits"). */
#define STATSD_MAX_DATAGRAM  8192 /* bytes in one datagram */
#define STATSD_MAX_LINE      4096 /* bytes in one line */
#define STATSD_MAX_NAME      200  /* bytes in a metric name */
#define STATSD_MAX_TAGS      16   /* tags in one line */
#define STATSD_MAX_TAG_KEY   100  /* bytes in a tag key */
#define STATSD_MAX_TAG_VALUE 256  /* bytes in a tag value */
#define STATSD_MAX_VALUES    64   /* packed values in one line */

/*
 * Every reason a line can be rejected for: the parser's own, then the daemon's. The
 * second column is the snake_case name that the daemon reports in
 * ustatsd_lines_rejected_total{reason="..."}; the third is a human message.
 * STATSD_OK (0) is success; every reason is > 0.
 */
#define STATSD_REASON_MAP(X)                                                                     \
    X(OK, "ok", "accepted")                                                                      \
    X(LINE_TOO_LONG, "line_too_long", "line longer than the line limit")                         \
    X(EMPTY_NAME, "empty_name", "metric name is empty")                                          \
    X(NAME_TOO_LONG, "name_too_long", "metric name longer than the name limit")                  \
    X(INVALID_NAME, "invalid_name", "metric name has a character outside [A-Za-z0-9_.-]")        \
    X(MISSING_VALUE, "missing_value", "no ':' and value after the name")                         \
    X(INVALID_VALUE, "invalid_value", "value is not a decimal number")                           \
    X(NON_FINITE, "non_finite_value", "value is NaN or infinite")                                \
    X(TOO_MANY_VALUES, "too_many_values", "more packed values than the limit")                   \
    X(MISSING_TYPE, "missing_type", "no '|' and type after the value")                           \
    X(UNKNOWN_TYPE, "unknown_type", "type is not c, g, ms, h, d or j")                           \
    X(PACKED_NOT_ALLOWED, "packed_not_allowed", "packed values on a c, g or j line")             \
    X(INVALID_SAMPLE_RATE, "invalid_sample_rate", "sample rate outside (0, 1]")                  \
    X(INVALID_TAG, "invalid_tag", "tag is empty or malformed")                                   \
    X(TOO_MANY_TAGS, "too_many_tags", "more tags than the limit")                                \
    X(TAG_KEY_TOO_LONG, "tag_key_too_long", "tag key longer than the limit")                     \
    X(TAG_VALUE_TOO_LONG, "tag_value_too_long", "tag value longer than the limit")               \
    X(DUPLICATE_TAG, "duplicate_tag", "the same tag key twice in one line")                      \
    X(INVALID_UTF8, "invalid_utf8", "bytes that are not valid UTF-8")                            \
    X(INVALID_TIMESTAMP, "invalid_timestamp", "T field is not a Unix timestamp")                 \
    X(INVALID_JOB_OUTCOME, "invalid_job_outcome", "job outcome is not worked, idle or error")    \
    X(SET_UNSUPPORTED, "set_unsupported", "sets (|s) are not supported")                         \
    X(EVENT_UNSUPPORTED, "event_unsupported", "events (_e{...}) are not supported")              \
    X(SERVICE_CHECK_STATUS, "service_check_status", "service check status is not 0, 1 or 2")     \
    X(UNKNOWN_FAMILY, "unknown_family", "metric name is not in the allowlist")                   \
    X(TYPE_MISMATCH, "type_mismatch", "line type does not match the family type")                \
    X(LABEL_NOT_ALLOWED, "label_not_allowed", "label key is not allowed for the family")         \
    X(LABEL_VALUE_NOT_ALLOWED, "label_value_not_allowed", "label value not in the enumeration")  \
    X(LABEL_VALUE_TOO_LONG, "label_value_too_long", "label value longer than the config limit")  \
    X(LABEL_VALUES_CAP, "label_values_cap", "label's cap on distinct values reached")            \
    X(LABEL_VALUE_PATTERN, "label_value_pattern", "label value does not match its pattern")      \
    X(SERIES_CAP, "series_cap", "series cap (family or total) reached")                          \
    X(NEGATIVE_COUNTER, "negative_counter", "counter increment is negative")                     \
    X(GROUP_EXCLUDED, "group_excluded", "the family's group is excluded by configuration")       \
    X(UNKNOWN_JOB, "unknown_job", "job name is not in the jobs section")                         \
    X(INVALID_JOB_COUNT, "invalid_job_count", "job counter value is not a whole number of runs") \
    X(SENDER_NOT_ALLOWED, "sender_not_allowed", "the sender may not write the family or job")

enum statsd_reason {
#define STATSD_REASON_ENUM(code, name, msg) STATSD_##code,
    STATSD_REASON_MAP(STATSD_REASON_ENUM)
#undef STATSD_REASON_ENUM
        STATSD_REASON_MAX
};

/* Snake_case name of a reason ("unknown_family"); "unknown" when out of range. */
const char *statsd_reason_name(int reason);
/* Human message of a reason; "unknown reason" when out of range. */
const char *statsd_reason_msg(int reason);
/*
 * The reason whose snake_case name is name (NUL-terminated), or -1 when none is. For
 * tests and tools that read reason names from text (proto/testdata/invalid.tsv); not
 * meant for the hot path (a linear scan).
 */
int statsd_reason_by_name(const char *name);

/* The last reason that statsd_parse_line() can return; the daemon's reasons follow it. */
#define STATSD_PARSER_REASON_LAST STATSD_SERVICE_CHECK_STATUS

enum statsd_type {
    STATSD_COUNTER,      /* c */
    STATSD_GAUGE,        /* g */
    STATSD_TIMER,        /* ms */
    STATSD_HISTOGRAM,    /* h */
    STATSD_DISTRIBUTION, /* d */
    STATSD_JOB,          /* j, the ustatsd job extension */
    STATSD_SERVICE_CHECK /* _sc|<name>|<status>, a DogStatsD service check */
};

enum statsd_outcome { STATSD_OUTCOME_WORKED, STATSD_OUTCOME_IDLE, STATSD_OUTCOME_ERROR };

/*
 * The outcome a job run's word names: exactly "worked", "idle" or "error" (n bytes at s,
 * lower case), into *out. 1 when it is one of them, 0 otherwise.
 */
int statsd_outcome_parse(const char *s, size_t n, enum statsd_outcome *out);

struct statsd_view {
    const char *ptr;
    size_t len;
};

struct statsd_tag {
    struct statsd_view key;
    struct statsd_view value; /* len 0 for a bare tag ("#canary") */
};

/*
 * A parsed line. A service check (`_sc|<name>|<status>|...`) fills it as a job line
 * would: name is the check's name, outcome its status (0 worked, 1 idle, 2 error),
 * values[0] 1, rate 1, tags and timestamp (its `d:` field) as parsed; suffix runs from
 * the '|' after the name to the end.
 */
struct statsd_line {
    struct statsd_view name; /* as sent, not normalised */
    enum statsd_type type;
    int relative;   /* gauge only: the value had a leading '+' or '-' */
    size_t nvalues; /* >= 1; 1 unless packed (ms, h, d) */
    double values[STATSD_MAX_VALUES];
    double rate;                 /* 1 when absent */
    enum statsd_outcome outcome; /* j and service checks only; values[0] is 1 */
    size_t ntags;
    struct statsd_tag tags[STATSD_MAX_TAGS];
    int has_timestamp;
    int64_t timestamp;            /* Unix seconds, when has_timestamp */
    struct statsd_view container; /* |c: field, len 0 when absent */
    struct statsd_view suffix;    /* everything after the values: "|type|@rate|#tags..." */
};

/*
 * Split the next line off a datagram. *pos is the offset to start from (0 at first);
 * on return it points past the line and its '\n'. Returns 1 and sets *line (without
 * '\n') when a line remains, 0 at the end. Empty lines are returned with len 0; the
 * caller skips them.
 */
int statsd_next_line(const char *dgram, size_t len, size_t *pos, struct statsd_view *line);

/*
 * Parse one line (no '\n'). Returns STATSD_OK and fills *out with views into p, or a
 * reason > 0 (a parser reason from the first block of STATSD_REASON_MAP). *out is
 * unspecified on failure. Never allocates, never reads past p + len.
 */
int statsd_parse_line(const char *p, size_t len, struct statsd_line *out);

/*
 * The spans of a line's identity, without validating anything: the name (up to the first
 * ':'), the values (up to the next '|') and the suffix (from that '|' to the end: type,
 * rate, tags and the rest). Two lines with the same name and suffix differ in their values
 * only, so a daemon that has fully parsed one may parse just the values of the other.
 * Returns 1 and fills the views, or 0 when the line has no such shape.
 *
 *   requests:1|c|#method:GET
 *   ^name    ^v^suffix
 */
int statsd_split(const char *p, size_t len, struct statsd_view *name, struct statsd_view *values,
                 struct statsd_view *suffix);

/*
 * Parse a values span (as statsd_split() finds it) for a line whose out->type is set,
 * with statsd_parse_line()'s rules and reasons: sets values, nvalues and relative.
 */
int statsd_parse_values(const char *v, size_t len, struct statsd_line *out);

/*
 * The values span of nearly every line, whole: digits, optionally '.' and more digits,
 * 15 digits at most. Sets *out to exactly what statsd_parse_values() would and returns
 * 1; returns 0 for any other span (a sign, an exponent, packed values, a job outcome).
 */
int statsd_plain_value(const char *v, size_t len, double *out);

/*
 * Normalise a metric name or label key for allowlist lookup (PROTOCOL.md, "Names"): '.'
 * and '-' become '_', every other byte stays. The one home of that rule: the parser, the
 * config, the registry's label keys and target_info's labels call it or
 * statsd_normalize_char. Writes at most
 * cap bytes, no NUL. Returns the length written, or 0 when cap is too small.
 */
size_t statsd_normalize_name(const char *name, size_t len, char *out, size_t cap);

/* One byte of a name or label key, normalised as statsd_normalize_name() does. */
static inline char statsd_normalize_char(char c)
{
    return (c == '.' || c == '-') ? '_' : c;
}

/*
 * UTF-8 as RFC 3629 defines it (no overlongs, no surrogates, nothing above U+10FFFF).
 * This is the one UTF-8 check of the project: the parser uses it for tag values, and
 * the daemon's JSON writers to tell a character from a byte they must replace.
 */
/* 1 when [p, p+len) is valid UTF-8. */
int statsd_utf8_valid(const char *p, size_t len);
/* The length (1 to 4) of the well-formed sequence that starts at p, at most avail bytes
 * (avail >= 1), or 0 when the bytes there are not one. */
size_t statsd_utf8_len(const char *p, size_t avail);

#endif

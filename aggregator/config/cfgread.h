/*
 * cfgread: the configuration's JSON reader. It keeps the JSON path of the value under
 * inspection, so that every message names the file, the path and the problem:
 *
 *   ustatsd.json: $.families[2].labels[0].values: expected an array of strings
 *
 * and it reads a section from a schema table (struct cfgread_key): one row per key with its
 * kind, bounds, default, where the value is stored and whether only a restart can change
 * it. The same tables list a section's allowed keys and drive cfgread_changed(), the
 * restart-only comparison of two loaded configs.
 *
 * A domain module: no loop, no clock. Nothing here is global; a struct cfgread lives for
 * one parse on the caller's stack.
 */
#ifndef USTATSD_CFGREAD_H
#define USTATSD_CFGREAD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/common.h"
#include "base/errcode.h"

struct cfgread {
    const char *file;    /* names the document in messages */
    const char *basedir; /* relative files are read from here; NULL: the working directory */
    void *root;          /* the struct the document fills (struct config), for row readers */
    char path[512];      /* "$.a.b[3]"; empty means "$" */
    size_t plen;
    char *err; /* the first message, always NUL-terminated when errlen > 0 */
    size_t errlen;
};

/*
 * Write "<file>: <path>: <message>" to r->err and return ERRCODE_CONFIG, so that an error path
 * reads `return cfgread_fail(r, ...)`. cfgread_fail_at() names the member key of the current object
 * (and leaves it pushed: the parse is over).
 */
int cfgread_fail(struct cfgread *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cfgread_fail_at(struct cfgread *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Descend into a member ($.a.key, or $.a["service.name"] when key is not an identifier) or
 * an array element ($.a[i]). Each returns the previous length, for cfgread_pop(). A path
 * longer than 511 bytes is cut, never overrun.
 */
size_t cfgread_push_key(struct cfgread *r, const char *key);
size_t cfgread_push_index(struct cfgread *r, size_t i);
void cfgread_pop(struct cfgread *r, size_t old);

/* "an object", "an array", "a string", "a number", "a boolean" or "null", for messages. */
const char *cfgread_type_name(const json_t *v);

/* ERRCODE_CONFIG with "expected an object, got ..." when v is not an object. */
int cfgread_object(struct cfgread *r, const json_t *v);

/*
 * s (len bytes) as a message can show it: control bytes read \xNN, so that a value refused
 * for a newline does not break the message in two; at most 64 bytes of s, then "...".
 * Returns out.
 */
const char *cfgread_shown(char out[260], const char *s, size_t len);

/* ---- documents ---- */

/*
 * A document's parser, as cfgload_text() and webcfg_parse() are: text holds len bytes and
 * a NUL after them, name stands for the document in messages, and relative file names in it
 * are read from basedir (NULL: the working directory). Returns 0, or a negative value with
 * the problem in err.
 */
typedef int (*cfgread_parse_fn)(void *out, const char *text, size_t len, const char *name,
                                const char *basedir, char *err, size_t errlen);

/*
 * Read the file at path strictly (path_read_file(): a regular file, opened without
 * blocking, at most max bytes), then parse it into out with its directory as the base of
 * relative file names (a bare name's: the working directory). When the file cannot be read,
 * err says "<path>: <lead><problem>" ("larger than 16 MiB" for one over max) and
 * ERRCODE_CONFIG is returned; otherwise what parse returns. The caller clears out first, so
 * that it holds nothing to release after a failed read. Any thread: nothing is shared.
 */
int cfgread_load(void *out, const char *path, size_t max, const char *lead, cfgread_parse_fn parse,
                 char *err, size_t errlen);

/* ---- schema tables ---- */

enum cfgread_kind {
    CFGREAD_STRING, /* char *: a copy; absent gives a copy of .sdflt, or NULL */
    CFGREAD_LISTEN, /* char *: "" (disabled), "unix:/path" or "host:port" (port 1-65535) */
    CFGREAD_MODE,   /* uint32_t: an octal string such as "0660", at most 0777 */
    CFGREAD_ENUM,   /* int: the index of the string in .choices; absent gives .udflt */
    CFGREAD_UINT32, /* uint32_t, from .umin to .umax; absent gives .udflt */
    CFGREAD_SIZE,   /* size_t, from .umin to .umax; absent gives .udflt */
    CFGREAD_NUMBER, /* double, finite, >= .dmin (> with CFGREAD_GT), <= .dmax; else .ddflt */
    CFGREAD_BOOL,   /* int: JSON true (1) or false (0); absent gives .udflt */
    CFGREAD_CUSTOM  /* read by .read; the stored value, if any, compares as .cmp says */
};

enum {
    CFGREAD_NULLABLE = 1 << 0, /* strings: null is allowed and stores NULL */
    CFGREAD_NONEMPTY = 1 << 1, /* strings: "" is refused ("must not be empty") */
    CFGREAD_REQUIRED = 1 << 2, /* absent is refused ("missing") */
    CFGREAD_GT = 1 << 3,       /* numbers: strictly above .dmin */
    CFGREAD_KEEP = 1 << 4,     /* absent keeps what the struct holds: no default */
    CFGREAD_RESTART = 1 << 5   /* only a restart can change it: see cfgread_changed() */
};

/* The bytes of a "unix:/path" listen address: sun_path holds 108 with the NUL. */
#define CFGREAD_SUN_PATH_MAX 107

/* No storage: the row only allows its key (and .read reads it). */
#define CFGREAD_NOWHERE SIZE_MAX

struct cfgread_key;

/*
 * A row's reader for what a table cannot say. v is the member (NULL when absent), obj the
 * object holding it, base the struct the table stores into. Returns 0 or ERRCODE_CONFIG (after
 * cfgread_fail*).
 */
typedef int (*cfgread_read_cb)(struct cfgread *r, const struct cfgread_key *k, json_t *obj,
                               json_t *v, void *base);

/*
 * A check of a string value that runs once the whole section has been read (so that a type
 * error anywhere in the section is reported before it): NULL, or the problem.
 */
typedef const char *(*cfgread_check_cb)(const char *s);

/*
 * How a setting is given besides the file, for the rows that have a flag ($.daemon's): the
 * daemon's option parser, its --help and its manual page's option list all read it.
 */
struct cfgread_flag {
    const char *name; /* "metrics-path" for --metrics-path; NULL: the row has no flag */
    char short_name;  /* 's' for -s; 0: none */
    const char *arg;  /* what the flag takes ("PATH"); NULL: nothing (a CFGREAD_BOOL row) */
    const char *env;  /* the variable ("USTATSD_METRICS_PATH"), or NULL */
    const char *help; /* the --help line */
    const char *man;  /* the manual page's paragraph, roff, each line ending in '\n' */
};

struct cfgread_key {
    const char *name;
    enum cfgread_kind kind;
    unsigned flags;
    size_t off; /* offsetof() into base, or CFGREAD_NOWHERE */
    const char *sdflt;
    uint64_t udflt, umin, umax;
    double ddflt, dmin, dmax;
    const char *const *choices; /* CFGREAD_ENUM: NULL-terminated. CFGREAD_STRING: checked
                                 * after the section, like .check */
    cfgread_check_cb check;     /* CFGREAD_STRING and CFGREAD_LISTEN: after the section */
    cfgread_read_cb read;       /* CFGREAD_CUSTOM */
    enum cfgread_kind cmp;      /* CFGREAD_CUSTOM: how cfgread_changed() compares .off */
    struct cfgread_flag flag;   /* its flag and variable, if it has them */
};

/*
 * What is wrong with the string s as the row k takes it: its .check's problem, or
 * "expected \"a\", \"b\" or \"c\"" (written to buf, of len bytes) when it is none of
 * .choices. NULL when s is NULL or acceptable. The checks cfgread_section() runs after a
 * section, for a value given another way (a flag, a variable).
 */
const char *cfgread_value_problem(const struct cfgread_key *k, const char *s, char *buf,
                                  size_t len);

/*
 * Read the object obj (NULL: absent, every default applies) by the table keys, of n rows,
 * into base. Unknown keys are errors: a typo must not silently fall back to a default.
 * Rows are read in table order; then the string checks (.choices, .check) run in table
 * order. The path must already name obj. Returns 0 or ERRCODE_CONFIG.
 */
int cfgread_section(struct cfgread *r, json_t *obj, const struct cfgread_key *keys, size_t n,
                    void *base);

/*
 * obj is an array of objects, each read by the table (as cfgread_section() reads one) into
 * the element i of elems, an array of json_array_size(arr) elements of size bytes that the
 * caller allocated (so that its struct owns them on failure too). The path must name arr;
 * what names the objects when arr is not an array ("family objects").
 */
int cfgread_objects(struct cfgread *r, json_t *arr, const char *what,
                    const struct cfgread_key *keys, size_t n, void *elems, size_t size);

/* ERRCODE_CONFIG naming the first key of obj that the table does not have, else 0. */
int cfgread_known(struct cfgread *r, json_t *obj, const struct cfgread_key *keys, size_t n);

/* Read one row (as cfgread_section() does for each): for callers that order rows by hand. */
int cfgread_row(struct cfgread *r, json_t *obj, const struct cfgread_key *k, void *base);

/*
 * The first row flagged CFGREAD_RESTART whose stored value differs between a and b (two
 * structs the table filled), or NULL. Strings compare by content (NULL equals only NULL).
 */
const struct cfgread_key *cfgread_changed(const struct cfgread_key *keys, size_t n, const void *a,
                                          const void *b);

/*
 * Free the strings the table stored into base (rows of kind CFGREAD_STRING and
 * CFGREAD_LISTEN, and CFGREAD_CUSTOM rows that compare as strings) and set them to NULL.
 */
void cfgread_release(const struct cfgread_key *keys, size_t n, void *base);

/* Free n strings and the array holding them. */
void cfgread_free_strings(char **v, size_t n);

/* v in compact JSON, in a block of mem_alloc()'s (free()), keys in the file's order. */
char *cfgread_compact(const json_t *v);

#endif

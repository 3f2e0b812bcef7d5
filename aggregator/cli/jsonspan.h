/*
 * jsonspan: where a value sits in a JSON text, so that an edit can be made in the text
 * itself and leave the rest of it (its layout, its order) as its author wrote it.
 *
 * A domain module. Spans are byte offsets [start, end) of a value in text. The text is
 * assumed to be valid JSON (parse it with jansson first); a function that meets
 * something else returns ERRCODE_FORMAT.
 */
#ifndef USTATSD_JSONSPAN_H
#define USTATSD_JSONSPAN_H

#include <stddef.h>

struct jsonspan {
    size_t start, end;
};

/* The span of the whole document's value. Returns 0 or ERRCODE_FORMAT. */
int jsonspan_root(const char *text, size_t len, struct jsonspan *out);

/*
 * In the object at obj: the value of member key (compared byte for byte with the key as
 * written, without escapes). Returns 1 found, 0 absent, or ERRCODE_FORMAT.
 */
int jsonspan_member(const char *text, const struct jsonspan *obj, const char *key,
                    struct jsonspan *out);

/* In the array at arr: element index. Returns 1 found, 0 absent, or ERRCODE_FORMAT. */
int jsonspan_element(const char *text, const struct jsonspan *arr, size_t index,
                     struct jsonspan *out);

/*
 * The last item of the array or object at c: for an object, from its last member's key
 * to the end of its value. Returns 1, 0 when c is empty, or ERRCODE_FORMAT.
 */
int jsonspan_last(const char *text, const struct jsonspan *c, struct jsonspan *out);

/* The blanks (spaces, tabs) that begin the line where offset at is. Returns their count. */
size_t jsonspan_indent(const char *text, size_t at);

#endif

/*
 * testdata: read the wire-format test vectors in proto/testdata/ (the .tsv tables) (format:
 * proto/testdata/README.md), for every test that runs them: the parser's, the client's
 * and the end-to-end hostile-input test.
 */
#ifndef USTATSD_TESTS_TESTDATA_H
#define USTATSD_TESTS_TESTDATA_H

#include <stdio.h>
#include <stddef.h>

#define TESTDATA_MAX_FIELDS 8

struct testdata_row {
    int lineno;
    char *field[TESTDATA_MAX_FIELDS]; /* into the reader's line buffer */
    size_t nfields;
};

struct testdata {
    FILE *f;
    char *buf;
    size_t cap;
    int lineno;
};

/* Open proto/testdata/<name> (e.g. "invalid.tsv"); fails the test when missing. */
void testdata_open(struct testdata *t, const char *name);
void testdata_close(struct testdata *t);

/* The next data row (blank lines and '#' comments skipped), split on tabs; 0 at the end. */
int testdata_next(struct testdata *t, struct testdata_row *row);

/*
 * Decode the C-style escapes (\n \r \t \\ \xHH) of a line field into an exact-size
 * malloc'd copy (so that ASan catches a read past its end); *len is its length.
 */
char *testdata_decode(const char *s, size_t *len, int lineno);

#endif

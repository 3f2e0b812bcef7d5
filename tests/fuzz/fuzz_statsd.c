/*
 * libFuzzer target for the statsd parser: the input is one datagram. Every line is
 * parsed as the daemon does, and each accepted line must keep the parser's promises
 * (views inside the input, counts within the limits, finite values, rate in (0, 1]).
 * Seeds: tests/fuzz/make_corpus.sh OUTDIR, from proto/testdata.
 */
#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "statsd.h"
#include "statsd_scanner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(struct statsd_view v, const char *p, size_t len)
{
    return v.len == 0 || (v.ptr >= p && v.len <= len && v.ptr + v.len <= p + len);
}

static int all_name_chars(struct statsd_view v)
{
    for (size_t i = 0; i < v.len; i++) {
        char c = v.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

static void check_line(const char *p, size_t len, const struct statsd_line *l)
{
    char norm[STATSD_MAX_NAME];

    assert(l->name.len > 0 && l->name.len <= STATSD_MAX_NAME && inside(l->name, p, len));
    assert(all_name_chars(l->name));
    assert(statsd_normalize_name(l->name.ptr, l->name.len, norm, sizeof(norm)) == l->name.len);
    assert(memchr(norm, '.', l->name.len) == NULL && memchr(norm, '-', l->name.len) == NULL);

    assert(l->type >= STATSD_COUNTER && l->type <= STATSD_SERVICE_CHECK);
    assert(l->nvalues >= 1 && l->nvalues <= STATSD_MAX_VALUES);
    if (l->type == STATSD_COUNTER || l->type == STATSD_GAUGE || l->type == STATSD_JOB ||
        l->type == STATSD_SERVICE_CHECK)
        assert(l->nvalues == 1);
    for (size_t i = 0; i < l->nvalues; i++)
        assert(isfinite(l->values[i]));
    if (l->type == STATSD_JOB || l->type == STATSD_SERVICE_CHECK)
        assert(l->values[0] == 1 && l->outcome <= STATSD_OUTCOME_ERROR);
    /* A service check is the line "_sc|" name "|" status...: its name follows "_sc|". */
    assert(l->type != STATSD_SERVICE_CHECK ||
           (l->name.ptr == p + 4 && memcmp(p, "_sc|", 4) == 0 && inside(l->suffix, p, len)));
    assert(!l->relative || l->type == STATSD_GAUGE);
    assert(l->rate > 0 && l->rate <= 1);

    assert(l->ntags <= STATSD_MAX_TAGS);
    for (size_t i = 0; i < l->ntags; i++) {
        const struct statsd_tag *t = &l->tags[i];
        assert(t->key.len > 0 && t->key.len <= STATSD_MAX_TAG_KEY && inside(t->key, p, len));
        assert(all_name_chars(t->key));
        assert(t->value.len <= STATSD_MAX_TAG_VALUE && inside(t->value, p, len));
        assert(statsd_utf8_valid(t->value.ptr, t->value.len));
        assert(memchr(t->value.ptr, ',', t->value.len) == NULL);
        assert(memchr(t->value.ptr, '|', t->value.len) == NULL);
        char key[STATSD_MAX_TAG_KEY];
        assert(statsd_normalize_name(t->key.ptr, t->key.len, key, sizeof(key)) == t->key.len);
    }
    assert(inside(l->container, p, len));
    assert(!l->has_timestamp || l->timestamp >= 0);
}

static int same_view(struct statsd_view a, struct statsd_view b)
{
    return a.ptr == b.ptr && a.len == b.len;
}

/*
 * The batch split the daemon uses (with AVX2 where the CPU has it, and without) gives
 * what the line-at-a-time one gives.
 */
static void check_fill(const char *dgram, size_t size,
                       size_t (*fill)(struct statsd_scanner *, struct statsd_parts *, size_t))
{
    struct statsd_scanner one, many;
    struct statsd_parts batch[32], lp;
    size_t n;

    statsd_scanner_init(&one, dgram, size);
    statsd_scanner_init(&many, dgram, size);
    do {
        n = fill(&many, batch, 32);
        for (size_t i = 0; i < n; i++) {
            assert(statsd_scanner_next(&one, &lp) == 1);
            assert(same_view(lp.line, batch[i].line) && lp.split == batch[i].split);
            assert(!lp.split ||
                   (same_view(lp.name, batch[i].name) && same_view(lp.values, batch[i].values) &&
                    same_view(lp.suffix, batch[i].suffix)));
        }
        assert(one.pos == many.pos);
    } while (n == 32);
    assert(statsd_scanner_next(&one, &lp) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct statsd_line l;
    const char *dgram = (const char *)data;
    size_t pos = 0, prev = 0;
    struct statsd_view line;
    struct statsd_scanner scan;

    statsd_scanner_init(&scan, dgram, size);
    while (statsd_next_line(dgram, size, &pos, &line)) {
        struct statsd_view name, values, suffix;
        struct statsd_parts lp;

        assert(pos > prev && pos <= size);
        assert(line.ptr == dgram + prev && line.ptr + line.len <= dgram + pos);
        assert(memchr(line.ptr, '\n', line.len) == NULL);
        /* The daemon's one-pass split agrees with next_line + split. */
        assert(statsd_scanner_next(&scan, &lp) == 1 && scan.pos == pos);
        assert(lp.line.ptr == line.ptr && lp.line.len == line.len);
        assert(lp.split == statsd_split(line.ptr, line.len, &name, &values, &suffix));
        assert(!lp.split || (lp.name.ptr == name.ptr && lp.name.len == name.len &&
                             lp.values.ptr == values.ptr && lp.values.len == values.len &&
                             lp.suffix.ptr == suffix.ptr && lp.suffix.len == suffix.len));
        prev = pos;
        if (line.len == 0)
            continue;
        int rc = statsd_parse_line(line.ptr, line.len, &l);
        assert(rc >= STATSD_OK && rc <= STATSD_PARSER_REASON_LAST);
        assert(statsd_reason_name(rc)[0] != '\0');
        if (rc == STATSD_OK)
            check_line(line.ptr, line.len, &l);
    }
    assert(pos == size && statsd_scanner_next(&scan, &(struct statsd_parts){ 0 }) == 0);
    check_fill(dgram, size, statsd_scanner_fill);
    check_fill(dgram, size, statsd_scanner_fill_base);
    /* The validator alone, on arbitrary bytes, for ASan's sake. */
    (void)statsd_utf8_valid(dgram, size);
    return 0;
}

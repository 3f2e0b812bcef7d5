#include <criterion/criterion.h>
#include <string.h>

#include "labelset.h"

/* Two keys: "method", enumerated GET and POST; "status.code", capped at 2 values. */
static char *methods[] = { "GET", "POST" };
static char *fewer[] = { "GET" };
static struct config_label labels[] = {
    { "method", methods, 2, 2 },
    { "status_code", NULL, 0, 2 },
};
static struct config_family fam = { .name = "requests", .labels = labels, .nlabels = 2 };

static struct labelset ls;
static size_t bytes;

static void setup(void)
{
    memset(&ls, 0, sizeof ls);
    bytes = 0;
    labelset_init(&ls, &fam);
    labelset_configure(&ls, &fam, &bytes);
}

static void teardown(void)
{
    labelset_release(&ls, &bytes);
    cr_assert_eq(bytes, 0, "%zu bytes not given back", bytes);
}

/* Match a line's tags; on success, intern and reference them as a new series would. */
static int check(const char *text, uint32_t *ids)
{
    struct statsd_line l;
    struct labelset_match m;
    int rc;

    cr_assert_eq(statsd_parse_line(text, strlen(text), &l), STATSD_OK, "%s", text);
    memset(&m, 0, sizeof m);
    rc = labelset_check(&ls, &l, 8, &m);
    if (rc == STATSD_OK && ids != NULL) {
        labelset_intern(&ls, &m, &bytes);
        labelset_ref(&ls, m.ids);
        memcpy(ids, m.ids, sizeof m.ids);
    }
    return rc;
}

Test(labelset, tags_are_checked_in_order_and_matched_normalised, .init = setup, .fini = teardown)
{
    uint32_t a[CONFIG_MAX_LABELS], b[CONFIG_MAX_LABELS];

    cr_assert_eq(check("r:1|c|#status.code:200,method:GET", a), STATSD_OK);
    cr_assert_eq(a[0], 1, "GET is the first enumerated value");
    cr_assert_eq(a[1], 1);
    cr_assert_eq(check("r:1|c|#method:POST,status-code:200", b), STATSD_OK);
    cr_assert_eq(b[0], 2);
    cr_assert_eq(b[1], a[1], "the same value, the same id");
    cr_assert_eq(check("r:1|c|#method,status_code:", b), STATSD_OK);
    cr_assert_eq(b[0], 0, "a bare tag is an absent label");
    cr_assert_eq(b[1], 0, "an empty value is an absent label");
    cr_assert_eq(check("r:1|c|#route:/", NULL), STATSD_LABEL_NOT_ALLOWED);
    cr_assert_eq(check("r:1|c|#status_code:123456789", NULL), STATSD_LABEL_VALUE_TOO_LONG);
    cr_assert_eq(check("r:1|c|#method:PUT", NULL), STATSD_LABEL_VALUE_NOT_ALLOWED);
    cr_assert_eq(check("r:1|c|#status_code:404", a), STATSD_OK);
    cr_assert_eq(check("r:1|c|#status_code:500", NULL), STATSD_LABEL_VALUES_CAP);
    labelset_unref(&ls, a, &bytes);
    cr_assert_eq(check("r:1|c|#status_code:500", NULL), STATSD_OK, "404 is no longer in use");
}

/* A rejected line interns nothing, even a value of a tag before the one that failed. */
Test(labelset, a_rejected_line_interns_nothing, .init = setup, .fini = teardown)
{
    size_t before = bytes;

    cr_assert_eq(check("r:1|c|#status_code:201,method:PUT", NULL), STATSD_LABEL_VALUE_NOT_ALLOWED);
    cr_assert_eq(bytes, before);
    cr_assert_eq(ls.keys[1].in.nvals, 0);
}

Test(labelset, compatible_while_no_enumerated_value_is_lost, .init = setup, .fini = teardown)
{
    struct config_label other[2], renamed[2];
    struct config_family next = fam;

    memcpy(other, labels, sizeof other);
    next.labels = other;
    cr_assert(labelset_compatible(&ls, &next, &bytes));
    other[1].max_values = 100;
    cr_assert(labelset_compatible(&ls, &next, &bytes), "a cap may change");
    other[0].values = fewer;
    other[0].nvalues = 1;
    cr_assert(!labelset_compatible(&ls, &next, &bytes), "POST was dropped");
    memcpy(renamed, labels, sizeof renamed);
    renamed[1].name = "code";
    next.labels = renamed;
    cr_assert(!labelset_compatible(&ls, &next, &bytes), "a key was renamed");
}

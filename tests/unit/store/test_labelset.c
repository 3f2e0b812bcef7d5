#include <criterion/criterion.h>
#include <string.h>

#include "store/labelset.h"

/* Two keys: "method", enumerated GET and POST; "status.code", capped at 2 values. */
static char *methods[] = { "GET", "POST" };
static char *fewer[] = { "GET" };
static struct config_label labels[] = {
    { .name = "method", .values = methods, .nvalues = 2, .max_values = 2 },
    { .name = "status_code", .max_values = 2 },
};
static struct config_family fam = { .name = "requests", .labels = labels, .nlabels = 2 };
static char *strip[] = { "env", "dd_internal_id" };
static struct config cfg = { .max_label_value_len = 8 };

static struct labelset ls;
static size_t bytes;

static void setup(void)
{
    memset(&ls, 0, sizeof ls);
    bytes = 0;
    labelset_init(&ls, &fam, NULL, 0);
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
    rc = labelset_check(&ls, &l, &cfg, &m, 0);
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

/* What a line's tags cost: the keys stripped, the tags dropped, the values folded. */
static struct labelset_match last;

static int check_m(const char *text)
{
    struct statsd_line l;
    int rc;

    cr_assert_eq(statsd_parse_line(text, strlen(text), &l), STATSD_OK, "%s", text);
    memset(&last, 0, sizeof last);
    rc = labelset_check(&ls, &l, &cfg, &last, 0);
    if (rc == STATSD_OK) {
        labelset_intern(&ls, &last, &bytes);
        labelset_ref(&ls, last.ids);
    }
    return rc;
}

/* Set the family up again for labels l (the keys keep no state from setup()). */
static void reconfigure(struct config_label *l, enum config_undeclared undeclared)
{
    labelset_release(&ls, &bytes);
    fam.labels = l;
    fam.undeclared = undeclared;
    labelset_init(&ls, &fam, NULL, 0);
    labelset_configure(&ls, &fam, &bytes);
}

static void restore(void)
{
    labelset_release(&ls, &bytes);
    fam.labels = labels;
    fam.undeclared = CONFIG_UNDECLARED_REJECT;
    cfg.strip_tags = NULL;
    cfg.nstrip_tags = 0;
    cr_assert_eq(bytes, 0, "%zu bytes not given back", bytes);
}

Test(labelset, stripped_keys_go_before_any_check, .init = setup, .fini = restore)
{
    cfg.strip_tags = strip;
    cfg.nstrip_tags = 2;
    cr_assert_eq(check_m("r:1|c|#env:prod,method:GET,dd.internal-id:abc"), STATSD_OK);
    cr_assert_eq(last.stripped, 3u);
    cr_assert_eq(last.ids[0], 1);
    cr_assert_eq(check_m("r:1|c|#dd.internal.id:abc"), STATSD_OK);
    cr_assert_eq(last.stripped, 2u);
    cr_assert_eq(check_m("r:1|c|#dd_internal_id:x,route:/"), STATSD_LABEL_NOT_ALLOWED);
}

Test(labelset, an_undeclared_key_is_rejected_or_dropped_by_policy, .init = setup, .fini = restore)
{
    cr_assert_eq(check_m("r:1|c|#error.type:500,method:GET"), STATSD_LABEL_NOT_ALLOWED);
    reconfigure(labels, CONFIG_UNDECLARED_DROP);
    cr_assert_eq(check_m("r:1|c|#error.type:500,method:GET,network.protocol.version:2"), STATSD_OK);
    cr_assert_eq(last.dropped, 2);
    cr_assert_eq(last.ids[0], 1);
    cr_assert_eq(last.ids[1], 0, "aggregated without the dropped labels");
    cr_assert_eq(check_m("r:1|c|#method:GET,Method:POST"), STATSD_OK,
                 "keys are case-sensitive: Method is undeclared");
    cr_assert_eq(last.dropped, 1);
}

static regex_t three_digits;

static void with_pattern(struct config_label *l, const char *overflow)
{
    cr_assert_eq(regcomp(&three_digits, "[1-5][0-9][0-9]", REG_EXTENDED), 0);
    memcpy(l, labels, 2 * sizeof *l);
    l[1].pattern = "[1-5][0-9][0-9]";
    l[1].pattern_re = &three_digits;
    l[0].overflow = (char *)overflow;
    l[1].overflow = (char *)overflow;
}

Test(labelset, a_pattern_is_checked_where_the_value_lies, .init = setup, .fini = restore)
{
    struct config_label l[2];

    with_pattern(l, NULL);
    reconfigure(l, CONFIG_UNDECLARED_REJECT);
    cr_assert_eq(check_m("r:1|c|#status_code:200,method:GET"), STATSD_OK,
                 "the value ends at the comma, not at the datagram's end");
    cr_assert_eq(check_m("r:1|c|#status_code:2000"), STATSD_LABEL_VALUE_PATTERN, "anchored");
    cr_assert_eq(check_m("r:1|c|#status_code:x200"), STATSD_LABEL_VALUE_PATTERN, "anchored");
    cr_assert_eq(check_m("r:1|c|#status_code:/img/a"), STATSD_LABEL_VALUE_PATTERN);
    cr_assert_eq(ls.keys[1].in.nvals, 1, "only 200 was interned");
    restore();
    regfree(&three_digits);
    setup();
}

Test(labelset, values_fold_into_the_overflow_value_by_reason, .init = setup, .fini = restore)
{
    struct config_label l[2];
    uint32_t other;

    with_pattern(l, "_other_");
    reconfigure(l, CONFIG_UNDECLARED_REJECT);
    other = ls.keys[1].overflow_id;
    cr_assert_neq(other, 0);
    cr_assert_eq(ls.keys[1].in.live, 1, "the overflow value holds its own place");
    cr_assert_eq(check_m("r:1|c|#method:PUT"), STATSD_OK);
    cr_assert_eq(last.folded[0], CONFIG_FOLD_NOT_ALLOWED);
    cr_assert_eq(last.ids[0], ls.keys[0].overflow_id);
    cr_assert_eq(check_m("r:1|c|#status_code:/img/a"), STATSD_OK);
    cr_assert_eq(last.folded[1], CONFIG_FOLD_PATTERN);
    cr_assert_eq(last.ids[1], other);
    cr_assert_eq(check_m("r:1|c|#status_code:123456789"), STATSD_OK);
    cr_assert_eq(last.folded[1], CONFIG_FOLD_TOO_LONG);
    cr_assert_eq(check_m("r:1|c|#status_code:200"), STATSD_OK);
    cr_assert_eq(last.folded[1], CONFIG_FOLD_NONE);
    cr_assert_eq(check_m("r:1|c|#status_code:201"), STATSD_OK);
    cr_assert_eq(last.folded[1], CONFIG_FOLD_NONE, "max_values 2: 200 and 201");
    cr_assert_eq(check_m("r:1|c|#status_code:202"), STATSD_OK);
    cr_assert_eq(last.folded[1], CONFIG_FOLD_CAP);
    cr_assert_eq(last.ids[1], other);
    cr_assert_eq(check_m("r:1|c|#status_code:_other_"), STATSD_OK);
    cr_assert_eq(last.folded[1], CONFIG_FOLD_NONE, "sent as such, it is no fold");
    cr_assert_eq(ls.keys[1].in.live, 3);
    restore();
    regfree(&three_digits);
    setup();
}

Test(labelset, a_reload_moves_the_overflow_value, .init = setup, .fini = restore)
{
    struct config_label l[2];
    struct config_family next = fam;
    uint32_t first;

    memcpy(l, labels, sizeof l);
    l[0].overflow = "other";
    l[1].overflow = "other";
    reconfigure(l, CONFIG_UNDECLARED_REJECT);
    first = ls.keys[1].overflow_id;
    next.labels = labels;
    cr_assert(!labelset_compatible(&ls, &next, &bytes),
              "the enumerated key interned \"other\": series may hold it");
    l[1].overflow = "rest";
    next.labels = l;
    cr_assert(labelset_compatible(&ls, &next, &bytes), "a capped key's overflow may change");
    labelset_configure(&ls, &next, &bytes);
    cr_assert_neq(ls.keys[1].overflow_id, 0);
    cr_assert_eq(ls.keys[1].in.live, 1, "\"other\" was let go, \"rest\" is held");
    cr_assert_eq(ls.keys[1].in.nvals, 2);
    cr_assert_neq(ls.keys[1].overflow_id, first);
    cr_assert_eq(ls.keys[1].in.nfree, 1, "the id of \"other\" is free again");
}

/* A new pattern carries the values over only if each one in use matches it. */
Test(labelset, a_changed_pattern_keeps_the_values_only_if_they_match, .init = setup,
     .fini = restore)
{
    struct config_label l[2], next_l[2];
    struct config_family next = fam;
    regex_t digits, twos;

    with_pattern(l, "_other_");
    reconfigure(l, CONFIG_UNDECLARED_REJECT);
    cr_assert_eq(check_m("r:1|c|#status_code:200"), STATSD_OK);
    cr_assert_eq(check_m("r:1|c|#status_code:x"), STATSD_OK, "folds into _other_");
    memcpy(next_l, l, sizeof next_l);
    next.labels = next_l;
    cr_assert(labelset_compatible(&ls, &next, &bytes), "the same pattern");
    cr_assert_eq(regcomp(&digits, "[0-9]+", REG_EXTENDED), 0);
    next_l[1].pattern = "[0-9]+";
    next_l[1].pattern_re = &digits;
    cr_assert(labelset_compatible(&ls, &next, &bytes),
              "200 matches [0-9]+, and _other_ is the overflow value");
    next_l[1].overflow = NULL;
    cr_assert(!labelset_compatible(&ls, &next, &bytes), "_other_ is in use and breaks it");
    next_l[1].overflow = "_other_";
    cr_assert_eq(regcomp(&twos, "2+", REG_EXTENDED), 0);
    next_l[1].pattern = "2+";
    next_l[1].pattern_re = &twos;
    cr_assert(!labelset_compatible(&ls, &next, &bytes), "200 breaks 2+: it does not span it");
    regfree(&digits);
    regfree(&twos);
    restore();
    regfree(&three_digits);
    setup();
}

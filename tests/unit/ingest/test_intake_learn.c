/*
 * The intake's side of learn mode: a line refused for an allowlist reason is noted in the
 * summary (whether it was parsed in full or its identity was cached), a malformed one or
 * an accepted one is not, an accepted line's first sight notes the tags its family
 * dropped, and with learning off (or no summary) nothing is noted.
 */
#include "intake_fixture.h"

#include "ingest/learnsum.h"

static struct learnsum sum;

static const char json[] =
    "{\"families\": ["
    " {\"name\": \"requests\", \"type\": \"counter\","
    "  \"labels\": [{\"name\": \"method\", \"values\": [\"GET\"]}]},"
    " {\"name\": \"depth\", \"type\": \"gauge\", \"undeclared_labels\": \"drop\"}]}";

static void up(void)
{
    intake_up(json);
    learnsum_init(&sum, 1, CONFIG_DEFAULT_LEARN_MAX_BYTES);
    intake_learn(&in, &sum);
}

static void down(void)
{
    learnsum_release(&sum);
    intake_down();
}

static void take(const char *dgram)
{
    struct intake_sender from = { .pid = 77, .uid = 1000, .gid = 1000 };

    intake_datagram(&in, dgram, strlen(dgram), &from, NOW_MS);
}

TestSuite(intake_learn, .init = up, .fini = down);

Test(intake_learn, refused_lines_are_noted_accepted_and_malformed_ones_are_not)
{
    const struct learnsum_entry *e;

    take("requests:1|c|#method:GET\nnope.x:1|c|#a:b\nrequests:1|c|#method:PUT\n::bad");
    cr_expect_eq(in.count.accepted, 1);
    cr_expect_eq(sum.lines, 2, "unknown_family and label_value_not_allowed; not the malformed");
    cr_assert_not_null(e = learnsum_find(&sum, "nope_x"));
    cr_expect_eq(e->senders[0].pid, 77);
    cr_assert_not_null(e = learnsum_find(&sum, "requests"));
    cr_expect(e->declared);
    cr_expect_eq(e->by_reason[LEARNSUM_LABEL_VALUE_NOT_ALLOWED], 1);
    /* The same refused line again: noted again. */
    take("requests:1|c|#method:PUT");
    cr_expect_eq(e->total, 2);
}

Test(intake_learn, the_tags_a_family_drops_are_noted_once_per_new_line)
{
    const struct learnsum_entry *e;

    take("depth:3|g|#queue:mail");
    take("depth:3|g|#queue:mail");
    cr_expect_eq(in.count.accepted, 2);
    cr_assert_not_null(e = learnsum_find(&sum, "depth"));
    cr_expect_eq(e->keys[0]->dropped, 1, "the second sight is a cache hit: not noted");
    cr_expect_eq(sum.dropped_tags, 1);
}

Test(intake_learn, off_notes_nothing)
{
    learnsum_configure(&sum, 0, CONFIG_DEFAULT_LEARN_MAX_BYTES);
    intake_learn(&in, &sum);
    cr_expect_null(in.learn);
    take("nope:1|c\ndepth:1|g|#x:y");
    cr_expect_eq(sum.lines, 0);
    intake_learn(&in, NULL);
    take("nope:1|c");
    cr_expect_eq(sum.lines, 0);
}

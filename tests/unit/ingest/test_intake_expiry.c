/*
 * A line that makes room at a cap frees expired series (registry_reclaims): the front
 * cache's hits that the datagram's later lines were looked up to are then looked up
 * again, so a line for a freed series recreates it instead of touching freed memory.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "ingest/intake.h"
#include "store/registry.h"
#include "intake_fixture.h"

static const char config_json[] = "{\"limits\": {\"max_series_per_family\": 2},"
                                  " \"families\": ["
                                  "  {\"name\": \"g\", \"type\": \"gauge\", \"ttl_seconds\": 1,"
                                  "   \"labels\": [{\"name\": \"q\", \"max_values\": 10}]}"
                                  " ]}";

static void setup(void)
{
    intake_up(config_json);
}

static void send_at(const char *text, uint64_t now)
{
    intake_datagram(&in, text, strlen(text), NULL, now);
}

/* The value of g{q=<q>}, or -1 when there is no such series. */
static double value_of(const char *q)
{
    struct registry_cursor c;
    struct registry_sample s;
    double v = -1;

    registry_cursor_init(&c, &reg);
    while (registry_cursor_next(&c, &s))
        if (s.nlabels == 1 && s.labels[0].value_len == strlen(q) &&
            memcmp(s.labels[0].value, q, s.labels[0].value_len) == 0)
            v = s.value;
    registry_cursor_release(&c);
    return v;
}

Test(intake_expiry, hits_freed_by_a_reclaim_are_looked_up_again, .init = setup, .fini = intake_down)
{
    send_at("g:1|g|#q:a\ng:2|g|#q:b", 1000);
    send_at("g:3|g|#q:a\ng:4|g|#q:b", 1000); /* both now hits of the front cache */
    cr_assert_eq(in.count.accepted, 4);
    cr_assert_eq(registry_reclaims(&reg), 0);
    /* Both expired at 2001: c makes room by freeing them, and the hit for a is gone. */
    send_at("g:5|g|#q:c\ng:6|g|#q:a", 2001);
    cr_assert_eq(registry_reclaims(&reg), 1);
    cr_assert_eq(in.count.accepted, 6);
    cr_assert_eq(registry_family_series(&reg, 0), 2);
    cr_assert_eq(value_of("c"), 5);
    cr_assert_eq(value_of("a"), 6, "a's line made a new series");
    cr_assert_eq(value_of("b"), -1, "b expired");
}

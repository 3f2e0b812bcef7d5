/*
 * The "writers" section: what it accepts and resolves, what it refuses and how the message
 * names it, which rule each family and job takes, and the match of a sender.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>
#include <string.h>

#include "cfgtest.h"
#include "config/cfgwriters.h"
#include "config/config.h"
#include "config/cfgload.h"

/* Families and jobs that the rules below name. */
#define BASE                                                         \
    "{'families': [{'name': 'app.requests', 'type': 'counter'},"     \
    "              {'name': 'app_errors', 'type': 'counter'},"       \
    "              {'name': 'app_db_latency', 'type': 'histogram'}," \
    "              {'name': 'billing_refunds', 'type': 'gauge'},"    \
    "              {'name': 'other', 'type': 'gauge'}],"             \
    " 'jobs': {'list': ['nightly-export', 'nightly-vacuum', 'hourly']}"

static const struct config_family *family(const struct config *c, const char *name)
{
    long i = config_find_family(c, name, strlen(name));

    cr_assert_geq(i, 0, "no family %s", name);
    return &c->families[i];
}

static const struct config_job *job(const struct config *c, const char *name)
{
    long i = config_find_job(c, name, strlen(name));

    cr_assert_geq(i, 0, "no job %s", name);
    return &c->jobs[i];
}

Test(cfgwriters, no_section_guards_nothing)
{
    struct config c;

    must_parse(&c, BASE "}");
    cr_assert_eq(c.nwriters, 0);
    for (size_t i = 0; i < c.nfamilies; i++)
        cr_assert_null(c.families[i].writers);
    for (size_t i = 0; i < c.njobs; i++)
        cr_assert_null(c.jobs[i].writers);
    cr_assert_eq(cfgwriters_guarded_families(&c), 0);
    cfgload_release(&c);
}

Test(cfgwriters, the_most_specific_rule_wins)
{
    struct config c;

    must_parse(&c, BASE ", 'writers': ["
                        "  {'prefix': 'app', 'users': [10]},"
                        "  {'prefix': 'app.db-', 'users': [11]},"
                        "  {'family': 'app.requests_total', 'users': [12]},"
                        "  {'prefix': '', 'users': ['root']},"
                        "  {'job_prefix': 'nightly', 'users': [20]},"
                        "  {'job': 'nightly-vacuum', 'users': [21]}]}");
    cr_assert_eq(c.nwriters, 6);
    cr_assert_eq(family(&c, "app_requests")->writers, &c.writers[2], "exact beats prefixes");
    cr_assert_str_eq(c.writers[2].name, "app_requests", "stored as the family is");
    cr_assert_eq(family(&c, "app_db_latency")->writers, &c.writers[1], "the longest prefix");
    cr_assert_str_eq(c.writers[1].name, "app_db_", "a prefix is normalised");
    cr_assert_eq(family(&c, "app_errors")->writers, &c.writers[0]);
    cr_assert_eq(family(&c, "other")->writers, &c.writers[3], "\"\" is every family");
    cr_assert_eq(job(&c, "nightly-export")->writers, &c.writers[4]);
    cr_assert_eq(job(&c, "nightly-vacuum")->writers, &c.writers[5]);
    cr_assert_null(job(&c, "hourly")->writers, "a family prefix does not guard jobs");
    cr_assert_eq(cfgwriters_guarded_families(&c), 5);
    cr_assert_eq(cfgwriters_guarded_jobs(&c), 2);
    cfgload_release(&c);
}

Test(cfgwriters, names_resolve_and_ids_are_sorted)
{
    struct config c;
    const struct config_writers *w;

    /* root and nogroup exist wherever the suite runs (Debian's base-passwd). */
    must_parse(&c, BASE ", 'writers': [{'family': 'other', 'users': [1000, 'root', 7],"
                        " 'groups': ['nogroup', 'root', 3], 'unauthenticated': true}]}");
    w = family(&c, "other")->writers;
    cr_assert_not_null(w);
    cr_assert_eq(w->nuids, 3);
    cr_assert_eq(w->uids[0], 0);
    cr_assert_eq(w->uids[1], 7);
    cr_assert_eq(w->uids[2], 1000);
    cr_assert_eq(w->ngids, 3);
    cr_assert_eq(w->gids[0], 0);
    cr_assert_eq(w->gids[1], 3);
    cr_assert_eq(w->gids[2], 65534);
    cr_assert_eq(w->unauthenticated, 1);
    cfgload_release(&c);
}

Test(cfgwriters, a_sender_matches_by_uid_or_gid_and_udp_by_unauthenticated)
{
    static const uint32_t uids[] = { 0, 7, 1000 }, gids[] = { 50 };
    struct config_writers w = {
        .uids = (uint32_t *)uids, .nuids = 3, .gids = (uint32_t *)gids, .ngids = 1
    };

    cr_assert(cfgwriters_allows(NULL, 1, 12345, 12345), "no rule: anyone");
    cr_assert(cfgwriters_allows(NULL, 0, 0, 0), "no rule: even without credentials");
    cr_assert(cfgwriters_allows(&w, 1, 0, 99));
    cr_assert(cfgwriters_allows(&w, 1, 7, 99));
    cr_assert(cfgwriters_allows(&w, 1, 1000, 99));
    cr_assert_not(cfgwriters_allows(&w, 1, 8, 99));
    cr_assert_not(cfgwriters_allows(&w, 1, 4294967295u, 99));
    cr_assert(cfgwriters_allows(&w, 1, 8, 50), "by the gid");
    cr_assert_not(cfgwriters_allows(&w, 1, 50, 7), "a uid is not a gid");
    cr_assert_not(cfgwriters_allows(&w, 0, 0, 50), "no credentials, no uid");
    w.unauthenticated = 1;
    cr_assert(cfgwriters_allows(&w, 0, 0, 0));
    w.nuids = 0;
    cr_assert_not(cfgwriters_allows(&w, 1, 0, 0), "an empty list holds nobody");
}

struct bad {
    char json[300];
    char msg[240];
};

ParameterizedTestParameters(cfgwriters, refuses_rules_that_cannot_be_meant)
{
    static struct bad cases[] = {
        { "'writers': {}",
          "test.json: $.writers: expected an array of rule objects, got an object" },
        { "'writers': [3]", "test.json: $.writers[0]: expected an object, got a number" },
        { "'writers': [{'users': [0]}]",
          "test.json: $.writers[0]: names nothing: give one of family, prefix, job and "
          "job_prefix" },
        { "'writers': [{'family': 'other'}]",
          "test.json: $.writers[0]: allows no sender: give users, groups or "
          "\"unauthenticated\": true" },
        { "'writers': [{'family': 'other', 'users': [], 'groups': []}]",
          "test.json: $.writers[0]: allows no sender" },
        { "'writers': [{'family': 'other', 'prefix': 'app', 'users': [0]}]",
          "test.json: $.writers[0].prefix: the rule also names family \"other\": a rule names "
          "exactly one of family, prefix, job and job_prefix" },
        { "'writers': [{'family': 'nope', 'users': [0]}]",
          "test.json: $.writers[0].family: no family \"nope\" in $.families" },
        { "'writers': [{'family': 7, 'users': [0]}]",
          "test.json: $.writers[0].family: expected a string, got a number" },
        { "'writers': [{'job': 'nightly', 'users': [0]}]",
          "test.json: $.writers[0].job: no job \"nightly\" in $.jobs.list" },
        { "'writers': [{'prefix': 'bill.x', 'users': [0]}]",
          "test.json: $.writers[0].prefix: \"bill_x\" is the start of no family in $.families" },
        { "'writers': [{'prefix': 'a b', 'users': [0]}]",
          "test.json: $.writers[0].prefix: \"a b\" is not the start of a name" },
        { "'writers': [{'job_prefix': 'weekly', 'users': [0]}]",
          "test.json: $.writers[0].job_prefix: \"weekly\" is the start of no job in $.jobs.list" },
        { "'writers': [{'family': 'other', 'users': ['no-such-user-here']}]",
          "test.json: $.writers[0].users[0]: no user \"no-such-user-here\"" },
        { "'writers': [{'family': 'other', 'groups': [1, 'no-such-group-here']}]",
          "test.json: $.writers[0].groups[1]: no group \"no-such-group-here\"" },
        { "'writers': [{'family': 'other', 'users': [-1]}]",
          "test.json: $.writers[0].users[0]: a uid is 0 to 4294967294, got -1" },
        { "'writers': [{'family': 'other', 'groups': [4294967295]}]",
          "test.json: $.writers[0].groups[0]: a gid is 0 to 4294967294, got 4294967295" },
        { "'writers': [{'family': 'other', 'users': [true]}]",
          "test.json: $.writers[0].users[0]: expected a user name or a uid, got a boolean" },
        { "'writers': [{'family': 'other', 'users': 'root'}]",
          "test.json: $.writers[0].users: expected an array of user names or uids, got a "
          "string" },
        { "'writers': [{'family': 'other', 'users': [5, 'root', 0]}]",
          "test.json: $.writers[0].users[2]: uid 0 again: it is also users[1]" },
        { "'writers': [{'family': 'other', 'users': [0]}, {'family': 'other', 'users': [1]}]",
          "test.json: $.writers[1].family: \"other\" has a rule already: $.writers[0]" },
        { "'writers': [{'prefix': 'app.', 'users': [0]}, {'prefix': 'app_', 'users': [1]}]",
          "test.json: $.writers[1].prefix: \"app_\" has a rule already: $.writers[0]" },
        { "'writers': [{'family': 'other', 'users': [0], 'user': [1]}]",
          "test.json: $.writers[0].user: unknown key" },
        { "'writers': [{'family': 'other', 'unauthenticated': 1}]",
          "test.json: $.writers[0].unauthenticated: expected" },
    };
    return cr_make_param_array(struct bad, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad *b, cfgwriters, refuses_rules_that_cannot_be_meant)
{
    char text[1024], err[512];
    struct config c;

    snprintf(text, sizeof(text), "%s, %s}", BASE, b->json);
    cr_assert_eq(parse_sq(&c, text, err, sizeof(err)), ERRCODE_CONFIG, "accepted: %s", b->json);
    cr_assert_eq(strncmp(err, b->msg, strlen(b->msg)), 0, "want: %s\n got: %s", b->msg, err);
    cfgload_release(&c);
}

Test(cfgwriters, a_guarded_family_keeps_its_rule_across_the_synthesised_ones)
{
    struct config c;

    /* Client telemetry families are added after the file's: a prefix of "" guards them too. */
    must_parse(&c, BASE ", 'writers': [{'prefix': '', 'users': [0]}]}");
    for (size_t i = 0; i < c.nfamilies; i++)
        cr_assert_eq(c.families[i].writers, &c.writers[0], "%s", c.families[i].name);
    cr_assert_gt(c.nfamilies, config_file_families(&c));
    cfgload_release(&c);
}

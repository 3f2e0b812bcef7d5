/*
 * Datagrams staged ahead of their delivery (intake_stage): the lines come split and
 * tagged from a slot, and do exactly what they do unstaged; a slot is never taken for
 * bytes other than the ones it was scanned from.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/intake.h"
#include "intake_fixture.h"

static const char config_json[] = "{\"families\": ["
                                  "  {\"name\": \"u\", \"type\": \"counter\"},"
                                  "  {\"name\": \"g\", \"type\": \"gauge\","
                                  "   \"labels\": [{\"name\": \"q\", \"max_values\": 10}]}"
                                  " ]}";

static void setup(void)
{
    intake_up(config_json);
    /* A front cache this small is never staged (registry_stage_pays): forced on. */
    in.staging = 1;
}

static void teardown(void)
{
    intake_down();
}

TestSuite(intake_stage, .init = setup, .fini = teardown);

static void expect(const char *sample, int present)
{
    char *text = intake_exposition();

    cr_assert_eq(strstr(text, sample) != NULL, present, "%s %s in:\n%s", sample,
                 present ? "missing" : "present", text);
    free(text);
}

/* How many slots hold a staged datagram. */
static int staged(void)
{
    int n = 0;

    for (unsigned k = 0; k < INTAKE_STAGED; k++)
        n += in.staged[k].data != NULL;
    return n;
}

static void scan(const char *d)
{
    intake_stage(&in, d, strlen(d), INTAKE_SCAN);
    intake_stage(&in, d, strlen(d), INTAKE_FETCH);
}

static void take(const char *d)
{
    intake_datagram(&in, d, strlen(d), NULL, NOW_MS);
}

/* More lines than a slot holds (REGISTRY_FIND_MAX): the rest are scanned on delivery. */
Test(intake_stage, a_staged_datagram_is_taken_whole_from_its_slot)
{
    char d[INTAKE_STAGE_BYTES + 1] = "";

    for (int i = 0; i < 40; i++)
        strcat(d, i % 2 ? "u:1|c\n" : "u:2|c\n");
    cr_assert_leq(strlen(d), INTAKE_STAGE_BYTES);
    take("u:1|c\ng:1|g|#q:a"); /* cached: the staged lines find them in the front cache */
    scan(d);
    cr_assert_eq(staged(), 1);
    take(d);
    cr_assert_eq(staged(), 0, "delivery takes the slot");
    cr_assert_eq(in.count.accepted, 42);
    expect("\nu_total 61\n", 1);
}

/* A long datagram, or any while the cache is small (as of the last forget): not staged. */
Test(intake_stage, only_short_datagrams_of_a_big_cache_are_staged)
{
    char d[INTAKE_STAGE_BYTES + 16] = "";

    while (strlen(d) <= INTAKE_STAGE_BYTES)
        strcat(d, "u:1|c\n");
    scan(d);
    cr_assert_eq(staged(), 0);
    intake_stage(&in, NULL, 0, INTAKE_FORGET);
    cr_assert_eq(in.staging, 0, "a forget reads the cache's size: this one is small");
    scan("u:1|c");
    cr_assert_eq(staged(), 0);
    take(d);
    take("u:1|c");
    expect("\nu_total 44\n", 1);
}

/*
 * The same buffer holding other bytes of the same length, lines at other places: after a
 * forget, or a scan of the new bytes, the old slot is never taken (it would split the new
 * bytes where the old lines were).
 */
Test(intake_stage, a_slot_is_never_taken_for_bytes_it_was_not_scanned_from)
{
    char buf[32];
    const char *a = "g:1|g|#q:a\ng:2|g|#q:bb", *b = "g:3|g|#q:aa\ng:4|g|#q:b";

    cr_assert_eq(strlen(a), strlen(b));
    strcpy(buf, a);
    scan(buf);
    intake_stage(&in, NULL, 0, INTAKE_FORGET);
    cr_assert_eq(staged(), 0);
    in.staging = 1;
    strcpy(buf, b);
    take(buf);
    expect("g{q=\"aa\"} 3\n", 1);
    expect("g{q=\"b\"} 4\n", 1);
    expect("g{q=\"a\"}", 0);

    strcpy(buf, a);
    scan(buf);
    strcpy(buf, b);
    buf[0] = 'g';
    buf[2] = '5';
    scan(buf); /* the same data: the slot is scanned again */
    cr_assert_eq(staged(), 1);
    take(buf);
    expect("g{q=\"aa\"} 5\n", 1);
    expect("g{q=\"a\"}", 0);
    expect("g{q=\"bb\"}", 0);

    /* A slot of the same data but another length is not taken either. */
    strcpy(buf, a);
    scan(buf);
    buf[10] = '\0';
    take(buf);
    expect("g{q=\"a\"} 1\n", 1);
    expect("g{q=\"bb\"}", 0);
}

/* More datagrams staged than there are slots: each is still taken, in order, exactly. */
Test(intake_stage, more_datagrams_staged_than_slots_are_each_taken_once)
{
    char d[INTAKE_STAGED + 2][32], want[64];

    for (int i = 0; i < INTAKE_STAGED + 2; i++) {
        snprintf(d[i], sizeof d[i], "u:%d|c\ng:%d|g|#q:x", i + 1, i + 1);
        scan(d[i]);
        cr_assert_eq(staged(), i + 1 < INTAKE_STAGED ? i + 1 : INTAKE_STAGED);
    }
    for (int i = 0; i < INTAKE_STAGED + 2; i++)
        take(d[i]);
    cr_assert_eq(in.count.accepted, 2 * (INTAKE_STAGED + 2));
    /* The counter adds 1 to INTAKE_STAGED + 2; the gauge ends at the last. */
    snprintf(want, sizeof want, "\nu_total %d\n", (INTAKE_STAGED + 2) * (INTAKE_STAGED + 3) / 2);
    expect(want, 1);
    snprintf(want, sizeof want, "g{q=\"x\"} %d\n", INTAKE_STAGED + 2);
    expect(want, 1);
}

/*
 * A front cache big enough to pay (past about 70,000 series) turns staging on at the next
 * forget, with the fetch for real: lines of cached series, of a new one,
 * and of another spelling, staged as the daemon stages them (a scan SCAN_AHEAD datagrams
 * ahead of the delivery, a fetch FETCH_AHEAD ahead: ingest.h's 4 and 2), each do what
 * they would.
 */
#define SCAN_AHEAD  (INTAKE_STAGED - 1)
#define FETCH_AHEAD 2
Test(intake_stage, a_big_cache_turns_staging_on_and_staged_lines_stay_exact, .timeout = 60)
{
    enum { N = 90000, D = 8 };
    char d[D][64], *text;
    size_t k;

    intake_down();
    intake_up("{\"limits\": {\"max_series\": 100000, \"max_series_per_family\": 100000},"
              " \"families\": [{\"name\": \"b\", \"type\": \"counter\","
              "  \"labels\": [{\"name\": \"k\", \"max_values\": 100000}]}]}");
    for (int round = 0; round < 2; round++) /* created, then cached */
        for (k = 0; k < N; k++) {
            char line[48];

            snprintf(line, sizeof line, "b:1|c|#k:v%zu", k);
            take(line);
        }
    cr_assert_eq(in.staging, 0, "not before a forget");
    intake_stage(&in, NULL, 0, INTAKE_FORGET);
    cr_assert_eq(in.staging, 1, "%zu series: the cache pays", (size_t)N);
    /* Four kinds of line, twice each. */
    for (int i = 0; i < D; i += 4) {
        snprintf(d[i], sizeof d[i], "b:5|c|#k:v7");
        snprintf(d[i + 1], sizeof d[i + 1], "b:2|c|#k:v%d", N - 1);
        snprintf(d[i + 2], sizeof d[i + 2], "b:9|c|#k:new");
        snprintf(d[i + 3], sizeof d[i + 3], "b:4|c|@0.5|#k:v7");
    }
    for (int i = 0; i < SCAN_AHEAD; i++)
        scan(d[i]);
    cr_assert_eq(staged(), SCAN_AHEAD);
    for (int i = 0; i < FETCH_AHEAD; i++)
        intake_stage(&in, d[i], strlen(d[i]), INTAKE_FETCH);
    for (int i = 0; i < D; i++) {
        if (i + SCAN_AHEAD < D)
            intake_stage(&in, d[i + SCAN_AHEAD], strlen(d[i + SCAN_AHEAD]), INTAKE_SCAN);
        if (i + FETCH_AHEAD < D)
            intake_stage(&in, d[i + FETCH_AHEAD], strlen(d[i + FETCH_AHEAD]), INTAKE_FETCH);
        take(d[i]);
    }
    intake_stage(&in, NULL, 0, INTAKE_FORGET);
    cr_assert_eq(staged(), 0);
    cr_assert_eq(in.count.accepted, 2 * (uint64_t)N + D);
    text = intake_exposition();
    /* 2 from the rounds, then twice 5 + 4 / 0.5; 2, then twice 2; twice 9. */
    cr_assert_not_null(strstr(text, "\nb_total{k=\"v7\"} 28\n"), "v7");
    cr_assert_not_null(strstr(text, "\nb_total{k=\"v89999\"} 6\n"), "v89999");
    cr_assert_not_null(strstr(text, "\nb_total{k=\"new\"} 18\n"), "new");
    free(text);
}

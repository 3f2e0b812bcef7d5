/*
 * End to end through the real binary and a real Prometheus: every laid-out seed
 * (packaging/seeds/NNN-name/ with a prometheus.yml, found by reading the directory) runs
 * as an operator would run it (tests/e2e/seeds/seedrun.h says how), and its alerts,
 * recording rules and dashboard are checked against what the daemon really exposes.
 *
 * Per seed, once the feeder sends its lines, within a deadline: the dashboard's panels
 * and variables answer (seedboard.h); then, where the seed has a
 * tests/seeds/<seed>/fault.sql, it runs on the seed's PostgreSQL (an alert that watches
 * the daemon's SQL collectors needs one to fail); every alert of the seed's rule files
 * reaches `firing`, and every alert and recording-rule expression returns at least one
 * sample (seedrules.h). The labels each panel and rule groups by, and each panel's legend
 * shows, exist on the series as scraped (seedlabels.h). No series carries `exported_job` (honor_labels), and a config's
 * first job answers as `job`. Then the daemon still stops cleanly.
 */
#include <criterion/criterion.h>

#include <stdio.h>

#include "seeds/seedboard.h"
#include "seeds/seedprom.h"
#include "seeds/seedrules.h"
#include "seeds/seedrun.h"
#include "waitfor.h"

static void run_seed(const char *name)
{
    long long t0 = waitfor_now_ms();
    struct seed_run *s = seed_start(name);
    int alerts = 0;

    seed_feed(s);
    seedboard_check(s);
    seed_fault(s);
    for (size_t i = 0; i < s->nrules; i++)
        seedrules_check_file(s, s->rule_files[i], &alerts);
    if (alerts > 0 && waitfor_cond(seedprom_alerts_firing, s, seed_remaining(s)) != 0)
        seed_fail_with_logs(s, "not every alert reached firing");
    seedprom_check_job_labels(s, s->shipped);
    fprintf(stderr, "%s: %d alerts firing, every rule and panel query answered, in %lld ms\n", name,
            alerts, waitfor_now_ms() - t0);
    /* The daemon served all of it and still stops cleanly. */
    seed_finish(s);
}

Test(e2e_seeds, every_seed_alerts_rules_and_dashboard_against_a_real_prometheus, .timeout = 300,
     .fini = seed_cleanup)
{
    seed_each(run_seed);
}

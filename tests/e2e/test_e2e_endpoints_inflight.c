/*
 * End to end through the real binary: scrapes in flight. One held back outlives the
 * reloaded configs it started under; beyond 16 in flight on an endpoint, a scrape gets
 * promhttp's 503 and its connection closes.
 */
#include <errno.h>

#include "endpoints_fixture.h"

TestSuite(e2e_endpoints, .fini = fini);

/* A family whose help names the generation, so that each reload makes a new config. */
static void hits_config(char *out, size_t len, int gen)
{
    snprintf(out, len,
             "{\"limits\": {\"max_label_values\": 100000, \"max_series_per_family\": 100000},"
             " \"families\": [{\"name\": \"hits\", \"type\": \"counter\", \"help\": \"H%d.\","
             "   \"labels\": [{\"name\": \"k\", \"max_values\": 100000}]}],"
             " \"endpoints\": [{\"name\": \"app\", \"listen\": \"unix:%s/app.sock\"}]}",
             gen, dir);
}

/* 40,000 series of hits: a response that outgrows the socket buffers. */
static void send_hits(void)
{
    for (int b = 0; b < 400; b++) {
        char dgram[8192];
        size_t len = 0;

        for (int i = 0; i < 100; i++)
            len += (size_t)snprintf(dgram + len, sizeof(dgram) - len, "hits:1|c|#k:v%d\n",
                                    b * 100 + i);
        cr_assert_eq(daemon_send(&d, dgram, len), 0);
    }
    cr_assert_eq(daemon_wait_value(&d, "ustatsd_lines_accepted_total", 40000, 10000), 40000);
}

Test(e2e_endpoints, a_scrape_in_flight_outlives_the_config_it_started_with)
{
    char cfg[4096], addr[160];
    struct httpc h;
    struct httpc_response r;

    make_dir();
    hits_config(cfg, sizeof(cfg), 0);
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0);
    send_hits();
    /* The scrape starts under a reloaded config (the start-up one is never freed)... */
    hits_config(cfg, sizeof(cfg), 1);
    write_config(cfg);
    reload_and_wait("success", 1);
    snprintf(addr, sizeof(addr), "unix:%s/app.sock", dir);
    cr_assert_eq(httpc_open(&h, addr, 10000), 0);
    cr_assert_eq(httpc_request(&h, "GET", "/metrics", NULL), 0);
    /* ... and while it is held back, the next reload swaps that config out. */
    for (int i = 2; i <= 3; i++) {
        hits_config(cfg, sizeof(cfg), i);
        write_config(cfg);
        reload_and_wait("success", i);
    }
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_not_null(strstr(r.body, "# TYPE hits_total counter"), "%.200s", r.body);
    cr_assert_eq(expo_check(r.body, 0), 0);
    httpc_response_release(&r);
    httpc_close(&h);
}

/* Whether /debug shows the scrapes in flight on the endpoint's path that arg names. */
static int in_flight_shown(void *arg)
{
    char *m = NULL;
    int found = daemon_get(&d, "/debug", NULL, &m) == 200 && m && strstr(m, arg);

    free(m);
    return found;
}

/* Whether /debug shows want scrapes in flight on the endpoint's path; waits up to 5 s. */
static int in_flight_reaches(int want)
{
    char needle[64];

    snprintf(needle, sizeof(needle), "\"path\":\"/metrics\",\"in_flight\":%d,", want);
    return waitfor_cond(in_flight_shown, needle, 5000) == 0;
}

/*
 * The 17th scrape gets 503 with "Connection: close", and the connection is parked, not
 * shut (http/httppark.c): the request pipelined behind it is never answered, and a client
 * that closes as told is gone.
 */
Test(e2e_endpoints, beyond_16_scrapes_in_flight_a_scrape_gets_503_and_nothing_more)
{
    char cfg[4096], addr[160];
    struct httpc held[16], h;
    struct httpc_response r;
    const char two[] = "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n"
                       "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
    char *m;

    make_dir();
    hits_config(cfg, sizeof(cfg), 0);
    cfg[strlen(cfg) - 3] = '\0'; /* the endpoint's closing "}]}": promhttp on it */
    strcat(cfg, ", \"promhttp\": true}]}");
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0);
    send_hits(); /* a scrape nobody reads stays in flight */
    snprintf(addr, sizeof(addr), "unix:%s/app.sock", dir);
    for (int i = 0; i < 16; i++) {
        cr_assert_eq(httpc_open(&held[i], addr, 10000), 0);
        cr_assert_eq(httpc_request(&held[i], "GET", "/metrics", NULL), 0);
    }
    cr_assert(in_flight_reaches(16), "16 scrapes are not in flight");

    /* The 17th, with a second request pipelined behind it: 503, then nothing. */
    cr_assert_eq(httpc_open(&h, addr, 10000), 0);
    cr_assert_eq(httpc_send(&h, two, sizeof(two) - 1), 0);
    cr_assert_eq(httpc_read(&h, 0, &r), 0);
    cr_assert_eq(r.status, 503);
    cr_assert_str_eq(httpc_header(&r, "Connection"), "close");
    cr_assert_not_null(strstr(r.body, "too many scrapes in flight"), "%s", r.body);
    httpc_response_release(&r);
    cr_assert_eq(httpc_wait_closed(&h, 200), -ETIMEDOUT,
                 "the pipelined request was answered, or the connection shut");
    httpc_close(&h);

    for (int i = 0; i < 16; i++)
        httpc_close(&held[i]);
    cr_assert(in_flight_reaches(0), "the abandoned scrapes are still in flight");
    m = scrape_at("app", "/metrics");
    cr_assert_eq(expo_value(m, "promhttp_metric_handler_requests_total{code=\"503\"}"), 1);
    free(m);
}

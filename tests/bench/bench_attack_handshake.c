/*
 * bench_attack --handshake: are health checks answered under a flood of TLS handshakes?
 *
 *   bench_attack --handshake [NEW_BIN] [--baseline OLD_BIN] [--seconds N] [--conns N]
 *
 * For each server key (RSA-4096, then EC P-256; key and self-signed certificate made by
 * the openssl tool at run time) and each binary (OLD_BIN first, when given, then
 * NEW_BIN), a fresh daemon serving TLS (a web config file), for --seconds without an
 * attack and then under a flood: --conns clients (64 by default) doing full handshakes
 * back to back (TLS 1.3, no resumption, no request; close as soon as the handshake is
 * done, then reconnect). Every listener speaks TLS once a web config file is set, so
 * what a plain-HTTP probe measures (the loop's latency, no handshake) is measured on an
 * established keep-alive TLS connection: GET /-/healthy every 10 ms. Beside it, a fresh
 * TLS probe (connect, full handshake, GET /-/healthy) every 100 ms, and an ingest sender
 * (100 lines every ms, blocking sends: it is slowed down when the loop is) whose lines
 * must all be accepted. The daemon's handshake counters and CPU come from /metrics.
 */
#include <poll.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bench_attack.h"
#include "tlsclient.h"

#define HS_KEEPALIVE_NS 10000000ull
#define HS_FRESH_NS     100000000ull
#define HS_FRESH_MS     5000
#define HS_INGEST_NS    1000000ull
#define HS_INGEST_LINES 100
#define HS_SERIES       1000

struct hs_flood {
    SSL_CTX *ctx;
    const char *addr;
    int n;
    atomic_int stop;
    pthread_t thread;
    uint64_t handshakes, failed, refused;
};

struct hs_lat {
    uint64_t lat[MAX_CHECKS];
    size_t n;
    uint64_t checks, failed, fast; /* fast: 200 within 100 ms */
};

struct hs_probes {
    const char *addr;
    struct tlsclient alive_conn; /* opened before the flood */
    int alive_open;
    atomic_int stop;
    atomic_int armed; /* count checks and lines: the flood is up */
    struct hs_lat alive, fresh;
    uint64_t lines, all_lines; /* sent while armed; sent in all */
};

static void hs_close_ssl(SSL **ssl, int *fd)
{
    SSL_free(*ssl);
    close(*fd);
    *ssl = NULL;
    *fd = -1;
}

/* N non-blocking clients in one thread, each handshaking, closing, reconnecting. */
static void *hs_flood_main(void *arg)
{
    struct hs_flood *f = arg;
    struct pollfd *p = calloc((size_t)f->n, sizeof(*p));
    SSL **ssl = calloc((size_t)f->n, sizeof(*ssl));
    int *fd = malloc((size_t)f->n * sizeof(*fd));

    if (p == NULL || ssl == NULL || fd == NULL)
        bench_http_die(&B, ENOMEM, "calloc");
    for (int i = 0; i < f->n; i++)
        fd[i] = -1;
    while (!atomic_load(&f->stop)) {
        for (int i = 0; i < f->n; i++) {
            int rc, e;

            if (fd[i] < 0) {
                int pending;

                fd[i] = attack_connect(f->addr, -1, &pending);
                if (fd[i] < 0) {
                    f->refused++;
                    fd[i] = -1;
                    continue;
                }
                ssl[i] = SSL_new(f->ctx);
                if (ssl[i] == NULL)
                    bench_http_die(&B, ENOMEM, "SSL_new");
                SSL_set_fd(ssl[i], fd[i]);
                SSL_set_connect_state(ssl[i]);
                p[i].events = 0;
            }
            p[i].fd = fd[i];
            if (p[i].events != 0 && p[i].revents == 0)
                continue; /* still waiting on the server */
            p[i].events = 0;
            ERR_clear_error();
            rc = SSL_do_handshake(ssl[i]);
            if (rc == 1) {
                f->handshakes++;
                hs_close_ssl(&ssl[i], &fd[i]);
                i--; /* reconnect now */
                continue;
            }
            e = SSL_get_error(ssl[i], rc);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                p[i].events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
                continue;
            }
            f->failed++;
            hs_close_ssl(&ssl[i], &fd[i]);
        }
        for (int i = 0; i < f->n; i++) {
            p[i].revents = 0;
            if (fd[i] < 0) {
                p[i].fd = -1;
                p[i].events = 0;
            }
        }
        if (poll(p, (nfds_t)f->n, 10) < 0 && errno != EINTR)
            bench_http_die(&B, errno, "poll");
    }
    for (int i = 0; i < f->n; i++)
        if (fd[i] >= 0)
            hs_close_ssl(&ssl[i], &fd[i]);
    free(p);
    free(ssl);
    free(fd);
    return NULL;
}

static void hs_lat_add(const struct hs_probes *p, struct hs_lat *l, uint64_t ns, int ok)
{
    if (!atomic_load(&p->armed))
        return;
    l->checks++;
    if (!ok) {
        l->failed++;
        return;
    }
    l->fast += ns <= PROBE_OK_NS;
    if (l->n < MAX_CHECKS)
        l->lat[l->n++] = ns;
}

static void hs_pace(uint64_t *next, uint64_t period)
{
    uint64_t now = benchutil_now_ns();

    *next += period;
    if (*next > now) {
        struct timespec ts = { 0, (long)(*next - now) };
        nanosleep(&ts, NULL);
    } else {
        *next = now;
    }
}

/*
 * GET /-/healthy every 10 ms on one connection established before the flood (reopened,
 * which takes a handshake, if it fails).
 */
static void *hs_alive_main(void *arg)
{
    struct hs_probes *p = arg;
    struct tlsclient_opts o = { .timeout_ms = HS_FRESH_MS };
    struct tlsclient t = p->alive_conn;
    uint64_t next = benchutil_now_ns();
    int open = p->alive_open;

    while (!atomic_load(&p->stop)) {
        struct tlsclient_response r;
        uint64_t t0 = benchutil_now_ns();
        int ok =
            open && tlsclient_request(&t, "/-/healthy", NULL) == 0 && tlsclient_read(&t, &r) == 0;

        if (ok) {
            ok = r.status == 200;
            tlsclient_response_release(&r);
        }
        hs_lat_add(p, &p->alive, benchutil_now_ns() - t0, ok);
        if (!ok) {
            tlsclient_close(&t);
            open = tlsclient_open(&t, p->addr, &o) == 0;
        }
        hs_pace(&next, HS_KEEPALIVE_NS);
    }
    tlsclient_close(&t);
    return NULL;
}

/* A new connection, a full handshake and GET /-/healthy every 100 ms. */
static void *hs_fresh_main(void *arg)
{
    struct hs_probes *p = arg;
    struct tlsclient_opts o = { .timeout_ms = HS_FRESH_MS };
    uint64_t next = benchutil_now_ns();
    char err[512];

    while (!atomic_load(&p->stop)) {
        uint64_t t0 = benchutil_now_ns();
        int st = tlsclient_get(p->addr, &o, "/-/healthy", NULL, NULL, err);

        hs_lat_add(p, &p->fresh, benchutil_now_ns() - t0, st == 200);
        hs_pace(&next, HS_FRESH_NS);
    }
    return NULL;
}

/* Existing series updated, 100 lines a millisecond, blocking sends. */
static void *hs_ingest_main(void *arg)
{
    struct hs_probes *p = arg;
    uint64_t next = benchutil_now_ns();
    unsigned round = 1;

    while (!atomic_load(&p->stop)) {
        size_t from = (size_t)(round % (HS_SERIES / HS_INGEST_LINES)) * HS_INGEST_LINES;

        size_t n = bench_http_send_series(&B, from, from + HS_INGEST_LINES, round++);

        p->all_lines += n;
        if (atomic_load(&p->armed))
            p->lines += n;
        hs_pace(&next, HS_INGEST_NS);
    }
    return NULL;
}

/* What the daemon counted: handshakes, failures by reason, CPU, lines accepted. */
struct hs_counted {
    double handshakes, cpu, accepted;
    double failures[16];
};

static const char *const hs_reasons[] = { "plain_http", "protocol",       "version",
                                          "cipher",     "no_client_cert", "bad_client_cert",
                                          "client_san", "client_alert",   "eof",
                                          "incomplete", "queue_timeout" };

static void hs_counted_get(const char *addr, struct hs_counted *c)
{
    struct tlsclient_opts o = { .timeout_ms = 10000 };
    struct buf body = BUF_INIT;
    char err[512], series[128];
    int i;

    for (i = 0; i < 50 && tlsclient_get(addr, &o, "/metrics", NULL, &body, err) != 200; i++) {
        buf_reset(&body);
        usleep(100000);
    }
    if (i == 50)
        bench_http_die(&B, 0, "scrape over TLS: %s", err);
    buf_addch(&body, '\0');
    c->handshakes = expo_value(body.ptr, "ustatsd_http_tls_handshakes_total");
    c->cpu = expo_value(body.ptr, "process_cpu_seconds_total");
    c->accepted = expo_value(body.ptr, "ustatsd_lines_accepted_total");
    for (size_t k = 0; k < sizeof(hs_reasons) / sizeof(hs_reasons[0]); k++) {
        snprintf(series, sizeof(series), "ustatsd_http_tls_handshake_failures_total{reason=\"%s\"}",
                 hs_reasons[k]);
        c->failures[k] = expo_value(body.ptr, series);
    }
    buf_release(&body);
}

static void hs_print_lat(const char *what, struct hs_lat *l)
{
    qsort(l->lat, l->n, sizeof(l->lat[0]), benchutil_cmp_u64);
    printf("    %-22s %6.2f%% of %llu answered 200 within 100 ms; p50 %.2f ms, p90 %.2f, p99 "
           "%.2f, max %.2f; %llu failed or timed out (%d s)\n",
           what, l->checks ? 100.0 * (double)l->fast / (double)l->checks : 0.0,
           (unsigned long long)l->checks, l->n ? bench_http_ms(l->lat[l->n / 2]) : 0.0,
           l->n ? bench_http_ms(l->lat[l->n * 9 / 10]) : 0.0,
           l->n ? bench_http_ms(l->lat[l->n * 99 / 100]) : 0.0,
           l->n ? bench_http_ms(l->lat[l->n - 1]) : 0.0, (unsigned long long)l->failed,
           HS_FRESH_MS / 1000);
}

/* One window: the probes and the sender, with (flood not NULL) or without the flood. */
static void hs_window(const char *label, struct hs_flood *flood, int conns, unsigned seconds)
{
    struct hs_probes *p = calloc(1, sizeof(*p));
    struct hs_counted before, after;
    pthread_t ta, tf, ti;
    double secs, all_secs;
    uint64_t t0, t_all;

    if (p == NULL)
        bench_http_die(&B, ENOMEM, "calloc");
    p->addr = B.d.http;
    atomic_init(&p->stop, 0);
    atomic_init(&p->armed, 0);
    hs_counted_get(B.d.http, &before);
    t_all = benchutil_now_ns();
    {
        struct tlsclient_opts o = { .timeout_ms = HS_FRESH_MS };

        p->alive_open = tlsclient_open(&p->alive_conn, p->addr, &o) == 0;
    }
    /* The probes run before the flood (the kept-alive one stays active) and count once
     * it is up. */
    if (pthread_create(&ta, NULL, hs_alive_main, p) != 0 ||
        pthread_create(&tf, NULL, hs_fresh_main, p) != 0 ||
        pthread_create(&ti, NULL, hs_ingest_main, p) != 0)
        bench_http_die(&B, EAGAIN, "pthread_create");
    if (flood != NULL) {
        flood->addr = B.d.http;
        flood->n = conns;
        flood->handshakes = flood->failed = flood->refused = 0;
        atomic_init(&flood->stop, 0);
        if (pthread_create(&flood->thread, NULL, hs_flood_main, flood) != 0)
            bench_http_die(&B, EAGAIN, "pthread_create");
    }
    usleep(WARMUP_MS * 1000);
    t0 = benchutil_now_ns();
    atomic_store(&p->armed, 1);
    usleep(seconds * 1000000u);
    atomic_store(&p->armed, 0);
    atomic_store(&p->stop, 1);
    secs = (double)(benchutil_now_ns() - t0) / 1e9;
    pthread_join(ta, NULL);
    pthread_join(tf, NULL);
    pthread_join(ti, NULL);
    if (flood != NULL) {
        atomic_store(&flood->stop, 1);
        pthread_join(flood->thread, NULL);
    }
    all_secs = (double)(benchutil_now_ns() - t_all) / 1e9;
    usleep(300 * 1000); /* the daemon reads the last lines, and sees the flood leave */
    hs_counted_get(B.d.http, &after);
    printf("  %s\n", label);
    hs_print_lat("kept-alive probe:", &p->alive);
    hs_print_lat("fresh TLS probe:", &p->fresh);
    printf("    ingest: %.0f lines/s sent of 100000/s asked; %.0f of %llu accepted\n",
           (double)p->lines / secs, after.accepted - before.accepted,
           (unsigned long long)p->all_lines);
    printf("    daemon (warm-up included): %.0f handshakes/s completed, CPU %.0f%% of one core; "
           "failures:",
           (after.handshakes - before.handshakes) / all_secs,
           100.0 * (after.cpu - before.cpu) / all_secs);
    for (size_t k = 0; k < sizeof(hs_reasons) / sizeof(hs_reasons[0]); k++) {
        double d = after.failures[k] - before.failures[k];

        if (d == d && d > 0) /* NaN: a daemon without that reason */
            printf(" %s %.0f", hs_reasons[k], d);
    }
    printf("\n");
    if (flood != NULL)
        printf("    flood: %d clients, %.0f handshakes/s done, %llu failed or cut, %llu connect() "
               "refused\n",
               conns, (double)flood->handshakes / all_secs, (unsigned long long)flood->failed,
               (unsigned long long)flood->refused);
    fflush(stdout);
    free(p);
}

/* A key and a self-signed certificate for localhost in dir, and dir/web.yml naming them. */
void attack_make_key(const char *dir, const char *genpkey)
{
    char cmd[1024], web[256];
    FILE *f;

    snprintf(cmd, sizeof(cmd),
             "cd '%s' && openssl genpkey %s -out server.key 2>/dev/null && "
             "openssl req -x509 -new -key server.key -subj /CN=localhost -days 2 "
             "-addext subjectAltName=DNS:localhost -out server.crt 2>/dev/null",
             dir, genpkey);
    if (system(cmd) != 0)
        bench_http_die(&B, 0, "openssl failed: %s", cmd);
    snprintf(web, sizeof(web), "%s/web.yml", dir);
    f = fopen(web, "w");
    if (f == NULL)
        bench_http_die(&B, errno, "%s", web);
    fprintf(f, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
    fclose(f);
}

/* The daemon bin, serving TLS with dir's web.yml, holding HS_SERIES series. */
static void hs_daemon_start(const char *bin, const char *dir)
{
    static char web[256];
    static const char *args[] = { "--web.config.file", web, NULL };
    struct daemon_options opts = { .args = args, .no_wait = 1 };
    struct tlsclient_opts o = { .timeout_ms = 2000 };
    char err[512] = "";
    int i;

    snprintf(web, sizeof(web), "%s/web.yml", dir);
    setenv("USTATSD_BIN", bin, 1);
    memset(&B.d, 0, sizeof(B.d));
    B.have = 0;
    if (daemon_start_with(&B.d, bench_http_plain_config(), &opts) != 0)
        bench_http_die(&B, 0, "%s did not start", bin);
    for (i = 0; i < 500 && tlsclient_get(B.d.http, &o, "/-/ready", NULL, NULL, err) != 200; i++)
        usleep(20000);
    if (i == 500 || daemon_connect(&B.d) != 0)
        bench_http_die(&B, 0, "%s is not ready over TLS: %s", bin, err);
    bench_http_send_series(&B, 0, HS_SERIES, 0);
    B.have = HS_SERIES;
}

void run_handshake(const char *new_bin, const char *old_bin, unsigned seconds, int conns)
{
    static const char *const keys[][2] = {
        { "RSA-4096", "-algorithm RSA -pkeyopt rsa_keygen_bits:4096" },
        { "EC P-256", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256" },
    };
    const char *bins[2][2] = { { "old", old_bin }, { "new", new_bin } };
    char dir[] = "/tmp/bench_attack_hsXXXXXX", cmd[128];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    struct hs_flood flood = { 0 };

    if (mkdtemp(dir) == NULL)
        bench_http_die(&B, errno, "mkdtemp");
    if (ctx == NULL)
        bench_http_die(&B, ENOMEM, "SSL_CTX_new");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    flood.ctx = ctx;
    printf("bench_attack --handshake: %d clients doing full handshakes back to back (TLS 1.3, "
           "no resumption), %u s a run; probes: GET /-/healthy every 10 ms kept alive, every "
           "100 ms on a fresh TLS connection; ingest 100 lines/ms\n",
           conns, seconds);
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        attack_make_key(dir, keys[k][1]);
        for (int b = 0; b < 2; b++) {
            char label[128];

            if (bins[b][1] == NULL)
                continue;
            hs_daemon_start(bins[b][1], dir);
            printf("%s key, %s binary (%s)\n", keys[k][0], bins[b][0], bins[b][1]);
            snprintf(label, sizeof(label), "no attack (baseline)");
            hs_window(label, NULL, conns, seconds);
            snprintf(label, sizeof(label), "handshake flood, %d clients", conns);
            hs_window(label, &flood, conns, seconds);
            bench_http_stop(&B);
        }
    }
    SSL_CTX_free(ctx);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_attack: could not remove %s\n", dir);
}

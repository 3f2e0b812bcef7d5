/*
 * bench_remote: the daemon's CPU per sample sent by remote write, next to its CPU per sample
 * of a text scrape of the same series, in one run.
 *
 *     bench_remote [path/to/ustatsd] [--series N] [--runs N | --quick] [--cold]
 *
 * The daemon (bench_http.h: CPU 1, the mix of counters, gauges and 12-bucket histograms,
 * 100,000 series by default) has one remote write target, every 2 s, whose receiver is a
 * sink in this program: it reads each POST whole and answers 204. For --runs intervals the
 * daemon's CPU time (utime + stime of /proc/<pid>/stat: the loop, which collects, and the
 * worker that compresses with snappy) is read at each interval's end, and divided by the
 * samples the interval sent (prometheus_remote_storage_samples_total). Then, on the same
 * daemon, between two intervals, text scrapes of the endpoint the target sends: CPU per
 * sample line. The figures are the medians; the ratio is the price of a sample pushed
 * against a sample pulled. The idle loop's CPU over a pause as long as one interval is
 * printed too: it is in both.
 */
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_http.h"

#define INTERVAL_S 2

struct sink {
    int fd;
    int port;
    pthread_t thread;
    atomic_ullong bodies, bytes;
};

/* Read one HTTP request with a Content-Length body; 0 at EOF or on error. */
static int read_request(int c, char *buf, size_t cap, size_t *body)
{
    size_t have = 0, need = 0, head = 0;

    for (;;) {
        ssize_t n = read(c, buf + have, cap - have - 1);
        char *end, *cl;

        if (n <= 0)
            return 0;
        have += (size_t)n;
        buf[have] = '\0';
        if (head == 0 && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            head = (size_t)(end - buf) + 4;
            cl = strcasestr(buf, "content-length:");
            need = cl ? strtoul(cl + 15, NULL, 10) : 0;
        }
        if (head != 0 && have - head >= need) {
            *body = need;
            /* Requests are one at a time (the target sends the next after the answer). */
            return 1;
        }
        if (have + 1 >= cap) {
            /* A big body: count it as it streams, keep only the head. */
            if (head == 0)
                return 0;
            need -= have - head;
            have = head;
            *body = 0;
        }
    }
}

static void *sink_main(void *arg)
{
    static char buf[1 << 20];
    struct sink *s = arg;

    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        size_t body;

        if (c < 0)
            return NULL;
        while (read_request(c, buf, sizeof buf, &body)) {
            static const char ok[] = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";

            atomic_fetch_add(&s->bodies, 1);
            atomic_fetch_add(&s->bytes, body);
            if (write(c, ok, sizeof ok - 1) < 0)
                break;
        }
        close(c);
    }
}

static void sink_start(struct sink *s)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;

    memset(s, 0, sizeof *s);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 8) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &len) != 0)
        benchutil_die("bench_remote: the sink's socket");
    s->port = ntohs(a.sin_port);
    if (pthread_create(&s->thread, NULL, sink_main, s) != 0)
        benchutil_die("bench_remote: the sink's thread");
}

/*
 * The daemon's CPU time so far, in ns, all its threads (the loop and libuv's workers): the
 * first field of each /proc/<pid>/task/<tid>/schedstat, which counts in ns where
 * /proc/<pid>/stat counts in clock ticks.
 */
static uint64_t daemon_cpu_ns(pid_t pid)
{
    char path[64];
    struct dirent *e;
    uint64_t sum = 0;
    DIR *dir;

    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    if ((dir = opendir(path)) == NULL)
        benchutil_die("bench_remote: %s", path);
    while ((e = readdir(dir)) != NULL) {
        char stat[400];
        unsigned long long ns;
        FILE *f;

        if (e->d_name[0] == '.')
            continue;
        snprintf(stat, sizeof stat, "%s/%s/schedstat", path, e->d_name);
        if ((f = fopen(stat, "r")) == NULL)
            continue; /* a thread that just ended */
        if (fscanf(f, "%llu", &ns) == 1)
            sum += ns;
        fclose(f);
    }
    closedir(dir);
    return sum;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Wait until the target has collected more than `after` intervals; returns the count. */
static double wait_interval(struct bench_http *b, double after)
{
    double got;
    uint64_t deadline = benchutil_now_ns() + 60ull * 1000000000ull;

    while ((got = bench_http_self_value(b, "ustatsd_remote_write_intervals_total")) <= after) {
        if (benchutil_now_ns() > deadline)
            bench_http_die(b, 0, "no interval collected in 60 s");
        usleep(50000); /* each look is a request the daemon answers: few of them */
    }
    return got;
}

/* Wait until everything collected is sent (the queue empty); returns the samples sent. */
static double wait_sent(struct bench_http *b)
{
    uint64_t deadline = benchutil_now_ns() + 60ull * 1000000000ull;

    while (bench_http_self_value(b, "prometheus_remote_storage_samples_pending") > 0 ||
           bench_http_self_value(b, "prometheus_remote_storage_samples_total") == 0) {
        if (benchutil_now_ns() > deadline)
            bench_http_die(b, 0, "the queue never emptied");
        usleep(20000);
    }
    return bench_http_self_value(b, "prometheus_remote_storage_samples_total");
}

int main(int argc, char **argv)
{
    struct bench_http b;
    struct sink s;
    char *config, target[256];
    size_t n, len;
    double *push, *pull, iv, sent, idle;
    int runs;

    sink_start(&s);
    bench_http_start(&b, "bench_remote", argc, argv, BENCH_HTTP_LARGE);
    n = b.series ? b.series : BENCH_HTTP_LARGE;
    runs = b.runs;
    /* Started again with the target: the mix's config and one more section. */
    snprintf(target, sizeof target,
             ",\n  \"remote_write\": [{\"name\": \"sink\", \"url\": "
             "\"http://127.0.0.1:%d/api/v1/write\", \"interval\": %d}]\n}\n",
             s.port, INTERVAL_S);
    len = strlen(b.config);
    config = malloc(len + strlen(target) + 1);
    memcpy(config, b.config, len);
    while (len > 0 && (config[len - 1] == '\n' || config[len - 1] == '}'))
        len--;
    strcpy(config + len, target);
    {
        struct daemon_options o = { .pin = sysconf(_SC_NPROCESSORS_ONLN) >= 2,
                                    .cpu = BENCHUTIL_CPU_RECEIVER };

        if (daemon_stop(&b.d) != 0 || daemon_start_with(&b.d, config, &o) != 0)
            bench_http_die(&b, 0, "the daemon with the remote write target did not start");
    }
    free(b.config);
    b.config = config;
    bench_http_populate(&b, n);

    push = calloc((size_t)runs, sizeof *push);
    pull = calloc((size_t)runs, sizeof *pull);
    iv = wait_interval(&b, bench_http_self_value(&b, "ustatsd_remote_write_intervals_total"));
    sent = wait_sent(&b);
    /*
     * The daemon's idle CPU, over half an interval right after a body came (the next
     * collection is an interval later): subtracted from each interval's, scaled.
     */
    {
        uint64_t c0 = daemon_cpu_ns(b.d.pid);

        usleep(INTERVAL_S * 250000);
        idle = (double)(daemon_cpu_ns(b.d.pid) - c0) * 4.0;
    }
    /*
     * Each interval: from right after a body came to the sink until the next one came,
     * watched on the sink's own count, so the daemon answers nothing else meanwhile.
     */
    for (int i = 0; i < runs; i++) {
        unsigned long long seen = atomic_load(&s.bodies);
        uint64_t c0 = daemon_cpu_ns(b.d.pid), c1;
        double now;

        while (atomic_load(&s.bodies) == seen)
            usleep(1000);
        c1 = daemon_cpu_ns(b.d.pid);
        now = wait_sent(&b);
        push[i] = ((double)(c1 - c0) - idle) / (now - sent);
        sent = now;
    }
    /* Scrapes, right after a body came: no collection in between. */
    for (int i = 0; i < runs; i++) {
        unsigned long long seen = atomic_load(&s.bodies);
        uint64_t c0;
        struct httpc_response r;
        size_t lines = 0;

        while (atomic_load(&s.bodies) == seen)
            usleep(1000);
        c0 = daemon_cpu_ns(b.d.pid);
        if (httpc_get(b.d.http, "/metrics", NULL, &r) != 0 || r.status != 200)
            bench_http_die(&b, 0, "GET /metrics");
        for (const char *p = r.body; (p = strchr(p, '\n')) != NULL; p++)
            lines += p[1] != '#' && p[1] != '\0';
        pull[i] = (double)(daemon_cpu_ns(b.d.pid) - c0) / (double)lines;
        httpc_response_release(&r);
    }
    (void)iv;
    printf("remote write, %zu series, every %d s, %d intervals: %.0f ns CPU per sample sent "
           "(%llu bodies, %.1f MB compressed to the sink)\n",
           n, INTERVAL_S, runs, median(push, runs), (unsigned long long)atomic_load(&s.bodies),
           (double)atomic_load(&s.bytes) / 1e6);
    {
        double dsum =
            bench_http_self_value(&b, "prometheus_remote_storage_sent_batch_duration_seconds_sum");
        double dn = bench_http_self_value(
            &b, "prometheus_remote_storage_sent_batch_duration_seconds_count");

        /* Whether sharding could pay: how much of an interval one request in flight fills. */
        printf("one request in flight: %.1f ms a body on average (%.0f bodies), %.1f%% of the "
               "interval\n",
               dn > 0 ? dsum / dn * 1e3 : 0, dn, dn > 0 ? dsum / dn / INTERVAL_S * 100 : 0);
    }
    printf("text scrape of the same series, %d scrapes: %.0f ns CPU per sample line\n", runs,
           median(pull, runs));
    printf("ratio pushed / pulled: %.2f (the idle daemon's %.1f ms CPU per interval taken out)\n",
           median(push, runs) / median(pull, runs), idle / 1e6);
    printf("RESULT remote_ns_per_sample %.0f\nRESULT scrape_ns_per_sample %.0f\n",
           median(push, runs), median(pull, runs));
    free(push);
    free(pull);
    bench_http_stop(&b);
    return 0;
}

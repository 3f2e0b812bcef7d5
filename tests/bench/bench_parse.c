/*
 * Parser benchmark: nanoseconds per line for a realistic mix of lines, split off
 * datagrams with statsd_next_line() and parsed with statsd_parse_line(), then the name
 * normalised into a stack buffer, as the aggregator does on its hot path.
 *
 * The mix is built once into ~8 KiB datagrams (about 1 MiB of them, so the input is not
 * all in L1) and walked again and again; the best of several runs is reported.
 * Usage: bench_parse [lines] [runs]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "statsd.h"

#define POOL_BYTES (1u << 20)

struct dgram {
    size_t off, len;
};

static uint64_t rng_state = 0x2545f4914f6cdd1du;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static int make_line(char *s, size_t cap)
{
    static const char *const methods[] = { "GET", "POST", "PUT", "DELETE" };
    static const char *const routes[] = { "/api/v1/images", "/api/v1/upload", "/healthz",
                                          "/api/v1/images/{id}/variants" };
    static const char *const outcomes[] = { "worked", "idle", "error" };
    switch (rnd(8)) {
    case 0:
    case 1:
        return snprintf(s, cap,
                        "http.server.request.count:1|c|#http.request.method:%s,"
                        "http.response.status_code:%u,http.route:%s",
                        methods[rnd(4)], 200 + rnd(4) * 100, routes[rnd(4)]);
    case 2:
        return snprintf(s, cap, "db.pool.connections:%u|g|#pool:primary,state:%s", rnd(64),
                        rnd(2) ? "idle" : "used");
    case 3:
        return snprintf(s, cap, "queue.depth:%c%u|g|#queue:mail", rnd(2) ? '+' : '-', 1 + rnd(9));
    case 4:
        return snprintf(s, cap, "http.server.duration:%u.%03u:%u.%03u:%u.%03u|ms|#route:%s", rnd(3),
                        rnd(1000), rnd(3), rnd(1000), rnd(3), rnd(1000), routes[rnd(4)]);
    case 5:
        return snprintf(s, cap,
                        "objectstore.request.duration:0.%04u|h|@0.5|#operation:%s,"
                        "bucket_class:hot",
                        rnd(10000), rnd(2) ? "put" : "get");
    case 6:
        return snprintf(s, cap, "image.transform.bytes:%u|d|#format:%s|T%u", rnd(1u << 20),
                        rnd(2) ? "webp" : "avif", 1700000000u + rnd(1000));
    default:
        return snprintf(s, cap, "thumbnail_gc:%s|j|#queue:default", outcomes[rnd(3)]);
    }
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    size_t want = argc > 1 ? strtoul(argv[1], NULL, 10) : 5000000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    char *pool = malloc(POOL_BYTES);
    struct dgram *dgrams = malloc(sizeof(*dgrams) * (POOL_BYTES / 64));
    static struct statsd_line line;
    if (!pool || !dgrams || want == 0 || runs <= 0) {
        fprintf(stderr, "bench_parse: bad arguments or out of memory\n");
        return 1;
    }

    size_t used = 0, ndgrams = 0, pool_lines = 0;
    char text[512];
    while (used + STATSD_MAX_DATAGRAM <= POOL_BYTES) {
        struct dgram *d = &dgrams[ndgrams++];
        d->off = used;
        d->len = 0;
        for (;;) {
            int n = make_line(text, sizeof(text));
            if (d->len + (size_t)n + 1 > STATSD_MAX_DATAGRAM)
                break;
            memcpy(pool + d->off + d->len, text, (size_t)n);
            pool[d->off + d->len + (size_t)n] = '\n';
            d->len += (size_t)n + 1;
            pool_lines++;
        }
        used += d->len;
    }

    double best = 0;
    size_t lines = 0, rejected = 0;
    uint64_t sink = 0;
    for (int r = 0; r < runs; r++) {
        lines = 0;
        rejected = 0;
        double t0 = now_ns();
        for (size_t i = 0; lines < want; i = (i + 1) % ndgrams) {
            const char *p = pool + dgrams[i].off;
            size_t pos = 0;
            struct statsd_view v;
            while (statsd_next_line(p, dgrams[i].len, &pos, &v)) {
                if (v.len == 0)
                    continue;
                lines++;
                if (statsd_parse_line(v.ptr, v.len, &line) != STATSD_OK) {
                    rejected++;
                    continue;
                }
                char name[STATSD_MAX_NAME];
                size_t n = statsd_normalize_name(line.name.ptr, line.name.len, name, sizeof(name));
                sink += n + line.ntags + (uint64_t)name[0];
            }
        }
        double ns = (now_ns() - t0) / (double)lines;
        if (r == 0 || ns < best)
            best = ns;
    }
    if (rejected != 0) {
        fprintf(stderr, "bench_parse: %zu lines of the mix were rejected\n", rejected);
        return 1;
    }
    printf("parse: %.1f ns/line (%.1f M lines/s) over %zu lines, best of %d "
           "(mix of %zu lines in %zu datagrams; sink %llu)\n",
           best, 1e3 / best, lines, runs, pool_lines, ndgrams, (unsigned long long)(sink & 1));
    free(dgrams);
    free(pool);
    return 0;
}

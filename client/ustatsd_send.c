/*
 * ustatsd-send: send statsd lines to ustatsd from shell scripts and tests.
 *
 * Built on client/ustatsd.h and nothing else, so it behaves exactly like a service that
 * embeds the header: batched datagrams, no blocking, drops counted. Lines go out raw
 * (ustatsd_raw), unchecked, because tests send invalid lines on purpose to watch the
 * daemon reject them.
 */
#include "ustatsd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE_LINE "usage: ustatsd-send [-s PATH] [-v|-q] [--] [LINE...]\n"
static const char usage_line[] = USAGE_LINE "try 'ustatsd-send --help'\n";
static const char usage_text[] = USAGE_LINE
    "\n"
    "Send statsd lines to the ustatsd daemon over its Unix datagram socket. Each LINE\n"
    "argument is one line; with no LINE, each line of standard input is one (a trailing\n"
    "'\\n' is removed, nothing else). Lines are sent as they are, unchecked, gathered into\n"
    "datagrams of at most 8000 bytes that split only between lines.\n"
    "\n"
    "  -s, --socket PATH  the daemon's socket (default: $USTATSD_SOCKET, else\n"
    "                     " USTATSD_DEFAULT_SOCKET ")\n"
    "  -v, --verbose      say where the lines went and how to see whether the daemon\n"
    "                     accepted them (the default when standard error is a terminal)\n"
    "  -q, --quiet        say nothing when every line was sent (the default otherwise)\n"
    "  -h, --help         print this text and exit\n"
    "\n"
    "Never waits for the daemon: when it is down or its queue is full, datagrams are\n"
    "dropped. Sent is not accepted: the daemon checks each line against its allowlist\n"
    "and drops a refused one, counted by reason. 'ustatsd explain LINE' says what it\n"
    "would do with a line and why; its /debug?section=rejects lists the last refused.\n"
    "\n"
    "Exit status: 0 when every line was sent; 1 when some were dropped or refused (a\n"
    "line with more than 7999 bytes), with the counters on stderr; 2 on a usage error.\n"
    "\n"
    "example: ustatsd-send 'deploys:1|c|#service:api' 'backup:worked|j'\n";

static void report(const struct ustatsd *st, const char *path)
{
    fprintf(stderr,
            "ustatsd-send: %s: %llu lines sent in %llu datagrams, %llu lines dropped in %llu "
            "datagrams, %llu lines refused, last error: %s\n",
            path, st->lines_sent, st->datagrams_sent, st->lines_dropped, st->datagrams_dropped,
            st->lines_invalid, st->last_errno ? strerror(st->last_errno) : "none");
}

/* Sent is not accepted: where to look (-v, or a terminal on standard error). */
static void hint(const struct ustatsd *st)
{
    fprintf(stderr,
            "ustatsd-send: %llu line%s sent to %s; whether the daemon accepted them: "
            "ustatsd explain LINE, or its /debug?section=rejects (-q: quiet)\n",
            st->lines_sent, st->lines_sent == 1 ? "" : "s", st->path);
}

static void send_line(struct ustatsd *st, const char *line, size_t len)
{
    int rc = ustatsd_raw(st, line, len);
    /* Drops are summed up in the report; a refused line gets its reason once, here. */
    if (rc == USTATSD_ETOOLONG || rc == USTATSD_EBADLINE)
        fprintf(stderr, "ustatsd-send: line %.40s...: %s, not sent\n", line, ustatsd_strerror(rc));
}

static int send_stdin(struct ustatsd *st)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        send_line(st, line, len);
    }
    free(line);
    if (ferror(stdin)) {
        perror("ustatsd-send: reading standard input");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct ustatsd st;
    const char *path = NULL;
    int i, rc, failed = 0, verbose = isatty(STDERR_FILENO);

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            verbose = 1;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            verbose = 0;
        } else if (strcmp(a, "-s") == 0 || strcmp(a, "--socket") == 0) {
            if (++i == argc) {
                fprintf(stderr, "ustatsd-send: %s needs a PATH\n%s", a, usage_line);
                return 2;
            }
            path = argv[i];
        } else if (strncmp(a, "--socket=", 9) == 0) {
            path = a + 9;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "ustatsd-send: unknown option %s\n%s", a, usage_line);
            return 2;
        } else {
            break;
        }
    }

    rc = ustatsd_open(&st, path);
    if (rc != 0) {
        fprintf(stderr, "ustatsd-send: cannot open a client for %s: %s\n",
                path ? path : "the default socket", ustatsd_strerror(rc));
        return rc == -ENAMETOOLONG ? 2 : 1;
    }
    if (i < argc) {
        for (; i < argc; i++)
            send_line(&st, argv[i], strlen(argv[i]));
    } else if (send_stdin(&st) != 0) {
        failed = 1;
    }
    ustatsd_close(&st);
    if (failed || st.lines_dropped > 0 || st.lines_invalid > 0) {
        report(&st, st.path);
        return 1;
    }
    if (verbose)
        hint(&st);
    return 0;
}

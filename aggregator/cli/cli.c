#include "cli/cli.h"
#include "cli/explain.h"
#include "cli/learn.h"
#include "cli/top.h"

#include <stddef.h>
#include <string.h>

struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct subcommand commands[] = {
    { "explain", explain_run, "say what the daemon would do with statsd lines, and why" },
    { "learn", learn_main, "the allowlist a running daemon proposes from what it refused" },
    { "top", top_main, "a live view of a running daemon: families, caps, rejects, jobs" },
    { NULL, NULL, NULL },
};

int cli_dispatch(int argc, char **argv, int *status)
{
    if (argc < 2)
        return 0;
    for (size_t i = 0; commands[i].name != NULL; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            *status = commands[i].run(argc - 1, argv + 1);
            return 1;
        }
    }
    return 0;
}

void cli_usage(FILE *out)
{
    for (size_t i = 0; commands[i].name != NULL; i++)
        fprintf(out, "  ustatsd %-8s %s\n", commands[i].name, commands[i].summary);
}

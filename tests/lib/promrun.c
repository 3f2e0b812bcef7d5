#include "promrun.h"

#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "httpc.h"
#include "waitfor.h"

int promrun_start(struct promrun *p, const char *dir, const char *config)
{
    return promrun_start_flag(p, dir, config, NULL);
}

int promrun_start_flag(struct promrun *p, const char *dir, const char *config, const char *flag)
{
    const char *flags[2] = { flag, NULL };

    return promrun_start_opts(p, dir, config, NULL, flags);
}

int promrun_start_opts(struct promrun *p, const char *dir, const char *config, const char *addr,
                       const char *const *flags)
{
    char conf[256], tsdb[256], given[64] = "";
    int port = addr == NULL ? daemon_free_port() : 0;

    if (addr != NULL) /* it may be p->addr, a restart's */
        snprintf(given, sizeof given, "%s", addr);
    memset(p, 0, sizeof *p);
    if (port < 0)
        return -1;
    snprintf(conf, sizeof conf, "%s/prometheus.yml", dir);
    snprintf(tsdb, sizeof tsdb, "%s/tsdb", dir);
    snprintf(p->log, sizeof p->log, "%s/prometheus.log", dir);
    if (addr != NULL)
        snprintf(p->addr, sizeof p->addr, "%s", given);
    else
        snprintf(p->addr, sizeof p->addr, "127.0.0.1:%d", port);
    daemon_write_file(conf, "%s", config);
    p->pid = fork();
    if (p->pid < 0) {
        p->pid = 0;
        return -1;
    }
    if (p->pid == 0) {
        char a1[300], a2[300], a3[96];
        const char *argv[16] = { "prometheus", a1, a2, a3 };
        size_t n = 4;

        /* "a" for both: a restart on the same directory keeps the first run's log. */
        if (freopen(p->log, "a", stderr) == NULL || freopen(p->log, "a", stdout) == NULL)
            _exit(126);
        snprintf(a1, sizeof a1, "--config.file=%s", conf);
        snprintf(a2, sizeof a2, "--storage.tsdb.path=%s", tsdb);
        snprintf(a3, sizeof a3, "--web.listen-address=%s", p->addr);
        for (size_t i = 0; flags != NULL && flags[i] != NULL && n < 15; i++)
            argv[n++] = flags[i];
        argv[n] = NULL;
        execvp("prometheus", (char *const *)argv);
        _exit(127);
    }
    return 0;
}

int promrun_value(struct promrun *p, const char *query, double *v)
{
    struct httpc_response r;
    char target[1024], *q = target;
    json_t *j, *res, *val;
    int rc = -1;

    q += snprintf(target, sizeof target, "/api/v1/query?query=");
    for (const char *s = query; *s && q < target + sizeof target - 4; s++)
        q += (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                     *s == '_'
                 ? sprintf(q, "%c", *s)
                 : sprintf(q, "%%%02X", (unsigned char)*s);
    if (httpc_get(p->addr, target, NULL, &r) != 0)
        return -1;
    free(p->last);
    p->last = strdup(r.body);
    j = json_loads(r.body, 0, NULL);
    res = json_object_get(json_object_get(j, "data"), "result");
    val = json_array_get(json_object_get(json_array_get(res, 0), "value"), 1);
    if (json_array_size(res) == 1 && json_is_string(val)) {
        *v = strtod(json_string_value(val), NULL); /* "NaN" too */
        rc = 0;
    }
    json_decref(j);
    httpc_response_release(&r);
    return rc;
}

struct wait {
    struct promrun *p;
    const char *query;
};

static int answers(void *arg)
{
    struct wait *w = arg;
    double v;

    return promrun_value(w->p, w->query, &v) == 0;
}

int promrun_wait(struct promrun *p, const char *query, int timeout_ms)
{
    struct wait w = { p, query };

    return waitfor_cond(answers, &w, timeout_ms) == 0 ? 0 : -1;
}

void promrun_stop(struct promrun *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        if (waitfor_exit(p->pid, 20000) < 0) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, NULL, 0);
        }
    }
    p->pid = 0;
    free(p->last);
    p->last = NULL;
}

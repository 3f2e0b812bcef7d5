#include "seedrun.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "seedprom.h"
#include "seedunit.h"
#include "seedyaml.h"
#include "tlsclient.h"
#include "waitfor.h"

#define DEADLINE_MS 60000 /* per seed, from the first line sent */

ReportHook(PRE_ALL)(struct criterion_test_set *tests)
{
    (void)tests;
    tlscerts_share();
}

const char *seed_str_or(const char *s, const char *otherwise)
{
    return s != NULL ? s : otherwise;
}

int seed_port_of(const char *addr)
{
    const char *colon = strrchr(addr, ':');

    return colon != NULL ? atoi(colon + 1) : -1;
}

const char *seed_map_listen(struct seed_ports *m, const char *addr)
{
    int port = seed_port_of(addr);

    for (size_t i = 0; i < m->n; i++)
        if (m->from[i] == port)
            return m->to[i];
    int free = daemon_free_port();

    cr_assert_lt(m->n, SEED_MAX_PORTS);
    cr_assert_gt(free, 0, "no free TCP port");
    m->from[m->n] = port;
    snprintf(m->to[m->n], sizeof(m->to[0]), "127.0.0.1:%d", free);
    return m->to[m->n++];
}

/* ---- ustatsd.json ---- */

/* A web config of the test's: TLS with the certificate made at test time. */
static void write_web_config(struct seed_run *s, json_t *daemon)
{
    char web[128];
    const char *c = tlscerts_dir();
    FILE *f;

    cr_assert_not_null(c, "no test certificates");
    snprintf(web, sizeof(web), "%s/web.yml", s->wdir);
    daemon_write_file(web, "tls_server_config:\n  cert_file: %s\n", tlscerts_path(c, "server.crt"));
    f = fopen(web, "a");
    cr_assert_not_null(f);
    fprintf(f, "  key_file: %s\n", tlscerts_path(c, "server.key"));
    fclose(f);
    json_object_set_new(daemon, "web_config_file", json_string(web));
}

/*
 * The daemon's config, changed as seedrun.h says; for a daemon alone (direct), also
 * without metrics_listen, debug_listen, bearer tokens and TLS, so that the default
 * endpoint and /debug are the daemon's plain Unix socket (struct daemon's http).
 */
static void derive_daemon_config(struct seed_run *s, json_t *root, int direct,
                                 const char **metrics_listen)
{
    static const char *const direct_drops[] = { "metrics_listen", "debug_listen",
                                                "bearer_token_file", "web_config_file" };
    json_t *daemon = json_object_get(root, "daemon"), *eps = json_object_get(root, "endpoints");
    json_t *ep, *v;
    size_t i;

    *metrics_listen = NULL;
    if (daemon != NULL) {
        json_object_del(daemon, "socket");
        json_object_del(daemon, "socket_group");
        for (i = 0; direct && i < sizeof(direct_drops) / sizeof(direct_drops[0]); i++)
            json_object_del(daemon, direct_drops[i]);
        v = json_object_get(daemon, "metrics_listen");
        if (json_is_string(v) && json_string_length(v) > 0) {
            *metrics_listen = seed_map_listen(&s->ports, json_string_value(v));
            json_object_set_new(daemon, "metrics_listen", json_string(*metrics_listen));
        }
        v = json_object_get(daemon, "debug_listen");
        if (json_is_string(v) && json_string_length(v) > 0)
            json_object_set_new(daemon, "debug_listen",
                                json_string(seed_map_listen(&s->ports, json_string_value(v))));
        if (json_object_get(daemon, "bearer_token_file") != NULL)
            json_object_set_new(daemon, "bearer_token_file", json_string(s->token));
        if (json_object_get(daemon, "web_config_file") != NULL)
            write_web_config(s, daemon);
    }
    json_array_foreach(eps, i, ep)
    {
        json_t *svc = json_object_get(ep, "service");

        v = json_object_get(ep, "listen");
        if (json_is_string(v))
            json_object_set_new(ep, "listen",
                                json_string(seed_map_listen(&s->ports, json_string_value(v))));
        if (direct)
            json_object_del(ep, "bearer_token_file");
        else if (json_object_get(ep, "bearer_token_file") != NULL)
            json_object_set_new(ep, "bearer_token_file", json_string(s->token));
        if (svc != NULL && json_object_get(svc, "user") != NULL)
            json_object_set_new(svc, "user", json_integer((json_int_t)getuid()));
    }
    v = json_object_get(root, "postgres");
    if (v != NULL) {
        char *text = seed_read_file(s, "setup.sql");

        cr_assert_eq(pgtmp_start(&s->db), 0, "%s: no PostgreSQL", s->name);
        cr_assert_eq(pgtmp_exec(&s->db, text), 0, "%s: setup.sql failed", s->name);
        free(text);
        json_object_set_new(v, "conninfo", json_string(s->db.conninfo));
    }
}

/* ---- the processes ---- */

void seed_feed(struct seed_run *s)
{
    char *text = seed_read_file(s, "lines.txt");

    s->feeder = fork();
    cr_assert_geq(s->feeder, 0);
    if (s->feeder != 0) {
        free(text);
        s->deadline_ms = waitfor_now_ms() + DEADLINE_MS;
        return;
    }
    for (;;) {
        const char *p = text, *line;
        size_t len;

        while ((line = seed_line(&p, &len)) != NULL)
            (void)send(s->d.fd, line, len, 0);
        sleep(1);
    }
}

const char *seed_line(const char **p, size_t *len)
{
    while (**p) {
        const char *line = *p, *end = strchr(line, '\n');

        *len = end ? (size_t)(end - line) : strlen(line);
        *p = line + *len + (end != NULL);
        if (*len > 0 && line[0] != '#')
            return line;
    }
    return NULL;
}

void seed_fault(struct seed_run *s)
{
    char path[700], *sql;

    snprintf(path, sizeof(path), "%s/fault.sql", s->tests);
    sql = daemon_read_file(path);
    if (sql == NULL)
        return;
    cr_assert(s->db.conninfo[0] != '\0', "%s: a fault.sql, and no PostgreSQL", s->name);
    cr_assert_eq(pgtmp_exec(&s->db, sql), 0, "%s: fault.sql failed", s->name);
    free(sql);
}

int seed_remaining(const struct seed_run *s)
{
    long long left = s->deadline_ms - waitfor_now_ms();

    return left > 0 ? (int)left : 0;
}

static void start_prometheus(struct seed_run *s, const char *config)
{
    char log[128];

    snprintf(s->prom_addr, sizeof(s->prom_addr), "127.0.0.1:%d", daemon_free_port());
    snprintf(log, sizeof(log), "%s/prometheus.log", s->wdir);
    s->prom = fork();
    cr_assert_geq(s->prom, 0);
    if (s->prom == 0) {
        char a1[192], a2[192], a3[96];

        if (freopen(log, "w", stderr) == NULL || freopen(log, "a", stdout) == NULL)
            _exit(126);
        snprintf(a1, sizeof(a1), "--config.file=%s", config);
        snprintf(a2, sizeof(a2), "--storage.tsdb.path=%s/tsdb", s->wdir);
        snprintf(a3, sizeof(a3), "--web.listen-address=%s", s->prom_addr);
        execlp("prometheus", "prometheus", a1, a2, a3, (char *)NULL);
        _exit(127);
    }
}

/* The ingest socket exists and takes a connection (stat first: daemon_connect complains). */
static int connected(void *arg)
{
    struct daemon *d = arg;
    struct stat st;

    return stat(d->sock, &st) == 0 && daemon_connect(d) == 0;
}

static void stop_child(pid_t *pid)
{
    if (*pid > 0) {
        kill(*pid, SIGTERM);
        if (waitfor_exit(*pid, 10000) < 0) {
            kill(*pid, SIGKILL);
            waitpid(*pid, NULL, 0);
        }
    }
    *pid = 0;
}

static struct seed_run *current;

void seed_cleanup(void)
{
    struct seed_run *s = current;

    if (s == NULL)
        return;
    if (s->feeder > 0) {
        kill(s->feeder, SIGKILL);
        waitpid(s->feeder, NULL, 0);
        s->feeder = 0;
    }
    stop_child(&s->prom);
    if (s->d.pid > 0)
        daemon_stop(&s->d);
    pgtmp_destroy(&s->db);
    for (size_t i = 0; i < s->nrules; i++)
        free(s->rule_files[i]);
    free(s->last);
    json_decref(s->shipped);
    if (s->wdir[0])
        tlscerts_remove(s->wdir);
    current = NULL;
}

void seed_fail_with_logs(struct seed_run *s, const char *why)
{
    char path[128];
    char *plog, *dlog;

    snprintf(path, sizeof(path), "%s/prometheus.log", s->wdir);
    plog = daemon_read_file(path);
    dlog = daemon_read_file(s->d.log);
    cr_assert_fail("%s: %s\nlast answer: %s\nprometheus.log:\n%s\nustatsd log:\n%s", s->name, why,
                   s->last ? s->last : "(none)", plog ? plog : "", dlog ? dlog : "");
}

/*
 * The daemon on the sockets the packaged unit with the seed's drop-in passes, each at
 * its test address, as systemd passes them: the ingest socket in the test's directory,
 * each stream socket on the free port that stands for its port.
 */
static void start_daemon(struct seed_run *s, json_t *cfg)
{
    char path[600], sock[128], *cfg_text;
    const char *metrics_listen;
    const char *args[12];
    struct seedunit unit = { .nstream = 0 };
    int fds[SEEDUNIT_MAX_SOCKETS + 1], nfds = 0, rc;
    size_t n = 0;
    struct daemon_options o = { .args = args, .no_wait = 1 };

    snprintf(path, sizeof(path), "%s/packaging/ustatsd.socket", USTATSD_SOURCE_DIR);
    seedunit_read(path, &unit);
    cr_assert_gt(unit.nstream + unit.ndgram, 0, "%s: no sockets", path);
    snprintf(path, sizeof(path), "%s/ustatsd.socket.d/override.conf", s->src);
    seedunit_read(path, &unit);
    seedunit_check(s->name, s->shipped, &unit);
    derive_daemon_config(s, cfg, 0, &metrics_listen);
    if (metrics_listen != NULL) {
        args[n++] = "--metrics-listen";
        args[n++] = metrics_listen;
    }
    snprintf(sock, sizeof(sock), "%s/ustatsd.sock", s->wdir);
    args[n++] = "--socket";
    args[n++] = sock;
    fds[nfds++] = seedunit_bind_dgram(sock);
    for (size_t i = 0; i < unit.nstream; i++)
        fds[nfds++] = seedunit_bind_stream(seed_map_listen(&s->ports, unit.stream[i]));
    o.listen_fds = fds;
    o.nlisten_fds = nfds;
    args[n] = NULL;
    cfg_text = json_dumps(cfg, JSON_INDENT(2));
    rc = daemon_start_with(&s->d, cfg_text, &o);
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    free(cfg_text);
    cr_assert_eq(rc, 0, "%s: the daemon did not start", s->name);
    if (waitfor_cond(connected, &s->d, 10000) != 0)
        seed_fail_with_logs(s, "the daemon's ingest socket never took a connection");
}

/* The run of the seed name, current, with its files read and its directory made. */
static struct seed_run *open_seed(const char *name)
{
    static struct seed_run s;
    char path[600];
    json_error_t err;

    memset(&s, 0, sizeof(s));
    s.name = name;
    current = &s;
    snprintf(s.src, sizeof(s.src), "%s/packaging/seeds/%s", USTATSD_SOURCE_DIR, name);
    snprintf(s.tests, sizeof(s.tests), "%s/tests/seeds/%s", USTATSD_SOURCE_DIR, name);
    snprintf(s.wdir, sizeof(s.wdir), "/tmp/ustatsd-seeds-XXXXXX");
    cr_assert_not_null(mkdtemp(s.wdir));
    snprintf(s.token, sizeof(s.token), "%s/token", s.wdir);
    daemon_write_file(s.token, "seed-token-%d\n", (int)getpid());

    snprintf(path, sizeof(path), "%s/ustatsd.json", s.src);
    s.shipped = json_load_file(path, 0, &err);
    cr_assert_not_null(s.shipped, "%s:%d: %s", path, err.line, err.text);
    return &s;
}

struct seed_run *seed_start(const char *name)
{
    struct seed_run *s = open_seed(name);
    json_t *cfg = json_deep_copy(s->shipped);
    char pcfg[128];

    start_daemon(s, cfg);
    json_decref(cfg);
    snprintf(pcfg, sizeof(pcfg), "%s/prometheus.yml", s->wdir);
    seedyaml_derive_prometheus(s, pcfg);
    start_prometheus(s, pcfg);
    if (waitfor_cond(seedprom_targets_up, s, 30000) != 0)
        seed_fail_with_logs(s, "Prometheus never saw every target up");
    return s;
}

struct seed_run *seed_start_daemon(const char *name)
{
    return seed_start_daemon_with(name, NULL);
}

struct seed_run *seed_start_daemon_with(const char *name, void (*edit)(json_t *cfg))
{
    struct seed_run *s = open_seed(name);
    json_t *cfg = json_deep_copy(s->shipped);
    const char *unused;
    char *text;

    if (edit != NULL)
        edit(cfg);
    derive_daemon_config(s, cfg, 1, &unused);
    text = json_dumps(cfg, JSON_INDENT(2));
    json_decref(cfg);
    cr_assert_eq(daemon_start(&s->d, text, NULL), 0, "%s: the daemon did not start", name);
    free(text);
    return s;
}

char *seed_read_file(const struct seed_run *s, const char *file)
{
    char path[700];
    char *text;

    snprintf(path, sizeof(path), "%s/%s", s->tests, file);
    text = daemon_read_file(path);
    cr_assert_not_null(text, "%s: no %s", s->name, path);
    return text;
}

void seed_finish(struct seed_run *s)
{
    int rc;

    stop_child(&s->prom);
    rc = daemon_stop(&s->d);
    s->d.pid = 0;
    cr_assert_eq(rc, 0, "%s: the daemon exited with status %d at SIGTERM", s->name, rc);
    seed_cleanup();
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

void seed_each(void (*fn)(const char *name))
{
    char root[512];
    struct dirent **list;
    int n, ran = 0;

    snprintf(root, sizeof(root), "%s/packaging/seeds", USTATSD_SOURCE_DIR);
    n = scandir(root, &list, NULL, by_name);
    cr_assert_geq(n, 0, "%s", root);
    for (int i = 0; i < n; i++) {
        char probe[1024];
        struct stat st;

        /* Every seed directory is laid out; files beside them (README.md) are not seeds. */
        snprintf(probe, sizeof(probe), "%s/%s", root, list[i]->d_name);
        if (list[i]->d_name[0] != '.' && stat(probe, &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(probe, sizeof(probe), "%s/%s/prometheus.yml", root, list[i]->d_name);
            cr_assert_eq(stat(probe, &st), 0, "%s: %s", probe, strerror(errno));
            fn(list[i]->d_name);
            ran++;
        }
        free(list[i]);
    }
    free(list);
    cr_assert_gt(ran, 0, "no seed under %s has a prometheus.yml", root);
}

/*
 * End to end through the real binary and a real Prometheus: every laid-out seed
 * (packaging/seeds/NNN-name/ with a prometheus.yml, found by reading the directory) runs
 * as an operator would run it, and its alerts, recording rules and dashboard are checked
 * against what the daemon really exposes.
 *
 * Per seed:
 * - The sockets systemd would pass: packaging/ustatsd.socket with the seed's
 *   ustatsd.socket.d/override.conf applied (an empty ListenStream= resets) must be
 *   exactly the config's (daemon.socket; metrics_listen, debug_listen and each
 *   endpoint's listen, with the documented defaults; SocketMode= and SocketGroup= as
 *   socket_mode and socket_group). The test binds them at the test addresses below and
 *   passes them to the daemon as systemd does (LISTEN_FDS, LISTEN_PID).
 * - ustatsd from the seed's ustatsd.json, with these changes only: every listener
 *   (daemon.metrics_listen, daemon.debug_listen, endpoints[].listen) moves to a free
 *   port on 127.0.0.1; the
 *   ingest socket and the log go to the test's directory; daemon.socket_group goes (a
 *   group of the operator's machine); bearer_token_file (daemon's and endpoints') names a
 *   token the test writes; daemon.web_config_file names a web config of the test's
 *   (tls_server_config with a certificate made at test time, tests/lib/tlscerts.sh);
 *   endpoints[].service.user becomes the test's uid (the feeder is the service's
 *   process); postgres.conninfo names a throwaway PostgreSQL (tests/lib/pgtmp.h) where
 *   tests/seeds/NNN-name/setup.sql has run.
 * - Prometheus 2.42 with a config derived from the seed's prometheus.yml: global scrape,
 *   timeout and evaluation intervals 1 s (a job's own intervals removed); each static
 *   target whose port is a listener's port in ustatsd.json goes to that listener's test
 *   address; authorization.credentials_file names the test's token, tls_config's ca_file
 *   the test CA (server_name removed: the certificate names 127.0.0.1); alerting,
 *   remote_write and remote_read removed; honor_labels, paths, schemes and the rest kept.
 *   The rule files are the seed's own with every `for:` set to 0s and a group's own
 *   interval removed, so that an alert fires on its first evaluation: the durations are
 *   an operator's policy, the expressions are what is tested.
 * - Once Prometheus has scraped every target (up == 1: every counter's first sample is
 *   taken before the first line), a feeder process sends tests/seeds/NNN-name/lines.txt
 *   once a second, one datagram a line (blank lines and `#` lines skipped).
 * - Then, within a deadline: every alert of the seed's rule files reaches `firing`; every
 *   alert and recording-rule expression and every dashboard panel query runs without
 *   error and returns at least one sample; each dashboard query variable's
 *   `label_values(SELECTOR, LABEL)` has at least one value; with an `instance` variable,
 *   every panel query returns nothing for an instance that does not exist. No series
 *   carries `exported_job` (honor_labels), and a config's first job answers as `job`.
 *
 * Dashboard variables are substituted before a query runs: `$__rate_interval` 1m,
 * `$__interval` 15s, `$__range` 1h (and their `_s`/`_ms` forms: 60, 15, 3600 / ms), and
 * each templating variable by its `current` value, "All" ($__all) by its `allValue` (".*"
 * when it has none), in the forms `$name`, `${name}` and `[[name]]`. A name that is none
 * of these fails the test. Datasource variables are not substituted (they name no data).
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml.h>

#include "base/buf.h"
#include "base/common.h"
#include "daemon.h"
#include "httpc.h"
#include "pgtmp.h"
#include "tlsclient.h"
#include "waitfor.h"

#define MAX_PORTS   16
#define DEADLINE_MS 30000 /* per seed, from the first line sent */

ReportHook(PRE_ALL)(struct criterion_test_set *tests)
{
    (void)tests;
    tlscerts_share();
}

struct port_map {
    int from[MAX_PORTS]; /* a listener's port in the seed's ustatsd.json */
    char to[MAX_PORTS][32];
    size_t n;
};

/* One seed's run: its files, the processes started for it, and what they answer. */
struct seed_run {
    const char *name;
    char src[512];   /* packaging/seeds/<name> */
    char tests[512]; /* tests/seeds/<name> */
    char wdir[64];
    char token[128];
    char prom_addr[32];
    struct port_map ports;
    struct daemon d;
    struct pgtmp db;
    pid_t prom;
    pid_t feeder;
    char *rule_files[8]; /* the derived rule files, for the expressions */
    size_t nrules;
    char *last; /* Prometheus's last answer */
};

static const char *str_or(const char *s, const char *otherwise)
{
    return s != NULL ? s : otherwise;
}

static int port_of(const char *addr)
{
    const char *colon = strrchr(addr, ':');

    return colon != NULL ? atoi(colon + 1) : -1;
}

/* The test address for a listener at addr: one per original port, made on first use. */
static const char *map_listen(struct port_map *m, const char *addr)
{
    int port = port_of(addr);

    for (size_t i = 0; i < m->n; i++)
        if (m->from[i] == port)
            return m->to[i];
    int free = daemon_free_port();

    cr_assert_lt(m->n, MAX_PORTS);
    cr_assert_gt(free, 0, "no free TCP port");
    m->from[m->n] = port;
    snprintf(m->to[m->n], sizeof(m->to[0]), "127.0.0.1:%d", free);
    return m->to[m->n++];
}

/* ---- ustatsd.json ---- */

static void derive_daemon_config(struct seed_run *s, json_t *root, const char **metrics_listen)
{
    json_t *daemon = json_object_get(root, "daemon"), *eps = json_object_get(root, "endpoints");
    json_t *ep, *v;
    size_t i;

    *metrics_listen = NULL;
    if (daemon != NULL) {
        json_object_del(daemon, "socket");
        json_object_del(daemon, "socket_group");
        v = json_object_get(daemon, "metrics_listen");
        if (json_is_string(v) && json_string_length(v) > 0) {
            *metrics_listen = map_listen(&s->ports, json_string_value(v));
            json_object_set_new(daemon, "metrics_listen", json_string(*metrics_listen));
        }
        v = json_object_get(daemon, "debug_listen");
        if (json_is_string(v) && json_string_length(v) > 0)
            json_object_set_new(daemon, "debug_listen",
                                json_string(map_listen(&s->ports, json_string_value(v))));
        if (json_object_get(daemon, "bearer_token_file") != NULL)
            json_object_set_new(daemon, "bearer_token_file", json_string(s->token));
        if (json_object_get(daemon, "web_config_file") != NULL) {
            char web[128];
            const char *c = tlscerts_dir();

            cr_assert_not_null(c, "no test certificates");
            snprintf(web, sizeof(web), "%s/web.yml", s->wdir);
            daemon_write_file(web, "tls_server_config:\n  cert_file: %s\n",
                              tlscerts_path(c, "server.crt"));
            {
                FILE *f = fopen(web, "a");

                cr_assert_not_null(f);
                fprintf(f, "  key_file: %s\n", tlscerts_path(c, "server.key"));
                fclose(f);
            }
            json_object_set_new(daemon, "web_config_file", json_string(web));
        }
    }
    json_array_foreach(eps, i, ep)
    {
        json_t *svc = json_object_get(ep, "service");

        v = json_object_get(ep, "listen");
        if (json_is_string(v))
            json_object_set_new(ep, "listen",
                                json_string(map_listen(&s->ports, json_string_value(v))));
        if (json_object_get(ep, "bearer_token_file") != NULL)
            json_object_set_new(ep, "bearer_token_file", json_string(s->token));
        if (svc != NULL && json_object_get(svc, "user") != NULL)
            json_object_set_new(svc, "user", json_integer((json_int_t)getuid()));
    }
    v = json_object_get(root, "postgres");
    if (v != NULL) {
        char sql[700], *text;

        snprintf(sql, sizeof(sql), "%s/setup.sql", s->tests);
        text = daemon_read_file(sql);
        cr_assert_not_null(text, "%s: the seed reads PostgreSQL, and has no setup.sql", s->name);
        cr_assert_eq(pgtmp_start(&s->db), 0, "%s: no PostgreSQL", s->name);
        cr_assert_eq(pgtmp_exec(&s->db, text), 0, "%s: setup.sql failed", s->name);
        free(text);
        json_object_set_new(v, "conninfo", json_string(s->db.conninfo));
    }
}

/* ---- the sockets systemd passes: packaging/ustatsd.socket and the seed's drop-in ---- */

#define MAX_UNIT_SOCKETS 16

/* What the [Socket] sections of a unit and its drop-ins say, in systemd's order. */
struct unit_sockets {
    char dgram[MAX_UNIT_SOCKETS][128];
    size_t ndgram;
    char stream[MAX_UNIT_SOCKETS][128];
    size_t nstream;
    char group[64];
    char mode[16];
};

static void trim(char *t)
{
    size_t n = strlen(t);

    while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ' || t[n - 1] == '\t'))
        t[--n] = '\0';
}

/*
 * Read path's [Socket] section into u, as systemd applies a drop-in over its unit: a
 * ListenDatagram= or ListenStream= with an empty value empties its list, any other adds
 * to it; SocketGroup= and SocketMode= replace. A missing file reads as nothing.
 */
static void unit_read(const char *path, struct unit_sockets *u)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int in_socket = 0;

    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *eq, *key = line, *value;

        trim(line);
        if (line[0] == '[') {
            in_socket = strcmp(line, "[Socket]") == 0;
            continue;
        }
        if (!in_socket || line[0] == '#' || line[0] == ';' || (eq = strchr(line, '=')) == NULL)
            continue;
        *eq = '\0';
        value = eq + 1;
        if (strcmp(key, "ListenDatagram") == 0 || strcmp(key, "ListenStream") == 0) {
            int dgram = key[6] == 'D';
            char(*list)[128] = dgram ? u->dgram : u->stream;
            size_t *n = dgram ? &u->ndgram : &u->nstream;

            if (value[0] == '\0') {
                *n = 0;
                continue;
            }
            cr_assert_lt(*n, MAX_UNIT_SOCKETS, "%s: too many sockets", path);
            snprintf(list[(*n)++], sizeof(list[0]), "%s", value);
        } else if (strcmp(key, "SocketGroup") == 0) {
            snprintf(u->group, sizeof(u->group), "%s", value);
        } else if (strcmp(key, "SocketMode") == 0) {
            snprintf(u->mode, sizeof(u->mode), "%s", value);
        }
    }
    fclose(f);
}

static int listed(char (*list)[128], size_t n, const char *addr)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], addr) == 0)
            return 1;
    return 0;
}

/*
 * The packaged unit plus the seed's drop-in must pass exactly the sockets the seed's
 * config (root, as shipped) asks for: the daemon refuses a passed socket its config does
 * not name, and binds itself one the unit does not pass (then it is not the unit's, and
 * its mode and group are not either). The ingest socket's mode and group must be the
 * config's. Defaults as docs/configuration.md gives them.
 */
static void check_unit_agrees(struct seed_run *s, json_t *root, const struct unit_sockets *u)
{
    json_t *daemon = json_object_get(root, "daemon"), *eps = json_object_get(root, "endpoints");
    json_t *ep, *v;
    char want[MAX_UNIT_SOCKETS][128];
    size_t nwant = 0, i;
    const char *sock =
        str_or(json_string_value(json_object_get(daemon, "socket")), "/run/ustatsd/ustatsd.sock");
    const char *mode = str_or(json_string_value(json_object_get(daemon, "socket_mode")), "0660");
    const char *group = json_string_value(json_object_get(daemon, "socket_group"));
    const char *fix = "its ustatsd.socket.d/override.conf";

    v = json_object_get(daemon, "metrics_listen");
    if (json_is_string(v) && json_string_length(v) > 0)
        snprintf(want[nwant++], sizeof(want[0]), "%s", json_string_value(v));
    else if (v == NULL && eps == NULL)
        snprintf(want[nwant++], sizeof(want[0]), "127.0.0.1:9464");
    v = json_object_get(daemon, "debug_listen");
    if (json_is_string(v) && json_string_length(v) > 0)
        snprintf(want[nwant++], sizeof(want[0]), "%s", json_string_value(v));
    json_array_foreach(eps, i, ep)
    {
        const char *l = json_string_value(json_object_get(ep, "listen"));

        if (l != NULL && l[0] != '\0' && !listed(want, nwant, l)) {
            cr_assert_lt(nwant, MAX_UNIT_SOCKETS);
            snprintf(want[nwant++], sizeof(want[0]), "%s", l);
        }
    }
    cr_assert(u->ndgram == 1 && strcmp(u->dgram[0], sock) == 0,
              "%s: the unit's ListenDatagram= (%zu, first %s) is not daemon.socket %s: fix %s",
              s->name, u->ndgram, u->ndgram ? u->dgram[0] : "none", sock, fix);
    for (i = 0; i < nwant; i++)
        cr_assert(listed((char(*)[128])u->stream, u->nstream, want[i]),
                  "%s: the config listens on %s and the unit has no ListenStream=%s: fix %s",
                  s->name, want[i], want[i], fix);
    for (i = 0; i < u->nstream; i++)
        cr_assert(listed(want, nwant, u->stream[i]),
                  "%s: the unit's ListenStream=%s is no listener of the config, which the "
                  "daemon refuses: fix %s",
                  s->name, u->stream[i], fix);
    cr_assert_eq(strtol(u->mode, NULL, 8), strtol(mode, NULL, 8),
                 "%s: SocketMode=%s is not daemon.socket_mode %s: fix %s", s->name, u->mode, mode,
                 fix);
    if (group != NULL)
        cr_assert_str_eq(u->group, group,
                         "%s: SocketGroup=%s is not daemon.socket_group %s: fix %s", s->name,
                         u->group, group, fix);
}

/* A listening TCP socket at "a.b.c.d:port", as ListenStream= makes it. */
static int bind_stream(const char *addr)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    char host[64];
    const char *colon = strrchr(addr, ':');
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

    cr_assert_not_null(colon, "%s", addr);
    snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
    cr_assert_eq(inet_pton(AF_INET, host, &sa.sin_addr), 1, "%s", addr);
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    cr_assert_geq(fd, 0);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind %s: %s", addr,
                 strerror(errno));
    cr_assert_eq(listen(fd, 128), 0);
    return fd;
}

/* A Unix datagram socket bound at path, as ListenDatagram= makes it. */
static int bind_dgram(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    cr_assert_geq(fd, 0);
    cr_assert_lt(strlen(path), sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "bind %s: %s", path,
                 strerror(errno));
    return fd;
}

/* ---- YAML: load, edit a few scalars, emit ---- */

static void ydoc_load(const char *path, yaml_document_t *doc)
{
    yaml_parser_t p;
    FILE *f = fopen(path, "rb");

    cr_assert_not_null(f, "%s", path);
    cr_assert(yaml_parser_initialize(&p));
    yaml_parser_set_input_file(&p, f);
    cr_assert(yaml_parser_load(&p, doc), "%s:%zu: %s", path, p.problem_mark.line + 1,
              p.problem ? p.problem : "?");
    yaml_parser_delete(&p);
    fclose(f);
    cr_assert_not_null(yaml_document_get_root_node(doc), "%s: empty", path);
}

/* Emits doc (and deletes it, as yaml_emitter_dump does). */
static void ydoc_save(const char *path, yaml_document_t *doc)
{
    yaml_emitter_t e;
    FILE *f = fopen(path, "wb");

    cr_assert_not_null(f, "%s", path);
    cr_assert(yaml_emitter_initialize(&e));
    yaml_emitter_set_output_file(&e, f);
    yaml_emitter_set_unicode(&e, 1);
    cr_assert(yaml_emitter_open(&e));
    cr_assert(yaml_emitter_dump(&e, doc), "%s: %s", path, e.problem ? e.problem : "?");
    cr_assert(yaml_emitter_close(&e));
    yaml_emitter_delete(&e);
    fclose(f);
}

static int node_id(yaml_document_t *doc, yaml_node_t *n)
{
    return (int)(n - doc->nodes.start) + 1;
}

static int is_scalar(yaml_node_t *n, const char *s)
{
    return n != NULL && n->type == YAML_SCALAR_NODE && strcmp((char *)n->data.scalar.value, s) == 0;
}

/* The value of key in mapping m, or NULL. */
static yaml_node_t *ymap_get(yaml_document_t *doc, yaml_node_t *m, const char *key)
{
    if (m == NULL || m->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
        if (is_scalar(yaml_document_get_node(doc, p->key), key))
            return yaml_document_get_node(doc, p->value);
    return NULL;
}

static void ymap_del(yaml_document_t *doc, yaml_node_t *m, const char *key)
{
    if (m == NULL || m->type != YAML_MAPPING_NODE)
        return;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
        if (is_scalar(yaml_document_get_node(doc, p->key), key)) {
            memmove(p, p + 1, (size_t)(m->data.mapping.pairs.top - p - 1) * sizeof(*p));
            m->data.mapping.pairs.top--;
            return;
        }
}

/* Set key to a scalar in mapping m (by its id: adding nodes moves them). */
static void ymap_set(yaml_document_t *doc, int m_id, const char *key, const char *value)
{
    int v = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)value, -1, YAML_ANY_SCALAR_STYLE);
    yaml_node_t *m = yaml_document_get_node(doc, m_id);

    cr_assert_gt(v, 0);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
        if (is_scalar(yaml_document_get_node(doc, p->key), key)) {
            p->value = v;
            return;
        }
    {
        int k = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)key, -1, YAML_ANY_SCALAR_STYLE);

        cr_assert(yaml_document_append_mapping_pair(doc, m_id, k, v));
    }
}

/*
 * Replace the text of the scalar node id. libyaml owns a node's memory and has no public
 * allocator, so a new node takes the value and the two swap texts: the old text goes with
 * the new node, which nothing refers to (it is freed with the document, never emitted).
 */
static void yscalar_replace(yaml_document_t *doc, int id, const char *value)
{
    int fresh =
        yaml_document_add_scalar(doc, NULL, (yaml_char_t *)value, -1, YAML_ANY_SCALAR_STYLE);
    yaml_node_t *a = yaml_document_get_node(doc, id), *b = yaml_document_get_node(doc, fresh);
    yaml_char_t *text = a->data.scalar.value;
    size_t len = a->data.scalar.length;

    cr_assert(fresh > 0 && a->type == YAML_SCALAR_NODE);
    a->data.scalar.value = b->data.scalar.value;
    a->data.scalar.length = b->data.scalar.length;
    b->data.scalar.value = text;
    b->data.scalar.length = len;
}

/* The items of a sequence node, by id (stable while nodes are added). */
static size_t yseq_ids(yaml_node_t *seq, int *ids, size_t max)
{
    size_t n = 0;

    if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
        return 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start;
         it < seq->data.sequence.items.top && n < max; it++)
        ids[n++] = *it;
    return n;
}

/* A rule file with every `for` 0s and no group interval; returns the new path. */
static char *derive_rules(struct seed_run *s, const char *path)
{
    yaml_document_t doc;
    int groups[64], rules[256];
    size_t ng, nr;
    char out[700];
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

    ydoc_load(path, &doc);
    ng = yseq_ids(ymap_get(&doc, yaml_document_get_root_node(&doc), "groups"), groups, 64);
    for (size_t g = 0; g < ng; g++) {
        yaml_node_t *group = yaml_document_get_node(&doc, groups[g]);

        ymap_del(&doc, group, "interval");
        nr = yseq_ids(ymap_get(&doc, group, "rules"), rules, 256);
        for (size_t r = 0; r < nr; r++)
            if (ymap_get(&doc, yaml_document_get_node(&doc, rules[r]), "for") != NULL)
                ymap_set(&doc, rules[r], "for", "0s");
    }
    snprintf(out, sizeof(out), "%s/rules-%zu-%s", s->wdir, s->nrules, base);
    ydoc_save(out, &doc);
    return strdup(out);
}

static void derive_prometheus_config(struct seed_run *s, const char *out)
{
    yaml_document_t doc;
    yaml_node_t *root, *n;
    int root_id, global_id, ids[64], statics[64], targets[64];
    size_t count;
    char path[600];
    const char *certs = tlscerts_dir();

    snprintf(path, sizeof(path), "%s/prometheus.yml", s->src);
    ydoc_load(path, &doc);
    root = yaml_document_get_root_node(&doc);
    root_id = node_id(&doc, root);
    ymap_del(&doc, root, "alerting");
    ymap_del(&doc, root, "remote_write");
    ymap_del(&doc, root, "remote_read");
    n = ymap_get(&doc, root, "global");
    if (n == NULL) {
        global_id = yaml_document_add_mapping(&doc, NULL, YAML_ANY_MAPPING_STYLE);
        {
            int k = yaml_document_add_scalar(&doc, NULL, (yaml_char_t *)"global", -1,
                                             YAML_ANY_SCALAR_STYLE);

            cr_assert(yaml_document_append_mapping_pair(&doc, root_id, k, global_id));
        }
    } else {
        global_id = node_id(&doc, n);
    }
    ymap_set(&doc, global_id, "scrape_interval", "1s");
    ymap_set(&doc, global_id, "scrape_timeout", "1s");
    ymap_set(&doc, global_id, "evaluation_interval", "1s");

    /* The rule files: the seed's, relative to its prometheus.yml, derived. */
    count = yseq_ids(ymap_get(&doc, yaml_document_get_root_node(&doc), "rule_files"), ids, 8);
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = yaml_document_get_node(&doc, ids[i]);
        char rule[600];

        cr_assert(item->type == YAML_SCALAR_NODE);
        if (item->data.scalar.value[0] == '/')
            snprintf(rule, sizeof(rule), "%s", (char *)item->data.scalar.value);
        else
            snprintf(rule, sizeof(rule), "%s/%s", s->src, (char *)item->data.scalar.value);
        s->rule_files[s->nrules] = derive_rules(s, rule);
        item = yaml_document_get_node(&doc, ids[i]);
        yscalar_replace(&doc, ids[i], s->rule_files[s->nrules]);
        s->nrules++;
    }

    count = yseq_ids(ymap_get(&doc, yaml_document_get_root_node(&doc), "scrape_configs"), ids, 64);
    cr_assert_gt(count, 0, "%s: no scrape_configs", s->name);
    for (size_t j = 0; j < count; j++) {
        yaml_node_t *job = yaml_document_get_node(&doc, ids[j]), *auth, *tls;
        size_t ns;

        ymap_del(&doc, job, "scrape_interval");
        ymap_del(&doc, job, "scrape_timeout");
        auth = ymap_get(&doc, job, "authorization");
        if (auth != NULL && ymap_get(&doc, auth, "credentials_file") != NULL)
            ymap_set(&doc, node_id(&doc, auth), "credentials_file", s->token);
        job = yaml_document_get_node(&doc, ids[j]);
        tls = ymap_get(&doc, job, "tls_config");
        if (tls != NULL) {
            int tls_id = node_id(&doc, tls);

            cr_assert_not_null(certs, "no test certificates");
            ymap_del(&doc, tls, "server_name");
            ymap_set(&doc, tls_id, "ca_file", tlscerts_path(certs, "ca.crt"));
            if (ymap_get(&doc, yaml_document_get_node(&doc, tls_id), "cert_file") != NULL) {
                ymap_set(&doc, tls_id, "cert_file", tlscerts_path(certs, "client.crt"));
                ymap_set(&doc, tls_id, "key_file", tlscerts_path(certs, "client.key"));
            }
        }
        job = yaml_document_get_node(&doc, ids[j]);
        ns = yseq_ids(ymap_get(&doc, job, "static_configs"), statics, 64);
        cr_assert_gt(ns, 0, "%s: a scrape config without static_configs", s->name);
        for (size_t k = 0; k < ns; k++) {
            size_t nt = yseq_ids(
                ymap_get(&doc, yaml_document_get_node(&doc, statics[k]), "targets"), targets, 64);

            for (size_t t = 0; t < nt; t++) {
                yaml_node_t *target = yaml_document_get_node(&doc, targets[t]);
                int port = port_of((char *)target->data.scalar.value);
                const char *to = NULL;

                for (size_t p = 0; p < s->ports.n; p++)
                    if (s->ports.from[p] == port)
                        to = s->ports.to[p];
                cr_assert_not_null(to, "%s: target %s: no listener of ustatsd.json has its port",
                                   s->name, (char *)target->data.scalar.value);
                yscalar_replace(&doc, targets[t], to);
            }
        }
    }
    ydoc_save(out, &doc);
}

/* ---- Prometheus's HTTP API ---- */

static void urlencode(char *out, size_t len, const char *s)
{
    size_t n = 0;

    for (; *s && n + 4 < len; s++)
        n += (size_t)((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                              (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'
                          ? snprintf(out + n, len - n, "%c", *s)
                          : snprintf(out + n, len - n, "%%%02X", (unsigned char)*s));
    cr_assert(*s == '\0', "a query too long to encode");
    out[n] = '\0';
}

/* GET path from Prometheus; the parsed JSON (the caller's), or NULL. */
static json_t *prom_get(struct seed_run *s, const char *path)
{
    struct httpc_response r;
    json_t *j;

    if (httpc_get(s->prom_addr, path, NULL, &r) != 0)
        return NULL;
    free(s->last);
    s->last = strdup(r.body);
    j = json_loads(r.body, 0, NULL);
    httpc_response_release(&r);
    return j;
}

struct query {
    struct seed_run *s;
    const char *expr;
    int error; /* Prometheus refused it */
};

/* Whether the instant query returns at least one sample; a refusal ends the wait. */
static int query_has_data(void *arg)
{
    struct query *q = arg;
    static char path[16384];
    json_t *j, *data;
    int ok = 0;

    strcpy(path, "/api/v1/query?query=");
    urlencode(path + strlen(path), sizeof(path) - strlen(path), q->expr);
    j = prom_get(q->s, path);
    if (j == NULL)
        return 0;
    if (strcmp(str_or(json_string_value(json_object_get(j, "status")), ""), "success") != 0) {
        q->error = 1;
        ok = 1;
    } else {
        data = json_object_get(j, "data");
        ok = json_array_size(json_object_get(data, "result")) > 0 ||
             json_is_string(json_array_get(json_object_get(data, "result"), 1));
    }
    json_decref(j);
    return ok;
}

static long long deadline;

static int remaining(void)
{
    long long left = deadline - waitfor_now_ms();

    return left > 0 ? (int)left : 0;
}

static void check_query(struct seed_run *s, const char *what, const char *expr)
{
    struct query q = { s, expr, 0 };

    if (waitfor_cond(query_has_data, &q, remaining()) != 0)
        cr_assert_fail("%s: %s returned no data: %s\nlast answer: %s", s->name, what, expr,
                       s->last ? s->last : "(none)");
    cr_assert(!q.error, "%s: %s: Prometheus refused %s: %s", s->name, what, expr, s->last);
}

/* The instant query answers, and with no sample: what must not be there is not. */
static void check_query_empty(struct seed_run *s, const char *what, const char *expr)
{
    static char path[16384];
    json_t *j, *result;

    strcpy(path, "/api/v1/query?query=");
    urlencode(path + strlen(path), sizeof(path) - strlen(path), expr);
    j = prom_get(s, path);
    cr_assert_not_null(j, "%s: %s: no answer to %s", s->name, what, expr);
    cr_assert_str_eq(str_or(json_string_value(json_object_get(j, "status")), ""), "success",
                     "%s: %s: Prometheus refused %s: %s", s->name, what, expr, s->last);
    result = json_object_get(json_object_get(j, "data"), "result");
    cr_assert_eq(json_array_size(result), 0, "%s: %s: %s returned %s", s->name, what, expr,
                 s->last);
    json_decref(j);
}

/*
 * The service's `job` label survives the scrape (honor_labels): no series carries
 * exported_job, and the job families answer by the job's own name.
 */
static void check_job_labels(struct seed_run *s, json_t *root)
{
    json_t *first = json_array_get(json_object_get(json_object_get(root, "jobs"), "list"), 0);
    const char *job = json_is_object(first) ? json_string_value(json_object_get(first, "name"))
                                            : json_string_value(first);
    char expr[300];

    check_query_empty(s, "Prometheus renamed a `job` label", "count({exported_job!=\"\"})");
    if (job == NULL)
        return;
    snprintf(expr, sizeof(expr), "count({job=\"%s\"})", job);
    check_query(s, "the job families under their own job label", expr);
}

static int all_targets_up(void *arg)
{
    struct seed_run *s = arg;
    json_t *j = prom_get(s, "/api/v1/targets?state=active"), *t;
    json_t *active = json_object_get(json_object_get(j, "data"), "activeTargets");
    size_t i;
    int ok = json_array_size(active) > 0;

    json_array_foreach(active, i, t) ok &=
        strcmp(str_or(json_string_value(json_object_get(t, "health")), ""), "up") == 0;
    json_decref(j);
    return ok;
}

/* Every alerting rule Prometheus loaded is firing. */
static int alerts_firing(void *arg)
{
    struct seed_run *s = arg;
    json_t *j = prom_get(s, "/api/v1/rules?type=alert"), *g, *r;
    json_t *groups = json_object_get(json_object_get(j, "data"), "groups");
    size_t i, k, n = 0;
    int ok = 1;

    json_array_foreach(groups, i, g)
    {
        json_array_foreach(json_object_get(g, "rules"), k, r)
        {
            n++;
            ok &= strcmp(str_or(json_string_value(json_object_get(r, "state")), ""), "firing") == 0;
        }
    }
    json_decref(j);
    return ok && n > 0;
}

/* ---- the seed's rule expressions ---- */

static void check_rule_file(struct seed_run *s, const char *path, int *alerts)
{
    yaml_document_t doc;
    int groups[64], rules[256];
    size_t ng, nr;

    ydoc_load(path, &doc);
    ng = yseq_ids(ymap_get(&doc, yaml_document_get_root_node(&doc), "groups"), groups, 64);
    for (size_t g = 0; g < ng; g++) {
        nr = yseq_ids(ymap_get(&doc, yaml_document_get_node(&doc, groups[g]), "rules"), rules, 256);
        for (size_t r = 0; r < nr; r++) {
            yaml_node_t *rule = yaml_document_get_node(&doc, rules[r]);
            yaml_node_t *expr = ymap_get(&doc, rule, "expr"), *name;
            char what[300];

            name = ymap_get(&doc, rule, "alert");
            if (name != NULL)
                ++*alerts;
            else
                name = ymap_get(&doc, rule, "record");
            cr_assert(expr != NULL && name != NULL && expr->type == YAML_SCALAR_NODE);
            snprintf(what, sizeof(what), "rule %s", (char *)name->data.scalar.value);
            check_query(s, what, (char *)expr->data.scalar.value);
            /* A recording rule's series exist too. */
            if (ymap_get(&doc, rule, "record") != NULL)
                check_query(s, what, (char *)name->data.scalar.value);
        }
    }
    yaml_document_delete(&doc);
}

/* ---- the dashboard ---- */

struct vars {
    const char *name[32];
    const char *value[32];
    size_t n;
};

/* expr with the variables substituted (malloc'd); fails the test on an unknown one. */
static char *substitute(struct seed_run *s, const struct vars *v, const char *expr)
{
    static const char *const builtin[][2] = {
        { "__rate_interval", "1m" },  { "__interval", "15s" },
        { "__range", "1h" },          { "__rate_interval_ms", "60000" },
        { "__interval_ms", "15000" }, { "__range_ms", "3600000" },
        { "__range_s", "3600" },      { "__interval_s", "15" },
    };
    struct buf out = BUF_INIT;
    char name[64];

    for (const char *p = expr; *p;) {
        const char *start = p, *val = NULL;
        size_t len = 0;

        if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p, '}');

            cr_assert_not_null(end, "%s: unclosed ${ in %s", s->name, expr);
            len = (size_t)(end - p - 2);
            memcpy(name, p + 2, len < sizeof(name) ? len : sizeof(name) - 1);
            p = end + 1;
        } else if (p[0] == '[' && p[1] == '[') {
            const char *end = strstr(p, "]]");

            cr_assert_not_null(end, "%s: unclosed [[ in %s", s->name, expr);
            len = (size_t)(end - p - 2);
            memcpy(name, p + 2, len < sizeof(name) ? len : sizeof(name) - 1);
            p = end + 2;
        } else if (p[0] == '$' &&
                   (p[1] == '_' || (p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z'))) {
            const char *q = p + 1;

            while (*q == '_' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                   (*q >= '0' && *q <= '9'))
                q++;
            len = (size_t)(q - p - 1);
            memcpy(name, p + 1, len < sizeof(name) ? len : sizeof(name) - 1);
            p = q;
        } else {
            buf_addch(&out, *p);
            p++;
            continue;
        }
        name[len < sizeof(name) ? len : sizeof(name) - 1] = '\0';
        for (size_t i = 0; i < ARRAY_SIZE(builtin) && val == NULL; i++)
            if (strcmp(name, builtin[i][0]) == 0)
                val = builtin[i][1];
        for (size_t i = 0; i < v->n && val == NULL; i++)
            if (strcmp(name, v->name[i]) == 0)
                val = v->value[i];
        cr_assert_not_null(val, "%s: dashboard variable %.*s is not one the test knows: %s",
                           s->name, (int)(p - start), start, expr);
        buf_adds(&out, val);
    }
    buf_addch(&out, '\0');
    return out.ptr;
}

static const char *current_value(json_t *var)
{
    json_t *cur = json_object_get(json_object_get(var, "current"), "value");
    const char *v;

    if (json_is_array(cur))
        cur = json_array_get(cur, 0);
    v = json_string_value(cur);
    if (v == NULL)
        return NULL;
    if (strcmp(v, "$__all") == 0)
        return str_or(json_string_value(json_object_get(var, "allValue")), ".*");
    return v;
}

/*
 * Run every panel query under v: each must return data, or, with none set, return
 * nothing (the variables select something that does not exist).
 */
static void check_panels(struct seed_run *s, const struct vars *v, json_t *panels, int *queries,
                         int none)
{
    json_t *p, *t;
    size_t i, k;

    json_array_foreach(panels, i, p)
    {
        const char *title = str_or(json_string_value(json_object_get(p, "title")), "?");

        check_panels(s, v, json_object_get(p, "panels"), queries, none);
        json_array_foreach(json_object_get(p, "targets"), k, t)
        {
            const char *expr = json_string_value(json_object_get(t, "expr"));
            char what[300], *q;

            cr_assert_not_null(expr, "%s: panel \"%s\": a target without expr", s->name, title);
            snprintf(what, sizeof(what), "panel \"%s\" %s", title,
                     str_or(json_string_value(json_object_get(t, "refId")), ""));
            q = substitute(s, v, expr);
            if (none)
                check_query_empty(s, what, q);
            else
                check_query(s, what, q);
            free(q);
            ++*queries;
        }
    }
}

static void check_dashboard(struct seed_run *s)
{
    char path[600];
    json_error_t err;
    json_t *root, *var;
    struct vars v = { .n = 0 };
    size_t i;
    int queries = 0;

    snprintf(path, sizeof(path), "%s/dashboard.json", s->src);
    root = json_load_file(path, 0, &err);
    cr_assert_not_null(root, "%s:%d: %s", path, err.line, err.text);
    json_array_foreach(json_object_get(json_object_get(root, "templating"), "list"), i, var)
    {
        const char *type = str_or(json_string_value(json_object_get(var, "type")), "");
        const char *name = json_string_value(json_object_get(var, "name"));
        json_t *q = json_object_get(var, "query");
        const char *def = json_is_object(q) ? json_string_value(json_object_get(q, "query"))
                                            : json_string_value(q);

        if (strcmp(type, "datasource") == 0)
            continue;
        cr_assert(name != NULL && v.n < ARRAY_SIZE(v.name));
        v.name[v.n] = name;
        v.value[v.n] = current_value(var);
        cr_assert_not_null(v.value[v.n], "%s: variable %s has no current value", s->name, name);
        v.n++;
        /* label_values(SELECTOR, LABEL): the selector's series have that label. */
        if (strcmp(type, "query") == 0 && def != NULL && strncmp(def, "label_values(", 13) == 0) {
            char sel[512], expr[600], *comma;

            snprintf(sel, sizeof(sel), "%s", def + 13);
            comma = strrchr(sel, ',');
            cr_assert(comma != NULL && sel[strlen(sel) - 1] == ')', "%s: %s", s->name, def);
            sel[strlen(sel) - 1] = '\0';
            *comma = '\0';
            snprintf(expr, sizeof(expr), "count by (%s) (%s)", comma + 1, sel);
            check_query(s, name, expr);
        }
    }
    check_panels(s, &v, json_object_get(root, "panels"), &queries, 0);
    cr_assert_gt(queries, 0, "%s: a dashboard without queries", s->name);
    /*
     * The $instance selector applies to every panel: with an instance that does not
     * exist, none has data (a recording rule summed over instances, or a query without
     * instance=~"$instance", would still show every instance's).
     */
    for (i = 0; i < v.n; i++)
        if (strcmp(v.name[i], "instance") == 0) {
            v.value[i] = "no-such-instance:1";
            check_panels(s, &v, json_object_get(root, "panels"), &queries, 1);
        }
    json_decref(root);
}

/* ---- the processes ---- */

/* Send lines.txt once a second until killed: the service. */
static void feed(struct seed_run *s)
{
    char path[600], *text;

    snprintf(path, sizeof(path), "%s/lines.txt", s->tests);
    text = daemon_read_file(path);
    cr_assert_not_null(text, "%s: no %s", s->name, path);
    s->feeder = fork();
    cr_assert_geq(s->feeder, 0);
    if (s->feeder != 0) {
        free(text);
        return;
    }
    for (;;) {
        for (char *line = text; *line;) {
            char *end = strchr(line, '\n');
            size_t len = end ? (size_t)(end - line) : strlen(line);

            if (len > 0 && line[0] != '#')
                (void)send(s->d.fd, line, len, 0);
            line += len + (end != NULL);
        }
        sleep(1);
    }
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

static void cleanup(void)
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
    if (s->wdir[0])
        tlscerts_remove(s->wdir);
    current = NULL;
}

static void fail_with_logs(struct seed_run *s, const char *why)
{
    char path[128];
    char *plog, *dlog;

    snprintf(path, sizeof(path), "%s/prometheus.log", s->wdir);
    plog = daemon_read_file(path);
    dlog = daemon_read_file(s->d.log);
    cr_assert_fail("%s: %s\nlast answer: %s\nprometheus.log:\n%s\nustatsd log:\n%s", s->name, why,
                   s->last ? s->last : "(none)", plog ? plog : "", dlog ? dlog : "");
}

static void run_seed(const char *name)
{
    static struct seed_run s;
    char path[600], pcfg[128], sock[128], *cfg_text;
    const char *metrics_listen;
    const char *args[12];
    struct unit_sockets unit = { .nstream = 0 };
    int fds[MAX_UNIT_SOCKETS + 1], nfds = 0;
    size_t n = 0;
    struct daemon_options o = { .args = args, .no_wait = 1 };
    json_error_t err;
    json_t *cfg, *shipped;
    int alerts = 0, rc;
    long long t0 = waitfor_now_ms();

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
    cfg = json_load_file(path, 0, &err);
    cr_assert_not_null(cfg, "%s:%d: %s", path, err.line, err.text);
    /* The sockets the packaged unit with the seed's drop-in passes, as the config asks. */
    snprintf(path, sizeof(path), "%s/packaging/ustatsd.socket", USTATSD_SOURCE_DIR);
    unit_read(path, &unit);
    cr_assert_gt(unit.nstream + unit.ndgram, 0, "%s: no sockets", path);
    snprintf(path, sizeof(path), "%s/ustatsd.socket.d/override.conf", s.src);
    unit_read(path, &unit);
    check_unit_agrees(&s, cfg, &unit);
    shipped = json_deep_copy(cfg);
    derive_daemon_config(&s, cfg, &metrics_listen);
    if (metrics_listen != NULL) {
        args[n++] = "--metrics-listen";
        args[n++] = metrics_listen;
    }
    /*
     * Passed as systemd passes them, each at its test address: the ingest socket in the
     * test's directory, each stream socket on the free port that stands for its port.
     */
    snprintf(sock, sizeof(sock), "%s/ustatsd.sock", s.wdir);
    args[n++] = "--socket";
    args[n++] = sock;
    fds[nfds++] = bind_dgram(sock);
    for (size_t i = 0; i < unit.nstream; i++)
        fds[nfds++] = bind_stream(map_listen(&s.ports, unit.stream[i]));
    o.listen_fds = fds;
    o.nlisten_fds = nfds;
    args[n] = NULL;
    cfg_text = json_dumps(cfg, JSON_INDENT(2));
    json_decref(cfg);
    rc = daemon_start_with(&s.d, cfg_text, &o);
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    cr_assert_eq(rc, 0, "%s: the daemon did not start", name);
    free(cfg_text);
    if (waitfor_cond(connected, &s.d, 10000) != 0)
        fail_with_logs(&s, "the daemon's ingest socket never took a connection");

    snprintf(pcfg, sizeof(pcfg), "%s/prometheus.yml", s.wdir);
    derive_prometheus_config(&s, pcfg);
    start_prometheus(&s, pcfg);
    if (waitfor_cond(all_targets_up, &s, 30000) != 0)
        fail_with_logs(&s, "Prometheus never saw every target up");

    feed(&s);
    deadline = waitfor_now_ms() + DEADLINE_MS;
    for (size_t i = 0; i < s.nrules; i++)
        check_rule_file(&s, s.rule_files[i], &alerts);
    if (alerts > 0 && waitfor_cond(alerts_firing, &s, remaining()) != 0)
        fail_with_logs(&s, "not every alert reached firing");
    check_dashboard(&s);
    check_job_labels(&s, shipped);
    json_decref(shipped);
    fprintf(stderr, "%s: %d alerts firing, every rule and panel query answered, in %lld ms\n", name,
            alerts, waitfor_now_ms() - t0);
    /* The daemon served all of it and still stops cleanly. */
    stop_child(&s.prom);
    rc = daemon_stop(&s.d);
    s.d.pid = 0;
    cr_assert_eq(rc, 0, "%s: the daemon exited with status %d at SIGTERM", name, rc);
    cleanup();
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

Test(e2e_seeds, every_seed_alerts_rules_and_dashboard_against_a_real_prometheus, .timeout = 300,
     .fini = cleanup)
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
            run_seed(list[i]->d_name);
            ran++;
        }
        free(list[i]);
    }
    free(list);
    cr_assert_gt(ran, 0, "no seed under %s has a prometheus.yml", root);
}

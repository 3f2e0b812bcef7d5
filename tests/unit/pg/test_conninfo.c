/*
 * conninfo without a server: what --check-config and sqlpool_init accept or refuse, that
 * a message never quotes a secret, and the arguments every connection is made with.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "pg/conninfo.h"
#include "base/errcode.h"

static void config_for(struct config *cfg, const char *conninfo)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->path = (char *)"ustatsd.json";
    cfg->has_postgres = 1;
    cfg->pg_conninfo = (char *)conninfo;
}

/* Resolving a name would block the loop; and libpq's message may quote the password. */
struct check_case {
    char conninfo[96];
    char expect[96]; /* "" when accepted, else a fragment of the message */
};

static struct check_case check_cases[] = {
    { "host=/run/postgresql dbname=x password=hunter2", "" },
    { "host=192.0.2.1,::1 hostaddr=192.0.2.1,::1 dbname=x", "" },
    { "postgresql://192.0.2.1:5433/x?sslmode=disable", "" },
    { "", "" },
    { "host=db.example.com hostaddr=192.0.2.1 dbname=x", "" },
    { "host=192.0.2.1 dbname=x", "" },
    { "host=::1 dbname=x", "" },
    { "host=@abstract dbname=x", "" },
    { "dbname=x", "" },
    { "host=", "" },
    { "host=db.example.com password=hunter2", "host \"db.example.com\" is a name" },
    { "host=db.example.com dbname=x", "host \"db.example.com\" is a name" },
    { "postgresql://u:hunter2@db.example.com/x", "host \"db.example.com\" is a name" },
    { "host=/tmp,db.example.com dbname=x", "host \"/tmp,db.example.com\" is a name" },
    { "host=/tmp password=hunter2 bogus_key=1", "unknown keyword \"bogus_key\"" },
    { "postgresql:///x?password=hunter2&nosuch=1", "unknown keyword \"nosuch\"" },
    { "this is not a conninfo", "cannot be parsed by libpq" },
    { "password='hunter2", "cannot be parsed by libpq" },
    { "host=/tmp password=hunter2 dbname", "cannot be parsed by libpq" },
    { "postgresql://u:hunter2@[::1/x", "cannot be parsed by libpq" },
};

ParameterizedTestParameters(conninfo, is_checked_without_a_server)
{
    return cr_make_param_array(struct check_case, check_cases,
                               sizeof(check_cases) / sizeof(check_cases[0]));
}

ParameterizedTest(struct check_case *c, conninfo, is_checked_without_a_server)
{
    struct config cfg;
    struct conninfo_params p;
    char err[512];
    int rc;

    unsetenv("PGHOST");
    unsetenv("PGHOSTADDR");
    config_for(&cfg, c->conninfo);
    memset(err, 'x', sizeof(err));
    rc = conninfo_check(&cfg, err, sizeof(err));
    if (c->expect[0] == '\0') {
        cr_assert_eq(rc, 0, "%s: %s", c->conninfo, err);
        cr_assert_str_eq(err, "");
        cr_assert_eq(conninfo_params_init(&p, &cfg, 5000, err, sizeof(err)), 0, "%s", err);
        conninfo_params_release(&p);
        return;
    }
    cr_assert_eq(rc, ERRCODE_CONFIG, "%s accepted", c->conninfo);
    cr_assert(strncmp(err, "ustatsd.json: $.postgres.conninfo: ", 35) == 0, "%s", err);
    cr_assert(strstr(err, c->expect) != NULL, "%s: %s", c->conninfo, err);
    cr_assert(strstr(err, "hunter2") == NULL, "the password leaked: %s", err);
    /* The pool refuses what the check refuses, with the same message. */
    cr_assert_eq(conninfo_params_init(&p, &cfg, 5000, err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert(strstr(err, c->expect) != NULL, "%s: %s", c->conninfo, err);
    cr_assert_null(p.keys);
}

Test(conninfo, no_postgres_section_is_fine_and_pghost_is_checked)
{
    struct config cfg;
    char err[256];

    config_for(&cfg, "host=db.example.com");
    cfg.has_postgres = 0;
    cr_assert_eq(conninfo_check(&cfg, err, sizeof(err)), 0);
    config_for(&cfg, "dbname=x");
    setenv("PGHOST", "db.example.com", 1);
    unsetenv("PGHOSTADDR");
    cr_assert_eq(conninfo_check(&cfg, err, sizeof(err)), ERRCODE_CONFIG);
    cr_assert(strstr(err, "(from PGHOST)") != NULL, "%s", err);
    cr_assert(strstr(err, "hostaddr") != NULL, "%s", err);
    setenv("PGHOSTADDR", "192.0.2.1", 1);
    cr_assert_eq(conninfo_check(&cfg, err, sizeof(err)), 0, "%s", err);
    unsetenv("PGHOST");
    unsetenv("PGHOSTADDR");
}

static const char *param(const struct conninfo_params *p, const char *key)
{
    size_t i;

    for (i = 0; p->keys[i] != NULL; i++)
        if (strcmp(p->keys[i], key) == 0)
            return p->vals[i];
    return NULL;
}

Test(conninfo, sessions_are_read_only_utf8_and_named)
{
    struct config cfg;
    struct conninfo_params p;
    char err[256];

    unsetenv("PGHOST");
    unsetenv("PGHOSTADDR");
    config_for(&cfg, "host=/run/postgresql dbname=app client_encoding=LATIN1 "
                     "options='-c default_transaction_read_only=off'");
    cr_assert_eq(conninfo_params_init(&p, &cfg, 2500, err, sizeof(err)), 0, "%s", err);
    /* Later -c settings win: the conninfo's own options cannot undo read-only. */
    cr_assert_str_eq(param(&p, "options"),
                     "-c default_transaction_read_only=off -c default_transaction_read_only=on "
                     "-c statement_timeout=2500");
    cr_assert_str_eq(param(&p, "client_encoding"), "UTF8");
    cr_assert_str_eq(param(&p, "fallback_application_name"), "ustatsd");
    cr_assert_str_eq(param(&p, "host"), "/run/postgresql");
    cr_assert_str_eq(param(&p, "dbname"), "app");
    conninfo_params_release(&p);
    conninfo_params_release(&p);

    config_for(&cfg, "dbname=app");
    cr_assert_eq(conninfo_params_init(&p, &cfg, 0, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(param(&p, "options"),
                     "-c default_transaction_read_only=on -c statement_timeout=0");
    conninfo_params_release(&p);
}

/* The timeouts a session, a connection attempt and a metric's query run under. */
Test(conninfo, timeouts_in_ms_with_defaults_and_the_session_as_a_ceiling)
{
    struct config cfg;
    struct config_sql_metric m;

    config_for(&cfg, "");
    memset(&m, 0, sizeof(m));
    cr_assert_eq(conninfo_session_timeout_ms(&cfg), 0, "no session limit");
    cr_assert_eq(conninfo_connect_timeout_ms(&cfg), 5000, "the default");
    cr_assert_eq(conninfo_query_timeout_ms(&cfg, &m), 5000, "the default");
    m.timeout_seconds = 0.25;
    cr_assert_eq(conninfo_query_timeout_ms(&cfg, &m), 250);
    m.timeout_seconds = 1e-6;
    cr_assert_eq(conninfo_query_timeout_ms(&cfg, &m), 1, "at least 1 ms: 0 would be none");
    cfg.pg_statement_timeout = 2;
    cfg.pg_connect_timeout = 1.5;
    m.timeout_seconds = 3;
    cr_assert_eq(conninfo_session_timeout_ms(&cfg), 2000);
    cr_assert_eq(conninfo_connect_timeout_ms(&cfg), 1500);
    cr_assert_eq(conninfo_query_timeout_ms(&cfg, &m), 2000, "at most the session's");
    m.timeout_seconds = 1;
    cr_assert_eq(conninfo_query_timeout_ms(&cfg, &m), 1000);
    m.timeout_seconds = 1e9;
    cfg.pg_statement_timeout = 0;
    cr_assert_eq(conninfo_query_timeout_ms(&cfg, &m), 86400000, "at most a day");
}

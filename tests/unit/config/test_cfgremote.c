/*
 * The "remote_write" section (cfgremote): Prometheus's defaults and spellings, every key of
 * a target read, external labels sorted, the files it names checked at load (readable,
 * PEM, the key the certificate's), and each refusal with its path and message.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfgtest.h"
#include "config/cfgload.h"
#include "config/cfgremote.h"
#include "config/config.h"
#include "tlsclient.h"

Test(cfgremote, a_url_alone_takes_the_defaults)
{
    struct config c;
    const struct config_remote *t;

    must_parse(&c, "{'remote_write': [{'url': 'http://127.0.0.1:9090/api/v1/write'}]}");
    cr_assert_eq(c.nremotes, 1);
    t = &c.remotes[0];
    cr_assert_str_eq(t->name, "remote_write_0");
    cr_assert_eq(t->timeout, 30, "Prometheus's remote_timeout");
    cr_assert_eq(t->interval, 15);
    cr_assert_eq(t->nendpoints, 1);
    cr_assert_str_eq(t->endpoints[0], "metrics", "the default endpoint");
    cr_assert_eq(t->max_bytes, 64u << 20);
    cr_assert_eq(t->min_backoff, 0.03, "Prometheus's min_backoff");
    cr_assert_eq(t->max_backoff, 5, "Prometheus's max_backoff");
    cr_assert_eq(t->send_native_histograms, 0, "Prometheus's default");
    cr_assert_eq(t->nheaders, 0);
    cr_assert_eq(t->nexternal_labels, 0);
    cr_assert_null(t->basic_username);
    cr_assert_null(t->bearer_token_file);
    cr_assert_null(t->ca_file);
    cfgload_release(&c);
    must_parse(&c, "{'remote_write': []}");
    cr_assert_eq(c.nremotes, 0);
    cfgload_release(&c);
}

static char dir[64];
static char json[8192];

static void certs(void)
{
    cr_assert_eq(tlscerts_make(dir), 0);
}

static void no_certs(void)
{
    tlscerts_remove(dir);
}

static char *file_in(const char *name, const char *text)
{
    static char paths[8][300];
    static unsigned next;
    char *p = paths[next++ % 8];
    FILE *f;

    snprintf(p, sizeof paths[0], "%s/%s", dir, name);
    f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

Test(cfgremote, every_key_of_a_target_is_read, .init = certs, .fini = no_certs)
{
    struct config c;
    const struct config_remote *t;
    char ca[300], crt[300], key[300], *pw = file_in("pw", "secret\n");

    snprintf(ca, sizeof ca, "%s", tlscerts_path(dir, "ca.crt"));
    snprintf(crt, sizeof crt, "%s", tlscerts_path(dir, "client.crt"));
    snprintf(key, sizeof key, "%s", tlscerts_path(dir, "client.key"));
    snprintf(json, sizeof json,
             "{'endpoints': [{'name': 'api', 'listen': '127.0.0.1:9465'}],"
             " 'remote_write': [{'name': 'central', 'url': 'https://m.example:8443/api/v1/write',"
             "  'remote_timeout': 2.5, 'headers': {'X-Scope-OrgID': 'edge', 'X-Env': 'prod'},"
             "  'basic_auth': {'username': 'edge-7', 'password_file': '%s'},"
             "  'tls_config': {'ca_file': '%s', 'cert_file': '%s', 'key_file': '%s',"
             "                 'server_name': 'm.example', 'insecure_skip_verify': false},"
             "  'endpoints': ['api', 'metrics'], 'interval': 0.5,"
             "  'external_labels': {'zone': 'b', 'host': 'edge-7'},"
             "  'send_native_histograms': true,"
             "  'queue_config': {'max_bytes': 1048576, 'min_backoff': 0.1, 'max_backoff': 30}},"
             " {'name': 'backup', 'url': 'http://10.0.0.2/write', 'bearer_token_file': '%s'}]}",
             pw, ca, crt, key, pw);
    must_parse(&c, json);
    cr_assert_eq(c.nremotes, 2);
    t = &c.remotes[0];
    cr_assert_str_eq(t->name, "central");
    cr_assert_eq(t->timeout, 2.5);
    cr_assert_eq(t->nheaders, 2);
    cr_assert_str_eq(t->headers[0].name, "X-Scope-OrgID");
    cr_assert_str_eq(t->headers[1].value, "prod");
    cr_assert_str_eq(t->basic_username, "edge-7");
    cr_assert_null(t->basic_password);
    cr_assert_str_eq(t->basic_password_file, pw);
    cr_assert_str_eq(t->ca_file, ca);
    cr_assert_str_eq(t->cert_file, crt);
    cr_assert_str_eq(t->key_file, key);
    cr_assert_str_eq(t->server_name, "m.example");
    cr_assert_eq(t->insecure_skip_verify, 0);
    cr_assert_eq(t->nendpoints, 2);
    cr_assert_str_eq(t->endpoints[0], "api");
    cr_assert_eq(t->interval, 0.5);
    cr_assert_eq(t->nexternal_labels, 2);
    cr_assert_str_eq(t->external_labels[0].name, "host", "sorted by name");
    cr_assert_str_eq(t->external_labels[1].value, "b");
    cr_assert_eq(t->send_native_histograms, 1);
    cr_assert_eq(t->max_bytes, 1048576);
    cr_assert_eq(t->min_backoff, 0.1);
    cr_assert_eq(t->max_backoff, 30);
    cr_assert_str_eq(c.remotes[1].bearer_token_file, pw);
    cfgload_release(&c);
}

struct refusal {
    const char *target; /* the target object's keys, single-quoted */
    const char *path;
    const char *msg;
};

static const struct refusal refusals[] = {
    { "", "$.remote_write[0].url", "missing" },
    { "'url': 'ftp://h/w'", "$.remote_write[0].url", "http:// or https://" },
    { "'url': 'http:///w'", "$.remote_write[0].url", "no host" },
    { "'url': 'http://h/w', 'colour': 1", "$.remote_write[0].colour", "unknown key" },
    { "'url': 'http://h/w', 'remote_timeout': 0", "$.remote_write[0].remote_timeout", "" },
    { "'url': 'http://h/w', 'interval': 0.01", "$.remote_write[0].interval", "" },
    { "'url': 'http://h/w', 'basic_auth': {'password': 'x'}",
      "$.remote_write[0].basic_auth.username", "missing" },
    { "'url': 'http://h/w', 'basic_auth': {'username': 'u'}", "$.remote_write[0].basic_auth",
      "exactly one of" },
    { "'url': 'http://h/w', 'basic_auth': {'username': 'u', 'password': 'p', 'realm': 'r'}",
      "$.remote_write[0].basic_auth.realm", "unknown key" },
    { "'url': 'http://h/w', 'basic_auth': {'username': 'u', 'password_file': '/nonexistent/pw'}",
      "$.remote_write[0].basic_auth.password_file", "cannot read /nonexistent/pw" },
    { "'url': 'http://h/w', 'bearer_token_file': '/nonexistent/t'",
      "$.remote_write[0].bearer_token_file", "cannot read" },
    { "'url': 'http://h/w', 'headers': {'authorization': 'x'}",
      "$.remote_write[0].headers.authorization", "set by ustatsd" },
    { "'url': 'http://h/w', 'headers': {'Bad Name': 'x'}", "$.remote_write[0].headers",
      "not an HTTP header name" },
    { "'url': 'http://h/w', 'headers': {'X-A': 1}", "$.remote_write[0].headers[\"X-A\"]",
      "expected a string" },
    { "'url': 'http://h/w', 'endpoints': ['nowhere']", "$.remote_write[0].endpoints",
      "no endpoint is named \"nowhere\"" },
    { "'url': 'http://h/w', 'endpoints': []", "$.remote_write[0].endpoints", "1 to" },
    { "'url': 'http://h/w', 'endpoints': ['metrics', 'metrics']", "$.remote_write[0].endpoints",
      "twice" },
    { "'url': 'http://h/w', 'external_labels': {'__name__': 'x'}",
      "$.remote_write[0].external_labels.__name__", "Prometheus's own" },
    { "'url': 'http://h/w', 'external_labels': {'a-b': 'x'}", "$.remote_write[0].external_labels",
      "not a label name" },
    { "'url': 'http://h/w', 'external_labels': {'a': ''}", "$.remote_write[0].external_labels.a",
      "non-empty" },
    { "'url': 'http://h/w', 'queue_config': {'min_backoff': 2, 'max_backoff': 1}",
      "$.remote_write[0].queue_config.max_backoff", "below min_backoff" },
    { "'url': 'http://h/w', 'queue_config': {'max_bytes': 10}",
      "$.remote_write[0].queue_config.max_bytes", "" },
    { "'url': 'http://h/w', 'tls_config': {'ca_file': '/nonexistent/ca'}",
      "$.remote_write[0].tls_config.ca_file", "cannot read" },
    /* A device is never read: /dev/zero would never end. */
    { "'url': 'http://h/w', 'tls_config': {'ca_file': '/dev/zero'}",
      "$.remote_write[0].tls_config.ca_file", "not a regular file" },
    { "'url': 'http://h/w', 'name': 'a b'", "$.remote_write[0].name", "only letters" },
};

Test(cfgremote, each_bad_target_is_refused_with_its_path)
{
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        snprintf(json, sizeof json, "{'remote_write': [{%s}]}", refusals[i].target);
        must_refuse(json, refusals[i].path, refusals[i].msg);
    }
}

Test(cfgremote, names_are_unique_and_a_target_has_one_kind_of_credentials)
{
    char *pw;

    snprintf(json, sizeof json,
             "{'remote_write': [{'name': 'a', 'url': 'http://h/w'}, {'name': 'a', 'url': "
             "'http://i/w'}]}");
    must_refuse(json, "$.remote_write[1].name", "target 0's name too");
    cr_assert_not_null(mkdtemp(strcpy(dir, "/tmp/ustatsd-cfgremote-XXXXXX")));
    pw = file_in("t", "tok\n");
    snprintf(json, sizeof json,
             "{'remote_write': [{'url': 'http://h/w', 'bearer_token_file': '%s',"
             " 'basic_auth': {'username': 'u', 'password': 'p'}}]}",
             pw);
    must_refuse(json, "$.remote_write[0]", "exclude each other");
    unlink(pw);
    rmdir(dir);
    snprintf(json, sizeof json, "{'remote_write': [%s]}",
             "{'url': 'http://h/1'}, {'url': 'http://h/2'}, {'url': 'http://h/3'}, "
             "{'url': 'http://h/4'}, {'url': 'http://h/5'}, {'url': 'http://h/6'}, "
             "{'url': 'http://h/7'}, {'url': 'http://h/8'}, {'url': 'http://h/9'}");
    must_refuse(json, "$.remote_write", "at most 8");
}

Test(cfgremote, certificates_and_keys_are_checked_at_load, .init = certs, .fini = no_certs)
{
    char crt[300], key[300], *junk = file_in("junk.pem", "not a certificate\n");

    snprintf(crt, sizeof crt, "%s", tlscerts_path(dir, "client.crt"));
    snprintf(key, sizeof key, "%s", tlscerts_path(dir, "server.key"));
    snprintf(json, sizeof json,
             "{'remote_write': [{'url': 'https://h/w', 'tls_config': {'ca_file': '%s'}}]}", junk);
    must_refuse(json, "$.remote_write[0].tls_config.ca_file", "holds no PEM certificate");
    snprintf(json, sizeof json,
             "{'remote_write': [{'url': 'https://h/w', 'tls_config': {'cert_file': '%s'}}]}", crt);
    must_refuse(json, "$.remote_write[0].tls_config", "key_file is missing");
    snprintf(json, sizeof json,
             "{'remote_write': [{'url': 'https://h/w', 'tls_config': {'cert_file': '%s',"
             " 'key_file': '%s'}}]}",
             crt, key);
    must_refuse(json, "$.remote_write[0].tls_config.key_file", "is not the key of");
    snprintf(json, sizeof json,
             "{'remote_write': [{'url': 'https://h/w', 'tls_config': {'cert_file': '%s',"
             " 'key_file': '%s'}}]}",
             crt, junk);
    must_refuse(json, "$.remote_write[0].tls_config.key_file", "holds no PEM private key");
}

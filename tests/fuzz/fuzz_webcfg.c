/*
 * libFuzzer target for webcfg_parse() on arbitrary bytes: the web config file is not
 * network input, but a reload must never crash the daemon on an operator's mistake.
 * Every input is refused with a message or accepted into a struct webcfg whose promises
 * hold, and webcfg_release() frees all of it (LeakSanitizer checks).
 *
 * Checked on success: users sorted by name, each name non-empty without ':' and each hash
 * of bcrypt's length; TLS enabled only with a certificate and a key, and the versions in
 * order; headers non-empty and free of control bytes. On failure: a non-empty message,
 * also in a tiny buffer, and *w zeroed. stdin is /dev/null, so "/dev/stdin" never blocks.
 * Seeds: tests/fuzz/seeds/fuzz_webcfg/.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "config/webcfg.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_stdin_null();
    return 0;
}

static void check(const struct webcfg *w)
{
    const struct webcfg_tls *t = &w->tls;

    assert(w->path != NULL);
    for (size_t i = 0; i < w->nusers; i++) {
        assert(w->users[i].name[0] != '\0' && strchr(w->users[i].name, ':') == NULL);
        assert(strlen(w->users[i].hash) == 60);
        assert(i == 0 || strcmp(w->users[i - 1].name, w->users[i].name) < 0);
    }
    for (size_t i = 0; i < w->nheaders; i++) {
        assert(w->headers[i].value[0] != '\0');
        for (const unsigned char *p = (const unsigned char *)w->headers[i].value; *p; p++)
            assert(*p >= ' ' || *p == '\t');
    }
    if (t->enabled) {
        assert(t->cert_pem != NULL && t->cert_pem[0] != '\0' && t->cert_origin != NULL);
        assert(t->key_pem != NULL && t->key_pem[0] != '\0' && t->key_origin != NULL);
        assert((t->client_ca_pem == NULL) == (t->client_ca_origin == NULL));
        assert(t->min_version <= t->max_version);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct webcfg w;
    char err[512], tiny[8];

    if (webcfg_parse(&w, (const char *)data, size, "fuzz.yml", err, sizeof(err)) == 0) {
        check(&w);
        webcfg_release(&w);
        return 0;
    }
    assert(err[0] != '\0' && strlen(err) < sizeof(err));
    assert(fuzz_all_zero(&w, sizeof(w)));
    if (webcfg_parse(&w, (const char *)data, size, "fuzz.yml", tiny, sizeof(tiny)) == 0)
        webcfg_release(&w);
    else
        assert(strlen(tiny) < sizeof(tiny));
    return 0;
}

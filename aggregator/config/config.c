#include "config/config.h"

#include <regex.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "base/common.h"
#include "base/errcode.h"
#include "base/netaddr.h"
#include "statsd.h"

#define STR_(x) #x
#define STR(x)  STR_(x)

const char *config_state_file_problem(const char *s)
{
    size_t n = strlen(s);

    if (n == 0)
        return NULL;
    if (s[0] != '/')
        return "must be \"\" (off) or an absolute path";
    if (s[n - 1] == '/')
        return "names a directory; name the file in it, e.g. /var/lib/ustatsd/state";
    return n > CONFIG_STATE_FILE_MAX ? "longer than " STR(CONFIG_STATE_FILE_MAX) " bytes" : NULL;
}

const char *config_http_path_problem(const char *s)
{
    return s == NULL || s[0] != '/' ? "must start with '/'" : NULL;
}

const char *config_udp_problem(const char *listen, int allow_remote)
{
    union netaddr a;

    if (listen == NULL || listen[0] == '\0')
        return NULL;
    if (netaddr_parse(listen, &a) != 0)
        return "expected \"\" (off), \"host:port\" with a numeric IPv4 host or \"localhost\", "
               "or \"[IPv6]:port\" (names are not resolved), port 0 to 65535";
    if (!allow_remote && !netaddr_is_loopback(&a.sa))
        return "not a loopback address (127.0.0.0/8, ::1): UDP lines carry no credentials, so "
               "receiving from other hosts must be asked for with udp_allow_remote: true "
               "(--udp-allow-remote)";
    return NULL;
}

/* A name as sent: '.' and '-' read as '_', the parser's normalisation. */
long config_find_family(const struct config *c, const char *name, size_t len)
{
    char norm[STATSD_MAX_NAME + sizeof("_total")];
    const size_t tl = strlen("_total");

    /* No stored name is longer than STATSD_MAX_NAME, "_total" aside. */
    if (len > sizeof(norm))
        return ERRCODE_UNKNOWN;
    statsd_normalize_name(name, len, norm, sizeof(norm));
    for (size_t i = 0; i < c->nfamilies; i++)
        if (strlen(c->families[i].name) == len && memcmp(c->families[i].name, norm, len) == 0)
            return (long)i;
    /* "x_total" names the counter stored as "x"; a gauge "x_total" matched above. */
    if (len < tl || memcmp(norm + len - tl, "_total", tl) != 0)
        return ERRCODE_UNKNOWN;
    for (size_t i = 0; i < c->nfamilies; i++)
        if (config_takes_total(&c->families[i]) && strlen(c->families[i].name) == len - tl &&
            memcmp(c->families[i].name, norm, len - tl) == 0)
            return (long)i;
    return ERRCODE_UNKNOWN;
}

int config_label_matches(const struct config_label *cl, const char *s, size_t len)
{
    regmatch_t m[1];

    if (cl->pattern_re == NULL)
        return 1;
    return regexec(cl->pattern_re, s, 1, m, 0) == 0 && m[0].rm_so == 0 && (size_t)m[0].rm_eo == len;
}

const char *config_fold_name(enum config_fold f)
{
    static const char *const names[] = { "",
#define CONFIG_FOLD_NAME(id, name) name,
                                         CONFIG_FOLD_MAP(CONFIG_FOLD_NAME)
#undef CONFIG_FOLD_NAME
    };

    return (size_t)f < ARRAY_SIZE(names) ? names[f] : "";
}

int config_fold_applies(const struct config_label *cl, enum config_fold why)
{
    switch (why) {
    case CONFIG_FOLD_NOT_ALLOWED:
        return cl->values != NULL;
    case CONFIG_FOLD_CAP:
        return cl->values == NULL;
    case CONFIG_FOLD_PATTERN:
        return cl->pattern_re != NULL;
    case CONFIG_FOLD_TOO_LONG:
        return 1;
    default:
        return 0;
    }
}

size_t config_file_families(const struct config *c)
{
    size_t n = 0;

    for (size_t i = 0; i < c->nfamilies; i++)
        n += !c->families[i].client_telemetry;
    return n;
}

long config_find_job(const struct config *c, const char *name, size_t len)
{
    for (size_t i = 0; i < c->njobs; i++)
        if (strlen(c->jobs[i].name) == len && memcmp(c->jobs[i].name, name, len) == 0)
            return (long)i;
    return ERRCODE_UNKNOWN;
}

int config_valid_name(const char *s)
{
    if (!(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')) ||
        (s[0] == '_' && s[1] == '_'))
        return 0;
    for (s++; *s; s++)
        if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

const char *config_family_type_name(enum family_type t)
{
    static const char *const names[] = {
#define TYPE_NAME(id, name) [FAMILY_##id] = name,
        CONFIG_FAMILY_TYPE_MAP(TYPE_NAME)
#undef TYPE_NAME
    };

    return (size_t)t < sizeof(names) / sizeof(names[0]) ? names[t] : "unknown";
}

static int same_string(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

int config_judges_alike(const struct config *a, const struct config *b)
{
    return a->judges != NULL && b->judges != NULL && strcmp(a->judges, b->judges) == 0;
}

int config_family_judged_alike(const struct config_family *a, const struct config_family *b)
{
    if (strcmp(a->name, b->name) != 0 || !same_string(a->alias, b->alias) ||
        a->total_in_name != b->total_in_name || a->type != b->type || a->excluded != b->excluded ||
        a->client_telemetry != b->client_telemetry)
        return 0;
    if (a->client_telemetry)
        return 1; /* cfgclient's, from the clients section alone */
    return a->judged != NULL && b->judged != NULL && strcmp(a->judged, b->judged) == 0;
}

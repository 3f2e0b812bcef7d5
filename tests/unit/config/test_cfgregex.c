/*
 * A label's pattern before regcomp() (cfgregex): what unrolls past CFGREGEX_MAX_ATOMS,
 * stacked repetitions and back-references are refused with the key's path; the patterns
 * real configs use, the learn proposal's shapes among them, pass. The pathological ones
 * here would take from a quarter of a gigabyte to all of the machine's memory in regcomp.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "cfgtest.h"
#include "config/cfgload.h"
#include "config/cfgregex.h"
#include "config/config.h"

static int check(const char *p)
{
    char msg[320];

    memset(msg, 'x', sizeof(msg));
    int rc = cfgregex_check(p, strlen(p), msg, sizeof(msg));
    if (rc != 0)
        cr_assert(memchr(msg, '\0', sizeof(msg)) != NULL && msg[0] != 'x', "no message for %s", p);
    return rc;
}

Test(cfgregex, the_patterns_real_configs_use_pass)
{
    static const char *const ok[] = {
        "[0-9]+",
        "[0-9a-f]+",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[0-9]+(\\.[0-9]+)*",
        "[a-z][a-z0-9_]*",
        "[1-5][0-9][0-9]",
        "/|(/([a-z][a-z_-]*|[{][a-z_]+[}])){1,6}",
        "([a-z0-9]{1,63}\\.){1,4}[a-z]{2,24}",
        "[[:alpha:]][[:alnum:]_]{0,62}",
        "[]a]+|[^]b]*",
        "(a|b|c)?x{3}",
        "[a-z]{1,1024}",
        "(a{1,31}){1,32}",
        "\\.+",
        "\\++",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        cr_expect_eq(check(ok[i]), 0, "refused: %s", ok[i]);
}

Test(cfgregex, what_unrolls_past_the_bound_is_refused)
{
    static const char *const bad[] = {
        "[a-z]{1,1025}",
        "(a{1,255}){1,255}",
        "((a{1,100}){1,100}){1,100}",
        "(((a{1,20}){1,20}){1,20}){1,20}",
        "(a{1,33}){1,32}",
        "(ab|cd|ef){1,200}",
        "x{1025}",
        "x{1024,}",
        "(((((((((((a+)+)+)+)+)+)+)+)+)+)+)+",
        "x{99999999999999999999999}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_neq(check(bad[i]), 0, "accepted: %s", bad[i]);
}

Test(cfgregex, stacked_repetitions_and_back_references_are_refused)
{
    static const char *const bad[] = {
        "a++", "[a-z_]++++++++++++++++++", "a*?", ".*+", "a{2}{3}", "a?*", "(a)\\1", "([0-9])x\\9",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_neq(check(bad[i]), 0, "accepted: %s", bad[i]);
}

Test(cfgregex, the_config_names_the_key_and_the_pattern)
{
    char a[] = "{'families': [{'name': 'f', 'type': 'counter', 'labels': "
               "[{'name': 'k', 'max_values': 8, 'pattern': '(a{1,255}){1,255}'}]}]}";
    char b[] = "{'families': [{'name': 'f', 'type': 'counter', 'labels': "
               "[{'name': 'k', 'max_values': 8, 'pattern': '[a-z_]+++'}]}]}";
    char c[] = "{'families': [{'name': 'f', 'type': 'counter', 'labels': "
               "[{'name': 'k', 'max_values': 8, 'pattern': '(x)\\\\1'}]}]}";

    must_refuse(a, "$.families[0].labels[0].pattern",
                "\"(a{1,255}){1,255}\" unrolls to more than 1024 atoms");
    must_refuse(b, "$.families[0].labels[0].pattern", "\"[a-z_]+++\" repeats a repetition");
    must_refuse(c, "$.families[0].labels[0].pattern", "back-reference");
}

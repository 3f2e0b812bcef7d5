/*
 * cfgmerge: a proposal merged into a config file's text adds what the file lacks, changes
 * nothing it declares, and leaves its layout as written.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "cli/cfgmerge.h"
#include "cli/jsonspan.h"
#include "base/errcode.h"

static const char file[] = "{\n"
                           "  \"limits\": {\"max_series\": 1000},\n"
                           "  \"families\": [\n"
                           "    {\n"
                           "      \"name\": \"a_total\",\n"
                           "      \"type\": \"counter\",\n"
                           "      \"help\": \"A.\",\n"
                           "      \"labels\": [\n"
                           "        {\"name\": \"op\", \"values\": [\"get\", \"put\"]},\n"
                           "        {\"name\": \"id\", \"max_values\": 10}\n"
                           "      ]\n"
                           "    },\n"
                           "    {\"name\": \"b\", \"type\": \"gauge\", \"help\": \"B.\"}\n"
                           "  ]\n"
                           "}\n";

static struct cfgmerge_result res;

static void merge_with(const char *text, const char *fragment, int add_labels, int want_rc)
{
    json_error_t jerr;
    json_t *f = json_loads(fragment, 0, &jerr);
    char err[256] = "";

    cr_assert_not_null(f, "fragment: %s", jerr.text);
    cfgmerge_init(&res);
    cr_assert_eq(cfgmerge(text, strlen(text), f, add_labels, &res, err, sizeof err), want_rc, "%s",
                 err);
    json_decref(f);
    if (want_rc == 0) {
        json_t *doc = json_loadb(res.text.ptr, res.text.len, 0, &jerr);

        cr_assert_not_null(doc, "the merged text is not JSON: %s\n%.*s", jerr.text,
                           (int)res.text.len, res.text.ptr);
        json_decref(doc);
    }
}

static void merge(const char *text, const char *fragment, int want_rc)
{
    merge_with(text, fragment, 1, want_rc);
}

static void fini(void)
{
    cfgmerge_release(&res);
}

TestSuite(cfgmerge, .fini = fini);

Test(cfgmerge, a_new_family_is_appended_in_the_files_layout)
{
    merge(file,
          "{\"families\": [{\"name\": \"c_seconds\", \"type\": \"histogram\", \"help\": \"TODO\","
          " \"buckets\": [0.1, 1.0, 2.5], \"labels\": [{\"name\": \"k\", \"values\": [\"x\"]}]}]}",
          0);
    cr_assert_eq(res.families, 1);
    /* Everything before the insertion is the file as it was. */
    const char *at = strstr(file, "\"B.\"}");
    size_t keep = (size_t)(at - file) + 5;

    cr_assert_eq(memcmp(res.text.ptr, file, keep), 0);
    cr_assert(strstr(res.text.ptr, ",\n    {\n      \"name\": \"c_seconds\",\n") != NULL, "%s",
              res.text.ptr);
    cr_assert(strstr(res.text.ptr, "      \"buckets\": [0.1, 1.0, 2.5],\n") != NULL, "%s",
              res.text.ptr);
    cr_assert(strstr(res.text.ptr, "\"values\": [\"x\"]") != NULL, "%s", res.text.ptr);
    /* The end of the file is kept too. */
    cr_assert_str_eq(res.text.ptr + res.text.len - 6, "}\n  ]\n}\n" + 2);
}

Test(cfgmerge, declared_families_gain_labels_and_values_and_lose_nothing)
{
    merge(file,
          "{\"families\": [{\"name\": \"a_total\", \"type\": \"gauge\", \"labels\": ["
          "  {\"name\": \"op\", \"values\": [\"put\", \"delete\"]},"
          "  {\"name\": \"id\", \"values\": [\"1\"]},"
          "  {\"name\": \"zone\", \"values\": [\"eu\"]}]},"
          " {\"name\": \"b\", \"type\": \"gauge\", \"labels\": [{\"name\": \"k\", \"values\": "
          "[\"v\"]}]}]}",
          0);
    cr_assert_eq(res.families, 0);
    cr_assert_eq(res.labels, 2);
    cr_assert_eq(res.values, 1);
    cr_assert(strstr(res.text.ptr, "\"values\": [\"get\", \"put\", \"delete\"]") != NULL, "%s",
              res.text.ptr);
    cr_assert(strstr(res.text.ptr, "{\"name\": \"id\", \"max_values\": 10},\n") != NULL, "%s",
              res.text.ptr);
    cr_assert(strstr(res.text.ptr, "\"type\": \"counter\"") != NULL, "the type was changed");
    cr_assert(strstr(res.notes.ptr, "kept: a_total is declared a counter") != NULL, "%s",
              res.notes.ptr);
    cr_assert(strstr(res.notes.ptr, "kept: a_total label id is not enumerated") != NULL, "%s",
              res.notes.ptr);
    /* b had no labels: it gets the member. */
    cr_assert(strstr(res.text.ptr, "\"help\": \"B.\",\n") != NULL, "%s", res.text.ptr);
}

Test(cfgmerge, what_the_file_has_already_leaves_it_byte_for_byte)
{
    merge(file,
          "{\"families\": [{\"name\": \"a\", \"type\": \"counter\", \"labels\": ["
          "{\"name\": \"op\", \"values\": [\"get\"]}]}]}",
          0);
    cr_assert_eq(res.families + res.labels + res.values, 0);
    cr_assert_eq(res.text.len, strlen(file));
    cr_assert_eq(memcmp(res.text.ptr, file, res.text.len), 0);
}

Test(cfgmerge, a_file_without_families_or_with_an_empty_list_gets_them)
{
    merge("{\"limits\": {}}", "{\"families\": [{\"name\": \"x\", \"type\": \"gauge\"}]}", 0);
    cr_assert_eq(res.families, 1);
    cfgmerge_release(&res);
    merge("{\"families\": []}", "{\"families\": [{\"name\": \"x\", \"type\": \"gauge\"}]}", 0);
    cr_assert_eq(res.families, 1);
}

Test(cfgmerge, bad_input_is_refused_with_a_reason)
{
    merge("[1]", "{\"families\": []}", ERRCODE_FORMAT);
    cfgmerge_release(&res);
    merge("{}", "{\"nope\": 1}", ERRCODE_FORMAT);
}

Test(jsonspan, strings_with_brackets_and_escapes_are_stepped_over)
{
    static const char t[] = " {\"a\": \"x]}\\\"\", \"b\": [1, {\"c\": \"}\"}], \"d\": null} ";
    struct jsonspan root, v;

    cr_assert_eq(jsonspan_root(t, strlen(t), &root), 0);
    cr_assert_eq(root.start, 1);
    cr_assert_eq(root.end, strlen(t) - 1);
    cr_assert_eq(jsonspan_member(t, &root, "b", &v), 1);
    cr_assert_eq(memcmp(t + v.start, "[1, {", 5), 0);
    cr_assert_eq(jsonspan_member(t, &root, "d", &v), 1);
    cr_assert_eq(v.end - v.start, 4);
    cr_assert_eq(jsonspan_member(t, &root, "e", &v), 0);
}

/* Without add_labels, a declared family gains values only: a new label is noted, not added. */
Test(cfgmerge, a_new_label_of_a_declared_family_waits_for_add_labels)
{
    merge_with(file,
               "{\"families\": [{\"name\": \"a_total\", \"type\": \"counter\", \"labels\": ["
               "  {\"name\": \"op\", \"values\": [\"delete\"]},"
               "  {\"name\": \"zone\", \"values\": [\"eu\"]}]}]}",
               0, 0);
    cr_assert_eq(res.labels, 0);
    cr_assert_eq(res.values, 1);
    cr_assert(strstr(res.text.ptr, "zone") == NULL, "%s", res.text.ptr);
    cr_assert(strstr(res.notes.ptr, "not added: a_total label zone") != NULL, "%s", res.notes.ptr);
}

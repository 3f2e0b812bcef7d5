/*
 * Learn mode's round trip, for every seed (packaging/seeds/NNN-name/, with its lines in
 * tests/seeds/NNN-name/lines.txt): the seed's daemon starts from its config with its
 * families removed, takes every line once (each refused as unknown_family, or as a job's
 * as before), and proposes a configuration fragment (GET /debug/learn?format=config).
 * (Its endpoints lose their "groups": a proposal cannot know a family's group.)
 * Each line with tags is also sent with a private value under a new key,
 * `owner:jane.doe@example.com`: the proposal must flag it and leave it out.
 * The fragment loads on its own (--check-config); `ustatsd learn --merge` merges it into
 * the daemon's config file through its listener (a diff printed, the file edited in
 * place), and the daemon reloads it (SIGHUP); a second merge finds nothing to add. Then every line,
 * sent again one at a time, is accepted, except a line that carries a label the proposal
 * flagged (an e-mail address, an id, a path...): it is refused, and the proposal of its
 * family names that label with a reason and an example value.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learnmerge.h"
#include "seeds/seedrun.h"

/*
 * The seed's config without its families, and without what names their groups: an
 * endpoint's "groups" (a proposal cannot know a family's group, so its families would be
 * served by no such endpoint anyway).
 */
static void no_families(json_t *cfg)
{
    json_t *ep;
    size_t i;

    json_object_set_new(cfg, "families", json_array());
    json_array_foreach(json_object_get(cfg, "endpoints"), i, ep) json_object_del(ep, "groups");
}

static double ingest_count(struct seed_run *s, const char *key, const char *reason)
{
    json_t *j, *in;
    double v;

    cr_assert_eq(daemon_wait_read(&s->d, 10000), 0, "%s: the daemon does not read", s->name);
    j = learnmerge_get(&s->d, "/debug?section=ingest");
    in = json_object_get(j, "ingest");
    v = json_number_value(reason ? json_object_get(json_object_get(in, key), reason)
                                 : json_object_get(in, key));
    json_decref(j);
    return v;
}

/* The line's name, normalised as the summary keys an unknown family. */
static void line_family(char *out, size_t size, const char *line, size_t len)
{
    size_t i;

    for (i = 0; i < len && line[i] != ':' && i + 1 < size; i++)
        out[i] = line[i] == '.' || line[i] == '-' ? '_' : line[i];
    out[i] = '\0';
}

/* The proposal's flagged label key of family that the line carries, or NULL. */
static const char *flagged_in(json_t *proposal, const char *family, const char *line, size_t len)
{
    const char *tags = memmem(line, len, "|#", 2);
    json_t *p, *f;
    size_t i, k;

    if (tags == NULL)
        return NULL;
    json_array_foreach(proposal, i, p)
    {
        if (strcmp(json_string_value(json_object_get(p, "family")), family) != 0)
            continue;
        json_array_foreach(json_object_get(p, "flagged"), k, f)
        {
            const char *key = json_string_value(json_object_get(f, "label"));
            char want[128];

            snprintf(want, sizeof(want), "%s:", key);
            if (memmem(tags, (size_t)(line + len - tags), want, strlen(want)) != NULL)
                return key;
        }
    }
    return NULL;
}

/* line with a private value under a new key, into out (size bytes); 0 when it has no tags. */
static int with_owner(char *out, size_t size, const char *line, size_t len)
{
    if (memmem(line, len, "|#", 2) == NULL)
        return 0;
    snprintf(out, size, "%.*s,owner:jane.doe@example.com", (int)len, line);
    return 1;
}

/* Send line, and its variant with an owner. */
static void send_both(struct seed_run *s, const char *line, size_t len, char *variant, size_t size)
{
    cr_assert_eq(daemon_send(&s->d, line, len), 0);
    if (with_owner(variant, size, line, len))
        cr_assert_eq(daemon_send(&s->d, variant, strlen(variant)), 0);
}

/*
 * `ustatsd learn --merge` of the daemon's own config file, through its listener: the
 * change printed as a diff, the file edited in place; then the daemon reloads it. Returns
 * the families the command says it added.
 */
static int merge_and_reload(struct seed_run *s)
{
    const char *args[] = { "learn", "--merge", s->d.config, "--url", s->d.http, NULL };
    char *out = NULL;
    const char *w;
    int rc = daemon_run_once(args, &out), added = 0;
    json_t *j;

    cr_assert_eq(rc, 0, "%s: ustatsd learn --merge failed:\n%s", s->name, out);
    cr_assert(strstr(out, "+++ ") != NULL && strstr(out, "\n+") != NULL, "%s: no diff printed:\n%s",
              s->name, out);
    w = strstr(out, ": written: ");
    cr_assert(w != NULL && sscanf(w, ": written: %d families", &added) == 1, "%s: not written:\n%s",
              s->name, out);
    free(out);
    cr_assert_eq(kill(s->d.pid, SIGHUP), 0);
    cr_assert_eq(
        daemon_wait_value(&s->d, "ustatsd_config_reloads_total{result=\"success\"}", 1, 10000), 1,
        "%s: the merged config was not reloaded:\n%s", s->name, daemon_read_file(s->d.log));
    j = learnmerge_get(&s->d, "/debug?section=daemon");
    cr_assert(json_is_true(json_object_get(json_object_get(json_object_get(j, "daemon"), "reloads"),
                                           "last_successful")));
    json_decref(j);
    return added;
}

/* Merged again: nothing new, and the file is left as it is. */
static void merge_again(struct seed_run *s)
{
    const char *args[] = { "learn", "--merge", s->d.config, "--url", s->d.http, NULL };
    char *before = daemon_read_file(s->d.config), *out = NULL, *after;

    cr_assert_eq(daemon_run_once(args, &out), 0, "%s: %s", s->name, out);
    cr_expect(strstr(out, "nothing to add") != NULL, "%s: merged twice:\n%s", s->name, out);
    after = daemon_read_file(s->d.config);
    cr_expect_str_eq(after, before, "%s: a second merge changed the file", s->name);
    free(out);
    free(before);
    free(after);
}

/* The fragment, loaded on its own by --check-config. */
static void check_alone(struct seed_run *s, json_t *fragment)
{
    char path[256], sock[256], *out = NULL;
    const char *args[] = { "--check-config", path, "--socket", sock, NULL };
    int rc;

    snprintf(path, sizeof(path), "%s/fragment.json", s->d.dir);
    snprintf(sock, sizeof(sock), "%s/check.sock", s->d.dir);
    cr_assert_eq(json_dump_file(fragment, path, JSON_INDENT(2)), 0);
    rc = daemon_run_once(args, &out);
    cr_expect_eq(rc, 0, "%s: the fragment does not load on its own:\n%s", s->name, out);
    free(out);
}

static void round_trip(const char *name)
{
    struct seed_run *s = seed_start_daemon_with(name, no_families);
    char *text = seed_read_file(s, "lines.txt");
    const char *p = text, *line;
    json_t *doc, *proposal, *fragment;
    size_t len;
    int lines = 0, refused = 0, added;

    char variant[8192];

    while ((line = seed_line(&p, &len)) != NULL)
        send_both(s, line, len, variant, sizeof(variant));
    cr_assert_gt(ingest_count(s, "rejected_by_reason", "unknown_family"), 0, "%s", name);
    doc = learnmerge_get(&s->d, "/debug/learn");
    proposal = json_object_get(doc, "proposal");
    fragment = learnmerge_get(&s->d, "/debug/learn?format=config");
    check_alone(s, fragment);
    added = merge_and_reload(s);
    cr_assert_gt(added, 0, "%s: nothing proposed", name);
    merge_again(s);

    for (p = text; (line = seed_line(&p, &len)) != NULL; lines++) {
        double a0 = ingest_count(s, "lines_accepted", NULL), a1;
        char family[256];
        const char *key;

        line_family(family, sizeof(family), line, len);
        cr_assert_eq(daemon_send(&s->d, line, len), 0);
        a1 = ingest_count(s, "lines_accepted", NULL);
        cr_expect_eq(a1, a0 + 1, "%s: `%.*s` is refused after the merge (flagged: %s)", name,
                     (int)len, line, seed_str_or(flagged_in(proposal, family, line, len), "none"));
        if (!with_owner(variant, sizeof(variant), line, len))
            continue;
        cr_assert_eq(daemon_send(&s->d, variant, strlen(variant)), 0);
        cr_expect_eq(ingest_count(s, "lines_accepted", NULL), a1,
                     "%s: `%s` is accepted: its owner label should be refused", name, variant);
        key = flagged_in(proposal, family, variant, strlen(variant));
        cr_expect(key != NULL && strcmp(key, "owner") == 0,
                  "%s: `%s` is refused, and no flagged label of the proposal explains it", name,
                  variant);
        refused++;
    }
    fprintf(stderr,
            "%s: %d families proposed; %d lines again, every one accepted; %d variants with an "
            "e-mail address refused, the label flagged\n",
            name, added, lines, refused);
    cr_expect_gt(refused, 0, "%s: no line with tags", name);
    json_decref(fragment);
    json_decref(doc);
    free(text);
    seed_finish(s);
}

Test(e2e_seed_learn, every_seed_learned_merged_reloaded_and_taken_again, .timeout = 300,
     .fini = seed_cleanup)
{
    seed_each(round_trip);
}

/*
 * learnmerge: the merge of learn mode's configuration fragment (GET
 * /debug/learn?format=config) into a configuration, by the rule docs/exposition.md
 * ("Learn mode", "The configuration fragment") gives, for the end-to-end tests of learn
 * mode: a family the configuration lacks is appended; one it has gains the labels it
 * lacks, and the values of a label both enumerate; nothing declared changes.
 */
#ifndef USTATSD_TESTS_LEARNMERGE_H
#define USTATSD_TESTS_LEARNMERGE_H

#include <jansson.h>

/* Merge fragment's families into cfg (changed in place). Returns the families appended. */
int learnmerge(json_t *cfg, const json_t *fragment);

/* GET path from the daemon at http ("unix:<path>"), as JSON (the caller's); fails the test. */
struct daemon;
json_t *learnmerge_get(struct daemon *d, const char *path);

#endif

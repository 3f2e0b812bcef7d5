/*
 * resattr: OpenTelemetry resource attributes, from the config and from the environment.
 *
 * A domain module: plain string work on arrays of struct config_resource_attr (config.h),
 * which it allocates with mem.h and keeps sorted by key. An attribute key is kept as
 * written ("service.name"); it becomes a label name with '.' and '-' read as '_'
 * (service_name), so two keys that read the same that way are one attribute.
 *
 * The environment is read the way the OpenTelemetry SDKs read it:
 *   OTEL_RESOURCE_ATTRIBUTES  key1=value1,key2=value2  (values percent-decoded, spaces
 *                             around keys and values trimmed, no empty key)
 *   OTEL_SERVICE_NAME         service.name, winning over OTEL_RESOURCE_ATTRIBUTES
 * but strictly: a malformed list is refused as a whole with what is wrong, where the SDKs
 * would log and carry on without it.
 */
#ifndef USTATSD_RESATTR_H
#define USTATSD_RESATTR_H

#include <stddef.h>

#include "config/config.h"

/* NULL when key can name an attribute (at most CONFIG_MAX_RESOURCE_KEY bytes, a valid
 * label name once '.' and '-' read as '_', not starting with "__"), else the problem. */
const char *resattr_key_problem(const char *key);

/*
 * NULL when a value of len bytes can be an attribute's value: non-empty, at most max
 * bytes, valid UTF-8 (a label value must be) without control characters, else the
 * problem.
 */
const char *resattr_value_problem(const char *value, size_t len, size_t max);

/* The label name of a valid key into out (CONFIG_MAX_RESOURCE_KEY + 1 bytes). */
void resattr_label(const char *key, char *out);

/* Index of the attribute whose key reads as the same label as key, or ERRCODE_UNKNOWN. */
long resattr_find(const struct config_resource_attr *v, size_t n, const char *key);

/*
 * Set key to value in *v (n entries): replace the attribute with the same label, or add
 * one, keeping the array sorted by key. The key and value are copied; the key must be
 * valid. Returns 0, or ERRCODE_LIMIT when adding would make more than
 * CONFIG_MAX_RESOURCE_ATTRS.
 */
int resattr_set(struct config_resource_attr **v, size_t *n, const char *key, const char *value);

/* A copy of src[0..n), for a set that will be added to. */
struct config_resource_attr *resattr_copy(const struct config_resource_attr *src, size_t n);

/*
 * Parse the values of OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (either may be NULL
 * or "": unset) and set what they hold in *v, with values at most max bytes. Returns 0,
 * or ERRCODE_CONFIG with a message naming the variable and the problem in err (*v may then hold
 * part of what was read; the caller frees it).
 */
int resattr_from_env(const char *service_name, const char *attrs, size_t max,
                     struct config_resource_attr **v, size_t *n, char *err, size_t errlen);

/* Free the keys, the values and the array. */
void resattr_free(struct config_resource_attr *v, size_t n);

#endif

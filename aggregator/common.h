/*
 * common: the few macros every module may use. No functions, no state.
 */
#ifndef USTATSD_COMMON_H
#define USTATSD_COMMON_H

#include <stddef.h>

/* The struct that embeds member, from a pointer to it (libuv handles, list links). */
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif

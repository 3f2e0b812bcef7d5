/*
 * logname: the names of the log's formats and levels, in the order of log.h's enum
 * log_format and enum log_level, each list ended by NULL: the choices the configuration
 * offers (log_format, log_level), and what log.c parses and prints.
 *
 * A domain module, plain data: the configuration names the choices without the log,
 * which writes and reads the clock.
 */
#ifndef USTATSD_LOGNAME_H
#define USTATSD_LOGNAME_H

#define LOGNAME_NFORMATS 2 /* console, json */
#define LOGNAME_NLEVELS  4 /* debug, info, warn, error */

extern const char *const logname_formats[LOGNAME_NFORMATS + 1];
extern const char *const logname_levels[LOGNAME_NLEVELS + 1];

/*
 * The index of s in names (a NULL-ended list, such as the two above), compared exactly;
 * ERRCODE_UNKNOWN when it is not there.
 */
int logname_find(const char *const *names, const char *s);

#endif

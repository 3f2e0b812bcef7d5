#include "base/logname.h"

#include <string.h>

#include "base/errcode.h"

const char *const logname_formats[LOGNAME_NFORMATS + 1] = { "console", "json", NULL };
const char *const logname_levels[LOGNAME_NLEVELS + 1] = { "debug", "info", "warn", "error", NULL };

int logname_find(const char *const *names, const char *s)
{
    for (int i = 0; names[i] != NULL; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return ERRCODE_UNKNOWN;
}

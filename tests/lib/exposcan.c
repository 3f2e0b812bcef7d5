#include "exposcan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double expo_value(const char *body, const char *series)
{
    size_t n = strlen(series);
    const char *p = body;

    while ((p = strstr(p, series)) != NULL) {
        if ((p == body || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p += n;
    }
    return NAN;
}

double expo_sum(const char *body, const char *name, int *found)
{
    size_t nl = strlen(name);
    const char *p = body;
    double sum = 0;

    *found = 0;
    while (*p) {
        const char *eol = strchr(p, '\n');
        if (eol == NULL)
            eol = p + strlen(p);
        if (strncmp(p, name, nl) == 0 && (p[nl] == ' ' || p[nl] == '{')) {
            const char *v = p + nl;
            if (*v == '{') {
                v = memchr(v, '}', (size_t)(eol - v));
                v = v != NULL ? v + 1 : eol;
            }
            sum += strtod(v, NULL);
            (*found)++;
        }
        p = *eol ? eol + 1 : eol;
    }
    return sum;
}

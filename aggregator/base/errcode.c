#include "base/errcode.h"

#include <string.h>

const char *errcode_name(int code)
{
    switch (code) {
    case 0:
        return "0";
#define ERRCODE__NAME(name, value, msg) \
    case value:                         \
        return "ERRCODE_" #name;
        ERRCODE_MAP(ERRCODE__NAME)
#undef ERRCODE__NAME
    }
    if (code < 0) {
        const char *name = strerrorname_np(-code);

        if (name != NULL)
            return name;
    }
    return "unknown";
}

const char *errcode_str(int code)
{
    switch (code) {
    case 0:
        return "success";
#define ERRCODE__MSG(name, value, msg) \
    case value:                        \
        return msg;
        ERRCODE_MAP(ERRCODE__MSG)
#undef ERRCODE__MSG
    }
    if (code < 0 && strerrordesc_np(-code) != NULL)
        return strerrordesc_np(-code);
    return "unknown error";
}

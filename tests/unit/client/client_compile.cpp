/*
 * client/ustatsd.h compiled as C++11: the same program as client_compile.c, so that both
 * languages run the same checks (the .c is written in the common subset of C99 and C++).
 */
#include "client_compile.c"

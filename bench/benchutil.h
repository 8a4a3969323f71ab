/*
 * benchutil.h — what several bench programs share (libc only, static
 * inline: a program that does not use one gets no code).
 *
 *   parse_count(s, dflt)  a positive count from argv (dflt if s is NULL);
 *                         a bad one exits 2 with a message
 *   now_s()               CLOCK_MONOTONIC in seconds
 */
#ifndef BENCHUTIL_H
#define BENCHUTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline long parse_count(const char *s, long dflt)
{
    if (!s)
        return dflt;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v <= 0) {
        fprintf(stderr, "bad count '%s'\n", s);
        exit(2);
    }
    return v;
}

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif

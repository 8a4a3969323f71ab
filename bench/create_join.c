/*
 * create_join — cost of starting a thread and waiting for it to finish.
 *
 * The main thread does pthread_create + pthread_join of a trivial thread
 * (it just returns its argument) N times, one at a time, with default
 * attributes, and prints the mean time per create+join pair.  The returned
 * value is checked so the thread provably ran.  A short untimed warm-up
 * lets the allocator / stack cache settle first.
 *
 * Natively this is clone() + stack reuse from glibc's cache + a futex wait;
 * under greenshim it should be a coroutine allocation and two switches.
 *
 * usage:  create_join [N]       N create+join pairs, default 100000
 * output: stdout  "result ns_per_op=<ns per create+join> ops=<N>"
 *         stderr  human-readable summary
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"

#define WARMUP 1000L

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *trivial(void *arg)
{
    return arg;
}

/* Create and join one thread; exit on any error or wrong return value. */
static void create_join(long i)
{
    pthread_t t;
    void *ret;
    int rc = pthread_create(&t, NULL, trivial, (void *)(intptr_t)i);
    if (rc) {
        fprintf(stderr, "pthread_create #%ld: %s\n", i, strerror(rc));
        exit(1);
    }
    rc = pthread_join(t, &ret);
    if (rc) {
        fprintf(stderr, "pthread_join #%ld: %s\n", i, strerror(rc));
        exit(1);
    }
    if ((intptr_t)ret != i) {
        fprintf(stderr, "thread #%ld returned %ld\n", i, (long)(intptr_t)ret);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    long n = parse_count(argc > 1 ? argv[1] : NULL, 100000);

    for (long i = 0; i < WARMUP; i++)
        create_join(i);

    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        create_join(i);
    double t1 = now_ns();

    double per = (t1 - t0) / n;
    fprintf(stderr, "create_join: %ld create+join in %.3f s, %.1f ns each\n",
            n, (t1 - t0) / 1e9, per);
    printf("result ns_per_op=%.1f ops=%ld\n", per, n);
    return 0;
}

/*
 * mutex — cost of an uncontended pthread_mutex_lock/unlock pair.
 *
 * The main thread locks and unlocks one default (PTHREAD_MUTEX_NORMAL)
 * mutex N times, adding the loop index to a global counter inside the
 * critical section, and prints the mean time per lock+unlock pair.  The
 * calls cannot be elided: they are calls into another object (libc, or the
 * preloaded shim), and the counter is a global with external linkage that
 * those calls could read, so it must really be loaded and stored inside
 * every critical section.  The final sum is checked.
 *
 * Nobody else ever touches the mutex, so it is uncontended.  By default an
 * idle helper thread exists (blocked on a condition variable) for the whole
 * measurement: a program that uses a mutex normally has threads, and since
 * glibc 2.34 a process that never created a thread takes a non-atomic
 * single-thread fast path in pthread_mutex_lock/unlock.  Pass "solo" as the
 * second argument to measure that single-threaded case instead.
 *
 * usage:  mutex [N] [solo]      N lock+unlock pairs, default 50000000
 * output: stdout  "result ns_per_op=<ns per pair> ops=<N> threads=<1|2>"
 *         stderr  human-readable summary
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"

/* Shared with nobody, but visible to the outside world: see header. */
pthread_mutex_t bench_mutex = PTHREAD_MUTEX_INITIALIZER;
unsigned long bench_counter;

/* The idle helper thread parks here until main is done. */
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;
static int idle_done;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *idle_thread(void *arg)
{
    pthread_mutex_lock(&idle_lock);
    while (!idle_done)
        pthread_cond_wait(&idle_cond, &idle_lock);
    pthread_mutex_unlock(&idle_lock);
    return NULL;
}

static void lock_unlock_loop(long n)
{
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&bench_mutex);
        bench_counter += (unsigned long)i;
        pthread_mutex_unlock(&bench_mutex);
    }
}

int main(int argc, char **argv)
{
    long n = parse_count(argc > 1 ? argv[1] : NULL, 50000000);
    int solo = argc > 2 && strcmp(argv[2], "solo") == 0;

    pthread_t helper;
    if (!solo) {
        int rc = pthread_create(&helper, NULL, idle_thread, NULL);
        if (rc) {
            fprintf(stderr, "pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }

    lock_unlock_loop(n / 100 + 1);      /* warm-up, untimed */
    bench_counter = 0;

    double t0 = now_ns();
    lock_unlock_loop(n);
    double t1 = now_ns();

    unsigned long expect = (unsigned long)n * (unsigned long)(n - 1) / 2;
    if (bench_counter != expect) {
        fprintf(stderr, "mutex: counter %lu, expected %lu\n", bench_counter, expect);
        return 1;
    }

    if (!solo) {
        pthread_mutex_lock(&idle_lock);
        idle_done = 1;
        pthread_cond_signal(&idle_cond);
        pthread_mutex_unlock(&idle_lock);
        pthread_join(helper, NULL);
    }

    double per = (t1 - t0) / n;
    fprintf(stderr, "mutex (%s): %ld lock+unlock pairs in %.3f s, %.2f ns per pair\n",
            solo ? "single-threaded process" : "idle helper thread present",
            n, (t1 - t0) / 1e9, per);
    printf("result ns_per_op=%.2f ops=%ld threads=%d\n", per, n, solo ? 1 : 2);
    return 0;
}

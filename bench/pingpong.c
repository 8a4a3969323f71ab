/*
 * pingpong — cost of one thread-to-thread hand-off round trip.
 *
 * Two threads, A (main) and B, share one mutex, two condition variables
 * (one per thread to wake) and a turn flag.  A round trip is: A hands the
 * turn to B (sets the flag, signals B's condvar, waits on its own), B takes
 * it and hands it straight back, A wakes up holding it again.
 *
 * After a short warm-up (so thread start-up is not measured), A times N
 * round trips with CLOCK_MONOTONIC and prints the mean.  Natively every
 * hand-off is a futex wake/wait between two OS threads; under greenshim it
 * should be a coroutine switch on one OS thread.
 *
 * usage:  pingpong [N]          N round trips, default 200000
 * output: stdout  "result ns_per_op=<ns per round trip> ops=<N>"
 *         stderr  human-readable summary
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"

#define WARMUP 1000L

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake[2] = { PTHREAD_COND_INITIALIZER,
                                  PTHREAD_COND_INITIALIZER };
static int turn;                /* whose turn it is: 0 = A, 1 = B */
static long total_rounds;       /* WARMUP + N */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* B: wait for the turn, hand it straight back; total_rounds times. */
static void *player_b(void *arg)
{
    pthread_mutex_lock(&lock);
    for (long i = 0; i < total_rounds; i++) {
        while (turn != 1)
            pthread_cond_wait(&wake[1], &lock);
        turn = 0;
        pthread_cond_signal(&wake[0]);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(int argc, char **argv)
{
    long n = parse_count(argc > 1 ? argv[1] : NULL, 200000);
    total_rounds = WARMUP + n;

    pthread_t b;
    int rc = pthread_create(&b, NULL, player_b, NULL);
    if (rc) {
        fprintf(stderr, "pthread_create: %s\n", strerror(rc));
        return 1;
    }

    /* A: each iteration is one round trip; A holds the turn at its top. */
    double t0 = 0;
    pthread_mutex_lock(&lock);
    for (long i = 0; i < total_rounds; i++) {
        if (i == WARMUP)
            t0 = now_ns();
        turn = 1;
        pthread_cond_signal(&wake[1]);
        while (turn != 0)
            pthread_cond_wait(&wake[0], &lock);
    }
    double t1 = now_ns();
    pthread_mutex_unlock(&lock);

    pthread_join(b, NULL);

    double per = (t1 - t0) / n;
    fprintf(stderr, "pingpong: %ld round trips in %.3f s, %.1f ns per round trip\n",
            n, (t1 - t0) / 1e9, per);
    printf("result ns_per_op=%.1f ops=%ld\n", per, n);
    return 0;
}

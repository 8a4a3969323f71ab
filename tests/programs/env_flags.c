/*
 * env_flags — what GREENSHIM_TIME / GREENSHIM_THREAD switched on or off.
 *
 * Used only under the preload (SHIM_ONLY and STDERR_CONTAINS entries of
 * the runner, which give the environment and the expected output).
 * Prints two lines:
 *   "sleep lets other threads run: yes|no"
 *       thread A reads a counter, nanosleeps 200 ms, reads it again;
 *       thread B keeps incrementing it (usleep(1 ms) + sched_yield per
 *       step) until A is done.  Natively, with real threads, or with green
 *       threads and the time subsystem on, B runs during A's sleep: "yes".
 *       With green threads and GREENSHIM_TIME=0 A's nanosleep blocks the
 *       only OS thread: "no".
 *   "os threads while 2 run: N"
 *       the Threads: line of /proc/self/status while A and B are alive:
 *       1 when threads are green, 3 when they are real.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

static int counter, a_done, ran_during;

static void *a_sleeps(void *arg)
{
	int before = __atomic_load_n(&counter, __ATOMIC_SEQ_CST);
	struct timespec ts = { 0, 200000000L };
	nanosleep(&ts, NULL);
	ran_during = __atomic_load_n(&counter, __ATOMIC_SEQ_CST) > before;
	__atomic_store_n(&a_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void *b_counts(void *arg)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!__atomic_load_n(&a_done, __ATOMIC_SEQ_CST)) {
		__atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);
		usleep(1000);
		sched_yield();
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 3) {
			fprintf(stderr, "env_flags: A never finished\n");
			exit(1);
		}
	}
	return NULL;
}

int main(void)
{
	pthread_t a, b;
	if (pthread_create(&a, NULL, a_sleeps, NULL) || pthread_create(&b, NULL, b_counts, NULL)) {
		fprintf(stderr, "pthread_create failed\n");
		return 1;
	}
	long n = status_threads();
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("sleep lets other threads run: %s\n", ran_during ? "yes" : "no");
	printf("os threads while 2 run: %ld\n", n);
	return 0;
}

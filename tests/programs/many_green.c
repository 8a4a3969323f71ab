/*
 * many_green — 100,000 threads at once (greenshim only).
 *
 * Natively impossible here (pid_max is 32768), so the runner runs this
 * only under the preload and expects exactly:
 *   count 100000
 *   threads 1
 * Each thread (default attributes) nanosleeps 1 s, then locks a shared
 * mutex and increments a counter.  "threads" is the Threads: line of
 * /proc/self/status read right after the last pthread_create, while all
 * of them sleep.  A failed pthread_create is reported on stderr and ends
 * the program with status 1.  Takes a little over 1 s when green.
 *
 * Guard: if after the first 100 threads /proc/self/status already shows
 * more than one OS thread, threads are not green (no shim, or a broken
 * one); the program then stops at once with status 1 instead of eating
 * the system-wide pid space (pid_max is shared with everything else on
 * the machine).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "testutil.h"

#define N 100000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *sleeper(void *arg)
{
	struct timespec one = { 1, 0 };
	nanosleep(&one, NULL);
	pthread_mutex_lock(&lock);
	counter++;
	pthread_mutex_unlock(&lock);
	return NULL;
}

int main(void)
{
	static pthread_t t[N];
	for (int i = 0; i < N; i++) {
		int e = pthread_create(&t[i], NULL, sleeper, NULL);
		if (e != 0) {
			fprintf(stderr, "pthread_create #%d: %s\n", i, strerror(e));
			return 1;
		}
		if (i == 99 && status_threads() > 1) {
			fprintf(stderr, "many_green: threads are real OS threads (Threads: %ld), "
					"not creating %d of them\n",
				status_threads(), N);
			return 1;
		}
	}
	long threads = status_threads();
	for (int i = 0; i < N; i++) {
		int e = pthread_join(t[i], NULL);
		if (e != 0) {
			fprintf(stderr, "pthread_join #%d: %s\n", i, strerror(e));
			return 1;
		}
	}
	printf("count %ld\nthreads %ld\n", counter, threads);
	return 0;
}

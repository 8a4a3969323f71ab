/*
 * thread_count — how many OS threads back four running threads.
 *
 * main starts four threads that wait on a barrier and reads "Threads:"
 * from /proc/self/status while they are all alive.  Natively (and with
 * GREENSHIM_THREAD=0) that is 5; under greenshim with thread greening on
 * it must be 1.  The program knows which case it is in from LD_PRELOAD and
 * GREENSHIM_THREAD and prints the same line either way, so the runner's
 * byte comparison checks both: green threads are really green, and with
 * GREENSHIM_THREAD=0 threads are really real.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

static pthread_barrier_t start, stop;

static void *worker(void *arg)
{
	pthread_barrier_wait(&start);
	pthread_barrier_wait(&stop);
	return NULL;
}

static int green(void)
{
	const char *pre = getenv("LD_PRELOAD"), *thr = getenv("GREENSHIM_THREAD");
	return pre && strstr(pre, "greenshim") && !(thr && strcmp(thr, "0") == 0);
}

int main(void)
{
	pthread_t t[4];
	pthread_barrier_init(&start, NULL, 5);
	pthread_barrier_init(&stop, NULL, 5);
	for (int i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
	pthread_barrier_wait(&start); /* all four are running now */
	long n = status_threads();
	pthread_barrier_wait(&stop);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	long want = green() ? 1 : 5;
	printf("thread count %s\n", n == want ? "ok" : "WRONG");
	if (n != want)
		fprintf(stderr, "Threads: %ld, expected %ld (%s)\n", n, want,
			green() ? "green" : "native threads");
	return 0;
}

/*
 * thread_join_badtime — timed joins given an invalid tv_nsec.
 *
 * glibc 2.36 does NOT return EINVAL here.  pthread_timedjoin_np and
 * pthread_clockjoin_np only check the clock id; the timespec goes to the
 * futex wait, the kernel says EINVAL, and the join loop (which only stops
 * for ETIMEDOUT/EOVERFLOW) simply retries, spinning until the thread
 * exits — then the join succeeds with 0 and the value.  On a thread that
 * has already finished no wait happens, so it is 0 at once.  This file
 * pins that down, separately from thread_join_np.c, because it is glibc's
 * accident rather than a documented contract: if greenshim decides to
 * answer EINVAL instead, this is the test to drop (and say so).
 *
 * The threads live 150 ms, so the native busy wait is short.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

static void *naps(void *arg)
{
	usleep(150000);
	return arg;
}

static void *quick(void *arg) { return arg; }

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	static const struct {
		long nsec;
		const char *what;
	} bad[] = { { 1000000000L, "tv_nsec=1e9" }, { -1, "tv_nsec=-1" } };

	for (unsigned i = 0; i < 2; i++) {
		struct timespec at = { time(NULL) + 1, bad[i].nsec };
		pthread_t t;
		void *rv = NULL;

		must(pthread_create(&t, NULL, naps, (void *)(intptr_t)(10 + i)), "create");
		int r = pthread_timedjoin_np(t, &rv, &at);
		printf("timedjoin(running, %s) = %s, value %ld\n", bad[i].what, en(r),
		       (long)(intptr_t)rv);

		must(pthread_create(&t, NULL, naps, (void *)(intptr_t)(20 + i)), "create");
		rv = NULL;
		r = pthread_clockjoin_np(t, &rv, CLOCK_MONOTONIC, &at);
		printf("clockjoin(running, MONOTONIC, %s) = %s, value %ld\n", bad[i].what, en(r),
		       (long)(intptr_t)rv);

		must(pthread_create(&t, NULL, quick, (void *)(intptr_t)(30 + i)), "create");
		usleep(50000);
		rv = NULL;
		r = pthread_timedjoin_np(t, &rv, &at);
		printf("timedjoin(finished, %s) = %s, value %ld\n", bad[i].what, en(r),
		       (long)(intptr_t)rv);

		/* The clock is still checked first. */
		must(pthread_create(&t, NULL, quick, NULL), "create");
		r = pthread_clockjoin_np(t, &rv, CLOCK_PROCESS_CPUTIME_ID, &at);
		printf("clockjoin(bad clock, %s) = %s\n", bad[i].what, en(r));
		must(pthread_join(t, NULL), "join");
	}
	return 0;
}

/*
 * thread_join_np — pthread_tryjoin_np, pthread_timedjoin_np,
 * pthread_clockjoin_np.
 *
 * Against a thread that is blocked until main releases it:
 *   tryjoin                         EBUSY
 *   timedjoin  now+50ms (REALTIME)  ETIMEDOUT, at/after the deadline
 *   timedjoin  past / tv_sec < 0    ETIMEDOUT at once
 *   clockjoin  MONOTONIC, REALTIME  ETIMEDOUT, at/after the deadline
 *   clockjoin  bad clock            EINVAL (checked before anything else)
 * and a failed attempt does not consume the thread: after release a
 * timedjoin with a 2 s deadline returns 0 and the thread's value.
 * tryjoin on a finished thread returns 0 and the value (polled: natively
 * the tid is cleared by the kernel a moment after the thread returns).
 * A detached running thread: tryjoin EBUSY (glibc checks "still running"
 * before "detached"), timedjoin/clockjoin EINVAL.
 * Invalid tv_nsec is in thread_join_badtime.c.
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

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int released;

static void *held(void *arg)
{
	pthread_mutex_lock(&mu);
	while (!released)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return arg;
}

static void release(void)
{
	pthread_mutex_lock(&mu);
	released = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void *quick(void *arg) { return arg; }

/* A timed join that must time out: returns the error, prints timing. */
static void timed(pthread_t t, const char *what, clockid_t c, int clockjoin, long long rel)
{
	long long dl = now_ns(c) + rel;
	struct timespec at = ts_of(dl);
	void *rv = (void *)1;
	long long t0 = now_ns(CLOCK_MONOTONIC);
	int r = clockjoin ? pthread_clockjoin_np(t, &rv, c, &at) : pthread_timedjoin_np(t, &rv, &at);
	long long took = now_ns(CLOCK_MONOTONIC) - t0;
	printf("%s = %s, reached deadline %s, not late %s, retval untouched %s\n", what, en(r),
	       yesno(now_ns(c) >= dl), yesno(took < rel + 1500 * MS), yesno(rv == (void *)1));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_t t;
	void *rv = NULL;
	must(pthread_create(&t, NULL, held, (void *)77), "create");

	errno = 4242;
	printf("tryjoin(running) = %s\n", en(pthread_tryjoin_np(t, &rv)));
	timed(t, "timedjoin(+50ms)", CLOCK_REALTIME, 0, 50 * MS);
	timed(t, "timedjoin(-1s)", CLOCK_REALTIME, 0, -1000 * MS);
	timed(t, "clockjoin(MONOTONIC, +50ms)", CLOCK_MONOTONIC, 1, 50 * MS);
	timed(t, "clockjoin(REALTIME, +50ms)", CLOCK_REALTIME, 1, 50 * MS);
	timed(t, "clockjoin(MONOTONIC, -1s)", CLOCK_MONOTONIC, 1, -1000 * MS);

	struct timespec neg = { -1, 0 };
	long long t0 = now_ns(CLOCK_MONOTONIC);
	printf("timedjoin(tv_sec=-1) = %s", en(pthread_timedjoin_np(t, &rv, &neg)));
	printf(", clockjoin(MONOTONIC, tv_sec=-1) = %s",
	       en(pthread_clockjoin_np(t, &rv, CLOCK_MONOTONIC, &neg)));
	printf(", quick %s\n", yesno(now_ns(CLOCK_MONOTONIC) - t0 < 500 * MS));

	struct timespec soon = ts_of(now_ns(CLOCK_REALTIME) + 50 * MS);
	static const struct {
		clockid_t c;
		const char *name;
	} bad[] = { { CLOCK_PROCESS_CPUTIME_ID, "PROCESS_CPUTIME_ID" },
		    { CLOCK_THREAD_CPUTIME_ID, "THREAD_CPUTIME_ID" },
		    { CLOCK_BOOTTIME, "BOOTTIME" },
		    { CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW" },
		    { 12345, "12345" } };
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
		printf("clockjoin(clock %s) = %s\n", bad[i].name,
		       en(pthread_clockjoin_np(t, &rv, bad[i].c, &soon)));
	printf("errno kept: %s\n", yesno(errno == 4242));

	/* The failed joins left it joinable. */
	release();
	struct timespec later = ts_of(now_ns(CLOCK_REALTIME) + 2000 * MS);
	rv = NULL;
	int r = pthread_timedjoin_np(t, &rv, &later);
	printf("timedjoin after release = %s, value %ld\n", en(r), (long)(intptr_t)rv);

	/* clockjoin that succeeds */
	must(pthread_create(&t, NULL, quick, (void *)5), "create");
	later = ts_of(now_ns(CLOCK_MONOTONIC) + 2000 * MS);
	r = pthread_clockjoin_np(t, &rv, CLOCK_MONOTONIC, &later);
	printf("clockjoin(MONOTONIC) of a quick thread = %s, value %ld\n", en(r), (long)(intptr_t)rv);

	/* tryjoin of a finished thread */
	must(pthread_create(&t, NULL, quick, (void *)9), "create");
	rv = NULL;
	int busy = 0;
	for (int i = 0; i < 2000; i++) {
		r = pthread_tryjoin_np(t, &rv);
		if (r != EBUSY)
			break;
		busy++;
		usleep(1000);
	}
	printf("tryjoin(finished) = %s, value %ld\n", en(r), (long)(intptr_t)rv);

	/* detached and running */
	released = 0;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	must(pthread_create(&t, &a, held, NULL), "create detached");
	later = ts_of(now_ns(CLOCK_REALTIME) + 2000 * MS);
	printf("detached: tryjoin = %s", en(pthread_tryjoin_np(t, &rv)));
	printf(", timedjoin = %s", en(pthread_timedjoin_np(t, &rv, &later)));
	printf(", clockjoin = %s\n", en(pthread_clockjoin_np(t, &rv, CLOCK_REALTIME, &later)));
	release();
	usleep(10000);
	return 0;
}

/*
 * mutex_timed — pthread_mutex_timedlock and pthread_mutex_clocklock.
 *
 * For normal, errorcheck and recursive mutexes:
 *  held by another thread:
 *    timedlock past deadline / +50 ms / tv_sec < 0   ETIMEDOUT (at or after
 *                                                    the deadline)
 *    timedlock tv_nsec 1e9 or -1                     EINVAL
 *    clocklock MONOTONIC / REALTIME +50 ms           ETIMEDOUT
 *    clocklock BOOTTIME, CPU-time clock, 12345       EINVAL
 *  free:
 *    timedlock past deadline                         0 (it just takes it)
 *    timedlock tv_nsec 1e9                           0 — glibc only looks
 *                                                    at the timespec when
 *                                                    it has to wait
 *    clocklock bad clock                             EINVAL even so (the
 *                                                    clock is checked first)
 *  held by the caller:
 *    normal: timedlock +50 ms ETIMEDOUT (a self-deadlock that times out),
 *    errorcheck EDEADLK, recursive 0 (count goes up) — both even with a
 *    bad tv_nsec, as the owner check comes first
 *  and a timedlock with a 2 s deadline gets the mutex when the holder
 *  unlocks after 50 ms.  errno is never touched.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

/* ---- a thread that holds a mutex until told to let go ------------------ */

static pthread_mutex_t ctl = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ctl_cv = PTHREAD_COND_INITIALIZER;
static int holding, let_go;
static long hold_ms; /* 0: until let_go, else this long */

static void *holder(void *arg)
{
	pthread_mutex_t *m = arg;
	if (pthread_mutex_lock(m) != 0) {
		fprintf(stderr, "holder: lock failed\n");
		exit(1);
	}
	pthread_mutex_lock(&ctl);
	holding = 1;
	pthread_cond_broadcast(&ctl_cv);
	if (hold_ms) {
		pthread_mutex_unlock(&ctl);
		usleep(hold_ms * 1000);
	} else {
		while (!let_go)
			pthread_cond_wait(&ctl_cv, &ctl);
		pthread_mutex_unlock(&ctl);
	}
	pthread_mutex_unlock(m);
	return NULL;
}

static pthread_t start_holder(pthread_mutex_t *m, long ms)
{
	pthread_t t;
	holding = let_go = 0;
	hold_ms = ms;
	if (pthread_create(&t, NULL, holder, m) != 0) {
		fprintf(stderr, "pthread_create failed\n");
		exit(1);
	}
	pthread_mutex_lock(&ctl);
	while (!holding)
		pthread_cond_wait(&ctl_cv, &ctl);
	pthread_mutex_unlock(&ctl);
	return t;
}

static void stop_holder(pthread_t t)
{
	pthread_mutex_lock(&ctl);
	let_go = 1;
	pthread_cond_broadcast(&ctl_cv);
	pthread_mutex_unlock(&ctl);
	pthread_join(t, NULL);
}

/* A lock attempt that should time out: result and timing. */
static void timeout_try(pthread_mutex_t *m, const char *what, int clocklock, clockid_t c,
			long long rel)
{
	long long dl = now_ns(c) + rel;
	struct timespec at = ts_of(dl);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	int r = clocklock ? pthread_mutex_clocklock(m, c, &at) : pthread_mutex_timedlock(m, &at);
	long long took = now_ns(CLOCK_MONOTONIC) - t0;
	printf("  %s = %s, reached deadline %s, not late %s\n", what, en(r), yesno(now_ns(c) >= dl),
	       yesno(took < (rel > 0 ? rel : 0) + 1500 * MS));
	if (r == 0)
		pthread_mutex_unlock(m);
}

static void exercise(const char *label, pthread_mutex_t *m, int type)
{
	printf("-- %s\n", label);
	errno = 4242;

	printf(" held by another thread:\n");
	pthread_t t = start_holder(m, 0);
	timeout_try(m, "timedlock(past)", 0, CLOCK_REALTIME, -1000 * MS);
	timeout_try(m, "timedlock(+50ms)", 0, CLOCK_REALTIME, 50 * MS);
	timeout_try(m, "clocklock(MONOTONIC, +50ms)", 1, CLOCK_MONOTONIC, 50 * MS);
	timeout_try(m, "clocklock(REALTIME, +50ms)", 1, CLOCK_REALTIME, 50 * MS);
	timeout_try(m, "clocklock(MONOTONIC, past)", 1, CLOCK_MONOTONIC, -1000 * MS);
	struct timespec neg = { -1, 0 }, big = { time(NULL) + 1, 1000000000L },
			minus = { time(NULL) + 1, -1 };
	long long t0 = now_ns(CLOCK_MONOTONIC);
	printf("  timedlock(tv_sec=-1) = %s", en(pthread_mutex_timedlock(m, &neg)));
	printf(", timedlock(tv_nsec=1e9) = %s", en(pthread_mutex_timedlock(m, &big)));
	printf(", timedlock(tv_nsec=-1) = %s", en(pthread_mutex_timedlock(m, &minus)));
	printf(", clocklock(MONOTONIC, tv_nsec=1e9) = %s",
	       en(pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &big)));
	printf(", quick %s\n", yesno(now_ns(CLOCK_MONOTONIC) - t0 < 500 * MS));
	struct timespec soon = ts_of(now_ns(CLOCK_REALTIME) + 50 * MS);
	printf("  clocklock(BOOTTIME) = %s", en(pthread_mutex_clocklock(m, CLOCK_BOOTTIME, &soon)));
	printf(", clocklock(PROCESS_CPUTIME_ID) = %s",
	       en(pthread_mutex_clocklock(m, CLOCK_PROCESS_CPUTIME_ID, &soon)));
	printf(", clocklock(12345) = %s\n", en(pthread_mutex_clocklock(m, 12345, &soon)));
	stop_holder(t);

	printf(" free:\n");
	struct timespec past = ts_of(now_ns(CLOCK_REALTIME) - 1000 * MS);
	int r = pthread_mutex_timedlock(m, &past);
	printf("  timedlock(past) = %s", en(r));
	if (r == 0)
		pthread_mutex_unlock(m);
	r = pthread_mutex_timedlock(m, &big);
	printf(", timedlock(tv_nsec=1e9) = %s", en(r));
	if (r == 0)
		pthread_mutex_unlock(m);
	r = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &minus);
	printf(", clocklock(MONOTONIC, tv_nsec=-1) = %s", en(r));
	if (r == 0)
		pthread_mutex_unlock(m);
	r = pthread_mutex_clocklock(m, CLOCK_PROCESS_CPUTIME_ID, &past);
	printf(", clocklock(PROCESS_CPUTIME_ID) = %s\n", en(r));
	if (r == 0)
		pthread_mutex_unlock(m);

	printf(" held by the caller:\n");
	pthread_mutex_lock(m);
	if (type == PTHREAD_MUTEX_NORMAL)
		timeout_try(m, "timedlock(+50ms)", 0, CLOCK_REALTIME, 50 * MS);
	else {
		struct timespec later = ts_of(now_ns(CLOCK_REALTIME) + 50 * MS);
		r = pthread_mutex_timedlock(m, &later);
		printf("  timedlock = %s", en(r));
		if (r == 0)
			pthread_mutex_unlock(m);
		later = ts_of(now_ns(CLOCK_MONOTONIC) + 50 * MS);
		r = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &later);
		printf(", clocklock = %s", en(r));
		if (r == 0)
			pthread_mutex_unlock(m);
		r = pthread_mutex_timedlock(m, &big);
		printf(", timedlock(tv_nsec=1e9) = %s\n", en(r));
		if (r == 0)
			pthread_mutex_unlock(m);
	}
	pthread_mutex_unlock(m);

	printf(" released while waiting:\n");
	t = start_holder(m, 50);
	struct timespec later = ts_of(now_ns(CLOCK_REALTIME) + 2000 * MS);
	t0 = now_ns(CLOCK_MONOTONIC);
	r = pthread_mutex_timedlock(m, &later);
	printf("  timedlock(+2s) = %s, waited for the holder %s\n", en(r),
	       yesno(now_ns(CLOCK_MONOTONIC) - t0 >= 30 * MS));
	if (r == 0)
		pthread_mutex_unlock(m);
	pthread_join(t, NULL);
	t = start_holder(m, 50);
	later = ts_of(now_ns(CLOCK_MONOTONIC) + 2000 * MS);
	r = pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &later);
	printf("  clocklock(MONOTONIC, +2s) = %s\n", en(r));
	if (r == 0)
		pthread_mutex_unlock(m);
	pthread_join(t, NULL);
	printf(" errno kept: %s\n", yesno(errno == 4242));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	static pthread_mutex_t s_normal = PTHREAD_MUTEX_INITIALIZER;
	static pthread_mutex_t s_err = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
	static pthread_mutex_t s_rec = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
	exercise("PTHREAD_MUTEX_INITIALIZER", &s_normal, PTHREAD_MUTEX_NORMAL);
	exercise("PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP", &s_err, PTHREAD_MUTEX_ERRORCHECK);
	exercise("PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP", &s_rec, PTHREAD_MUTEX_RECURSIVE);

	pthread_mutexattr_t a;
	pthread_mutex_t m;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&m, &a);
	exercise("attr ERRORCHECK", &m, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_destroy(&m);
	pthread_mutexattr_destroy(&a);
	return 0;
}

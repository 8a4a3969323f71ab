/*
 * time_sleep — the sleep family's return values, errno and durations.
 *
 * sleep, usleep, nanosleep and clock_nanosleep (relative and TIMER_ABSTIME
 * on CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_TAI): they
 * return 0, sleep at least as long as asked (measured on CLOCK_MONOTONIC,
 * printed only as "yes"/"no" against generous bounds), an absolute sleep
 * ends at or after its deadline on its own clock, and a deadline in the
 * past returns at once.  Errors: EINVAL for tv_nsec < 0, tv_nsec >= 1e9
 * and tv_sec < 0 (nanosleep: -1/errno; clock_nanosleep: the error number
 * is returned and errno is left alone); bad clocks (CPU-time clocks, an
 * invalid number, a clock with no sleep support).  errno is untouched on
 * success.  sleep(0), usleep(0), zero timespecs.  usleep of >= 1 s works
 * (glibc turns it into a timespec; it is not EINVAL).
 *
 * Runs in about 2.5 s.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

static long long now_ns_checked(clockid_t c)
{
	struct timespec t;
	if (clock_gettime(c, &t) != 0) {
		perror("clock_gettime");
		exit(1);
	}
	return ns_of(&t);
}

/* A sleep of want ns took between want and want + slack (1.5 s). */
static const char *took(long long t0, long long want)
{
	long long d = now_ns_checked(CLOCK_MONOTONIC) - t0;
	return yesno(d >= want && d < want + 1500 * MS);
}

static const char *quick(long long t0)
{
	return yesno(now_ns_checked(CLOCK_MONOTONIC) - t0 < 500 * MS);
}

static const struct {
	clockid_t id;
	const char *name;
} clocks[] = {
	{ CLOCK_REALTIME, "REALTIME" },
	{ CLOCK_MONOTONIC, "MONOTONIC" },
	{ CLOCK_BOOTTIME, "BOOTTIME" },
	{ CLOCK_TAI, "TAI" },
};

static void test_zero(void)
{
	long long t0 = now_ns_checked(CLOCK_MONOTONIC);
	errno = 4242;
	unsigned u = sleep(0);
	printf("sleep(0) = %u errno kept %s\n", u, yesno(errno == 4242));
	int r = usleep(0);
	printf("usleep(0) = %d errno kept %s\n", r, yesno(errno == 4242));
	struct timespec z = { 0, 0 }, rem = { 7, 7 };
	r = nanosleep(&z, &rem);
	printf("nanosleep(0) = %d errno kept %s\n", r, yesno(errno == 4242));
	for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
		r = clock_nanosleep(clocks[i].id, 0, &z, NULL);
		printf("clock_nanosleep(%s, 0s) = %s\n", clocks[i].name, en(r));
	}
	printf("zero sleeps quick: %s\n", quick(t0));
}

static void test_durations(void)
{
	long long t0 = now_ns_checked(CLOCK_MONOTONIC);
	errno = 4242;
	unsigned u = sleep(1);
	printf("sleep(1) = %u, took >= 1s: %s, errno kept %s\n", u, took(t0, 1000 * MS),
	       yesno(errno == 4242));

	t0 = now_ns_checked(CLOCK_MONOTONIC);
	int r = usleep(100000);
	printf("usleep(100000) = %d, took >= 100ms: %s, errno kept %s\n", r,
	       took(t0, 100 * MS), yesno(errno == 4242));

	/* glibc accepts usleep >= 1,000,000 (it is not EINVAL on Linux). */
	t0 = now_ns_checked(CLOCK_MONOTONIC);
	r = usleep(1000050);
	printf("usleep(1000050) = %d, took >= 1.00005s: %s\n", r, took(t0, 1000050000LL));

	struct timespec ts = { 0, 100 * MS }, rem = { 7, 7 };
	t0 = now_ns_checked(CLOCK_MONOTONIC);
	r = nanosleep(&ts, &rem);
	printf("nanosleep(100ms) = %d, took >= 100ms: %s, errno kept %s\n", r,
	       took(t0, 100 * MS), yesno(errno == 4242));

	for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
		struct timespec d = { 0, 50 * MS };
		t0 = now_ns_checked(CLOCK_MONOTONIC);
		r = clock_nanosleep(clocks[i].id, 0, &d, NULL);
		printf("clock_nanosleep(%s, rel 50ms) = %s, took >= 50ms: %s\n", clocks[i].name,
		       en(r), took(t0, 50 * MS));
	}
	printf("errno kept after successful sleeps: %s\n", yesno(errno == 4242));
}

static void test_absolute(void)
{
	for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
		clockid_t c = clocks[i].id;
		long long dl = now_ns_checked(c) + 60 * MS;
		struct timespec at = { dl / 1000000000LL, dl % 1000000000LL };
		long long t0 = now_ns_checked(CLOCK_MONOTONIC);
		int r = clock_nanosleep(c, TIMER_ABSTIME, &at, NULL);
		long long after = now_ns_checked(c);
		printf("clock_nanosleep(%s, abs +60ms) = %s, reached deadline: %s, "
		       "not late: %s\n",
		       clocks[i].name, en(r), yesno(after >= dl),
		       yesno(now_ns_checked(CLOCK_MONOTONIC) - t0 < 1500 * MS));

		/* A deadline in the past (1 s ago, and the epoch) returns at once. */
		long long past = now_ns_checked(c) - 1000 * MS;
		struct timespec p = { past / 1000000000LL, past % 1000000000LL };
		struct timespec epoch = { 0, 0 };
		t0 = now_ns_checked(CLOCK_MONOTONIC);
		r = clock_nanosleep(c, TIMER_ABSTIME, &p, NULL);
		int r2 = clock_nanosleep(c, TIMER_ABSTIME, &epoch, NULL);
		printf("clock_nanosleep(%s, abs past) = %s, abs 0 = %s, quick: %s\n",
		       clocks[i].name, en(r), en(r2), quick(t0));
	}
}

static void test_invalid(void)
{
	static const struct {
		struct timespec ts;
		const char *what;
	} bad[] = {
		{ { 0, -1 }, "tv_nsec=-1" },
		{ { 0, 1000000000L }, "tv_nsec=1e9" },
		{ { 1, 1000000000L }, "tv_sec=1,tv_nsec=1e9" },
		{ { -1, 0 }, "tv_sec=-1" },
		{ { -1, 500 }, "tv_sec=-1,tv_nsec=500" },
	};
	long long t0 = now_ns_checked(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct timespec rem = { 7, 7 };
		errno = 4242;
		int r = nanosleep(&bad[i].ts, &rem);
		int e = errno;
		printf("nanosleep(%s) = %d errno %s, rem untouched: %s\n", bad[i].what, r,
		       en(e), yesno(rem.tv_sec == 7 && rem.tv_nsec == 7));
		for (unsigned c = 0; c < sizeof clocks / sizeof clocks[0]; c++) {
			errno = 4242;
			int r1 = clock_nanosleep(clocks[c].id, 0, &bad[i].ts, &rem);
			int e1 = errno;
			errno = 4242;
			int r2 = clock_nanosleep(clocks[c].id, TIMER_ABSTIME, &bad[i].ts, NULL);
			int e2 = errno;
			printf("clock_nanosleep(%s, %s): rel = %s, abs = %s, errno kept: %s\n",
			       clocks[c].name, bad[i].what, en(r1), en(r2),
			       yesno(e1 == 4242 && e2 == 4242));
		}
	}
	printf("invalid sleeps quick: %s\n", quick(t0));
}

static void test_bad_clock(void)
{
	static const struct {
		clockid_t id;
		const char *name;
	} bad[] = {
		{ CLOCK_THREAD_CPUTIME_ID, "THREAD_CPUTIME_ID" },
		{ CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW" },
		{ CLOCK_REALTIME_COARSE, "REALTIME_COARSE" },
		{ CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE" },
		{ 12345, "12345" },
		{ 1000, "1000" },
	};
	long long t0 = now_ns_checked(CLOCK_MONOTONIC);
	struct timespec d = { 0, 10 * MS };
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 4242;
		int r1 = clock_nanosleep(bad[i].id, 0, &d, NULL);
		int e1 = errno;
		errno = 4242;
		struct timespec at = { 0, 0 };
		int r2 = clock_nanosleep(bad[i].id, TIMER_ABSTIME, &at, NULL);
		int e2 = errno;
		printf("clock_nanosleep(clock %s): rel = %s, abs = %s, errno kept: %s\n",
		       bad[i].name, en(r1), en(r2), yesno(e1 == 4242 && e2 == 4242));
	}
	printf("bad clocks quick: %s\n", quick(t0));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_zero();
	test_invalid();
	test_bad_clock();
	test_absolute();
	test_durations();
	return 0;
}

/*
 * cond_timed — pthread_cond_timedwait and pthread_cond_clockwait.
 *
 * With an errorcheck mutex (so "unlock returns 0" proves the waiter holds
 * it again):
 *  default condvar (CLOCK_REALTIME):
 *    timedwait +50 ms / past / tv_sec < 0   ETIMEDOUT, REALTIME reached the
 *                                            deadline, mutex held after
 *    timedwait tv_nsec 1e9 / -1              EINVAL, mutex still held
 *  condattr_setclock(CLOCK_MONOTONIC) (getclock round trip; setclock with
 *  other clocks EINVAL):
 *    timedwait +50 ms on MONOTONIC           ETIMEDOUT at/after the deadline
 *  clockwait on either kind of condvar:
 *    MONOTONIC / REALTIME +50 ms             ETIMEDOUT at/after the deadline
 *    BOOTTIME, a CPU-time clock, 12345       EINVAL
 *    tv_nsec 1e9                             EINVAL
 *  a timedwait/clockwait signalled after 30 ms returns 0 before its 2 s
 *  deadline.  No call touches errno (checked per call).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

static pthread_mutex_t m;

/* One wait that should time out at rel from now on clock c. */
static void expect_timeout(pthread_cond_t *cv, const char *what, int clockwait, clockid_t c,
			   long long rel)
{
	long long dl = now_ns(c) + rel;
	struct timespec at = ts_of(dl);
	pthread_mutex_lock(&m);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	errno = 4242;
	int r = clockwait ? pthread_cond_clockwait(cv, &m, c, &at) : pthread_cond_timedwait(cv, &m, &at);
	int kept = errno == 4242;
	long long took = now_ns(CLOCK_MONOTONIC) - t0;
	int reached = now_ns(c) >= dl;
	int held = pthread_mutex_unlock(&m) == 0;
	printf("%s = %s, reached deadline %s, not late %s, mutex held %s, errno kept %s\n", what,
	       en(r), yesno(reached), yesno(took < (rel > 0 ? rel : 0) + 1500 * MS), yesno(held),
	       yesno(kept));
}

/* One wait that should fail at once. */
static void expect_error(pthread_cond_t *cv, const char *what, int clockwait, clockid_t c,
			 struct timespec at)
{
	pthread_mutex_lock(&m);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	errno = 4242;
	int r = clockwait ? pthread_cond_clockwait(cv, &m, c, &at) : pthread_cond_timedwait(cv, &m, &at);
	int kept = errno == 4242;
	int quick = now_ns(CLOCK_MONOTONIC) - t0 < 500 * MS;
	int held = pthread_mutex_unlock(&m) == 0;
	printf("%s = %s, quick %s, mutex held %s, errno kept %s\n", what, en(r), yesno(quick),
	       yesno(held), yesno(kept));
}

static pthread_cond_t *sig_cv;
static int flag;

static void *signal_later(void *arg)
{
	usleep(30000);
	pthread_mutex_lock(&m);
	flag = 1;
	pthread_cond_signal(sig_cv);
	pthread_mutex_unlock(&m);
	return NULL;
}

static void signalled(pthread_cond_t *cv, const char *what, int clockwait, clockid_t c)
{
	pthread_t t;
	sig_cv = cv;
	flag = 0;
	pthread_mutex_lock(&m);
	if (pthread_create(&t, NULL, signal_later, NULL) != 0) {
		fprintf(stderr, "pthread_create failed\n");
		exit(1);
	}
	struct timespec at = ts_of(now_ns(c) + 2000 * MS);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	int r = 0;
	errno = 4242;
	while (!flag && r == 0)
		r = clockwait ? pthread_cond_clockwait(cv, &m, c, &at)
			      : pthread_cond_timedwait(cv, &m, &at);
	int kept = errno == 4242;
	long long took = now_ns(CLOCK_MONOTONIC) - t0;
	int held = pthread_mutex_unlock(&m) == 0;
	pthread_join(t, NULL);
	printf("%s signalled after 30ms = %s, before the deadline %s, mutex held %s, errno kept %s\n",
	       what, en(r), yesno(took < 1500 * MS), yesno(held), yesno(kept));
}

static void bad_args(pthread_cond_t *cv, const char *kind)
{
	struct timespec big = { time(NULL) + 1, 1000000000L }, minus = { time(NULL) + 1, -1 };
	char what[128];
	snprintf(what, sizeof what, "%s timedwait(tv_nsec=1e9)", kind);
	expect_error(cv, what, 0, 0, big);
	snprintf(what, sizeof what, "%s timedwait(tv_nsec=-1)", kind);
	expect_error(cv, what, 0, 0, minus);
	snprintf(what, sizeof what, "%s timedwait(tv_sec=-1)", kind);
	expect_error(cv, what, 0, 0, (struct timespec){ -1, 0 });
	snprintf(what, sizeof what, "%s clockwait(MONOTONIC, tv_nsec=1e9)", kind);
	expect_error(cv, what, 1, CLOCK_MONOTONIC, big);
	snprintf(what, sizeof what, "%s clockwait(MONOTONIC, tv_sec=-1)", kind);
	expect_error(cv, what, 1, CLOCK_MONOTONIC, (struct timespec){ -1, 0 });
	struct timespec soon = ts_of(now_ns(CLOCK_MONOTONIC) + 50 * MS);
	static const struct {
		clockid_t c;
		const char *name;
	} bad[] = { { CLOCK_BOOTTIME, "BOOTTIME" },
		    { CLOCK_PROCESS_CPUTIME_ID, "PROCESS_CPUTIME_ID" },
		    { CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW" },
		    { 12345, "12345" } };
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(what, sizeof what, "%s clockwait(%s)", kind, bad[i].name);
		expect_error(cv, what, 1, bad[i].c, soon);
	}
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&m, &ma);

	printf("-- default condvar\n");
	pthread_cond_t rt = PTHREAD_COND_INITIALIZER;
	expect_timeout(&rt, "timedwait(+50ms)", 0, CLOCK_REALTIME, 50 * MS);
	expect_timeout(&rt, "timedwait(past)", 0, CLOCK_REALTIME, -1000 * MS);
	expect_timeout(&rt, "clockwait(MONOTONIC, +50ms)", 1, CLOCK_MONOTONIC, 50 * MS);
	expect_timeout(&rt, "clockwait(REALTIME, +50ms)", 1, CLOCK_REALTIME, 50 * MS);
	bad_args(&rt, "default");
	signalled(&rt, "timedwait", 0, CLOCK_REALTIME);
	signalled(&rt, "clockwait(MONOTONIC)", 1, CLOCK_MONOTONIC);

	printf("-- condattr\n");
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	clockid_t c = -1;
	pthread_condattr_getclock(&ca, &c);
	printf("default clock REALTIME %s\n", yesno(c == CLOCK_REALTIME));
	printf("setclock(PROCESS_CPUTIME_ID) = %s, setclock(BOOTTIME) = %s, setclock(12345) = %s\n",
	       en(pthread_condattr_setclock(&ca, CLOCK_PROCESS_CPUTIME_ID)),
	       en(pthread_condattr_setclock(&ca, CLOCK_BOOTTIME)),
	       en(pthread_condattr_setclock(&ca, 12345)));
	printf("setclock(MONOTONIC) = %s", en(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)));
	pthread_condattr_getclock(&ca, &c);
	printf(", getclock MONOTONIC %s\n", yesno(c == CLOCK_MONOTONIC));

	printf("-- CLOCK_MONOTONIC condvar\n");
	pthread_cond_t mono;
	pthread_cond_init(&mono, &ca);
	expect_timeout(&mono, "timedwait(+50ms MONOTONIC)", 0, CLOCK_MONOTONIC, 50 * MS);
	expect_timeout(&mono, "timedwait(past MONOTONIC)", 0, CLOCK_MONOTONIC, -1000 * MS);
	expect_timeout(&mono, "clockwait(REALTIME, +50ms)", 1, CLOCK_REALTIME, 50 * MS);
	expect_timeout(&mono, "clockwait(MONOTONIC, +50ms)", 1, CLOCK_MONOTONIC, 50 * MS);
	bad_args(&mono, "monotonic");
	signalled(&mono, "timedwait", 0, CLOCK_MONOTONIC);
	signalled(&mono, "clockwait(REALTIME)", 1, CLOCK_REALTIME);

	errno = 4242;
	printf("destroy = %s", en(pthread_cond_destroy(&mono)));
	printf(" %s\n", en(pthread_cond_destroy(&rt)));
	printf("errno kept by destroy: %s\n", yesno(errno == 4242));
	return 0;
}

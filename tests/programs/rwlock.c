/*
 * rwlock — reader/writer locks.
 *
 * - many readers at once: 5 threads take the read lock, each counts itself
 *   in and sleeps 20 ms, then waits (up to 2 s) until all 5 are inside at
 *   the same time; the maximum seen is printed;
 * - writer exclusion: while another thread holds the write lock,
 *   tryrdlock/trywrlock EBUSY, timedrdlock/timedwrlock (+50 ms, past)
 *   ETIMEDOUT at/after the deadline, clockrdlock/clockwrlock on
 *   MONOTONIC and REALTIME ETIMEDOUT; bad clock EINVAL; tv_nsec 1e9 EINVAL;
 * - while another thread holds a read lock: tryrdlock 0, trywrlock EBUSY,
 *   timedwrlock ETIMEDOUT; a writer waiting with a 2 s deadline gets the
 *   lock when the reader leaves;
 * - held by the caller: with the write lock, rdlock/wrlock and their timed
 *   and clock variants are EDEADLK, tryrdlock/trywrlock EBUSY (glibc
 *   detects this); with a read lock, another rdlock is 0 (recursive read)
 *   and timedwrlock is ETIMEDOUT (glibc does not detect that one);
 * - on a free lock, a timed lock with tv_nsec 1e9 is EINVAL (unlike
 *   mutexes, glibc's rwlock checks the timespec before trying) and a bad
 *   clock is EINVAL;
 * - consistency: 2 writers x 300 updates of two fields and 3 readers that
 *   check the fields are equal, with yields inside both critical sections;
 * - static PTHREAD_RWLOCK_INITIALIZER, destroy.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;

/* ---- concurrent readers ------------------------------------------------- */

#define READERS 5
static int in_now, in_max;
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;

static void *reader(void *arg)
{
	int all = 0;
	if (pthread_rwlock_rdlock(&rw) != 0)
		return (void *)-1L;
	pthread_mutex_lock(&cm);
	if (++in_now > in_max)
		in_max = in_now;
	pthread_mutex_unlock(&cm);
	usleep(20000);
	for (int i = 0; i < 2000 && !all; i++) {
		pthread_mutex_lock(&cm);
		all = in_max == READERS;
		pthread_mutex_unlock(&cm);
		if (!all)
			usleep(1000);
	}
	pthread_mutex_lock(&cm);
	in_now--;
	pthread_mutex_unlock(&cm);
	pthread_rwlock_unlock(&rw);
	return (void *)(long)all;
}

/* ---- a thread holding the lock until told ------------------------------ */

static pthread_mutex_t ctl = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ctl_cv = PTHREAD_COND_INITIALIZER;
static int holding, let_go;
static long hold_ms;

static void *holder(void *arg)
{
	int write = (int)(long)arg;
	if ((write ? pthread_rwlock_wrlock(&rw) : pthread_rwlock_rdlock(&rw)) != 0) {
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
	pthread_rwlock_unlock(&rw);
	return NULL;
}

static pthread_t start_holder(int write, long ms)
{
	pthread_t t;
	holding = let_go = 0;
	hold_ms = ms;
	must(pthread_create(&t, NULL, holder, (void *)(long)write), "create");
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
	must(pthread_join(t, NULL), "join");
}

/* kind: 0 timedrdlock, 1 timedwrlock, 2 clockrdlock, 3 clockwrlock */
static int timed(int kind, clockid_t c, const struct timespec *at)
{
	switch (kind) {
	case 0:
		return pthread_rwlock_timedrdlock(&rw, at);
	case 1:
		return pthread_rwlock_timedwrlock(&rw, at);
	case 2:
		return pthread_rwlock_clockrdlock(&rw, c, at);
	default:
		return pthread_rwlock_clockwrlock(&rw, c, at);
	}
}

static const char *kind_name[] = { "timedrdlock", "timedwrlock", "clockrdlock", "clockwrlock" };

static void expect_timeout(int kind, clockid_t c, const char *cname, long long rel)
{
	long long dl = now_ns(c) + rel;
	struct timespec at = ts_of(dl);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	int r = timed(kind, c, &at);
	long long took = now_ns(CLOCK_MONOTONIC) - t0;
	printf("  %s(%s, %+lldms) = %s, reached deadline %s, not late %s\n", kind_name[kind], cname,
	       rel / MS, en(r), yesno(now_ns(c) >= dl), yesno(took < (rel > 0 ? rel : 0) + 1500 * MS));
	if (r == 0)
		pthread_rwlock_unlock(&rw);
}

/* bad clocks and bad timespecs, all four kinds */
static void bad_args(void)
{
	struct timespec big = { time(NULL) + 1, 1000000000L };
	struct timespec soon = ts_of(now_ns(CLOCK_REALTIME) + 50 * MS);
	for (int k = 0; k < 4; k++) {
		int r1 = timed(k, CLOCK_MONOTONIC, &big);
		if (r1 == 0)
			pthread_rwlock_unlock(&rw);
		printf("  %s(tv_nsec=1e9) = %s", kind_name[k], en(r1));
		if (k >= 2) {
			int r2 = timed(k, CLOCK_BOOTTIME, &soon);
			if (r2 == 0)
				pthread_rwlock_unlock(&rw);
			int r3 = timed(k, CLOCK_PROCESS_CPUTIME_ID, &soon);
			if (r3 == 0)
				pthread_rwlock_unlock(&rw);
			int r4 = timed(k, 12345, &soon);
			if (r4 == 0)
				pthread_rwlock_unlock(&rw);
			printf(", BOOTTIME = %s, PROCESS_CPUTIME_ID = %s, clock 12345 = %s", en(r2),
			       en(r3), en(r4));
		}
		printf("\n");
	}
}

static void all_timeouts(void)
{
	for (int k = 0; k < 4; k++) {
		if (k < 2) {
			expect_timeout(k, CLOCK_REALTIME, "REALTIME", 50 * MS);
			expect_timeout(k, CLOCK_REALTIME, "REALTIME", -1000 * MS);
		} else {
			expect_timeout(k, CLOCK_MONOTONIC, "MONOTONIC", 50 * MS);
			expect_timeout(k, CLOCK_REALTIME, "REALTIME", 50 * MS);
			expect_timeout(k, CLOCK_MONOTONIC, "MONOTONIC", -1000 * MS);
		}
	}
}

/* ---- consistency under writers ----------------------------------------- */

static volatile long field_a, field_b;
static long torn, reads;

static void *writer_loop(void *arg)
{
	for (int i = 0; i < 300; i++) {
		pthread_rwlock_wrlock(&rw);
		field_a++;
		if (i % 8 == 0)
			sched_yield();
		field_b++;
		pthread_rwlock_unlock(&rw);
		if (i % 4 == 0)
			sched_yield();
	}
	return NULL;
}

static void *reader_loop(void *arg)
{
	for (int i = 0; i < 300; i++) {
		pthread_rwlock_rdlock(&rw);
		long a = field_a;
		if (i % 8 == 0)
			sched_yield();
		if (field_b != a)
			__atomic_fetch_add(&torn, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&reads, 1, __ATOMIC_RELAXED);
		pthread_rwlock_unlock(&rw);
		if (i % 4 == 0)
			sched_yield();
	}
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	errno = 4242;

	/* concurrent readers */
	pthread_t t[READERS];
	for (int i = 0; i < READERS; i++)
		must(pthread_create(&t[i], NULL, reader, NULL), "create");
	int saw_all = 0;
	for (int i = 0; i < READERS; i++) {
		void *rv;
		must(pthread_join(t[i], &rv), "join");
		saw_all += (long)rv == 1;
	}
	printf("readers inside together: max %d, each saw all %d\n", in_max, saw_all);

	printf("-- write-held by another thread\n");
	pthread_t h = start_holder(1, 0);
	printf("  tryrdlock = %s, trywrlock = %s\n", en(pthread_rwlock_tryrdlock(&rw)),
	       en(pthread_rwlock_trywrlock(&rw)));
	all_timeouts();
	bad_args();
	stop_holder(h);

	printf("-- read-held by another thread\n");
	h = start_holder(0, 0);
	int r = pthread_rwlock_tryrdlock(&rw);
	printf("  tryrdlock = %s", en(r));
	if (r == 0)
		pthread_rwlock_unlock(&rw);
	printf(", trywrlock = %s\n", en(pthread_rwlock_trywrlock(&rw)));
	struct timespec past = ts_of(now_ns(CLOCK_REALTIME) - 1000 * MS);
	r = pthread_rwlock_timedrdlock(&rw, &past);
	printf("  timedrdlock(past) = %s\n", en(r));
	if (r == 0)
		pthread_rwlock_unlock(&rw);
	expect_timeout(1, CLOCK_REALTIME, "REALTIME", 50 * MS);
	expect_timeout(3, CLOCK_MONOTONIC, "MONOTONIC", 50 * MS);
	stop_holder(h);

	printf("-- a writer waits for a reader that leaves after 50ms\n");
	h = start_holder(0, 50);
	struct timespec later = ts_of(now_ns(CLOCK_REALTIME) + 2000 * MS);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	r = pthread_rwlock_timedwrlock(&rw, &later);
	printf("  timedwrlock(+2s) = %s, waited %s\n", en(r),
	       yesno(now_ns(CLOCK_MONOTONIC) - t0 >= 30 * MS));
	if (r == 0)
		pthread_rwlock_unlock(&rw);
	must(pthread_join(h, NULL), "join");
	h = start_holder(1, 50);
	later = ts_of(now_ns(CLOCK_MONOTONIC) + 2000 * MS);
	r = pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &later);
	printf("  a reader waits for a writer: clockrdlock(+2s) = %s\n", en(r));
	if (r == 0)
		pthread_rwlock_unlock(&rw);
	must(pthread_join(h, NULL), "join");

	printf("-- write-held by the caller\n");
	must(pthread_rwlock_wrlock(&rw), "wrlock");
	later = ts_of(now_ns(CLOCK_REALTIME) + 50 * MS);
	struct timespec mlater = ts_of(now_ns(CLOCK_MONOTONIC) + 50 * MS);
	printf("  rdlock = %s, wrlock = %s, tryrdlock = %s, trywrlock = %s\n",
	       en(pthread_rwlock_rdlock(&rw)), en(pthread_rwlock_wrlock(&rw)),
	       en(pthread_rwlock_tryrdlock(&rw)), en(pthread_rwlock_trywrlock(&rw)));
	printf("  timedrdlock = %s, timedwrlock = %s, clockrdlock = %s, clockwrlock = %s\n",
	       en(pthread_rwlock_timedrdlock(&rw, &later)), en(pthread_rwlock_timedwrlock(&rw, &later)),
	       en(pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &mlater)),
	       en(pthread_rwlock_clockwrlock(&rw, CLOCK_MONOTONIC, &mlater)));
	printf("  unlock = %s\n", en(pthread_rwlock_unlock(&rw)));

	printf("-- read-held by the caller\n");
	must(pthread_rwlock_rdlock(&rw), "rdlock");
	printf("  rdlock again = %s, tryrdlock = %s, trywrlock = %s\n", en(pthread_rwlock_rdlock(&rw)),
	       en(pthread_rwlock_tryrdlock(&rw)), en(pthread_rwlock_trywrlock(&rw)));
	expect_timeout(1, CLOCK_REALTIME, "REALTIME", 50 * MS);
	printf("  unlock x3 = %s %s %s\n", en(pthread_rwlock_unlock(&rw)),
	       en(pthread_rwlock_unlock(&rw)), en(pthread_rwlock_unlock(&rw)));
	r = pthread_rwlock_trywrlock(&rw);
	printf("  then trywrlock = %s\n", en(r));
	if (r == 0)
		pthread_rwlock_unlock(&rw);

	printf("-- free\n");
	bad_args();

	/* consistency */
	pthread_t w[2], rd[3];
	for (int i = 0; i < 2; i++)
		must(pthread_create(&w[i], NULL, writer_loop, NULL), "create");
	for (int i = 0; i < 3; i++)
		must(pthread_create(&rd[i], NULL, reader_loop, NULL), "create");
	for (int i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(rd[i], NULL);
	printf("writers: a %ld, b %ld; readers: %ld reads, %ld torn\n", field_a, field_b, reads, torn);

	pthread_rwlock_t dyn;
	r = pthread_rwlock_init(&dyn, NULL);
	printf("init = %s", en(r));
	printf(", destroy = %s", en(pthread_rwlock_destroy(&dyn)));
	printf(", destroy static = %s\n", en(pthread_rwlock_destroy(&rw)));
	printf("errno kept: %s\n", yesno(errno == 4242));
	return torn ? 1 : 0;
}

/*
 * sem — POSIX unnamed semaphores.
 *
 * - init/getvalue/post/trywait: trywait on 0 is -1/EAGAIN; getvalue
 *   follows posts and waits; init with SEM_VALUE_MAX is fine and one more
 *   is -1/EINVAL; post past SEM_VALUE_MAX is -1/EOVERFLOW;
 * - sem_timedwait on 0: +50 ms and past deadlines -1/ETIMEDOUT at/after the
 *   deadline, tv_sec < 0 ETIMEDOUT; tv_nsec 1e9 or -1 is -1/EINVAL — even
 *   when the value is positive (glibc checks the timespec first, unlike
 *   mutexes), and the value is left alone;
 * - sem_clockwait: MONOTONIC and REALTIME time out; bad clock -1/EINVAL;
 * - successful sem_timedwait/sem_clockwait on a positive value;
 * - a post from another thread wakes a waiter blocked in sem_wait, and
 *   one blocked in sem_timedwait (2 s deadline) well before its deadline;
 * - producer/consumer with two counting semaphores and a ring buffer
 *   (2 producers, 2 consumers, 1,000 items): exact count and sum;
 * - errno is untouched by successful calls.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

/* "r errno E" for a syscall-style result */
static const char *res(int r, int e)
{
	static char buf[4][64];
	static int k;
	k = (k + 1) % 4;
	if (r == 0)
		snprintf(buf[k], sizeof buf[k], "0");
	else
		snprintf(buf[k], sizeof buf[k], "%d errno %s", r, en(e));
	return buf[k];
}

static int value(sem_t *s)
{
	int v = -99;
	sem_getvalue(s, &v);
	return v;
}

static void expect_timeout(sem_t *s, const char *what, int clockwait, clockid_t c, long long rel)
{
	long long dl = now_ns(c) + rel;
	struct timespec at = ts_of(dl);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	errno = 0;
	int r = clockwait ? sem_clockwait(s, c, &at) : sem_timedwait(s, &at);
	int e = errno;
	long long took = now_ns(CLOCK_MONOTONIC) - t0;
	printf("%s = %s, reached deadline %s, not late %s\n", what, res(r, e), yesno(now_ns(c) >= dl),
	       yesno(took < (rel > 0 ? rel : 0) + 1500 * MS));
}

/* ---- wake-ups from another thread ------------------------------------- */

static sem_t wake;
static int posted;

static void *post_later(void *arg)
{
	usleep(50000);
	__atomic_store_n(&posted, 1, __ATOMIC_SEQ_CST);
	sem_post(&wake);
	return NULL;
}

/* ---- producer / consumer ------------------------------------------------ */

#define SLOTS 8
#define PER_PRODUCER 500
static sem_t free_slots, full_slots;
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static long ring[SLOTS];
static int put_at, take_at;

static void *producer(void *arg)
{
	long base = (long)arg * 100000;
	for (int i = 1; i <= PER_PRODUCER; i++) {
		while (sem_wait(&free_slots) != 0)
			;
		pthread_mutex_lock(&ring_lock);
		ring[put_at] = base + i;
		put_at = (put_at + 1) % SLOTS;
		pthread_mutex_unlock(&ring_lock);
		sem_post(&full_slots);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	long sum = 0;
	for (int i = 0; i < PER_PRODUCER; i++) {
		while (sem_wait(&full_slots) != 0)
			;
		pthread_mutex_lock(&ring_lock);
		sum += ring[take_at];
		take_at = (take_at + 1) % SLOTS;
		pthread_mutex_unlock(&ring_lock);
		sem_post(&free_slots);
	}
	return (void *)sum;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	sem_t s;
	int r, e;

	printf("-- basics\n");
	errno = 4242;
	r = sem_init(&s, 0, 0);
	printf("init(0) = %s, value %d\n", res(r, errno), value(&s));
	r = sem_post(&s);
	printf("post = %s", res(r, errno));
	r = sem_post(&s);
	printf(", post = %s, value %d\n", res(r, errno), value(&s));
	r = sem_trywait(&s);
	printf("trywait = %s", res(r, errno));
	r = sem_wait(&s);
	printf(", wait = %s, value %d\n", res(r, errno), value(&s));
	printf("errno kept by successful calls: %s\n", yesno(errno == 4242));
	r = sem_trywait(&s);
	e = errno;
	printf("trywait on 0 = %s\n", res(r, e));

	printf("-- timed waits on 0\n");
	expect_timeout(&s, "timedwait(+50ms)", 0, CLOCK_REALTIME, 50 * MS);
	expect_timeout(&s, "timedwait(past)", 0, CLOCK_REALTIME, -1000 * MS);
	expect_timeout(&s, "clockwait(MONOTONIC, +50ms)", 1, CLOCK_MONOTONIC, 50 * MS);
	expect_timeout(&s, "clockwait(REALTIME, +50ms)", 1, CLOCK_REALTIME, 50 * MS);
	struct timespec neg = { -1, 0 }, big = { time(NULL) + 1, 1000000000L },
			minus = { time(NULL) + 1, -1 };
	r = sem_timedwait(&s, &neg);
	e = errno;
	printf("timedwait(tv_sec=-1) = %s", res(r, e));
	r = sem_timedwait(&s, &big);
	e = errno;
	printf(", timedwait(tv_nsec=1e9) = %s", res(r, e));
	r = sem_timedwait(&s, &minus);
	e = errno;
	printf(", timedwait(tv_nsec=-1) = %s\n", res(r, e));
	struct timespec soon = ts_of(now_ns(CLOCK_MONOTONIC) + 50 * MS);
	static const struct {
		clockid_t c;
		const char *name;
	} bad[] = { { CLOCK_BOOTTIME, "BOOTTIME" },
		    { CLOCK_PROCESS_CPUTIME_ID, "PROCESS_CPUTIME_ID" },
		    { 12345, "12345" } };
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = sem_clockwait(&s, bad[i].c, &soon);
		e = errno;
		printf("clockwait(%s) = %s\n", bad[i].name, res(r, e));
	}
	r = sem_clockwait(&s, CLOCK_MONOTONIC, &big);
	e = errno;
	printf("clockwait(MONOTONIC, tv_nsec=1e9) = %s\n", res(r, e));

	printf("-- timed waits on 1\n");
	sem_post(&s);
	r = sem_timedwait(&s, &big);
	e = errno;
	printf("timedwait(tv_nsec=1e9) = %s, value %d\n", res(r, e), value(&s));
	r = sem_clockwait(&s, CLOCK_MONOTONIC, &minus);
	e = errno;
	printf("clockwait(tv_nsec=-1) = %s, value %d\n", res(r, e), value(&s));
	struct timespec past = ts_of(now_ns(CLOCK_REALTIME) - 1000 * MS);
	r = sem_timedwait(&s, &past);
	e = errno;
	printf("timedwait(past) = %s, value %d\n", res(r, e), value(&s));
	sem_post(&s);
	past = ts_of(now_ns(CLOCK_MONOTONIC) - 1000 * MS);
	r = sem_clockwait(&s, CLOCK_MONOTONIC, &past);
	e = errno;
	printf("clockwait(MONOTONIC, past) = %s, value %d\n", res(r, e), value(&s));
	r = sem_destroy(&s);
	printf("destroy = %s\n", res(r, errno));

	printf("-- limits\n");
	r = sem_init(&s, 0, SEM_VALUE_MAX);
	e = errno;
	printf("init(SEM_VALUE_MAX) = %s, value is SEM_VALUE_MAX %s\n", res(r, e),
	       yesno(value(&s) == SEM_VALUE_MAX));
	r = sem_post(&s);
	e = errno;
	printf("post at SEM_VALUE_MAX = %s, value still max %s\n", res(r, e),
	       yesno(value(&s) == SEM_VALUE_MAX));
	sem_destroy(&s);
	r = sem_init(&s, 0, (unsigned)SEM_VALUE_MAX + 1);
	e = errno;
	printf("init(SEM_VALUE_MAX + 1) = %s\n", res(r, e));

	printf("-- wake-ups\n");
	sem_init(&wake, 0, 0);
	pthread_t t;
	pthread_create(&t, NULL, post_later, NULL);
	r = sem_wait(&wake);
	e = errno;
	printf("sem_wait woken by a post from another thread = %s, post came first %s\n",
	       res(r, e), yesno(posted));
	pthread_join(t, NULL);
	posted = 0;
	struct timespec later = ts_of(now_ns(CLOCK_REALTIME) + 2000 * MS);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	pthread_create(&t, NULL, post_later, NULL);
	r = sem_timedwait(&wake, &later);
	e = errno;
	printf("sem_timedwait(+2s) woken by a post = %s, post came first %s, early %s\n",
	       res(r, e), yesno(posted), yesno(now_ns(CLOCK_MONOTONIC) - t0 < 1500 * MS));
	pthread_join(t, NULL);
	posted = 0;
	later = ts_of(now_ns(CLOCK_MONOTONIC) + 2000 * MS);
	pthread_create(&t, NULL, post_later, NULL);
	r = sem_clockwait(&wake, CLOCK_MONOTONIC, &later);
	e = errno;
	printf("sem_clockwait(+2s) woken by a post = %s, post came first %s\n", res(r, e),
	       yesno(posted));
	pthread_join(t, NULL);

	printf("-- producer/consumer\n");
	sem_init(&free_slots, 0, SLOTS);
	sem_init(&full_slots, 0, 0);
	pthread_t p[2], c[2];
	for (long i = 0; i < 2; i++) {
		pthread_create(&c[i], NULL, consumer, NULL);
		pthread_create(&p[i], NULL, producer, (void *)(i + 1));
	}
	long sum = 0, want = 0;
	for (int i = 0; i < 2; i++) {
		void *rv;
		pthread_join(p[i], NULL);
		pthread_join(c[i], &rv);
		sum += (long)rv;
	}
	for (long pr = 1; pr <= 2; pr++)
		for (int i = 1; i <= PER_PRODUCER; i++)
			want += pr * 100000 + i;
	printf("sum %s, free slots %d, full slots %d\n", sum == want ? "ok" : "WRONG",
	       value(&free_slots), value(&full_slots));
	return sum == want ? 0 : 1;
}

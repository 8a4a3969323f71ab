/*
 * cond_basic — condition variables: wait, signal, broadcast.
 *
 * - producer/consumer: 2 producers x 500 items through a 4-slot buffer
 *   guarded by one mutex and two condvars; 2 consumers; the count and
 *   the sum of what was consumed are exact;
 * - broadcast wakes every waiter: 5 threads wait (with a 3 s timedwait so
 *   a missed wake-up shows as ETIMEDOUT instead of a hang), main waits
 *   until all 5 are counted as waiting, then broadcasts;
 * - signal with tokens: 3 waiters, one signal + one token -> exactly one
 *   takes a token; two more -> all three done;
 * - signal and broadcast with nobody waiting return 0 and are not
 *   remembered: a later 50 ms timedwait times out;
 * - the mutex is held again when wait returns (an errorcheck mutex
 *   unlocks with 0), also for a recursive mutex locked once;
 * - destroy of an idle condvar is 0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

/* ---- producer / consumer ------------------------------------------------ */

#define SLOTS 4
#define PER_PRODUCER 500
static pthread_mutex_t bm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static long buf[SLOTS];
static int head, used, produced_total, consumed_total;
static long consumed_sum;

static void *producer(void *arg)
{
	long base = (long)arg * 100000;
	for (int i = 1; i <= PER_PRODUCER; i++) {
		pthread_mutex_lock(&bm);
		while (used == SLOTS)
			pthread_cond_wait(&not_full, &bm);
		buf[(head + used) % SLOTS] = base + i;
		used++;
		produced_total++;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&bm);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	long mine = 0;
	pthread_mutex_lock(&bm);
	for (;;) {
		while (used == 0 && consumed_total < 2 * PER_PRODUCER)
			pthread_cond_wait(&not_empty, &bm);
		if (used == 0)
			break; /* all consumed */
		consumed_sum += buf[head];
		head = (head + 1) % SLOTS;
		used--;
		mine++;
		if (++consumed_total == 2 * PER_PRODUCER)
			pthread_cond_broadcast(&not_empty); /* wake the other consumer */
		pthread_cond_signal(&not_full);
	}
	pthread_mutex_unlock(&bm);
	return (void *)mine;
}

/* ---- broadcast / signal ------------------------------------------------- */

static pthread_mutex_t em;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int waiting, gen, tokens, took;

struct wres {
	int wait_result; /* last wait's result */
	int unlock_result; /* unlock right after: 0 proves it was held */
	int got;
};

static void *gen_waiter(void *arg)
{
	struct wres *r = arg;
	pthread_mutex_lock(&em);
	int my_gen = gen;
	waiting++;
	struct timespec dl = deadline_ms(CLOCK_REALTIME, 3000);
	r->wait_result = 0;
	while (gen == my_gen && r->wait_result == 0)
		r->wait_result = pthread_cond_timedwait(&cv, &em, &dl);
	r->got = gen != my_gen;
	waiting--;
	r->unlock_result = pthread_mutex_unlock(&em);
	return NULL;
}

static void *token_waiter(void *arg)
{
	struct wres *r = arg;
	pthread_mutex_lock(&em);
	waiting++;
	struct timespec dl = deadline_ms(CLOCK_REALTIME, 3000);
	r->wait_result = 0;
	while (tokens == 0 && r->wait_result == 0)
		r->wait_result = pthread_cond_timedwait(&cv, &em, &dl);
	if (tokens > 0) {
		tokens--;
		took++;
		r->got = 1;
	}
	waiting--;
	r->unlock_result = pthread_mutex_unlock(&em);
	return NULL;
}

static void wait_for_waiters(int n)
{
	for (int i = 0; i < 3000; i++) {
		pthread_mutex_lock(&em);
		int w = waiting;
		pthread_mutex_unlock(&em);
		if (w == n)
			return;
		usleep(1000);
	}
	fprintf(stderr, "waiters never arrived\n");
	exit(1);
}

static void *plain_waiter(void *arg)
{
	/* waits on a recursive mutex locked once */
	pthread_mutex_t *rm = arg;
	pthread_mutex_lock(rm);
	waiting++;
	while (gen == 0)
		pthread_cond_wait(&cv, rm);
	int r = pthread_mutex_unlock(rm);   /* 0: it was held, once */
	int r2 = pthread_mutex_unlock(rm);  /* EPERM: not held any more */
	return (void *)(long)(r * 1000 + r2);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_t p[2], c[2];
	for (long i = 0; i < 2; i++) {
		must(pthread_create(&c[i], NULL, consumer, NULL), "create");
		must(pthread_create(&p[i], NULL, producer, (void *)(i + 1)), "create");
	}
	long got[2];
	for (int i = 0; i < 2; i++) {
		void *rv;
		pthread_join(p[i], NULL);
		pthread_join(c[i], &rv);
		got[i] = (long)rv;
	}
	long want = 0;
	for (long pr = 1; pr <= 2; pr++)
		for (int i = 1; i <= PER_PRODUCER; i++)
			want += pr * 100000 + i;
	printf("producer/consumer: produced %d, consumed %d, per-consumer counts add up %s, sum %s\n",
	       produced_total, consumed_total, yesno(got[0] + got[1] == consumed_total),
	       consumed_sum == want ? "ok" : "WRONG");

	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&em, &a);

	/* signal / broadcast with nobody waiting */
	printf("signal with no waiters = %s, broadcast with no waiters = %s\n",
	       en(pthread_cond_signal(&cv)), en(pthread_cond_broadcast(&cv)));
	pthread_mutex_lock(&em);
	struct timespec dl = deadline_ms(CLOCK_REALTIME, 50);
	int r = pthread_cond_timedwait(&cv, &em, &dl);
	printf("a later 50ms timedwait = %s, mutex held after it %s\n", en(r),
	       yesno(pthread_mutex_unlock(&em) == 0));

	/* broadcast */
	struct wres res[5];
	pthread_t w[5];
	memset(res, 0, sizeof res);
	for (int i = 0; i < 5; i++)
		must(pthread_create(&w[i], NULL, gen_waiter, &res[i]), "create");
	wait_for_waiters(5);
	pthread_mutex_lock(&em);
	gen++;
	printf("broadcast = %s\n", en(pthread_cond_broadcast(&cv)));
	pthread_mutex_unlock(&em);
	int woke = 0, held = 0, ok = 0;
	for (int i = 0; i < 5; i++) {
		pthread_join(w[i], NULL);
		woke += res[i].got;
		held += res[i].unlock_result == 0;
		ok += res[i].wait_result == 0;
	}
	printf("broadcast woke %d of 5, wait returned 0 for %d, mutex held on return %d\n", woke, ok,
	       held);

	/* signal with tokens */
	memset(res, 0, sizeof res);
	for (int i = 0; i < 3; i++)
		must(pthread_create(&w[i], NULL, token_waiter, &res[i]), "create");
	wait_for_waiters(3);
	pthread_mutex_lock(&em);
	tokens = 1;
	printf("signal = %s\n", en(pthread_cond_signal(&cv)));
	pthread_mutex_unlock(&em);
	usleep(50000);
	pthread_mutex_lock(&em);
	printf("after one signal and one token: %d took a token, %d still waiting\n", took, waiting);
	tokens += 2;
	pthread_cond_signal(&cv);
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&em);
	held = ok = 0;
	for (int i = 0; i < 3; i++) {
		pthread_join(w[i], NULL);
		held += res[i].unlock_result == 0;
		ok += res[i].got;
	}
	printf("after two more: %d took tokens, mutex held on return %d\n", ok, held);

	/* recursive mutex locked once */
	pthread_mutex_t rm = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
	pthread_t pw;
	gen = 0;
	waiting = 0;
	must(pthread_create(&pw, NULL, plain_waiter, &rm), "create");
	for (int i = 0; i < 3000; i++) {
		pthread_mutex_lock(&rm);
		int wt = waiting;
		pthread_mutex_unlock(&rm);
		if (wt)
			break;
		usleep(1000);
	}
	pthread_mutex_lock(&rm);
	gen = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&rm);
	void *rv;
	pthread_join(pw, &rv);
	long codes = (long)rv;
	printf("recursive mutex after wait: unlock = %s, second unlock = %s\n", en((int)(codes / 1000)),
	       en((int)(codes % 1000)));

	printf("destroy idle condvar = %s\n", en(pthread_cond_destroy(&cv)));
	pthread_mutex_destroy(&em);
	return 0;
}

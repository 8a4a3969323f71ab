/*
 * c11_sync — C11 <threads.h> mutexes and condition variables.
 *
 * mtx_init with mtx_plain, mtx_timed, mtx_plain|mtx_recursive,
 * mtx_timed|mtx_recursive; for each: lock, trylock by the owner
 * (plain/timed thrd_busy, recursive thrd_success), trylock from another
 * thread thrd_busy, unlock (recursive as often as locked), a blocked
 * mtx_lock in another thread gets it after unlock.  mtx_timedlock while
 * another thread holds it: thrd_timedout at/after a +50 ms deadline and
 * for a past one; tv_nsec 1e9 -> thrd_error; it succeeds when the holder
 * lets go after 50 ms.  A counter: 4 threads x 1,000 increments under
 * mtx_lock with thrd_yield inside.
 * cnd: producer/consumer with cnd_wait/cnd_signal; cnd_broadcast wakes 4
 * waiters; cnd_timedwait thrd_timedout at/after +50 ms with the mutex held
 * again; tv_nsec 1e9 -> thrd_error; cnd_signal/cnd_broadcast with no
 * waiters -> thrd_success.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <time.h>
#include "testutil.h"

static void msleep(long ms) { thrd_sleep(&(struct timespec){ ms / 1000, ms % 1000 * MS }, NULL); }

/* ---- helpers run in other threads ----------------------------------- */

static int try_it(void *m) { return mtx_trylock(m); }

static int got_it;
static int lock_it(void *m)
{
	int r = mtx_lock(m);
	__atomic_store_n(&got_it, 1, __ATOMIC_SEQ_CST);
	if (r == thrd_success)
		mtx_unlock(m);
	return r;
}

/* holds m for 'hold_ms', or until released when 0 */
static mtx_t ctl;
static cnd_t ctl_cv;
static int holding, let_go;
static long hold_ms;

static int holder(void *m)
{
	mtx_lock(m);
	mtx_lock(&ctl);
	holding = 1;
	cnd_broadcast(&ctl_cv);
	if (hold_ms) {
		mtx_unlock(&ctl);
		msleep(hold_ms);
	} else {
		while (!let_go)
			cnd_wait(&ctl_cv, &ctl);
		mtx_unlock(&ctl);
	}
	mtx_unlock(m);
	return 0;
}

static thrd_t start_holder(mtx_t *m, long ms)
{
	thrd_t t;
	holding = let_go = 0;
	hold_ms = ms;
	must_thrd(thrd_create(&t, holder, m), "thrd_create");
	mtx_lock(&ctl);
	while (!holding)
		cnd_wait(&ctl_cv, &ctl);
	mtx_unlock(&ctl);
	return t;
}

static void stop_holder(thrd_t t)
{
	mtx_lock(&ctl);
	let_go = 1;
	cnd_broadcast(&ctl_cv);
	mtx_unlock(&ctl);
	thrd_join(t, NULL);
}

static void exercise(const char *label, int type)
{
	mtx_t m;
	thrd_t t;
	int r;
	int recursive = type & mtx_recursive;

	printf("-- %s\n", label);
	printf("mtx_init = %s\n", thrd_str(mtx_init(&m, type)));
	printf("lock = %s", thrd_str(mtx_lock(&m)));
	r = mtx_trylock(&m);
	printf(", owner trylock = %s", thrd_str(r));
	int depth = 1 + (r == thrd_success);
	if (recursive) {
		r = mtx_lock(&m);
		printf(", owner lock = %s", thrd_str(r));
		depth += r == thrd_success;
	}
	must_thrd(thrd_create(&t, try_it, &m), "thrd_create");
	thrd_join(t, &r);
	printf(", other thread trylock = %s\n", thrd_str(r));
	printf("unlocks:");
	for (int i = 0; i < depth; i++)
		printf(" %s", thrd_str(mtx_unlock(&m)));
	printf("\n");
	got_it = 0;
	r = mtx_trylock(&m);
	printf("trylock when free = %s", thrd_str(r));
	must_thrd(thrd_create(&t, lock_it, &m), "thrd_create");
	msleep(20);
	printf(", a locker waits %s", yesno(!__atomic_load_n(&got_it, __ATOMIC_SEQ_CST)));
	if (r == thrd_success)
		mtx_unlock(&m);
	thrd_join(t, &r);
	printf(", then gets it %s (%s)\n", yesno(got_it), thrd_str(r));

	if (type & mtx_timed) {
		t = start_holder(&m, 0);
		long long dl = now_ns(CLOCK_REALTIME) + 50 * MS;
		struct timespec at = ts_of(dl);
		long long t0 = now_ns(CLOCK_MONOTONIC);
		r = mtx_timedlock(&m, &at);
		printf("timedlock(+50ms) = %s, reached deadline %s, not late %s\n", thrd_str(r),
		       yesno(now_ns(CLOCK_REALTIME) >= dl),
		       yesno(now_ns(CLOCK_MONOTONIC) - t0 < 1550 * MS));
		at = ts_of(now_ns(CLOCK_REALTIME) - 1000 * MS);
		printf("timedlock(past) = %s", thrd_str(mtx_timedlock(&m, &at)));
		at = (struct timespec){ time(NULL) + 1, 1000000000L };
		printf(", timedlock(tv_nsec=1e9) = %s\n", thrd_str(mtx_timedlock(&m, &at)));
		stop_holder(t);
		t = start_holder(&m, 50);
		at = ts_of(now_ns(CLOCK_REALTIME) + 2000 * MS);
		r = mtx_timedlock(&m, &at);
		printf("timedlock(+2s) while the holder lets go after 50ms = %s\n", thrd_str(r));
		if (r == thrd_success)
			mtx_unlock(&m);
		thrd_join(t, NULL);
	}
	mtx_destroy(&m);
}

/* ---- counter ---------------------------------------------------------- */

static mtx_t cm;
static volatile long counter;

static int bump(void *arg)
{
	for (int i = 0; i < 1000; i++) {
		mtx_lock(&cm);
		long v = counter;
		if (i % 3 == 0)
			thrd_yield();
		counter = v + 1;
		mtx_unlock(&cm);
	}
	return 0;
}

/* ---- condition variables ------------------------------------------- */

static mtx_t qm;
static cnd_t not_empty, not_full, cv;
static int q[4], qn, qhead, consumed_sum, waiting, gen;

static int produce(void *arg)
{
	for (int i = 1; i <= 300; i++) {
		mtx_lock(&qm);
		while (qn == 4)
			cnd_wait(&not_full, &qm);
		q[(qhead + qn++) % 4] = i;
		cnd_signal(&not_empty);
		mtx_unlock(&qm);
	}
	return 0;
}

static int consume(void *arg)
{
	for (int i = 0; i < 300; i++) {
		mtx_lock(&qm);
		while (qn == 0)
			cnd_wait(&not_empty, &qm);
		consumed_sum += q[qhead];
		qhead = (qhead + 1) % 4;
		qn--;
		cnd_signal(&not_full);
		mtx_unlock(&qm);
	}
	return 0;
}

static int gen_waiter(void *arg)
{
	mtx_lock(&qm);
	int my = gen, r = thrd_success;
	waiting++;
	struct timespec dl = ts_of(now_ns(CLOCK_REALTIME) + 3000 * MS);
	while (gen == my && r == thrd_success)
		r = cnd_timedwait(&cv, &qm, &dl);
	waiting--;
	mtx_unlock(&qm);
	return gen != my;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	mtx_init(&ctl, mtx_plain);
	cnd_init(&ctl_cv);

	exercise("mtx_plain", mtx_plain);
	exercise("mtx_timed", mtx_timed);
	exercise("mtx_plain | mtx_recursive", mtx_plain | mtx_recursive);
	exercise("mtx_timed | mtx_recursive", mtx_timed | mtx_recursive);

	thrd_t t[4];
	mtx_init(&cm, mtx_plain);
	for (int i = 0; i < 4; i++)
		must_thrd(thrd_create(&t[i], bump, NULL), "thrd_create");
	for (int i = 0; i < 4; i++)
		thrd_join(t[i], NULL);
	printf("counter %ld (want 4000)\n", counter);

	printf("-- cnd\n");
	mtx_init(&qm, mtx_plain);
	printf("cnd_init = %s\n", thrd_str(cnd_init(&cv)));
	cnd_init(&not_empty);
	cnd_init(&not_full);
	printf("cnd_signal with no waiters = %s, cnd_broadcast with no waiters = %s\n",
	       thrd_str(cnd_signal(&cv)), thrd_str(cnd_broadcast(&cv)));
	must_thrd(thrd_create(&t[0], consume, NULL), "thrd_create");
	must_thrd(thrd_create(&t[1], produce, NULL), "thrd_create");
	thrd_join(t[0], NULL);
	thrd_join(t[1], NULL);
	printf("producer/consumer sum %d (want %d)\n", consumed_sum, 300 * 301 / 2);

	for (int i = 0; i < 4; i++)
		must_thrd(thrd_create(&t[i], gen_waiter, NULL), "thrd_create");
	for (int i = 0; i < 3000; i++) {
		mtx_lock(&qm);
		int w = waiting;
		mtx_unlock(&qm);
		if (w == 4)
			break;
		msleep(1);
	}
	mtx_lock(&qm);
	gen++;
	printf("cnd_broadcast = %s", thrd_str(cnd_broadcast(&cv)));
	mtx_unlock(&qm);
	int woke = 0, r;
	for (int i = 0; i < 4; i++) {
		thrd_join(t[i], &r);
		woke += r;
	}
	printf(", woke %d of 4\n", woke);

	/* cnd_timedwait timeout; mtx_trylock from another thread shows the
	 * mutex is held again on return */
	mtx_lock(&qm);
	long long dl = now_ns(CLOCK_REALTIME) + 50 * MS;
	struct timespec at = ts_of(dl);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	r = cnd_timedwait(&cv, &qm, &at);
	int reached = now_ns(CLOCK_REALTIME) >= dl;
	int late = now_ns(CLOCK_MONOTONIC) - t0 >= 1550 * MS;
	int other;
	must_thrd(thrd_create(&t[0], try_it, &qm), "thrd_create");
	thrd_join(t[0], &other);
	printf("cnd_timedwait(+50ms) = %s, reached deadline %s, not late %s, mutex held (other "
	       "trylock %s)\n",
	       thrd_str(r), yesno(reached), yesno(!late), thrd_str(other));
	at = (struct timespec){ time(NULL) + 1, 1000000000L };
	r = cnd_timedwait(&cv, &qm, &at);
	must_thrd(thrd_create(&t[0], try_it, &qm), "thrd_create");
	thrd_join(t[0], &other);
	printf("cnd_timedwait(tv_nsec=1e9) = %s, mutex held (other trylock %s)\n", thrd_str(r),
	       thrd_str(other));
	mtx_unlock(&qm);
	cnd_destroy(&cv);
	return 0;
}

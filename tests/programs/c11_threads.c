/*
 * c11_threads — C11 <threads.h>: threads, sleep, yield, tss, call_once.
 *
 * - thrd_create/thrd_join with int results; thrd_exit from a nested call;
 *   join with a NULL result pointer;
 * - thrd_current/thrd_equal (inside vs. the id thrd_create gave out);
 * - thrd_detach: thrd_success, the thread still runs; joining it is
 *   thrd_error (while it is kept alive);
 * - thrd_sleep: 0 s -> 0; 50 ms -> 0 and took >= 50 ms; interrupted by a
 *   SIGALRM handler -> -1 with the remaining time filled in; an invalid
 *   timespec -> a negative value other than -1 (glibc: -2);
 * - thrd_yield in a flag ping-pong between two C11 threads;
 * - tss_create with a destructor: per-thread values, the destructor runs
 *   at thread exit (return and thrd_exit) with the value; tss_delete;
 * - call_once from 6 threads runs the function once, everyone returns
 *   after it finished.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <threads.h>
#include <time.h>
#include "testutil.h"

/* ---- values ----------------------------------------------------------- */

static int triple(void *arg) { return (int)(long)arg * 3; }

static void exit_deep(int v) { thrd_exit(v); }
static int exits(void *arg)
{
	exit_deep((int)(long)arg + 100);
	return -1;
}

static int report_self(void *arg)
{
	*(thrd_t *)arg = thrd_current();
	return 0;
}

/* ---- detach ---------------------------------------------------------- */

static mtx_t dm;
static cnd_t dc;
static int released, detached_ran;

static int held(void *arg)
{
	mtx_lock(&dm);
	while (!released)
		cnd_wait(&dc, &dm);
	detached_ran = 1;
	cnd_broadcast(&dc);
	mtx_unlock(&dm);
	return 0;
}

/* ---- yield ping-pong ----------------------------------------------- */

static int turn;
static int pingpong(void *arg)
{
	int me = (int)(long)arg, n = 0;
	for (int i = 0; i < 1000; i++) {
		while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != me)
			thrd_yield();
		n++;
		__atomic_store_n(&turn, 1 - me, __ATOMIC_RELEASE);
	}
	return n;
}

/* ---- tss ----------------------------------------------------------- */

static tss_t key;
static mtx_t tm;
static long dtor_sum;
static int dtor_calls;

static void tss_dtor(void *v)
{
	mtx_lock(&tm);
	dtor_calls++;
	dtor_sum += (long)v;
	mtx_unlock(&tm);
}

static int tss_user(void *arg)
{
	long me = (long)arg;
	int ok = tss_get(key) == NULL;
	tss_set(key, (void *)(me * 10));
	thrd_sleep(&(struct timespec){ 0, (4 - me) * 5 * MS }, NULL);
	ok = ok && tss_get(key) == (void *)(me * 10);
	if (me == 2)
		thrd_exit(ok);
	return ok;
}

/* ---- call_once ------------------------------------------------------ */

static once_flag flag = ONCE_FLAG_INIT;
static int once_runs, once_done;

static void once_fn(void)
{
	__atomic_fetch_add(&once_runs, 1, __ATOMIC_SEQ_CST);
	thrd_sleep(&(struct timespec){ 0, 50 * MS }, NULL);
	__atomic_store_n(&once_done, 1, __ATOMIC_SEQ_CST);
}

static int once_caller(void *arg)
{
	call_once(&flag, once_fn);
	return __atomic_load_n(&once_done, __ATOMIC_SEQ_CST);
}

static volatile sig_atomic_t hits;
static void on_alarm(int sig) { hits++; }

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	thrd_t t[6];
	int res;

	/* thrd_sleep, first: while main is the only thread, SIGALRM can
	 * only land in main */
	struct timespec zero = { 0, 0 }, rem = { 9, 9 };
	printf("thrd_sleep(0) = %d\n", thrd_sleep(&zero, NULL));
	long long t0 = now_ns(CLOCK_MONOTONIC);
	int r = thrd_sleep(&(struct timespec){ 0, 50 * MS }, &rem);
	printf("thrd_sleep(50ms) = %d, took >= 50ms %s\n", r,
	       yesno(now_ns(CLOCK_MONOTONIC) - t0 >= 50 * MS));
	r = thrd_sleep(&(struct timespec){ 0, 1000000000L }, NULL);
	printf("thrd_sleep(tv_nsec=1e9) = %d (negative, not -1: %s)\n", r, yesno(r < -1));
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	rem = (struct timespec){ 9, 9 };
	t0 = now_ns(CLOCK_MONOTONIC);
	r = thrd_sleep(&(struct timespec){ 2, 0 }, &rem);
	long long left = rem.tv_sec * 1000000000LL + rem.tv_nsec;
	printf("thrd_sleep(2s) interrupted = %d, handler ran %d, early %s, remaining in (0.5s, 2s) %s\n",
	       r, (int)hits, yesno(now_ns(CLOCK_MONOTONIC) - t0 < 1500 * MS),
	       yesno(left > 500 * MS && left < 2000 * MS));

	for (long i = 0; i < 4; i++)
		must_thrd(thrd_create(&t[i], triple, (void *)i), "thrd_create");
	printf("join results:");
	for (int i = 0; i < 4; i++) {
		must_thrd(thrd_join(t[i], &res), "thrd_join");
		printf(" %d", res);
	}
	printf("\n");
	must_thrd(thrd_create(&t[0], exits, (void *)5), "thrd_create");
	must_thrd(thrd_join(t[0], &res), "thrd_join");
	printf("thrd_exit value: %d\n", res);
	must_thrd(thrd_create(&t[0], triple, (void *)1), "thrd_create");
	printf("join with NULL result = %s\n", thrd_str(thrd_join(t[0], NULL)));

	thrd_t seen;
	must_thrd(thrd_create(&t[0], report_self, &seen), "thrd_create");
	must_thrd(thrd_join(t[0], NULL), "thrd_join");
	printf("thrd_current inside equals thrd_create's id: %s\n", yesno(thrd_equal(seen, t[0])));
	printf("thrd_equal(main, main): %s, thrd_equal(main, it): %s\n",
	       yesno(thrd_equal(thrd_current(), thrd_current())), yesno(thrd_equal(thrd_current(), t[0])));

	/* detach */
	mtx_init(&dm, mtx_plain);
	cnd_init(&dc);
	must_thrd(thrd_create(&t[0], held, NULL), "thrd_create");
	printf("thrd_detach = %s\n", thrd_str(thrd_detach(t[0])));
	printf("thrd_join(detached) = %s\n", thrd_str(thrd_join(t[0], NULL)));
	mtx_lock(&dm);
	released = 1;
	cnd_broadcast(&dc);
	while (!detached_ran)
		cnd_wait(&dc, &dm);
	mtx_unlock(&dm);
	printf("detached thread ran: %s\n", yesno(detached_ran));

	/* thrd_yield */
	turn = 0;
	must_thrd(thrd_create(&t[0], pingpong, (void *)0), "thrd_create");
	must_thrd(thrd_create(&t[1], pingpong, (void *)1), "thrd_create");
	int n0, n1;
	thrd_join(t[0], &n0);
	thrd_join(t[1], &n1);
	printf("thrd_yield ping-pong: %d + %d turns\n", n0, n1);

	/* tss */
	mtx_init(&tm, mtx_plain);
	printf("tss_create = %s\n", thrd_str(tss_create(&key, tss_dtor)));
	printf("main: tss_get of a new key is NULL %s\n", yesno(tss_get(key) == NULL));
	tss_set(key, (void *)1000);
	for (long i = 1; i <= 3; i++)
		must_thrd(thrd_create(&t[i], tss_user, (void *)i), "thrd_create");
	int oks = 0;
	for (int i = 1; i <= 3; i++) {
		must_thrd(thrd_join(t[i], &res), "thrd_join");
		oks += res;
	}
	printf("tss: %d threads saw their own values, destructor calls %d, sum %ld, main keeps %s\n", oks,
	       dtor_calls, dtor_sum, yesno(tss_get(key) == (void *)1000));
	tss_delete(key);
	printf("TSS_DTOR_ITERATIONS %d\n", TSS_DTOR_ITERATIONS);

	/* call_once */
	for (int i = 0; i < 6; i++)
		must_thrd(thrd_create(&t[i], once_caller, NULL), "thrd_create");
	int done = 0;
	for (int i = 0; i < 6; i++) {
		must_thrd(thrd_join(t[i], &res), "thrd_join");
		done += res;
	}
	call_once(&flag, once_fn);
	printf("call_once: ran %d time(s), %d of 6 returned after it finished\n", once_runs, done);
	return 0;
}

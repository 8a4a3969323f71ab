/*
 * posix_async_cancel — with PTHREAD_CANCEL_ASYNCHRONOUS, pthread_cancel
 * ends the thread at once, wherever it is: in a wait that is not a
 * cancellation point (a mutex lock, an rwlock lock, a barrier) and while
 * it computes.  Its cleanup handlers run, it does not get the lock it
 * waited for, and pthread_join returns PTHREAD_CANCELED.  A deferred
 * thread in the same mutex wait is not cancelled until it reaches a
 * cancellation point after getting the lock.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "testutil.h"

enum kind { MUTEX, RWLOCK, BARRIER, SPIN_COMPUTE, N_KINDS };
static const char *names[] = { "mutex_lock", "rwlock_wrlock", "barrier_wait", "computing" };

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t bar;
static enum kind kind;
static volatile int started, cleanup_ran, got_it;
static volatile unsigned long spins;

static void cleanup(void *arg)
{
	cleanup_ran = 1;
}

static void *victim(void *arg)
{
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	pthread_cleanup_push(cleanup, NULL);
	started = 1;
	switch (kind) {
	case MUTEX:
		pthread_mutex_lock(&m);
		got_it = 1;
		break;
	case RWLOCK:
		pthread_rwlock_wrlock(&rw);
		got_it = 1;
		break;
	case BARRIER:
		pthread_barrier_wait(&bar);
		got_it = 1;
		break;
	case SPIN_COMPUTE:
		for (;;)
			spins++;
	default:
		break;
	}
	pthread_cleanup_pop(0);
	return NULL;
}

static void *deferred(void *arg)
{
	pthread_cleanup_push(cleanup, NULL);
	pthread_mutex_lock(&m);
	got_it = 1;
	pthread_mutex_unlock(&m);
	pthread_testcancel();
	pthread_cleanup_pop(0);
	return (void *)1;
}

int main(void)
{
	for (kind = 0; kind < N_KINDS; kind++) {
		started = cleanup_ran = got_it = 0;
		if (kind == MUTEX)
			pthread_mutex_lock(&m);
		if (kind == RWLOCK)
			pthread_rwlock_rdlock(&rw);
		if (kind == BARRIER)
			pthread_barrier_init(&bar, NULL, 2);
		pthread_t t;
		must(pthread_create(&t, NULL, victim, NULL), "pthread_create");
		while (!started)
			sleep_ms(1);
		sleep_ms(100);
		must(pthread_cancel(t), "pthread_cancel");
		void *ret = NULL;
		/* join before releasing: the cancel must not wait for the lock */
		must(pthread_join(t, &ret), "pthread_join");
		if (kind == MUTEX)
			pthread_mutex_unlock(&m);
		if (kind == RWLOCK)
			pthread_rwlock_unlock(&rw);
		/* (no barrier_destroy: glibc's waits for the count the
		 * cancelled waiter left behind) */
		printf("%-14s canceled %s, cleanup ran %s, got the lock %s\n", names[kind],
		       yesno(ret == PTHREAD_CANCELED), yesno(cleanup_ran), yesno(got_it));
	}
	/* The lock is free again: a deferred thread in a mutex wait goes on
	 * to the lock and is cancelled at its next cancellation point. */
	started = cleanup_ran = got_it = 0;
	pthread_mutex_lock(&m);
	pthread_t d;
	must(pthread_create(&d, NULL, deferred, NULL), "pthread_create");
	sleep_ms(100);
	must(pthread_cancel(d), "pthread_cancel");
	sleep_ms(50);
	int before = got_it;
	pthread_mutex_unlock(&m);
	void *ret = NULL;
	must(pthread_join(d, &ret), "pthread_join");
	printf("deferred: got the lock before the unlock %s, after %s; canceled %s, cleanup ran %s\n",
	       yesno(before), yesno(got_it), yesno(ret == PTHREAD_CANCELED), yesno(cleanup_ran));
	/* and the mutex still works */
	printf("mutex trylock after all: %s\n", en(pthread_mutex_trylock(&m)));
	pthread_mutex_unlock(&m);
	return 0;
}

/*
 * thread_basic — create, join, exit values, detach, self/equal.
 *
 * - create/join: each thread gets its own argument and returns a value
 *   derived from it; pthread_exit from a nested call delivers its value.
 * - pthread_self inside a thread equals the pthread_t create gave out;
 *   pthread_equal is 0 for different threads, non-zero for the same one.
 * - join self -> EDEADLK (from main and from a thread).
 * - detach: a thread started detached (attr) and one detached with
 *   pthread_detach: join -> EINVAL, pthread_detach again -> EINVAL, while
 *   they are still running (they wait on a condvar so the handle stays
 *   valid), and both do run to completion.
 * - attr detachstate round trip; a thread created with a NULL attr and
 *   with a default attr behave the same.
 * - errors of create/join never touch errno.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

/* ---- values ----------------------------------------------------------- */

static void *times_ten(void *arg) { return (void *)((intptr_t)arg * 10); }

static void exit_level1(intptr_t v) { pthread_exit((void *)v); }
static void exit_level2(intptr_t v) { exit_level1(v + 1); }
static void exit_level3(intptr_t v) { exit_level2(v + 1); }

static void *exits_nested(void *arg)
{
	exit_level3((intptr_t)arg + 1000);
	fprintf(stderr, "pthread_exit returned\n");
	exit(1);
}

static void *returns_self(void *arg)
{
	pthread_t *out = arg;
	*out = pthread_self();
	return NULL;
}

static void *join_self(void *arg)
{
	return (void *)(intptr_t)pthread_join(pthread_self(), NULL);
}

/* ---- detached threads, kept alive until released ----------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int released, finished;

static void *held(void *arg)
{
	pthread_mutex_lock(&mu);
	while (!released)
		pthread_cond_wait(&cv, &mu);
	finished++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_t t[5];
	void *rv;

	for (intptr_t i = 0; i < 5; i++)
		must(pthread_create(&t[i], NULL, times_ten, (void *)i), "create");
	printf("join results:");
	for (int i = 4; i >= 0; i--) { /* join in reverse order */
		must(pthread_join(t[i], &rv), "join");
		printf(" %ld", (long)(intptr_t)rv);
	}
	printf("\n");

	must(pthread_create(&t[0], NULL, exits_nested, (void *)7), "create");
	must(pthread_join(t[0], &rv), "join");
	printf("pthread_exit value: %ld\n", (long)(intptr_t)rv);

	/* join with a NULL retval pointer */
	must(pthread_create(&t[0], NULL, times_ten, (void *)3), "create");
	printf("join(NULL retval) = %s\n", en(pthread_join(t[0], NULL)));

	/* self and equal */
	pthread_t seen;
	must(pthread_create(&t[0], NULL, returns_self, &seen), "create");
	must(pthread_create(&t[1], NULL, times_ten, NULL), "create");
	must(pthread_join(t[0], NULL), "join");
	printf("self in thread equals create's id: %s\n", yesno(pthread_equal(seen, t[0])));
	printf("equal(t0, t1): %s\n", yesno(pthread_equal(t[0], t[1])));
	printf("equal(main, t0): %s\n", yesno(pthread_equal(pthread_self(), t[0])));
	printf("equal(main, main): %s\n", yesno(pthread_equal(pthread_self(), pthread_self())));
	must(pthread_join(t[1], NULL), "join");

	/* join self */
	errno = 4242;
	int r = pthread_join(pthread_self(), NULL);
	printf("main joins itself: %s, errno kept %s\n", en(r), yesno(errno == 4242));
	must(pthread_create(&t[0], NULL, join_self, NULL), "create");
	must(pthread_join(t[0], &rv), "join");
	printf("thread joins itself: %s\n", en((int)(intptr_t)rv));

	/* default attr vs NULL attr */
	pthread_attr_t a;
	must(pthread_attr_init(&a), "attr_init");
	int ds = -1;
	pthread_attr_getdetachstate(&a, &ds);
	printf("default detachstate joinable: %s\n", yesno(ds == PTHREAD_CREATE_JOINABLE));
	must(pthread_create(&t[0], &a, times_ten, (void *)4), "create");
	must(pthread_join(t[0], &rv), "join");
	printf("default-attr thread result: %ld\n", (long)(intptr_t)rv);

	/* detached via attr */
	must(pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED), "setdetachstate");
	pthread_attr_getdetachstate(&a, &ds);
	printf("attr detachstate detached: %s\n", yesno(ds == PTHREAD_CREATE_DETACHED));
	printf("setdetachstate(42) = %s\n", en(pthread_attr_setdetachstate(&a, 42)));
	must(pthread_create(&t[0], &a, held, NULL), "create detached");
	pthread_attr_destroy(&a);
	/* detached with pthread_detach */
	must(pthread_create(&t[1], NULL, held, NULL), "create");
	printf("pthread_detach(running) = %s\n", en(pthread_detach(t[1])));

	errno = 4242;
	printf("join(attr-detached) = %s\n", en(pthread_join(t[0], NULL)));
	printf("join(pthread_detach-ed) = %s\n", en(pthread_join(t[1], NULL)));
	printf("detach(attr-detached) = %s\n", en(pthread_detach(t[0])));
	printf("detach(detached) = %s\n", en(pthread_detach(t[1])));
	printf("errno kept: %s\n", yesno(errno == 4242));

	/* let them finish and check they did */
	pthread_mutex_lock(&mu);
	released = 1;
	pthread_cond_broadcast(&cv);
	while (finished < 2)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	printf("detached threads finished: %d\n", finished);

	/* a thread detached after it has finished running */
	must(pthread_create(&t[0], NULL, times_ten, NULL), "create");
	usleep(20000);
	printf("pthread_detach(finished) = %s\n", en(pthread_detach(t[0])));
	return 0;
}

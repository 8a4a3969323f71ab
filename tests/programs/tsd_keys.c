/*
 * tsd_keys — pthread keys (thread-specific data).
 *
 * - a new key reads NULL in every thread; set/get is per thread (three
 *   threads store their own values, sleep so they interleave, read back);
 * - destructors run at thread exit with the thread's value, and only for
 *   non-NULL values; main's own values are untouched by other threads;
 * - a destructor that sets its value again is called again, up to
 *   PTHREAD_DESTRUCTOR_ITERATIONS (4) times in all; one that re-sets once
 *   is called twice;
 * - pthread_exit runs destructors as well as returning does;
 * - pthread_key_delete: 0, then EINVAL for a second delete; setspecific
 *   on a deleted key is EINVAL; no destructor runs for a deleted key; a
 *   key created after a delete reads NULL (even if it reuses the slot);
 * - keys run out with EAGAIN at PTHREAD_KEYS_MAX.
 * Destructor calls are recorded under a mutex and printed after joins,
 * counted per key so that the order between keys does not matter.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t k_plain, k_dtor, k_again, k_once_more, k_deleted;

/* destructor calls: per thread (1..3), per key */
enum { K_DTOR, K_AGAIN, K_ONCE_MORE, K_DELETED, NKEYS };
static int calls[4][NKEYS];
static intptr_t last_value[4][NKEYS];
static int wrong_value;

static void note(int k, void *v)
{
	intptr_t x = (intptr_t)v;
	int thread = (int)(x / 100); /* values are thread*100 + something */
	pthread_mutex_lock(&mu);
	if (thread < 1 || thread > 3)
		wrong_value++;
	else {
		calls[thread][k]++;
		last_value[thread][k] = x;
	}
	pthread_mutex_unlock(&mu);
}

static void dtor(void *v) { note(K_DTOR, v); }

/* Sets itself again every time: called PTHREAD_DESTRUCTOR_ITERATIONS times. */
static void dtor_again(void *v)
{
	note(K_AGAIN, v);
	pthread_setspecific(k_again, (char *)v + 1);
}

/* Sets itself again once. */
static void dtor_once_more(void *v)
{
	intptr_t x = (intptr_t)v;
	note(K_ONCE_MORE, v);
	if (x % 100 == 0)
		pthread_setspecific(k_once_more, (void *)(x + 1));
}

static void dtor_deleted(void *v) { note(K_DELETED, v); }

struct res {
	int initial_null, own_values, null_not_destroyed;
};

static void *worker(void *arg)
{
	intptr_t me = (intptr_t)arg; /* 1..3 */
	struct res *r = calloc(1, sizeof *r);
	r->initial_null = pthread_getspecific(k_plain) == NULL && pthread_getspecific(k_dtor) == NULL &&
			  pthread_getspecific(k_again) == NULL;
	pthread_setspecific(k_plain, (void *)(me * 100 + 7));
	pthread_setspecific(k_dtor, (void *)(me * 100 + 1));
	pthread_setspecific(k_again, (void *)(me * 100));
	pthread_setspecific(k_once_more, (void *)(me * 100));
	pthread_setspecific(k_deleted, (void *)(me * 100 + 5));
	usleep(10000 * (4 - me)); /* interleave with the others */
	r->own_values = pthread_getspecific(k_plain) == (void *)(me * 100 + 7) &&
			pthread_getspecific(k_dtor) == (void *)(me * 100 + 1);
	if (me == 3) {
		/* set then cleared: no destructor call for k_dtor */
		pthread_setspecific(k_dtor, NULL);
		r->null_not_destroyed = 1;
	}
	if (me == 2)
		pthread_exit(r); /* destructors run for pthread_exit too */
	return r;
}

static pthread_barrier_t deleted_set;

static void *sets_then_waits(void *arg)
{
	pthread_setspecific(k_deleted, (void *)305);
	pthread_barrier_wait(&deleted_set);
	pthread_barrier_wait(&deleted_set);
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	must(pthread_key_create(&k_plain, NULL), "key_create");
	must(pthread_key_create(&k_dtor, dtor), "key_create");
	must(pthread_key_create(&k_again, dtor_again), "key_create");
	must(pthread_key_create(&k_once_more, dtor_once_more), "key_create");
	must(pthread_key_create(&k_deleted, dtor_deleted), "key_create");
	printf("PTHREAD_DESTRUCTOR_ITERATIONS %d\n", PTHREAD_DESTRUCTOR_ITERATIONS);
	printf("main: new key reads NULL %s\n", yesno(pthread_getspecific(k_plain) == NULL));
	pthread_setspecific(k_plain, (void *)1);
	pthread_setspecific(k_dtor, (void *)2);

	/* A thread that sets k_deleted and is still alive when it is deleted. */
	pthread_t early;
	pthread_barrier_init(&deleted_set, NULL, 2);
	must(pthread_create(&early, NULL, sets_then_waits, NULL), "create");
	pthread_barrier_wait(&deleted_set);

	pthread_t t[4];
	for (intptr_t i = 1; i <= 3; i++)
		must(pthread_create(&t[i], NULL, worker, (void *)i), "create");
	for (int i = 1; i <= 3; i++) {
		void *rv;
		must(pthread_join(t[i], &rv), "join");
		struct res *r = rv;
		printf("thread %d: initial NULL %s, own values %s\n", i, yesno(r->initial_null),
		       yesno(r->own_values));
		free(r);
	}
	printf("main keeps its values: %s\n",
	       yesno(pthread_getspecific(k_plain) == (void *)1 && pthread_getspecific(k_dtor) == (void *)2));
	for (int i = 1; i <= 3; i++)
		printf("thread %d destructor calls: dtor %d (value %ld), again %d (last %ld), "
		       "once-more %d (last %ld), deleted-key %d\n",
		       i, calls[i][K_DTOR], (long)last_value[i][K_DTOR], calls[i][K_AGAIN],
		       (long)last_value[i][K_AGAIN], calls[i][K_ONCE_MORE],
		       (long)last_value[i][K_ONCE_MORE], calls[i][K_DELETED]);

	/* delete: the early thread still holds a value for k_deleted */
	memset(calls, 0, sizeof calls);
	printf("key_delete = %s\n", en(pthread_key_delete(k_deleted)));
	printf("key_delete again = %s\n", en(pthread_key_delete(k_deleted)));
	printf("setspecific(deleted) = %s\n", en(pthread_setspecific(k_deleted, (void *)1)));
	pthread_barrier_wait(&deleted_set);
	must(pthread_join(early, NULL), "join");
	printf("destructor of deleted key ran: %d\n", calls[3][K_DELETED]);

	/* a fresh key reads NULL everywhere, even in a reused slot */
	pthread_key_t fresh;
	must(pthread_key_create(&fresh, NULL), "key_create");
	printf("fresh key reads NULL %s\n", yesno(pthread_getspecific(fresh) == NULL));
	must(pthread_key_delete(k_plain), "key_delete");
	pthread_key_t fresh2;
	must(pthread_key_create(&fresh2, NULL), "key_create");
	printf("key created after delete reads NULL in main %s\n",
	       yesno(pthread_getspecific(fresh2) == NULL));

	/* run out of keys */
	static pthread_key_t many[PTHREAD_KEYS_MAX + 1];
	int made = 0, r = 0;
	while (made <= PTHREAD_KEYS_MAX) {
		r = pthread_key_create(&many[made], NULL);
		if (r != 0)
			break;
		made++;
	}
	/* in use by us: k_dtor, k_again, k_once_more, fresh, fresh2 */
	printf("PTHREAD_KEYS_MAX %d: ran out with %s, all slots usable %s\n", PTHREAD_KEYS_MAX,
	       en(r), yesno(made + 5 == PTHREAD_KEYS_MAX));
	for (int i = 0; i < made; i++)
		pthread_key_delete(many[i]);
	pthread_key_t again;
	printf("create after freeing = %s\n", en(pthread_key_create(&again, NULL)));
	printf("bad destructor values: %d\n", wrong_value);
	return wrong_value ? 1 : 0;
}

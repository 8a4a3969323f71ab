/*
 * spin — pthread spinlocks.
 *
 * - three threads x 300 increments of a counter under one spinlock, with a
 *   sched_yield inside the critical section (read, yield, write): the
 *   total is exact and no two threads are ever inside together.  Under
 *   green threads a spinner must let the holder run, or this never ends;
 * - trylock: 0 when free, EBUSY when held (by another thread, and by the
 *   caller itself); unlock; init with PTHREAD_PROCESS_PRIVATE and
 *   PTHREAD_PROCESS_SHARED; destroy.
 * Kept small: natively a spinner burns its time slice while the holder
 * yields, so this is the slowest per iteration of all the tests.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

#define THREADS 3
#define ROUNDS 300

static pthread_spinlock_t sl;
static volatile long counter;
static volatile int inside;
static long overlaps;

static void *worker(void *arg)
{
	for (int i = 0; i < ROUNDS; i++) {
		pthread_spin_lock(&sl);
		if (inside)
			overlaps++;
		inside = 1;
		long v = counter;
		sched_yield();
		counter = v + 1;
		inside = 0;
		pthread_spin_unlock(&sl);
		if (i % 16 == 0)
			sched_yield();
	}
	return NULL;
}

static void *try_from_other(void *arg) { return (void *)(long)pthread_spin_trylock(&sl); }

int main(void)
{
	printf("init(private) = %s\n", en(pthread_spin_init(&sl, PTHREAD_PROCESS_PRIVATE)));
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, NULL) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	printf("counter %ld (want %d), overlaps %ld\n", counter, THREADS * ROUNDS, overlaps);

	printf("trylock(free) = %s\n", en(pthread_spin_trylock(&sl)));
	printf("trylock(held by self) = %s\n", en(pthread_spin_trylock(&sl)));
	pthread_t o;
	void *rv;
	pthread_create(&o, NULL, try_from_other, NULL);
	pthread_join(o, &rv);
	printf("trylock(held, from another thread) = %s\n", en((int)(long)rv));
	printf("unlock = %s\n", en(pthread_spin_unlock(&sl)));
	pthread_create(&o, NULL, try_from_other, NULL);
	pthread_join(o, &rv);
	printf("trylock(free, from another thread) = %s\n", en((int)(long)rv));
	printf("unlock = %s\n", en(pthread_spin_unlock(&sl)));
	printf("lock = %s", en(pthread_spin_lock(&sl)));
	printf(", unlock = %s\n", en(pthread_spin_unlock(&sl)));
	printf("destroy = %s\n", en(pthread_spin_destroy(&sl)));

	pthread_spinlock_t sh;
	printf("init(shared) = %s", en(pthread_spin_init(&sh, PTHREAD_PROCESS_SHARED)));
	printf(", lock = %s", en(pthread_spin_lock(&sh)));
	printf(", trylock = %s", en(pthread_spin_trylock(&sh)));
	printf(", unlock = %s", en(pthread_spin_unlock(&sh)));
	printf(", destroy = %s\n", en(pthread_spin_destroy(&sh)));
	return counter == THREADS * ROUNDS && !overlaps ? 0 : 1;
}

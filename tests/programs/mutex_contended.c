/*
 * mutex_contended — a counter under heavy mutex contention.
 *
 * Four threads each do 2,000 increments of a shared counter under one
 * mutex, giving up the CPU inside the critical section (sched_yield
 * mostly, usleep(0..50) every 64th time) so that the others pile up on
 * the lock.  Each increment is a read, a yield and a write, so any lost
 * mutual exclusion shows up as a wrong total; an "inside" flag also counts
 * overlaps directly.  Done for normal, recursive (locked twice per
 * round), errorcheck and adaptive mutexes, then with trylock-spinning
 * (trylock until 0, sched_yield on EBUSY).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 4
#define ROUNDS 2000

static pthread_mutex_t m;
static volatile long counter;
static volatile int inside;
static long overlaps, errors;
static int use_trylock, twice;

static void *worker(void *arg)
{
	long id = (long)arg;
	for (int i = 0; i < ROUNDS; i++) {
		int r;
		if (use_trylock) {
			while ((r = pthread_mutex_trylock(&m)) == EBUSY)
				sched_yield();
		} else
			r = pthread_mutex_lock(&m);
		if (r != 0) {
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (twice && pthread_mutex_lock(&m) != 0)
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
		if (inside)
			overlaps++;
		inside = 1;
		long v = counter;
		if ((i + id) % 64 == 0)
			usleep(i % 51);
		else
			sched_yield();
		counter = v + 1;
		inside = 0;
		if (twice && pthread_mutex_unlock(&m) != 0)
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
		if (pthread_mutex_unlock(&m) != 0)
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void run(const char *label, int type)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, type);
	pthread_mutex_init(&m, &a);
	pthread_mutexattr_destroy(&a);
	counter = 0;
	overlaps = errors = 0;
	twice = type == PTHREAD_MUTEX_RECURSIVE;

	pthread_t t[THREADS];
	for (long i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			exit(1);
		}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_mutex_destroy(&m);
	printf("%s: counter %ld (want %d), overlaps %ld, errors %ld\n", label, counter,
	       THREADS * ROUNDS, overlaps, errors);
	if (counter != THREADS * ROUNDS || overlaps || errors)
		exit(1);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	run("normal", PTHREAD_MUTEX_NORMAL);
	run("recursive", PTHREAD_MUTEX_RECURSIVE);
	run("errorcheck", PTHREAD_MUTEX_ERRORCHECK);
	run("adaptive", PTHREAD_MUTEX_ADAPTIVE_NP);
	use_trylock = 1;
	run("normal, trylock loop", PTHREAD_MUTEX_NORMAL);
	return 0;
}

/*
 * thread_many — many threads alive at once.
 *
 * 2,000 joinable threads are created (each sleeps 20 ms so that they all
 * exist together, then returns its index squared) and joined; the sum of
 * the results is checked.  Then 1,000 detached threads each bump a
 * counter under a mutex and signal main, which waits on a condvar until
 * all have run.  Then 500 create/join pairs one after the other (handles
 * and stacks get reused).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

#define JOINABLE 2000
#define DETACHED 1000
#define SERIAL 500

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int detached_done;

static void *square(void *arg)
{
	intptr_t i = (intptr_t)arg;
	usleep(20000);
	return (void *)(i * i);
}

static void *bump(void *arg)
{
	pthread_mutex_lock(&mu);
	if (++detached_done == DETACHED)
		pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *ident(void *arg) { return arg; }

int main(void)
{
	static pthread_t t[JOINABLE];
	for (intptr_t i = 0; i < JOINABLE; i++)
		must(pthread_create(&t[i], NULL, square, (void *)i), "create");
	long long sum = 0, want = 0;
	for (intptr_t i = 0; i < JOINABLE; i++) {
		void *rv;
		must(pthread_join(t[i], &rv), "join");
		sum += (intptr_t)rv;
		want += (long long)i * i;
	}
	printf("%d joinable threads: sum of results %s\n", JOINABLE, sum == want ? "ok" : "WRONG");

	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < DETACHED; i++) {
		pthread_t d;
		must(pthread_create(&d, &a, bump, NULL), "create detached");
	}
	pthread_attr_destroy(&a);
	pthread_mutex_lock(&mu);
	while (detached_done < DETACHED)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	printf("%d detached threads ran: %d\n", DETACHED, detached_done);

	int ok = 0;
	for (intptr_t i = 0; i < SERIAL; i++) {
		pthread_t s;
		void *rv;
		must(pthread_create(&s, NULL, ident, (void *)i), "create");
		must(pthread_join(s, &rv), "join");
		ok += rv == (void *)i;
	}
	printf("%d create/join pairs: %d ok\n", SERIAL, ok);
	return sum == want && ok == SERIAL ? 0 : 1;
}

/*
 * preempt_stress — stress loops of calls that never block, while main
 * sleeps (the shape of a POSIX conformance suite's stress tests).
 *
 * Four threads loop on pthread_equal, pthread_kill(self, 0),
 * pthread_mutex_trylock/unlock and pthread_cond_signal until main, after a
 * 100 ms sleep, sets stop.  Natively the kernel preempts them; under the
 * shim a tick or a safe point in the greened call does.  Every loop must
 * have run, and every call must have returned what it should.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include "testutil.h"

static volatile int stop;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static long count[4], wrong[4];

static void *loop(void *arg)
{
	long k = (long)arg;
	pthread_t self = pthread_self();
	long long end = now_ns(CLOCK_MONOTONIC) + 10000 * MS;
	while (!stop) {
		int ok = 1;
		switch (k) {
		case 0:
			ok = pthread_equal(self, pthread_self()) != 0;
			break;
		case 1:
			ok = pthread_kill(self, 0) == 0;
			break;
		case 2: {
			int r = pthread_mutex_trylock(&m);
			ok = r == 0 || r == EBUSY;
			if (r == 0)
				ok = pthread_mutex_unlock(&m) == 0;
			break;
		}
		case 3:
			ok = pthread_cond_signal(&c) == 0;
			break;
		}
		count[k]++;
		wrong[k] += !ok;
		if ((count[k] & 0xfff) == 0 && now_ns(CLOCK_MONOTONIC) > end)
			break;
	}
	return NULL;
}

int main(void)
{
	static const char *names[] = { "pthread_equal", "pthread_kill(self, 0)",
				       "pthread_mutex_trylock", "pthread_cond_signal" };
	pthread_t t[4];
	for (long k = 0; k < 4; k++)
		must(pthread_create(&t[k], NULL, loop, (void *)k), "pthread_create");
	long long t0 = now_ns(CLOCK_MONOTONIC);
	usleep(100000);
	long long d = now_ns(CLOCK_MONOTONIC) - t0;
	stop = 1;
	for (int k = 0; k < 4; k++)
		must(pthread_join(t[k], NULL), "pthread_join");
	printf("main slept 100 ms: woke within 5 s: %s\n", yesno(d >= 100 * MS && d < 5000 * MS));
	for (int k = 0; k < 4; k++)
		printf("%s loop: ran: %s, every call right: %s\n", names[k], yesno(count[k] > 0),
		       yesno(wrong[k] == 0));
	return 0;
}

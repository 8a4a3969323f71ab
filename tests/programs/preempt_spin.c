/*
 * preempt_spin — threads that compute without ever blocking.
 *
 * Natively the kernel preempts a thread that computes; under the shim the
 * hub's timer does (scheduler/preempt.c).  Without preemption every case
 * here hangs: the spinners never give the CPU back.
 *   1. two threads loop `while (!stop) work++` while main sleeps 50 ms and
 *      then sets stop: main wakes, both spinners worked, both end;
 *   2. a ticker sleeps 5 ms twenty times beside two spinners: it finishes
 *      (how late it wakes is a `make bench` figure, not asserted here);
 *   3. errno and floating-point state survive preemption: each spinner sets
 *      its own errno and rounding mode and checks them, and a running sum
 *      of doubles, on every iteration.
 * Each wait is bounded: a spinner that cannot stop in 10 s reports it.
 */
#include <errno.h>
#include <fenv.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include "testutil.h"

static volatile int stop;
static volatile long work[2];
static volatile int broken[2];

static void *spinner(void *arg)
{
	long i = (long)arg;
	int mode = i ? FE_UPWARD : FE_DOWNWARD;
	fesetround(mode);
	errno = 100 + (int)i;
	volatile double x = 0;
	long n = 0;
	long long end = now_ns(CLOCK_MONOTONIC) + 10000 * MS;
	while (!stop) {
		x += 0.5;
		n++;
		if (errno != 100 + i || fegetround() != mode || x != n * 0.5)
			broken[i] = 1;
		work[i]++;
		if ((n & 0xffff) == 0 && now_ns(CLOCK_MONOTONIC) > end)
			break;
	}
	return NULL;
}

static void start(pthread_t t[2])
{
	stop = 0;
	for (long i = 0; i < 2; i++) {
		work[i] = 0;
		broken[i] = 0;
		must(pthread_create(&t[i], NULL, spinner, (void *)i), "pthread_create");
	}
}

static void finish(pthread_t t[2])
{
	stop = 1;
	for (int i = 0; i < 2; i++)
		must(pthread_join(t[i], NULL), "pthread_join");
	printf("  both spinners worked: %s, state kept: %s\n", yesno(work[0] > 0 && work[1] > 0),
	       yesno(!broken[0] && !broken[1]));
}

static int ticks;
static void *ticker(void *arg)
{
	(void)arg;
	for (ticks = 0; ticks < 20; ticks++)
		usleep(5000);
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	pthread_t t[2], tk;

	printf("spinners, main sleeps 50 ms\n");
	start(t);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	usleep(50000);
	long long d = now_ns(CLOCK_MONOTONIC) - t0;
	printf("  main woke: after >= 50 ms: %s, within 5 s: %s\n", yesno(d >= 50 * MS),
	       yesno(d < 5000 * MS));
	finish(t);

	printf("a 5 ms ticker beside spinners\n");
	start(t);
	t0 = now_ns(CLOCK_MONOTONIC);
	must(pthread_create(&tk, NULL, ticker, NULL), "pthread_create");
	must(pthread_join(tk, NULL), "pthread_join");
	d = now_ns(CLOCK_MONOTONIC) - t0;
	printf("  ticker done: %d ticks, within 5 s: %s\n", ticks, yesno(d < 5000 * MS));
	finish(t);
	return 0;
}

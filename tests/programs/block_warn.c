/*
 * block_warn — a "cruncher" thread computes for 300 ms without making any
 * call the shim greens, while a "ticker" thread wants to run every 10 ms.
 * With preemption off (GREENSHIM_PREEMPT_MS=0) the ticker cannot run
 * under the shim until the cruncher is done: with GREENSHIM_BLOCK_WARN_MS=100
 * the shim names the cruncher on stderr.  With it on, the ticker ticks.
 * Prints only what does not depend on timing.
 */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static volatile int done;

static void *cruncher(void *arg)
{
	pthread_setname_np(pthread_self(), "cruncher");
	long long start = now_ns(CLOCK_MONOTONIC);
	unsigned long x = 1;
	while (now_ns(CLOCK_MONOTONIC) - start < 300 * MS)
		x = x * 6364136223846793005UL + 1;
	done = 1;
	return (void *)x;
}

static void *ticker(void *arg)
{
	int ticks = 0;
	while (!done) {
		usleep(10000);
		ticks++;
	}
	return (void *)(long)ticks;
}

int main(void)
{
	pthread_t c, t;
	void *ticks;
	must(pthread_create(&t, NULL, ticker, NULL), "pthread_create");
	must(pthread_create(&c, NULL, cruncher, NULL), "pthread_create");
	must(pthread_join(c, NULL), "pthread_join");
	must(pthread_join(t, &ticks), "pthread_join");
	printf("cruncher done, ticker ticked: %s\n", yesno((long)ticks > 0));
	return 0;
}

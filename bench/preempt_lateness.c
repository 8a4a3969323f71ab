/* preempt_lateness — how late a 5 ms ticker wakes beside two threads that
 * compute without ever blocking.
 *
 * usage: preempt_lateness [TICKS]   (default 200)
 * Natively the kernel's scheduler decides; under the shim, preemption
 * (GREENSHIM_PREEMPT_MS, 10 ms by default) does: the target is at
 * most 2 slices late.  Without preemption the ticker never runs, so the
 * program gives up after 30 s.
 * output: stdout "result late_mean_us=<mean> late_max_us=<max> ticks=<N>" */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void *spin(void *arg)
{
	volatile unsigned long x = (unsigned long)arg;
	while (!stop)
		x = x * 6364136223846793005UL + 1;
	return NULL;
}

static void *giveup(void *arg)
{
	(void)arg;
	sleep(30);
	fprintf(stderr, "preempt_lateness: the ticker did not finish in 30 s\n");
	_exit(1);
}

int main(int argc, char **argv)
{
	int ticks = argc > 1 ? atoi(argv[1]) : 200;
	pthread_t s[2], g;
	for (long i = 0; i < 2; i++)
		pthread_create(&s[i], NULL, spin, (void *)(i + 1));
	pthread_create(&g, NULL, giveup, NULL);
	pthread_detach(g);
	double sum = 0, max = 0;
	for (int i = 0; i < ticks; i++) {
		long long t0 = now_ns();
		struct timespec d = { 0, 5000000 };
		nanosleep(&d, NULL);
		double late = (now_ns() - t0 - 5000000) / 1000.0;
		sum += late;
		if (late > max)
			max = late;
	}
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(s[i], NULL);
	printf("result late_mean_us=%.0f late_max_us=%.0f ticks=%d\n", sum / ticks, max, ticks);
	return 0;
}

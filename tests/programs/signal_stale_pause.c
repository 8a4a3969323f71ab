/*
 * signal_stale_pause — a process-directed signal whose handler ran while
 * main was running does not end main's next wait (CPython's
 * test_itimer_real failed so): main, with a second thread asleep, sends
 * itself SIGUSR1 (the handler runs at once, in main), then sets alarm(1)
 * and pause()s: pause must end with the SIGALRM a second later, not at
 * once.  Then the same with the signal sent while the other thread runs
 * and main computes.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include "testutil.h"

static volatile sig_atomic_t usr1, alrm;
static volatile int stop;

static void on_usr1(int sig)
{
	usr1++;
}

static void on_alrm(int sig)
{
	alrm++;
}

static void *sleeper(void *arg)
{
	sleep_ms(5000);
	return NULL;
}

static void *sender(void *arg)
{
	kill(getpid(), SIGUSR1);
	stop = 1;
	return NULL;
}

static void one_pause(const char *what)
{
	alrm = 0;
	alarm(1);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	pause();
	long long ms = (now_ns(CLOCK_MONOTONIC) - t0) / MS;
	printf("%s: pause ended by the alarm: %s (after 0.9 s or more: %s), usr1 %d\n", what, yesno(alrm == 1),
	       yesno(ms >= 900), (int)usr1);
}

int main(void)
{
	pthread_t t;
	must(pthread_create(&t, NULL, sleeper, NULL), "pthread_create");
	pthread_detach(t);
	signal(SIGUSR1, on_usr1);
	signal(SIGALRM, on_alrm);
	kill(getpid(), SIGUSR1);
	one_pause("sent by main");
	must(pthread_create(&t, NULL, sender, NULL), "pthread_create");
	while (!stop) /* computes while the other thread sends */
		;
	must(pthread_join(t, NULL), "pthread_join");
	one_pause("sent by a thread while main computed");
	return 0;
}

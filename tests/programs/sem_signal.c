/*
 * sem_signal — semaphore waits and signal handlers.
 *
 * A SIGALRM (setitimer, 100 ms) arrives while main waits on a semaphore
 * with value 0.  Natively (glibc 2.36, Linux):
 *   handler without SA_RESTART:
 *     sem_wait                          -1/EINTR
 *     sem_timedwait / sem_clockwait +2s -1/EINTR
 *     sem_wait, handler posts           -1/EINTR, and the value is 1
 *   handler with SA_RESTART:
 *     sem_timedwait / sem_clockwait +2s -1/EINTR (a timed futex wait is
 *                                       never restarted)
 *     sem_wait, handler posts           0: the untimed futex wait is
 *                                       restarted, sees the post, takes it
 * The program is single-threaded so the signal can only land in main.
 */
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include "testutil.h"

static sem_t s;
static volatile sig_atomic_t hits, post_in_handler;

static void on_alarm(int sig)
{
	hits++;
	if (post_in_handler)
		sem_post(&s); /* async-signal-safe */
}

static void arm(int post)
{
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };
	hits = 0;
	post_in_handler = post;
	if (setitimer(ITIMER_REAL, &it, NULL) != 0) {
		perror("setitimer");
		exit(1);
	}
}

static void report(const char *what, int r, int e, long long t0)
{
	long long d = now_ns(CLOCK_MONOTONIC) - t0;
	int v = -99;
	sem_getvalue(&s, &v);
	if (r == 0)
		printf("%s = 0", what);
	else
		printf("%s = %d errno %s", what, r, en(e));
	printf(", handler ran %d, back after the signal and early %s, value %d\n", (int)hits,
	       d >= 90 * MS && d < 1500 * MS ? "yes" : "no", v);
	while (sem_trywait(&s) == 0)
		;
}

static void round_with(int flags, const char *label)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	printf("-- handler %s\n", label);

	long long t0;
	int r, e;
	if (!(flags & SA_RESTART)) {
		/* with SA_RESTART and no post, sem_wait would wait for ever */
		t0 = now_ns(CLOCK_MONOTONIC);
		arm(0);
		r = sem_wait(&s);
		e = errno;
		report("sem_wait", r, e, t0);
	}

	struct timespec at = ts_of(now_ns(CLOCK_REALTIME) + 2000 * MS);
	t0 = now_ns(CLOCK_MONOTONIC);
	arm(0);
	r = sem_timedwait(&s, &at);
	e = errno;
	report("sem_timedwait(+2s)", r, e, t0);

	at = ts_of(now_ns(CLOCK_MONOTONIC) + 2000 * MS);
	t0 = now_ns(CLOCK_MONOTONIC);
	arm(0);
	r = sem_clockwait(&s, CLOCK_MONOTONIC, &at);
	e = errno;
	report("sem_clockwait(MONOTONIC, +2s)", r, e, t0);

	t0 = now_ns(CLOCK_MONOTONIC);
	arm(1);
	r = sem_wait(&s);
	e = errno;
	report("sem_wait, handler posts", r, e, t0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	sem_init(&s, 0, 0);
	round_with(0, "without SA_RESTART");
	round_with(SA_RESTART, "with SA_RESTART");
	return 0;
}

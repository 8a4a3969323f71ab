/*
 * time_interrupt — sleeps cut short by a signal handler.
 *
 * A SIGALRM handler is installed with sigaction, once without and once with
 * SA_RESTART (the sleep family is never restarted, so both give the same
 * results).  A one-shot setitimer (100 ms) or alarm(1) interrupts:
 *   nanosleep(2 s)                 -1/EINTR, rem > 0 and < requested
 *   clock_nanosleep rel (2 clocks) returns EINTR, rem filled, errno kept
 *   clock_nanosleep TIMER_ABSTIME  returns EINTR, rem untouched
 *   usleep(2 s)                    -1/EINTR
 *   sleep(3) + setitimer(100 ms)   2 (whole seconds not slept: glibc
 *                                  truncates; errno stays EINTR)
 *   sleep(3) + alarm(1)            1 or 2 (about 2.0 s left: which side of
 *                                  the second it lands on is timing)
 * and each time the handler ran exactly once and the call came back early.
 * Single-threaded, so natively the signal can only hit main.
 *
 * Runs in about 2 s.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

static volatile sig_atomic_t hits;

static void on_alarm(int sig) { hits++; }

static void arm_100ms(void)
{
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };
	hits = 0;
	if (setitimer(ITIMER_REAL, &it, NULL) != 0) {
		perror("setitimer");
		exit(1);
	}
}

/* The call returned early (well before its 2 s) and the handler ran once. */
static const char *early(long long t0)
{
	long long d = now_ns(CLOCK_MONOTONIC) - t0;
	return yesno(d >= 90 * MS && d < 1500 * MS && hits == 1);
}

/* rem is more than 0 and less than the 2 s asked for (about 1.9 s). */
static const char *rem_ok(const struct timespec *rem)
{
	long long r = (long long)rem->tv_sec * 1000000000LL + rem->tv_nsec;
	return yesno(r > 500 * MS && r < 2000 * MS && rem->tv_nsec >= 0 &&
		     rem->tv_nsec < 1000000000L);
}

static void round_with(int flags, const char *label)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) != 0) {
		perror("sigaction");
		exit(1);
	}
	printf("-- handler %s\n", label);

	struct timespec two = { 2, 0 }, rem = { 99, 99 };
	long long t0 = now_ns(CLOCK_MONOTONIC);
	arm_100ms();
	errno = 0;
	int r = nanosleep(&two, &rem);
	int e = errno;
	printf("nanosleep(2s) = %d errno %s, early %s, rem ok %s\n", r, en(e), early(t0),
	       rem_ok(&rem));

	t0 = now_ns(CLOCK_MONOTONIC);
	arm_100ms();
	errno = 0;
	r = nanosleep(&two, NULL);
	e = errno;
	printf("nanosleep(2s, rem NULL) = %d errno %s, early %s\n", r, en(e), early(t0));

	static const struct {
		clockid_t id;
		const char *name;
	} clk[] = { { CLOCK_MONOTONIC, "MONOTONIC" }, { CLOCK_REALTIME, "REALTIME" } };
	for (int i = 0; i < 2; i++) {
		rem = (struct timespec){ 99, 99 };
		t0 = now_ns(CLOCK_MONOTONIC);
		arm_100ms();
		errno = 4242;
		r = clock_nanosleep(clk[i].id, 0, &two, &rem);
		e = errno;
		printf("clock_nanosleep(%s, rel 2s) = %s, errno kept %s, early %s, rem ok %s\n",
		       clk[i].name, en(r), yesno(e == 4242), early(t0), rem_ok(&rem));

		long long dl = now_ns(clk[i].id) + 2000 * MS;
		struct timespec at = { dl / 1000000000LL, dl % 1000000000LL };
		rem = (struct timespec){ 99, 99 };
		t0 = now_ns(CLOCK_MONOTONIC);
		arm_100ms();
		errno = 4242;
		r = clock_nanosleep(clk[i].id, TIMER_ABSTIME, &at, &rem);
		e = errno;
		printf("clock_nanosleep(%s, abs +2s) = %s, errno kept %s, early %s, "
		       "rem untouched %s\n",
		       clk[i].name, en(r), yesno(e == 4242), early(t0),
		       yesno(rem.tv_sec == 99 && rem.tv_nsec == 99));
	}

	t0 = now_ns(CLOCK_MONOTONIC);
	arm_100ms();
	errno = 0;
	r = usleep(2000000);
	e = errno;
	printf("usleep(2s) = %d errno %s, early %s\n", r, en(e), early(t0));

	/* Interrupted after 0.1 s: 2.9 s unslept, glibc returns the whole
	 * seconds (2) and leaves errno at EINTR. */
	t0 = now_ns(CLOCK_MONOTONIC);
	arm_100ms();
	errno = 0;
	unsigned u = sleep(3);
	e = errno;
	printf("sleep(3) after 100ms = %u errno %s, early %s\n", u, en(e), early(t0));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	round_with(0, "without SA_RESTART");
	round_with(SA_RESTART, "with SA_RESTART");

	/* alarm(1) during sleep(3): about 2 s unslept, so 1 or 2. */
	long long t0 = now_ns(CLOCK_MONOTONIC);
	hits = 0;
	alarm(1);
	unsigned u = sleep(3);
	long long d = now_ns(CLOCK_MONOTONIC) - t0;
	printf("sleep(3) with alarm(1) = 1 or 2: %s, handler ran %d, took about 1s %s\n",
	       yesno(u == 1 || u == 2), (int)hits, yesno(d >= 900 * MS && d < 2000 * MS));
	return 0;
}

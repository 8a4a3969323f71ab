/*
 * timer_sigev_thread — a periodic SIGEV_THREAD timer beside green threads.
 *
 * glibc runs each expiry's callback on a thread of its own, made by its
 * helper thread, which waits for the timer's signal (SIGTIMER, 32) with
 * every other signal blocked.  glibc's pthread_create blocks every signal
 * around the clone with a raw rt_sigprocmask, so the new thread starts
 * with SIGTIMER blocked.  Under the shim's syscall trap that call is the
 * shim's: it left glibc's internal signals out, as libc's wrappers do,
 * and a timer that fired before the helper set its own mask killed the
 * process (signal 32), about one run in three.
 *
 * First a green thread makes the call itself (the set as given, a bad
 * `how`).  Then the callbacks (every 1 ms for 300 ms) make greened waits
 * (a pipe, poll, usleep) while two green threads churn, the first expiry
 * at once; the program prints whether the callbacks ran and how many went
 * wrong.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static _Atomic long runs, bad;
static _Atomic int stop;

static void on_timer(union sigval v)
{
	runs++;
	int fd[2];
	if (pipe(fd) != 0) {
		bad++;
		return;
	}
	char c = 0;
	struct pollfd pf = { fd[0], POLLIN, 0 };
	if (write(fd[1], "z", 1) != 1 || poll(&pf, 1, 100) != 1 || read(fd[0], &c, 1) != 1 || c != 'z')
		bad++;
	close(fd[0]);
	close(fd[1]);
	usleep(50);
}

static void *churn(void *arg)
{
	while (!stop)
		usleep(100);
	return NULL;
}

/* The call itself, from a green thread: the set as given, 32 and 33 too
 * (libc's sigprocmask leaves them out); a bad how is EINVAL. */
static void *raw_mask(void *arg)
{
	sigset_t all, now, none;
	memset(&all, 0xff, sizeof all);
	sigemptyset(&none);
	long bad = syscall(SYS_rt_sigprocmask, 99, &all, NULL, 8);
	int bad_errno = bad ? errno : 0;
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, 8);
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &now, 8);
	printf("raw rt_sigprocmask: bad how %ld %s; 32 blocked %s, 33 blocked %s, SIGKILL blocked %s\n",
	       bad, en(bad_errno), yesno(sigismember(&now, 32)), yesno(sigismember(&now, 33)),
	       yesno(sigismember(&now, SIGKILL)));
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);
	return arg;
}

int main(void)
{
	pthread_t t[2];
	must(pthread_create(&t[0], NULL, raw_mask, NULL), "pthread_create");
	must(pthread_join(t[0], NULL), "pthread_join");
	for (int i = 0; i < 2; i++)
		must(pthread_create(&t[i], NULL, churn, NULL), "pthread_create");
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_timer };
	timer_t tm;
	if (timer_create(CLOCK_MONOTONIC, &sev, &tm) != 0)
		die("timer_create");
	/* the first expiry at once: before the helper thread may have set its mask */
	struct itimerspec its = { .it_value = { 0, 1 }, .it_interval = { 0, 1000000 } };
	if (timer_settime(tm, 0, &its, NULL) != 0)
		die("timer_settime");
	sleep_ms(300);
	struct itimerspec off = { 0 };
	timer_settime(tm, 0, &off, NULL);
	sleep_ms(100); /* the last callbacks end */
	stop = 1;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("callbacks ran: %s, went wrong: %ld\n", yesno(runs > 10), (long)bad);
	return 0;
}

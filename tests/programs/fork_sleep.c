/*
 * fork_sleep — fork() from a process with green threads.
 *
 * A thread sleeps 200 ms while main forks.  The child, which keeps only
 * the forking thread (POSIX), sleeps 400 ms itself, so past the sleeper's
 * deadline: the sleeper must never run in the child.  The child checks
 * pthread_self is still the forking thread's handle and exits 7.  The
 * parent waits for it, then joins the sleeper, which must have woken on
 * time: the child's sleep must not disturb the parent's timers (a shared
 * epoll or timerfd would).
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static pid_t parent;
static volatile int sleeper_ran_in_child;

static void *sleeper(void *arg)
{
	long long t0 = now_ns(CLOCK_MONOTONIC);
	usleep(200 * 1000);
	long long took = now_ns(CLOCK_MONOTONIC) - t0;
	if (getpid() != parent)
		sleeper_ran_in_child = 1;
	return (void *)(long)(took >= 200 * MS && took < 1500 * MS);
}

int main(void)
{
	pthread_t t, me = pthread_self();
	parent = getpid();
	if (pthread_create(&t, NULL, sleeper, NULL) != 0)
		return 1;
	usleep(20 * 1000);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		long long t0 = now_ns(CLOCK_MONOTONIC);
		usleep(400 * 1000);
		long long took = now_ns(CLOCK_MONOTONIC) - t0;
		int ok = took >= 400 * MS && took < 2000 * MS && pthread_equal(pthread_self(), me) &&
			 !sleeper_ran_in_child;
		_exit(ok ? 7 : 1);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return 1;
	printf("child exit status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	void *r;
	pthread_join(t, &r);
	printf("parent's sleeper woke on time: %s\n", yesno(r != NULL));
	return 0;
}

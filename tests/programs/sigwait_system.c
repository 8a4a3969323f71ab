/*
 * sigwait_system — waiting for signals and for system() while other
 * threads run:
 *   - sigwait in a thread, woken by pthread_kill, then by a process-
 *     directed kill(); sigtimedwait timing out with EAGAIN; sigwaitinfo's
 *     si_signo; a handler for another signal ends sigwaitinfo with EINTR;
 *   - sigsuspend returning EINTR after a pending handled signal it
 *     unblocks, and pause ended by a handler (from alarm-free
 *     pthread_kill);
 *   - system(): the exit status, a command killed by a signal, system(NULL),
 *     and a ticker thread that ran while system() waited.
 * Under the shim with threads on, every one of these waits would deadlock
 * or stall the ticker if it blocked the OS thread.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static volatile int ticks, handled;
static pthread_t waiter_thread, pauser_thread;

static void on_usr2(int sig)
{
	handled++;
}

static void *ticker(void *arg)
{
	for (int i = 0; i < 200 && !*(volatile int *)arg; i++) {
		usleep(2000);
		ticks++;
	}
	return NULL;
}

static void *waiter(void *arg)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	int sig = 0, t0 = ticks;
	int r = sigwait(&s, &sig);
	printf("sigwait: %d, signal %s, ticker ran meanwhile: %s\n", r, sig == SIGUSR1 ? "USR1" : "?",
	       yesno(ticks > t0));
	return NULL;
}

static void *infowaiter(void *arg)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	siginfo_t si;
	int r = sigwaitinfo(&s, &si);
	printf("sigwaitinfo: %s, si_signo %s\n", r == SIGUSR1 ? "USR1" : en(errno),
	       si.si_signo == SIGUSR1 ? "USR1" : "?");
	struct timespec to = { 0, 30 * MS };
	long long t0 = now_ns(CLOCK_MONOTONIC);
	r = sigtimedwait(&s, &si, &to);
	printf("sigtimedwait: %d %s, waited >= timeout: %s\n", r, en(errno),
	       yesno(now_ns(CLOCK_MONOTONIC) - t0 >= 30 * MS));
	return NULL;
}

static void *pauser(void *arg)
{
	int r = pause();
	printf("pause: %d %s, handler ran: %s\n", r, en(errno), yesno(handled > 0));
	return NULL;
}

int main(void)
{
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	must(pthread_sigmask(SIG_BLOCK, &usr1, NULL), "pthread_sigmask");
	struct sigaction sa = { .sa_handler = on_usr2 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);

	int stop = 0;
	pthread_t tick;
	must(pthread_create(&tick, NULL, ticker, &stop), "pthread_create");

	/* sigwait: woken by pthread_kill, then by a process-directed kill */
	must(pthread_create(&waiter_thread, NULL, waiter, NULL), "pthread_create");
	usleep(20000);
	must(pthread_kill(waiter_thread, SIGUSR1), "pthread_kill");
	must(pthread_join(waiter_thread, NULL), "pthread_join");
	must(pthread_create(&waiter_thread, NULL, infowaiter, NULL), "pthread_create");
	usleep(20000);
	kill(getpid(), SIGUSR1);
	must(pthread_join(waiter_thread, NULL), "pthread_join");

	/* pause, ended by a handler run in that thread */
	must(pthread_create(&pauser_thread, NULL, pauser, NULL), "pthread_create");
	usleep(20000);
	must(pthread_kill(pauser_thread, SIGUSR2), "pthread_kill");
	must(pthread_join(pauser_thread, NULL), "pthread_join");

	/* sigsuspend: a pending USR2 it unblocks is handled, then EINTR */
	sigset_t usr2, none;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigemptyset(&none);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	handled = 0;
	raise(SIGUSR2);
	int r = sigsuspend(&none);
	printf("sigsuspend: %d %s, handler ran: %s\n", r, en(errno), yesno(handled == 1));
	pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);

	/* system() */
	int t0 = ticks;
	r = system("sleep 0.1; exit 3");
	printf("system: exited %s %d, ticker ran meanwhile: %s\n", yesno(WIFEXITED(r)), WEXITSTATUS(r),
	       yesno(ticks > t0));
	r = system("kill -TERM $$");
	printf("system: killed by %s\n", WIFSIGNALED(r) && WTERMSIG(r) == SIGTERM ? "TERM" : "?");
	printf("system(NULL) finds a shell: %s\n", yesno(system(NULL) != 0));
	stop = 1;
	must(pthread_join(tick, NULL), "pthread_join");
	return 0;
}

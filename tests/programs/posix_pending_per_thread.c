/*
 * posix_pending_per_thread — each thread has its own set of pending
 * signals; only what is pending for the process is seen by all.
 *
 * - main blocks SIGUSR1 and raise()s it: pending in main only; a thread
 *   created after (it inherits the mask) sees an empty pending set;
 * - pthread_kill(T, SIGUSR2) while T blocks it: pending in T, not in main;
 * - kill(getpid(), SIGHUP) while every thread blocks it: pending for the
 *   process, so in both; sigwait in T takes it, and then neither sees it;
 * - main unblocks SIGUSR1: its handler runs in main, before the call
 *   returns.
 */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

static pthread_t tmain;
static sem_t step_t, step_main;
static volatile sig_atomic_t usr1_in_main, usr1_elsewhere;

static void handler(int sig)
{
	if (pthread_equal(pthread_self(), tmain))
		usr1_in_main++;
	else
		usr1_elsewhere++;
}

static void show(const char *who, const char *when)
{
	sigset_t p;
	sigpending(&p);
	printf("%-6s %-26s USR1 %s, USR2 %s, HUP %s, empty %s\n", who, when, yesno(sigismember(&p, SIGUSR1)),
	       yesno(sigismember(&p, SIGUSR2)), yesno(sigismember(&p, SIGHUP)), yesno(sigisemptyset(&p)));
}

static void wait_sem(sem_t *s)
{
	while (sem_wait(s) != 0)
		;
}

static void *thread(void *arg)
{
	show("thread", "at start");
	sem_post(&step_main);
	wait_sem(&step_t); /* main sent us SIGUSR2 */
	show("thread", "after pthread_kill USR2");
	sem_post(&step_main);
	wait_sem(&step_t); /* main sent the process SIGHUP */
	show("thread", "after kill HUP");
	sigset_t hup;
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	int sig = 0;
	int rc = sigwait(&hup, &sig);
	printf("thread sigwait HUP: %d, took %s\n", rc, sig == SIGHUP ? "SIGHUP" : "other");
	show("thread", "after sigwait");
	sem_post(&step_main);
	return NULL;
}

int main(void)
{
	tmain = pthread_self();
	signal(SIGUSR1, handler);
	sem_init(&step_t, 0, 0);
	sem_init(&step_main, 0, 0);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGUSR2);
	sigaddset(&s, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	printf("main raise USR1: %d\n", raise(SIGUSR1));
	show("main", "after raise USR1");
	pthread_t t;
	must(pthread_create(&t, NULL, thread, NULL), "pthread_create");
	wait_sem(&step_main);
	must(pthread_kill(t, SIGUSR2), "pthread_kill");
	show("main", "after pthread_kill USR2");
	sem_post(&step_t);
	wait_sem(&step_main);
	kill(getpid(), SIGHUP);
	show("main", "after kill HUP");
	sem_post(&step_t);
	wait_sem(&step_main);
	show("main", "after the thread's sigwait");
	sigset_t u;
	sigemptyset(&u);
	sigaddset(&u, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &u, NULL);
	printf("main unblocked USR1: handler ran in main %d, elsewhere %d\n", (int)usr1_in_main,
	       (int)usr1_elsewhere);
	show("main", "at the end");
	must(pthread_join(t, NULL), "pthread_join");
	return 0;
}

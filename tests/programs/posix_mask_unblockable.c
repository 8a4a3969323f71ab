/*
 * posix_mask_unblockable — SIGKILL and SIGSTOP can never be in a thread's
 * signal mask: pthread_sigmask and sigprocmask drop them silently, with
 * SIG_SETMASK of a full set and with SIG_BLOCK, in main and in a second
 * thread; the call succeeds, and the other signals are blocked.
 * glibc's internal signals (32, 33) are dropped the same way.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include "testutil.h"

static void report(const char *who, const char *how)
{
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	printf("%-6s %-22s SIGKILL %s, SIGSTOP %s, SIGUSR1 %s, SIGTERM %s, 32 %s, 33 %s\n", who, how,
	       yesno(sigismember(&cur, SIGKILL)), yesno(sigismember(&cur, SIGSTOP)),
	       yesno(sigismember(&cur, SIGUSR1)), yesno(sigismember(&cur, SIGTERM)),
	       yesno(sigismember(&cur, 32)), yesno(sigismember(&cur, 33)));
}

static void exercise(const char *who)
{
	sigset_t all, some, none, old;
	sigfillset(&all);
	sigemptyset(&none);
	sigemptyset(&some);
	sigaddset(&some, SIGKILL);
	sigaddset(&some, SIGSTOP);
	sigaddset(&some, SIGUSR1);
	printf("%-6s SETMASK full: %d\n", who, pthread_sigmask(SIG_SETMASK, &all, &old));
	report(who, "after SETMASK full");
	/* the old mask a call returns never holds them either */
	pthread_sigmask(SIG_SETMASK, &none, &old);
	printf("%-6s old mask had SIGKILL %s, SIGSTOP %s\n", who, yesno(sigismember(&old, SIGKILL)),
	       yesno(sigismember(&old, SIGSTOP)));
	printf("%-6s BLOCK kill,stop,usr1: %d\n", who, sigprocmask(SIG_BLOCK, &some, NULL));
	report(who, "after BLOCK");
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	report(who, "after SETMASK empty");
}

static void *thread(void *arg)
{
	exercise("thread");
	return NULL;
}

int main(void)
{
	pthread_t t;
	exercise("main");
	must(pthread_create(&t, NULL, thread, NULL), "pthread_create");
	must(pthread_join(t, NULL), "pthread_join");
	return 0;
}

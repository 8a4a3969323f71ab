/*
 * posix_sigwait_handler — sigwaitinfo and sigtimedwait take a signal of
 * their set even when it is not blocked and has a handler: the call
 * returns it, and the handler does not run.
 *
 * - thread W waits in sigwaitinfo({SIGUSR1}); main pthread_kill()s it;
 * - main waits in sigtimedwait({SIGUSR2}, 5 s); a thread that blocks
 *   SIGUSR2 itself sends kill(getpid(), SIGUSR2) (to the process);
 * - afterwards both signals are unblocked and a raise() of each runs the
 *   handler as usual.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

static volatile sig_atomic_t handled[NSIG];
static int w_sig, w_code;

static void handler(int sig)
{
	handled[sig]++;
}

static void *waiter(void *arg)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	w_sig = sigwaitinfo(&set, &si);
	w_code = si.si_code;
	return NULL;
}

static void *sender(void *arg)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* so that only main can take it */
	sleep_ms(100);
	kill(getpid(), SIGUSR2);
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);

	pthread_t w, s;
	must(pthread_create(&w, NULL, waiter, NULL), "pthread_create");
	sleep_ms(100);
	must(pthread_kill(w, SIGUSR1), "pthread_kill");
	must(pthread_join(w, NULL), "pthread_join");
	printf("sigwaitinfo returned %s, si_code %d; handler ran %d times\n",
	       w_sig == SIGUSR1 ? "SIGUSR1" : "something else", w_code, (int)handled[SIGUSR1]);

	must(pthread_create(&s, NULL, sender, NULL), "pthread_create");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	struct timespec limit = { 5, 0 };
	siginfo_t si;
	memset(&si, 0, sizeof si);
	int r = sigtimedwait(&set, &si, &limit);
	must(pthread_join(s, NULL), "pthread_join");
	printf("sigtimedwait returned %s, si_code %s; handler ran %d times\n",
	       r == SIGUSR2 ? "SIGUSR2" : "something else", si.si_code == SI_USER ? "SI_USER" : "other",
	       (int)handled[SIGUSR2]);

	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	printf("after the waits: USR1 blocked %s, USR2 blocked %s\n", yesno(sigismember(&cur, SIGUSR1)),
	       yesno(sigismember(&cur, SIGUSR2)));
	raise(SIGUSR1);
	raise(SIGUSR2);
	printf("raise of each: handler ran %d and %d times\n", (int)handled[SIGUSR1], (int)handled[SIGUSR2]);
	return 0;
}

/*
 * sigmask_before_record — a mask the main thread sets before the shim has
 * a record of it (no thread made, no greened wait yet: sigprocmask alone
 * makes none) is the one it has after a handler whose code makes that
 * record: SIGUSR2 blocked with sigprocmask, then SIGUSR1 sent with a raw
 * tgkill, its handler (SIGTERM in its sa_mask) calling pthread_self.
 * After the handler SIGUSR2 alone is blocked, as natively; a new thread
 * inherits that mask, and a greened sleep keeps it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

static volatile sig_atomic_t ran;
static pthread_t in_handler;

static void on_usr1(int sig)
{
	in_handler = pthread_self();
	ran = 1;
}

static void report(const char *when)
{
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	printf("%-20s SIGUSR1 %s, SIGUSR2 %s, SIGTERM %s\n", when, yesno(sigismember(&cur, SIGUSR1)),
	       yesno(sigismember(&cur, SIGUSR2)), yesno(sigismember(&cur, SIGTERM)));
}

static void *thread(void *arg)
{
	report("in a new thread");
	return NULL;
}

int main(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	sigprocmask(SIG_BLOCK, &s, NULL);
	report("after sigprocmask");
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaction(SIGUSR1, &sa, NULL);
	/* raw: raise and kill are the shim's, and could make the record first */
	__asm__ volatile("syscall"
			 : : "a"(SYS_tgkill), "D"(getpid()), "S"(gettid()), "d"(SIGUSR1)
			 : "rcx", "r11", "memory");
	printf("handler ran: %s, its pthread_self is main's: %s\n", yesno(ran),
	       yesno(pthread_equal(in_handler, pthread_self())));
	report("after the handler");
	pthread_t t;
	pthread_create(&t, NULL, thread, NULL);
	pthread_join(t, NULL);
	struct timespec ts = { 0, 1000000 };
	nanosleep(&ts, NULL);
	report("after a sleep");
	return 0;
}

/*
 * segv_handler — a program's own SIGSEGV handler keeps working with green
 * threads around: sigaction reads back what the program installed, a
 * fault in a green thread reaches the handler with its address, and the
 * handler's siglongjmp recovers, in the main thread and in a green one.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static sigjmp_buf env;
static volatile void *fault_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	fault_addr = si->si_addr;
	siglongjmp(env, 1);
}

static int faults(volatile int *p)
{
	if (sigsetjmp(env, 1) == 0) {
		*p = 1;
		return 0;
	}
	return fault_addr == (void *)p;
}

static void *in_thread(void *arg)
{
	return (void *)(long)faults((volatile int *)16);
}

static void *nothing(void *arg)
{
	return arg;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, nothing, NULL); /* green stacks exist first */
	void *r;
	pthread_join(t, &r);
	struct sigaction none;
	sigaction(SIGSEGV, NULL, &none);
	printf("no handler at first: %s\n", none.sa_handler == SIG_DFL ? "yes" : "no");

	struct sigaction sa, back;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGSEGV, NULL, &back);
	printf("sigaction reads back our handler: %s, SA_SIGINFO: %s\n",
	       back.sa_sigaction == on_segv ? "yes" : "no", (back.sa_flags & SA_SIGINFO) ? "yes" : "no");
	printf("main recovered from a fault at its address: %s\n", faults((volatile int *)8) ? "yes" : "no");
	pthread_create(&t, NULL, in_thread, NULL);
	pthread_join(t, &r);
	printf("thread recovered from a fault at its address: %s\n", r ? "yes" : "no");
	return 0;
}

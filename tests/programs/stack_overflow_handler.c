/*
 * stack_overflow_handler — a thread with an alternate signal stack of its
 * own and an SA_ONSTACK SIGSEGV handler overflows its stack.  Natively
 * the handler runs, on the alternate stack, with si_code SEGV_ACCERR (a
 * thread's guard is a PROT_NONE page) and si_addr in the guard below the
 * stack pthread_getattr_np reports.  The same must hold for stacks the
 * shim guards with guard markers (which fault with SEGV_MAPERR) and
 * for every place a stack can come from: the first of its chunk, the
 * 64th and 65th, one taken in a fork child whose guard its parent marked,
 * a stack reused after thousands of threads ended, a small one and one
 * with a 1 GiB guard.
 * Each case runs in a child process, which the handler ends with _exit.
 * Expected: one line per case, the same natively and under the shim.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

static char *lo;
static size_t guard;
static size_t want_guard; /* pthread_attr_setguardsize for the next case (0: default) */
static void on_segv(int sig, siginfo_t *si, void *uc)
{
	char *a = si->si_addr;
	stack_t ss;
	sigaltstack(NULL, &ss);
	printf("SIGSEGV: code %s, address %s, on the alternate stack: %s\n",
	       si->si_code == SEGV_ACCERR ? "SEGV_ACCERR" : si->si_code == SEGV_MAPERR ? "SEGV_MAPERR" : "other",
	       a < lo && a >= lo - guard ? "in the guard" : "elsewhere", yesno(ss.ss_flags & SS_ONSTACK));
	fflush(stdout);
	_exit(0);
}

static void *recurse(void *arg)
{
	stack_t ss = { .ss_sp = malloc(65536), .ss_size = 65536 };
	if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0)
		die("sigaltstack");
	pthread_attr_t a;
	void *addr;
	size_t size;
	must(pthread_getattr_np(pthread_self(), &a), "pthread_getattr_np");
	pthread_attr_getstack(&a, &addr, &size);
	pthread_attr_getguardsize(&a, &guard);
	lo = addr;
	return (void *)(long)recurse_forever(0);
}

static void *waiting(void *arg)
{
	pause();
	return NULL;
}

static void *quick(void *arg)
{
	return NULL;
}

static void overflow(size_t stacksize)
{
	pthread_attr_t a;
	pthread_t t;
	pthread_attr_init(&a);
	if (stacksize)
		pthread_attr_setstacksize(&a, stacksize);
	if (want_guard)
		pthread_attr_setguardsize(&a, want_guard);
	must(pthread_create(&t, &a, recurse, NULL), "pthread_create");
	pthread_join(t, NULL);
	printf("not reached\n");
	exit(1);
}

/* In a child: `before` threads that wait, then `ended` that end and are
 * joined, then the overflow. */
static void run_case(const char *what, int before, int ended, size_t stacksize)
{
	printf("%s: ", what);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		pthread_t t;
		for (int i = 0; i < before; i++)
			must(pthread_create(&t, NULL, waiting, NULL), "pthread_create");
		static pthread_t done[5000];
		for (int i = 0; i < ended; i++)
			must(pthread_create(&done[i], NULL, quick, NULL), "pthread_create");
		for (int i = 0; i < ended; i++)
			pthread_join(done[i], NULL);
		overflow(stacksize);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		printf("child ended by %s %d\n", WIFSIGNALED(st) ? "signal" : "status",
		       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_ONSTACK | SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	run_case("the first thread", 0, 0, 0);
	run_case("the 64th", 63, 0, 0);
	run_case("the 65th", 64, 0, 0);
	run_case("the 200th", 199, 0, 0);
	run_case("after 5000 ended", 0, 5000, 0);
	run_case("a 64 KiB stack", 0, 0, 65536);
	want_guard = 1 << 30;
	run_case("a stack with a 1 GiB guard", 0, 0, 0);
	want_guard = 0;
	/* The parent's threads mark guards ahead of the slots they take: the
	 * child's next stack is one whose guard the parent marked. */
	pthread_t t;
	for (int i = 0; i < 5; i++)
		must(pthread_create(&t, NULL, waiting, NULL), "pthread_create");
	run_case("in a child, on a guard its parent marked", 0, 0, 0);
	return 0;
}

/*
 * trap_signals — signals, alternate stacks and new processes around
 * system calls the syscall trap takes (raw `syscall` instructions), each
 * compared with the native run:
 *   - a handler that runs on a thread parked in a raw read makes a raw
 *     read of its own, which another thread satisfies later (the handler's
 *     calls trap too: it must not block the one OS thread);
 *   - sigaltstack is per thread: one that a thread set and left behind
 *     when it ended is not another thread's, and nothing writes into it;
 *   - raw vfork: the child's stores are the parent's memory, as natively;
 *     raw clone(SIGCHLD) with a stack for the child: the child runs there.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define raw(n, a, b, c) raw_syscall(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)

/* ---- a handler's raw read on a thread parked in a raw read ---- */

static int p[2], q[2];
static volatile long handler_read = -999;

static void on_usr1(int sig)
{
	(void)sig;
	char c;
	handler_read = raw(SYS_read, q[0], &c, 1); /* the writer fills q after 150 ms */
}

static void *reader(void *arg)
{
	(void)arg;
	char buf[16];
	long r = raw(SYS_read, p[0], buf, sizeof buf); /* restarted after the handler */
	printf("parked raw read: %ld; the handler's raw read: %ld\n", r, handler_read);
	return NULL;
}

static void *writer(void *arg)
{
	(void)arg;
	sleep_ms(150);
	if (write(q[1], "x", 1) != 1)
		die("write q");
	sleep_ms(50);
	if (write(p[1], "hello", 5) != 5)
		die("write p");
	return NULL;
}

static void handler_case(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	if (pipe(p) || pipe(q))
		die("pipe");
	pthread_t r, w;
	must(pthread_create(&r, NULL, reader, NULL), "pthread_create");
	sleep_ms(30);
	must(pthread_create(&w, NULL, writer, NULL), "pthread_create");
	must(pthread_kill(r, SIGUSR1), "pthread_kill");
	must(pthread_join(r, NULL), "pthread_join");
	must(pthread_join(w, NULL), "pthread_join");
}

/* ---- alternate stacks are per thread ---- */

static char left_behind[64 * 1024];

static void *setter(void *arg)
{
	(void)arg;
	stack_t ss = { .ss_sp = left_behind, .ss_size = sizeof left_behind };
	if (sigaltstack(&ss, NULL))
		die("sigaltstack");
	return NULL; /* ends without taking it down */
}

static void *checker(void *arg)
{
	long *changed = arg;
	memset(left_behind, 0x5a, sizeof left_behind);
	for (int i = 0; i < 200; i++)
		raw(SYS_getppid, 0, 0, 0);
	for (size_t i = 0; i < sizeof left_behind; i++)
		*changed += left_behind[i] != 0x5a;
	return NULL;
}

static void altstack_case(void)
{
	pthread_t t;
	must(pthread_create(&t, NULL, setter, NULL), "pthread_create");
	must(pthread_join(t, NULL), "pthread_join");
	stack_t cur;
	if (sigaltstack(NULL, &cur))
		die("sigaltstack");
	long changed = 0;
	must(pthread_create(&t, NULL, checker, &changed), "pthread_create");
	must(pthread_join(t, NULL), "pthread_join");
	printf("main's alternate stack after another thread set one: %s; bytes of that one "
	       "written by a third thread's raw calls: %ld\n",
	       (cur.ss_flags & SS_DISABLE) ? "none" : cur.ss_sp == left_behind ? "that one" : "another",
	       changed);
}

/* ---- raw vfork and clone ---- */

static volatile int shared_word;

static void vfork_case(void)
{
	long pid = raw(SYS_vfork, 0, 0, 0);
	if (pid == 0) {
		shared_word = 42; /* the parent's memory, until exec or _exit */
		raw(SYS_exit, 7, 0, 0);
	}
	int st = 0;
	if (pid < 0 || waitpid((pid_t)pid, &st, 0) != pid)
		die("vfork");
	printf("raw vfork: the child's store seen by the parent: %d, status %d\n", shared_word,
	       WEXITSTATUS(st));
}

static char child_stack[64 * 1024] __attribute__((aligned(16)));

static void clone_case(void)
{
	/* clone(SIGCHLD) with a stack: the child starts on it; its code is
	 * right after the system call, below. */
	long pid;
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0;
	__asm__ volatile("syscall\n\t"
			 "testq %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "movl $60, %%eax\n\t" /* the child: exit(41 + 1) */
			 "movl $42, %%edi\n\t"
			 "syscall\n\t"
			 "1:"
			 : "=a"(pid)
			 : "a"((long)SYS_clone), "D"((long)SIGCHLD),
			   "S"((long)(child_stack + sizeof child_stack)), "d"(0L), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	int st = 0;
	if (pid < 0 || waitpid((pid_t)pid, &st, 0) != pid)
		die("clone");
	printf("raw clone(SIGCHLD) on a stack of its own: child status %d\n", WEXITSTATUS(st));
}

static void *idle(void *arg)
{
	(void)arg;
	sleep_ms(20);
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_t t; /* a second thread: under the preload, the trap is armed */
	must(pthread_create(&t, NULL, idle, NULL), "pthread_create");
	handler_case();
	altstack_case();
	vfork_case();
	clone_case();
	must(pthread_join(t, NULL), "pthread_join");
	return 0;
}

/*
 * vfork_child — a vfork child borrows its parent's memory: what it does
 * before it execs or exits must not change the parent (CPython's
 * _posixsubprocess blocks every signal, vforks, and the child restores
 * its mask and closes fds).
 *  1. main blocks every signal, vforks; the child unblocks them and
 *     _exits; main restores its own mask: its kernel mask is empty again
 *     (SigBlk), and a raised SIGUSR1 runs its handler;
 *  2. a thread waits to read a pipe; main vforks, the child closes its copy
 *     of the pipe's read end and execs /bin/true; main writes: the thread
 *     reads the byte (the child's close was its own);
 *  3. the child's sigaction(SIGUSR1, SIG_DFL) leaves the parent's handler.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

static volatile sig_atomic_t ran;
static int fds[2];
static int got = -1;

static void handler(int sig)
{
	ran++;
}

static unsigned long long kernel_blocked(void)
{
	FILE *f = fopen("/proc/thread-self/status", "r");
	char line[256];
	unsigned long long v = ~0ULL;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "SigBlk: %llx", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static void *reader(void *arg)
{
	char c;
	got = (int)read(fds[0], &c, 1);
	return NULL;
}

int main(void)
{
	signal(SIGUSR1, handler);
	/* 1 */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = vfork();
	if (pid == 0) {
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		_exit(0);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	waitpid(pid, NULL, 0);
	printf("1. kernel mask empty after the restore: %s\n", yesno(kernel_blocked() == 0));
	raise(SIGUSR1);
	printf("   the handler ran: %d\n", (int)ran);
	/* 2 */
	if (pipe(fds) != 0)
		die("pipe");
	pthread_t t;
	must(pthread_create(&t, NULL, reader, NULL), "pthread_create");
	sleep_ms(50);
	pid = vfork();
	if (pid == 0) {
		close(fds[0]);
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	sleep_ms(50);
	if (write(fds[1], "x", 1) != 1)
		die("write");
	must(pthread_join(t, NULL), "pthread_join");
	printf("2. the child ran /bin/true: %s; the thread read %d byte\n",
	       yesno(WIFEXITED(st) && WEXITSTATUS(st) == 0), got);
	/* 3 */
	pid = vfork();
	if (pid == 0) {
		signal(SIGUSR1, SIG_DFL);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	raise(SIGUSR1);
	printf("3. the parent's handler still runs: %d\n", (int)ran);
	return 0;
}

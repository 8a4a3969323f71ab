/*
 * tls_identity — a thread's kernel identity as programs see it.
 *
 * - gettid() and syscall(SYS_gettid) agree, differ between threads and
 *   from main's, and main's is getpid() (CPython's get_native_id test);
 * - tgkill(getpid(), tid, sig) of another living thread runs the handler
 *   in that thread; of a thread that has ended: ESRCH;
 * - sched_getaffinity and getpriority/setpriority(PRIO_PROCESS) accept
 *   another thread's tid;
 * - fork() from a thread that is not main: the child's only thread ends
 *   by returning from its start routine, which ends the child with status
 *   0 and its stdio flushed (a TCB of the shim's has no glibc thread start
 *   to return to).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runcmd.h"

#define N 10

static pid_t tids[N];
static int raw_agrees[N];
static pthread_t handles[N];
static volatile sig_atomic_t got_in = -1;
static pthread_barrier_t bar;

static void on_usr1(int sig)
{
	for (int i = 0; i < N; i++)
		if (pthread_equal(pthread_self(), handles[i]))
			got_in = i;
}

static void *worker(void *arg)
{
	int i = (int)(long)arg;
	tids[i] = gettid();
	raw_agrees[i] = (pid_t)syscall(SYS_gettid) == tids[i];
	pthread_barrier_wait(&bar); /* everyone's tid is known */
	pthread_barrier_wait(&bar); /* thread 0 has signalled thread 3 */
	usleep(20000);
	return NULL;
}

static void *forker(void *arg)
{
	int rfd;
	pid_t pid = fork_piped(1, 0, &rfd);
	if (pid == 0) {
		printf("child: thread ends the process\n"); /* left in stdio's buffer */
		return NULL;
	}
	char buf[128];
	read_all(rfd, buf, sizeof buf);
	close(rfd);
	int st = reap(pid);
	printf("fork from a thread: child said \"%.*s\", exit %d\n", (int)strcspn(buf, "\n"), buf,
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return NULL;
}

int main(void)
{
	signal(SIGUSR1, on_usr1);
	pthread_barrier_init(&bar, NULL, N + 1);
	for (long i = 0; i < N; i++)
		if (pthread_create(&handles[i], NULL, worker, (void *)i) != 0)
			die("pthread_create");
	pthread_barrier_wait(&bar);
	int distinct = 1, agree = 1;
	for (int i = 0; i < N; i++) {
		agree &= raw_agrees[i];
		if (tids[i] == gettid() || tids[i] <= 0)
			distinct = 0;
		for (int j = 0; j < i; j++)
			if (tids[i] == tids[j])
				distinct = 0;
	}
	printf("main's tid is the pid: %s\n", gettid() == getpid() ? "yes" : "no");
	printf("tids distinct from each other and main's: %s\n", distinct ? "yes" : "no");
	printf("syscall(SYS_gettid) == gettid(): %s\n", agree ? "yes" : "no");

	cpu_set_t set;
	CPU_ZERO(&set);
	printf("sched_getaffinity(another thread): %s\n",
	       sched_getaffinity(tids[2], sizeof set, &set) == 0 && CPU_COUNT(&set) > 0 ? "ok" : strerror(errno));
	errno = 0;
	int prio = getpriority(PRIO_PROCESS, (id_t)tids[2]);
	printf("getpriority(another thread): %s\n", errno ? strerror(errno) : "ok");
	printf("setpriority(another thread, same value): %s\n",
	       setpriority(PRIO_PROCESS, (id_t)tids[2], prio) == 0 ? "ok" : strerror(errno));

	if (syscall(SYS_tgkill, getpid(), tids[3], SIGUSR1) != 0)
		die("tgkill");
	pthread_barrier_wait(&bar);
	for (int i = 0; i < 100 && got_in < 0; i++)
		usleep(1000);
	printf("tgkill(thread 3) ran its handler in thread %d\n", (int)got_in);
	for (int i = 0; i < N; i++)
		pthread_join(handles[i], NULL);
	errno = 0;
	int r = (int)syscall(SYS_tgkill, getpid(), tids[5], 0);
	printf("tgkill(ended thread, 0): %d %s\n", r, r ? strerror(errno) : "");

	pthread_t f;
	pthread_create(&f, NULL, forker, NULL);
	pthread_join(f, NULL);
	return 0;
}

/*
 * posix_pshared_robust — a robust process-shared mutex held by a thread of
 * a process that dies is handed to the next locker with EOWNERDEAD, when
 * that thread is not the process's main thread too (under the shim, a
 * green thread with a TCB of its own, whose robust list the kernel does
 * not walk).
 *  1. a child: a second thread locks and unlocks the mutex 1000 times,
 *     interleaved with main doing the same on a second robust mutex,
 *     then locks both again (one each) and the child exits: the parent's
 *     locks of both get EOWNERDEAD, consistent() makes them usable;
 *  2. a child's thread locks, waits 50 ms on a pshared condvar (timed
 *     out, so glibc took the mutex again), and the child exits: the
 *     parent gets EOWNERDEAD.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

struct shared {
	pthread_mutex_t a, b;
	pthread_cond_t cv;
};
static struct shared *sh;

static void *churn_a(void *arg)
{
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&sh->a);
		sched_yield();
		pthread_mutex_unlock(&sh->a);
	}
	pthread_mutex_lock(&sh->a);
	return NULL;
}

static void *wait_then_hold(void *arg)
{
	pthread_mutex_lock(&sh->a);
	struct timespec soon = deadline_ms(CLOCK_REALTIME, 50);
	pthread_cond_timedwait(&sh->cv, &sh->a, &soon);
	return NULL;
}

static void after_death(const char *what, pthread_mutex_t *m)
{
	struct timespec limit = deadline_ms(CLOCK_REALTIME, 2000);
	int r = pthread_mutex_timedlock(m, &limit);
	int c = r == EOWNERDEAD ? pthread_mutex_consistent(m) : -1;
	int u = pthread_mutex_unlock(m);
	int again = pthread_mutex_trylock(m);
	if (again == 0)
		pthread_mutex_unlock(m);
	printf("%s: lock %s, consistent %s, unlock %s, lock again %s\n", what, en(r), c < 0 ? "-" : en(c), en(u),
	       en(again));
}

int main(void)
{
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	must(pthread_mutex_init(&sh->a, &ma), "mutex_init");
	must(pthread_mutex_init(&sh->b, &ma), "mutex_init");
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	must(pthread_cond_init(&sh->cv, &ca), "cond_init");

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t t;
		must(pthread_create(&t, NULL, churn_a, NULL), "pthread_create");
		for (int i = 0; i < 1000; i++) {
			pthread_mutex_lock(&sh->b);
			sched_yield();
			pthread_mutex_unlock(&sh->b);
		}
		pthread_mutex_lock(&sh->b);
		pthread_join(t, NULL);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	after_death("1. the thread's mutex", &sh->a);
	after_death("1. main's mutex", &sh->b);

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		pthread_t t;
		must(pthread_create(&t, NULL, wait_then_hold, NULL), "pthread_create");
		pthread_join(t, NULL);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	after_death("2. after a condvar wait", &sh->a);
	return 0;
}

/*
 * foreign_threads — OS threads the shim did not create, next to green ones
 * (found by review).  Such threads come from glibc itself (a SIGEV_THREAD
 * timer's notification thread) or from code that reaches glibc's
 * pthread_create past the PLT (here: through dlsym on libc).
 *  1. A SIGEV_THREAD callback creates a thread and returns; main joins it.
 *  2. A foreign thread cancels a green thread blocked in pthread_cond_wait;
 *     its cleanup handler runs and it joins as PTHREAD_CANCELED.
 * (main's pthread_exit beside a foreign thread: main_exit_foreign.c; not
 * here, since glibc's SIGEV_THREAD helper thread lives as long as the
 * process and would keep it alive.)
 */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
static create_fn real_create;

/* 1 */
static pthread_t worker_t;
static volatile int created;
static void *worker(void *a)
{
	usleep(20 * 1000);
	return (void *)42;
}
static void on_timer(union sigval v)
{
	pthread_create(&worker_t, NULL, worker, NULL);
	created = 1;
}

/* 2 */
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_t victim;
static volatile int cleaned;
static void unlock(void *a)
{
	cleaned = 1;
	pthread_mutex_unlock(&m);
}
static void *waiter(void *a)
{
	pthread_mutex_lock(&m);
	pthread_cleanup_push(unlock, NULL);
	for (;;)
		pthread_cond_wait(&cv, &m);
	pthread_cleanup_pop(1);
	return NULL;
}
static void *canceller(void *a)
{
	usleep(50 * 1000);
	pthread_cancel(victim);
	return NULL;
}

int main(void)
{
	real_create = (create_fn)dlsym(dlopen("libc.so.6", RTLD_NOW), "pthread_create");
	if (!real_create)
		return 1;

	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = on_timer;
	timer_t tm;
	timer_create(CLOCK_MONOTONIC, &sev, &tm);
	struct itimerspec its = { .it_value = { 0, 1000000 } };
	timer_settime(tm, 0, &its, NULL);
	while (!created)
		usleep(1000);
	void *r;
	int rc = pthread_join(worker_t, &r);
	printf("thread made by a SIGEV_THREAD callback: join %d, result %ld\n", rc, (long)r);

	pthread_create(&victim, NULL, waiter, NULL);
	pthread_t os;
	real_create(&os, NULL, canceller, NULL);
	pthread_join(victim, &r);
	pthread_join(os, NULL);
	printf("cancelled from a foreign thread: %s, cleanup ran: %s\n",
	       r == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "?", cleaned ? "yes" : "no");
	return 0;
}

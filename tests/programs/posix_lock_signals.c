/*
 * posix_lock_signals — a signal sent to a thread that waits for a lock
 * runs its handler at once, and the wait then goes on (POSIX: the
 * handler runs, and the thread resumes waiting as if not interrupted).
 *
 * For each wait (mutex lock and timedlock, rwlock rd/wr and their timed
 * forms, barrier, condvar wait, join): a thread W starts waiting while
 * main holds what it waits for; main sends W SIGUSR1 (a handler without
 * SA_RESTART) and checks, still holding the lock, that the handler ran in
 * W within 2 s; then main releases, and W reports what its call returned.
 * A timed wait has a 5 s limit, so it must still succeed.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

enum kind { MUTEX, MUTEX_TIMED, RDLOCK, WRLOCK, RDLOCK_TIMED, WRLOCK_TIMED, BARRIER, COND, JOIN, N_KINDS };
static const char *names[] = { "mutex_lock", "mutex_timedlock", "rwlock_rdlock", "rwlock_wrlock",
			       "rwlock_timedrdlock", "rwlock_timedwrlock", "barrier_wait",
			       "cond_wait", "join" };

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t bar;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go;
static sem_t joined_may_end;
static pthread_t waiter, joined;
static volatile sig_atomic_t ran, ran_in_waiter;
static enum kind kind;
static int result;

static void handler(int sig)
{
	ran++;
	ran_in_waiter = pthread_equal(pthread_self(), waiter);
}

static void *joined_thread(void *arg)
{
	while (sem_wait(&joined_may_end) != 0)
		;
	return NULL;
}

static void *waiter_thread(void *arg)
{
	struct timespec limit = deadline_ms(CLOCK_REALTIME, 5000);
	switch (kind) {
	case MUTEX:
		result = pthread_mutex_lock(&m);
		pthread_mutex_unlock(&m);
		break;
	case MUTEX_TIMED:
		result = pthread_mutex_timedlock(&m, &limit);
		pthread_mutex_unlock(&m);
		break;
	case RDLOCK:
		result = pthread_rwlock_rdlock(&rw);
		pthread_rwlock_unlock(&rw);
		break;
	case WRLOCK:
		result = pthread_rwlock_wrlock(&rw);
		pthread_rwlock_unlock(&rw);
		break;
	case RDLOCK_TIMED:
		result = pthread_rwlock_timedrdlock(&rw, &limit);
		pthread_rwlock_unlock(&rw);
		break;
	case WRLOCK_TIMED:
		result = pthread_rwlock_timedwrlock(&rw, &limit);
		pthread_rwlock_unlock(&rw);
		break;
	case BARRIER:
		result = pthread_barrier_wait(&bar);
		if (result == PTHREAD_BARRIER_SERIAL_THREAD)
			result = 0;
		break;
	case COND:
		pthread_mutex_lock(&m);
		while (!go && (result = pthread_cond_wait(&cv, &m)) == 0)
			;
		pthread_mutex_unlock(&m);
		break;
	case JOIN:
		result = pthread_join(joined, NULL);
		break;
	default:
		break;
	}
	return NULL;
}

static void hold(void)
{
	switch (kind) {
	case MUTEX:
	case MUTEX_TIMED:
		pthread_mutex_lock(&m);
		break;
	case RDLOCK:
	case RDLOCK_TIMED:
		pthread_rwlock_wrlock(&rw);
		break;
	case WRLOCK:
	case WRLOCK_TIMED:
		pthread_rwlock_rdlock(&rw);
		break;
	case BARRIER:
		pthread_barrier_init(&bar, NULL, 2);
		break;
	case COND:
		go = 0;
		break;
	case JOIN:
		sem_init(&joined_may_end, 0, 0);
		must(pthread_create(&joined, NULL, joined_thread, NULL), "pthread_create");
		break;
	default:
		break;
	}
}

static void release(void)
{
	switch (kind) {
	case MUTEX:
	case MUTEX_TIMED:
		pthread_mutex_unlock(&m);
		break;
	case RDLOCK:
	case RDLOCK_TIMED:
	case WRLOCK:
	case WRLOCK_TIMED:
		pthread_rwlock_unlock(&rw);
		break;
	case BARRIER:
		pthread_barrier_wait(&bar);
		break;
	case COND:
		pthread_mutex_lock(&m);
		go = 1;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&m);
		break;
	case JOIN:
		sem_post(&joined_may_end);
		break;
	default:
		break;
	}
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler; /* no SA_RESTART: the waits go on all the same */
	sigaction(SIGUSR1, &sa, NULL);
	for (kind = 0; kind < N_KINDS; kind++) {
		ran = ran_in_waiter = 0;
		result = -1;
		hold();
		must(pthread_create(&waiter, NULL, waiter_thread, NULL), "pthread_create");
		sleep_ms(100); /* W is waiting by now */
		must(pthread_kill(waiter, SIGUSR1), "pthread_kill");
		for (int i = 0; i < 400 && !ran; i++)
			sleep_ms(5);
		int during = ran;
		release();
		must(pthread_join(waiter, NULL), "pthread_join");
		if (kind == BARRIER)
			pthread_barrier_destroy(&bar);
		printf("%-20s handler ran during the wait: %s, in the waiter: %s; the call returned %s\n",
		       names[kind], yesno(during), yesno(ran_in_waiter), en(result));
	}
	return 0;
}

/*
 * posix_sched_priority — under SCHED_FIFO and SCHED_RR the highest
 * priority runs first and gets what is released first; equals keep their
 * order of arrival.
 *
 * The process is pinned to one CPU, so natively the order is the
 * scheduler's alone.  main runs at SCHED_FIFO 90 and creates L (10),
 * M (20) and H (30); each records its name when it gets its turn:
 *   1. ready queue: all three created, then main joins: H M L;
 *   2. mutex: L, M, H lock a mutex main holds, arriving in that order;
 *      main unlocks: H M L;
 *   3. condvar: the three wait; main signals three times: H M L;
 *   4. semaphore: the three wait; main posts three times: H M L;
 *   5. preemption: main drops to priority 5 and unlocks a mutex H waits
 *      for: H runs before main's next step;
 *   6. equals: A, B, C at 20 lock the mutex in that order: A B C.
 * Without the right to real-time priorities (EPERM) it says so and stops,
 * natively and under the shim alike.
 */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include "testutil.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static int tokens;
static char order[64];
static atomic_int pos;

static void record(const char *name)
{
	int at = atomic_fetch_add(&pos, (int)strlen(name) + 1);
	memcpy(order + at, name, strlen(name));
	order[at + strlen(name)] = ' ';
}

enum what { JUST_RUN, LOCK, COND, SEM };
struct job {
	const char *name;
	enum what what;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	switch (j->what) {
	case JUST_RUN:
		record(j->name);
		break;
	case LOCK:
		pthread_mutex_lock(&m);
		record(j->name);
		pthread_mutex_unlock(&m);
		break;
	case COND:
		pthread_mutex_lock(&m);
		while (tokens == 0)
			pthread_cond_wait(&cv, &m);
		tokens--;
		record(j->name);
		pthread_mutex_unlock(&m);
		break;
	case SEM:
		while (sem_wait(&sem) != 0)
			;
		record(j->name);
		break;
	}
	return NULL;
}

static pthread_t spawn(struct job *j, int prio)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&a, SCHED_FIFO);
	struct sched_param sp = { .sched_priority = prio };
	pthread_attr_setschedparam(&a, &sp);
	pthread_t t;
	must(pthread_create(&t, &a, worker, j), "pthread_create");
	pthread_attr_destroy(&a);
	return t;
}

static void start(void)
{
	memset(order, 0, sizeof order);
	atomic_store(&pos, 0);
}

static void finish(const char *what, pthread_t *t, int n)
{
	for (int i = 0; i < n; i++)
		must(pthread_join(t[i], NULL), "pthread_join");
	printf("%-12s %s\n", what, order);
}

/* L, M, H in that order, each waiting (main sleeps, so each runs and
 * blocks before the next is made). */
static void three_waiting(enum what what, pthread_t *t, struct job *jobs)
{
	static const char *names[] = { "L", "M", "H" };
	for (int i = 0; i < 3; i++) {
		jobs[i] = (struct job){ names[i], what };
		t[i] = spawn(&jobs[i], 10 * (i + 1));
		sleep_ms(20);
	}
}

int main(void)
{
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
	sched_setaffinity(0, sizeof one, &one);
	struct sched_param sp = { .sched_priority = 90 };
	int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	if (rc) {
		printf("no real-time priorities here: %s\n", en(rc));
		return 0;
	}
	int policy;
	pthread_getschedparam(pthread_self(), &policy, &sp);
	printf("main: %s %d\n", policy == SCHED_FIFO ? "SCHED_FIFO" : "other", sp.sched_priority);
	sem_init(&sem, 0, 0);
	pthread_t t[3];
	struct job jobs[3];

	start();
	jobs[0] = (struct job){ "L", JUST_RUN };
	jobs[1] = (struct job){ "M", JUST_RUN };
	jobs[2] = (struct job){ "H", JUST_RUN };
	for (int i = 0; i < 3; i++)
		t[i] = spawn(&jobs[i], 10 * (i + 1));
	finish("ready queue", t, 3);

	start();
	pthread_mutex_lock(&m);
	three_waiting(LOCK, t, jobs);
	pthread_mutex_unlock(&m);
	finish("mutex", t, 3);

	start();
	three_waiting(COND, t, jobs);
	for (int i = 0; i < 3; i++) {
		pthread_mutex_lock(&m);
		tokens++;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&m);
		sleep_ms(20);
	}
	finish("condvar", t, 3);

	start();
	three_waiting(SEM, t, jobs);
	for (int i = 0; i < 3; i++) {
		sem_post(&sem);
		sleep_ms(20);
	}
	finish("semaphore", t, 3);

	start();
	pthread_mutex_lock(&m);
	jobs[0] = (struct job){ "H", LOCK };
	t[0] = spawn(&jobs[0], 30);
	sleep_ms(20);
	sp.sched_priority = 5;
	must(pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp), "pthread_setschedparam");
	pthread_mutex_unlock(&m);
	record("main");
	finish("preemption", t, 1);
	sp.sched_priority = 90;
	must(pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp), "pthread_setschedparam");

	start();
	pthread_mutex_lock(&m);
	static const char *eq[] = { "A", "B", "C" };
	for (int i = 0; i < 3; i++) {
		jobs[i] = (struct job){ eq[i], LOCK };
		t[i] = spawn(&jobs[i], 20);
		sleep_ms(20);
	}
	pthread_mutex_unlock(&m);
	finish("equals", t, 3);
	return 0;
}

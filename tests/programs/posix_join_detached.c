/*
 * posix_join_detached — pthread_join and pthread_detach of a detached
 * thread that has already exited answer EINVAL, as glibc does (POSIX
 * leaves it undefined; glibc's thread descriptor lives on in its stack
 * cache), rather than reading freed memory.
 *
 * The program churns the allocator between the thread's end and the calls
 * (blocks of every small size, zero-filled), so a descriptor that went
 * back to malloc would be overwritten.  Also: joining a thread twice
 * (EINVAL), detaching twice (EINVAL), joining a detached live thread
 * (EINVAL).
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

static sem_t ended, may_end;

static void *quick(void *arg)
{
	sem_post(&ended);
	return NULL;
}

static void *lingering(void *arg)
{
	while (sem_wait(&may_end) != 0)
		;
	return NULL;
}

static void churn(void)
{
	enum { N = 512 };
	static void *blocks[N];
	for (int i = 0; i < N; i++) {
		size_t size = 16 + (size_t)i * 16;
		blocks[i] = malloc(size);
		if (blocks[i])
			memset(blocks[i], 0, size);
	}
	for (int i = 0; i < N; i++)
		free(blocks[i]);
}

int main(void)
{
	sem_init(&ended, 0, 0);
	sem_init(&may_end, 0, 0);
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	for (int round = 0; round < 3; round++) {
		pthread_t t;
		must(pthread_create(&t, &a, quick, NULL), "pthread_create");
		while (sem_wait(&ended) != 0)
			;
		sleep_ms(50); /* it has returned and ended by now */
		churn();
		printf("round %d: join of the ended detached thread: %s\n", round, en(pthread_join(t, NULL)));
		printf("round %d: detach of the ended detached thread: %s\n", round, en(pthread_detach(t)));
	}
	pthread_t live;
	must(pthread_create(&live, &a, lingering, NULL), "pthread_create");
	printf("join of a live detached thread: %s\n", en(pthread_join(live, NULL)));
	printf("detach of a live detached thread: %s\n", en(pthread_detach(live)));
	sem_post(&may_end);
	pthread_attr_destroy(&a);

	pthread_t j;
	must(pthread_create(&j, NULL, lingering, NULL), "pthread_create");
	printf("detach of a joinable thread: %s\n", en(pthread_detach(j)));
	printf("detach of it again: %s\n", en(pthread_detach(j)));
	sem_post(&may_end);
	sleep_ms(50);
	return 0;
}

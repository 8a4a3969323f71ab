/*
 * deadlock — two threads take two mutexes in opposite orders (ABBA) and
 * main joins them: nothing can ever run again.  Natively this hangs, so it
 * is run only under the shim, with GREENSHIM_DEADLOCK=abort: the shim must
 * print the report (every thread, what it waits on, who holds it) and
 * abort.  Prints "locked" lines before the deadlock, nothing after.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both;

static void *ab(void *arg)
{
	pthread_mutex_lock(&a);
	pthread_barrier_wait(&both); /* both hold their first mutex */
	pthread_mutex_lock(&b);
	return NULL;
}

static void *ba(void *arg)
{
	pthread_mutex_lock(&b);
	pthread_barrier_wait(&both);
	pthread_mutex_lock(&a);
	return NULL;
}

int main(void)
{
	pthread_t t1, t2;
	pthread_barrier_init(&both, NULL, 2);
	pthread_create(&t1, NULL, ab, NULL);
	pthread_create(&t2, NULL, ba, NULL);
	printf("started\n");
	fflush(stdout);
	pthread_join(t1, NULL);
	printf("not reached\n");
	return 0;
}

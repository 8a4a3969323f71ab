/*
 * fork_ghost — after fork(), the child has only the forking thread: a
 * thread that waited on a condvar in the parent must not run in the child
 * when the child broadcasts that condvar, nor get a mutex handed to it.
 * (Found by review: its waiter stayed in the queue.)
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int go;
static pid_t parent;

static void *waiter(void *a)
{
	pthread_mutex_lock(&m);
	while (!go)
		pthread_cond_wait(&cv, &m);
	pthread_mutex_unlock(&m);
	if (getpid() != parent) {
		printf("waiter ran in the child\n");
		fflush(stdout);
	}
	return NULL;
}

int main(void)
{
	parent = getpid();
	pthread_t t;
	pthread_create(&t, NULL, waiter, NULL);
	usleep(50 * 1000);
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		pthread_mutex_lock(&m);
		go = 1;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&m);
		usleep(100 * 1000);
		pthread_mutex_lock(&m); /* free: no ghost holds it */
		pthread_mutex_unlock(&m);
		printf("child done\n");
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	printf("child status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	pthread_mutex_lock(&m);
	go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&m);
	pthread_join(t, NULL);
	printf("parent done\n");
	return 0;
}

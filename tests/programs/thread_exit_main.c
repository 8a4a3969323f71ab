/*
 * thread_exit_main — pthread_exit from main while other threads run.
 *
 * main registers an atexit handler, starts three threads that sleep 100,
 * 200 and 300 ms and then print a line, and calls pthread_exit.  The
 * process must live on until the last thread ends, then exit with status
 * 0, run the atexit handler (which sees all three threads done) and flush
 * stdout, which is a file here and so fully buffered.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int done;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg)
{
	int i = (int)(intptr_t)arg;
	usleep(100000 * i);
	pthread_mutex_lock(&mu);
	done++;
	printf("thread %d done (%d so far)\n", i, done);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void at_exit(void)
{
	printf("atexit: %d threads done\n", done);
}

int main(void)
{
	atexit(at_exit);
	for (intptr_t i = 1; i <= 3; i++) {
		pthread_t t;
		int e = pthread_create(&t, NULL, worker, (void *)i);
		if (e != 0) {
			fprintf(stderr, "pthread_create: %s\n", strerror(e));
			return 1;
		}
	}
	printf("main: calling pthread_exit\n");
	pthread_exit(NULL);
}

/*
 * thread_exit_status — exit() called by a thread ends the whole process.
 *
 * main joins a thread that would sleep for 10 s; a second thread calls
 * exit(3) after 50 ms.  The process must end at once with status 3 (the
 * runner's table says so), run the atexit handler and flush stdout.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *long_nap(void *arg)
{
	sleep(10);
	printf("long nap finished (wrong)\n");
	return NULL;
}

static void *exits(void *arg)
{
	usleep(50000);
	printf("thread: calling exit(3)\n");
	exit(3);
}

static void at_exit(void) { printf("atexit ran\n"); }

int main(void)
{
	pthread_t a, b;
	atexit(at_exit);
	printf("main: start\n");
	if (pthread_create(&a, NULL, long_nap, NULL) || pthread_create(&b, NULL, exits, NULL)) {
		fprintf(stderr, "pthread_create failed\n");
		return 1;
	}
	pthread_join(a, NULL);
	printf("main: join returned (wrong)\n");
	return 1;
}

/*
 * first_calls — what a fresh process pays for its first blocking call and
 * its first thread.
 *
 * Under the shim the first greened wait of an OS thread makes its hub
 * (event loop, stack, TLS block, published state) and the first
 * pthread_create sets up the rest (stack chunk, preemption, the syscall
 * trap).  Programs a shell starts pay this once each, so it is start-up
 * cost as much as loading the library is.  Natively the same calls cost a
 * nanosleep and a clone.
 *
 * usage:  first_calls sleep     times the process's first usleep(1)
 *         first_calls thread    times its first pthread_create + join
 * output: stdout  "result us=<microseconds>"
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void *nothing(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	double t0 = now_us();
	if (strcmp(what, "sleep") == 0) {
		usleep(1);
	} else if (strcmp(what, "thread") == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, nothing, NULL) != 0 || pthread_join(t, NULL) != 0) {
			fprintf(stderr, "first_calls: pthread_create failed\n");
			return 1;
		}
	} else {
		fprintf(stderr, "usage: first_calls sleep|thread\n");
		return 2;
	}
	printf("result us=%.1f\n", now_us() - t0);
	return 0;
}

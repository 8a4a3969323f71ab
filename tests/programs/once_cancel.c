/*
 * once_cancel — a pthread_once whose init routine is cancelled (in a
 * sleep, a cancellation point) goes back to "not done": the next
 * pthread_once runs init again (POSIX; glibc does).  Found by review.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int runs;
static void init(void) { runs++; if (runs == 1) sleep(10); /* cancellation point */ }
static void *t1(void *a) { pthread_once(&once, init); return NULL; }
int main(void) {
	pthread_t t; void *r;
	pthread_create(&t, NULL, t1, NULL);
	usleep(50000);
	pthread_cancel(t);
	pthread_join(t, &r);
	printf("t1 %s\n", r == PTHREAD_CANCELED ? "canceled" : "not canceled");
	pthread_once(&once, init);
	printf("second pthread_once returned, init ran %d times\n", runs);
	return 0;
}

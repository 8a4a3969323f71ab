/*
 * stack_overflow — a thread recurses without end.  Natively it dies by
 * SIGSEGV; under the shim it must die the same way, after a report on
 * stderr naming the green thread, its start routine and its stack size.
 * Shim only (the report is the point), expected signal 11.
 */
#include <pthread.h>
#include <stdio.h>

#include "testutil.h"

static void *recurse(void *arg)
{
	return (void *)(long)recurse_forever(0);
}

int main(void)
{
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 256 * 1024);
	printf("started\n");
	fflush(stdout);
	pthread_create(&t, &a, recurse, NULL);
	pthread_join(t, NULL);
	printf("not reached\n");
	return 0;
}

/*
 * preempt_nopie — a computing thread is preempted in a non-PIE executable
 * that takes the address of malloc and free (as /usr/bin/python3.11
 * does).  Such an executable has canonical PLT entries for them, which is
 * what dlsym finds; the shim once took the whole executable for the
 * allocator and never preempted anything in it.  Built with -no-pie
 * (Makefile).  main sleeps 50 ms beside a thread that computes for up to
 * 5 s: main must wake and stop it long before that.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "testutil.h"

static volatile int stop;

/* Called with free's address as an immediate (mov $free, %edi): what
 * makes the linker give a non-PIE executable a canonical PLT entry. */
__attribute__((noinline)) static void call_with(void (*fn)(void *), void *p)
{
	fn(p);
}

/* No call in the loop: every tick lands in this executable's text.  About
 * 5 s if never stopped. */
static void *spin(void *arg)
{
	for (volatile unsigned long n = 0; !stop && n < 5000000000UL; n++)
		;
	return NULL;
}

int main(void)
{
	pthread_t t;
	long long t0 = now_ns(CLOCK_MONOTONIC);
	must(pthread_create(&t, NULL, spin, NULL), "pthread_create");
	sleep_ms(50);
	stop = 1;
	long long woke = now_ns(CLOCK_MONOTONIC) - t0;
	must(pthread_join(t, NULL), "pthread_join");
	printf("main woke beside the spinner within 1 s: %s\n", yesno(woke < 1000 * MS));
	call_with(free, malloc(16));
	return 0;
}

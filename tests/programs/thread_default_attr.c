/*
 * thread_default_attr — pthread_create with a NULL attr uses the default
 * attributes as they are at that moment: after each
 * pthread_setattr_default_np, a new thread's stack and guard sizes (read
 * with pthread_getattr_np inside it) follow the new defaults, and
 * pthread_getattr_default_np reports them.  Bad defaults are refused with
 * glibc's errno and change nothing.  (The shim keeps a copy of the
 * defaults so as not to read them on every create.)
 */
#include <pthread.h>
#include <stdio.h>

#include "testutil.h"

static void *report(void *arg)
{
	pthread_attr_t a;
	size_t stack = 0, guard = 0;
	must(pthread_getattr_np(pthread_self(), &a), "pthread_getattr_np");
	pthread_attr_getstacksize(&a, &stack);
	pthread_attr_getguardsize(&a, &guard);
	pthread_attr_destroy(&a);
	/* glibc rounds a stack up to pages and may add the guard: print
	 * whether it is at least what was asked, and the guard exactly. */
	size_t want = *(size_t *)arg;
	printf("  thread: stack >= %zu KiB: %s, guard %zu KiB\n", want >> 10, yesno(stack >= want),
	       guard >> 10);
	return NULL;
}

static void one_thread(size_t want)
{
	pthread_t t;
	must(pthread_create(&t, NULL, report, &want), "pthread_create");
	must(pthread_join(t, NULL), "pthread_join");
}

static void set_default(size_t stack, size_t guard)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	must(pthread_attr_setstacksize(&a, stack), "pthread_attr_setstacksize");
	must(pthread_attr_setguardsize(&a, guard), "pthread_attr_setguardsize");
	int rc = pthread_setattr_default_np(&a);
	pthread_attr_destroy(&a);
	printf("setattr_default_np(stack %zu KiB, guard %zu KiB): %s\n", stack >> 10, guard >> 10,
	       en(rc));
	pthread_attr_t d;
	must(pthread_getattr_default_np(&d), "pthread_getattr_default_np");
	size_t s = 0, g = 0;
	pthread_attr_getstacksize(&d, &s);
	pthread_attr_getguardsize(&d, &g);
	pthread_attr_destroy(&d);
	printf("  default now: stack %zu KiB, guard %zu KiB\n", s >> 10, g >> 10);
}

int main(void)
{
	pthread_attr_t d;
	must(pthread_getattr_default_np(&d), "pthread_getattr_default_np");
	size_t s0 = 0;
	pthread_attr_getstacksize(&d, &s0);
	pthread_attr_destroy(&d);
	printf("first threads, default stack\n");
	one_thread(s0); /* the copy is made here */
	one_thread(s0);
	set_default(256 << 10, 8 << 10);
	one_thread(256 << 10);
	one_thread(256 << 10);
	set_default(1 << 20, 64 << 10);
	one_thread(1 << 20);
	/* A stack address in the default is refused (EINVAL): nothing changes. */
	pthread_attr_t bad;
	static char mem[1 << 16];
	pthread_attr_init(&bad);
	pthread_attr_setstack(&bad, mem, sizeof mem);
	printf("setattr_default_np with a stack address: %s\n", en(pthread_setattr_default_np(&bad)));
	pthread_attr_destroy(&bad);
	one_thread(1 << 20);
	set_default(s0, 4 << 10);
	one_thread(s0);
	return 0;
}

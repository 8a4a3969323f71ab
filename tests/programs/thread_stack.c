/*
 * thread_stack — stack attributes are honoured and the stack is usable.
 *
 * Each thread reads its own attributes with pthread_getattr_np and then
 * recurses through 4 KiB frames, writing every page, until it has used a
 * given fraction of the stack (measured by addresses from its start
 * routine), and checks that the deepest frame lies inside the reported
 * stack.
 *   default attr      pthread_attr_init's stacksize/guardsize (printed),
 *                     and a default thread can use 90% of that stacksize
 *   stacksize 1 MiB   reported >= 1 MiB (and not wildly more), 90% usable
 *   PTHREAD_STACK_MIN a thread runs with the minimum; setstacksize below
 *                     the minimum is EINVAL
 *   guardsize         64 KiB reported as 65536, 0 as 0, 1000 rounded up to
 *                     the page size; the default is one page
 *   setstack          an own buffer (page-aligned, and plain malloc): the
 *                     thread reports exactly that address and size, guard
 *                     0, its locals live inside it, 80% is usable;
 *                     setstack below PTHREAD_STACK_MIN is EINVAL
 * Exact reported sizes are glibc's rounding and are printed only as
 * bounds.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

struct probe {
	size_t use;        /* bytes of stack to use below the start routine */
	/* filled by the thread */
	char *stack_lo;    /* reported stack: [stack_lo, stack_lo + size) */
	size_t size, guard;
	char *top_local;   /* a local of the start routine */
	char *deepest;     /* lowest frame reached */
	int getattr;       /* pthread_getattr_np's result */
};

/* Uses 4 KiB frames until a frame lies at or below limit. */
static int __attribute__((noinline)) recurse(char *limit, char **deepest)
{
	volatile char frame[4096];
	for (int i = 0; i < (int)sizeof frame; i += 256)
		frame[i] = (char)i;
	if ((char *)frame > limit)
		return recurse(limit, deepest) + frame[256];
	*deepest = (char *)frame;
	return frame[512];
}

static void *run_probe(void *arg)
{
	struct probe *p = arg;
	volatile char here = 0;
	pthread_attr_t a;
	void *lo;

	p->top_local = (char *)&here;
	p->getattr = pthread_getattr_np(pthread_self(), &a);
	if (p->getattr == 0) {
		pthread_attr_getstack(&a, &lo, &p->size);
		pthread_attr_getguardsize(&a, &p->guard);
		p->stack_lo = lo;
		pthread_attr_destroy(&a);
	}
	recurse(p->top_local - p->use, &p->deepest);
	return NULL;
}

static struct probe launch(pthread_attr_t *a, size_t use)
{
	struct probe p = { .use = use };
	pthread_t t;
	must(pthread_create(&t, a, run_probe, &p), "create");
	must(pthread_join(t, NULL), "join");
	if (p.getattr != 0) {
		fprintf(stderr, "pthread_getattr_np: %s\n", strerror(p.getattr));
		exit(1);
	}
	return p;
}

/* The locals and the deepest frame lie inside the reported stack. */
static const char *inside(const struct probe *p)
{
	char *hi = p->stack_lo + p->size;
	return yesno(p->top_local < hi && p->top_local >= p->stack_lo && p->deepest >= p->stack_lo &&
		     p->deepest < hi && p->top_local - p->deepest >= (ptrdiff_t)p->use);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	long page = sysconf(_SC_PAGESIZE);
	pthread_attr_t a;
	size_t dsize, dguard;

	must(pthread_attr_init(&a), "attr_init");
	pthread_attr_getstacksize(&a, &dsize);
	pthread_attr_getguardsize(&a, &dguard);
	printf("default attr: stacksize %zu guardsize %zu\n", dsize, dguard);
	struct probe p = launch(NULL, dsize / 10 * 9);
	printf("default thread: reported >= default %s, guard %zu, used 90%% inside %s\n",
	       yesno(p.size >= dsize), p.guard, inside(&p));

	/* 1 MiB */
	must(pthread_attr_setstacksize(&a, 1 << 20), "setstacksize");
	p = launch(&a, (1 << 20) / 10 * 9);
	printf("1 MiB: reported >= 1 MiB %s, < 1 MiB + 64 KiB %s, guard %zu, used 90%% inside %s\n",
	       yesno(p.size >= 1 << 20), yesno(p.size < (1 << 20) + (64 << 10)), p.guard, inside(&p));

	/* the minimum */
	printf("setstacksize(1000) = %s\n", en(pthread_attr_setstacksize(&a, 1000)));
	printf("setstacksize(PTHREAD_STACK_MIN - 1) = %s\n",
	       en(pthread_attr_setstacksize(&a, PTHREAD_STACK_MIN - 1)));
	must(pthread_attr_setstacksize(&a, PTHREAD_STACK_MIN), "setstacksize min");
	p = launch(&a, 4096);
	printf("PTHREAD_STACK_MIN: reported >= min %s, used 4 KiB inside %s\n",
	       yesno(p.size >= (size_t)PTHREAD_STACK_MIN), inside(&p));

	/* guard sizes */
	must(pthread_attr_setstacksize(&a, 256 << 10), "setstacksize");
	must(pthread_attr_setguardsize(&a, 64 << 10), "setguardsize");
	p = launch(&a, 128 << 10);
	printf("guard 64 KiB: reported %zu, inside %s\n", p.guard, inside(&p));
	must(pthread_attr_setguardsize(&a, 0), "setguardsize");
	p = launch(&a, 128 << 10);
	printf("guard 0: reported %zu, inside %s\n", p.guard, inside(&p));
	must(pthread_attr_setguardsize(&a, 1000), "setguardsize");
	size_t g;
	pthread_attr_getguardsize(&a, &g);
	p = launch(&a, 128 << 10);
	printf("guard 1000: attr keeps %zu, thread reports one page %s\n", g,
	       yesno(p.guard == (size_t)page));
	pthread_attr_destroy(&a);

	/* own stacks */
	size_t bsize = 256 << 10;
	char *buf = aligned_alloc(page, bsize);
	char *buf2 = malloc(100000);
	if (!buf || !buf2) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	must(pthread_attr_init(&a), "attr_init");
	printf("setstack(%ld bytes) = %s\n", (long)PTHREAD_STACK_MIN - 1,
	       en(pthread_attr_setstack(&a, buf, PTHREAD_STACK_MIN - 1)));
	must(pthread_attr_setstack(&a, buf, bsize), "setstack");
	void *ga;
	size_t gs;
	pthread_attr_getstack(&a, &ga, &gs);
	printf("attr getstack round trip: %s\n", yesno(ga == buf && gs == bsize));
	p = launch(&a, bsize / 10 * 8);
	printf("own page-aligned stack: address %s, size %s, guard %zu, used 80%% inside %s\n",
	       yesno(p.stack_lo == buf), yesno(p.size == bsize), p.guard, inside(&p));
	must(pthread_attr_setstack(&a, buf2, 100000), "setstack");
	p = launch(&a, 64 << 10);
	printf("own malloc stack: address %s, size %s, guard %zu, used 64 KiB inside %s\n",
	       yesno(p.stack_lo == buf2), yesno(p.size == 100000), p.guard, inside(&p));
	pthread_attr_destroy(&a);
	return 0;
}

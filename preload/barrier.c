/* pthread barriers and spinlocks, greened (thread subsystem).
 *
 * Barrier: the count-th arrival releases the round's waiters and returns
 * PTHREAD_BARRIER_SERIAL_THREAD; the others return 0.  A process-shared
 * barrier keeps glibc's format (its __shared word at offset 12) and
 * protocol (pshared.c).
 * Spinlock: glibc's format, which is per architecture (on x86 1 is free and
 * locking decrements; elsewhere 0 is free), so init, trylock and unlock
 * stay glibc's; lock is ours because a green thread that finds it taken
 * must yield, since the holder can only run if it does. */
#include <errno.h>
#include <limits.h>

#include "config.h"
#include "pshared.h"
#include "real.h"

/* glibc's spinlock values (sysdeps/x86/nptl: 1 free, 0 held). */
#if defined(__x86_64__) || defined(__i386__)
#define GS_SPIN_FREE 1
#define GS_SPIN_HELD 0
#else
#define GS_SPIN_FREE 0
#define GS_SPIN_HELD 1
#endif

struct gs_barrier {
	_Atomic int qlock;
	unsigned arrived;        /* arrivals in the current round */
	unsigned count;          /* arrivals that complete a round */
	int shared;              /* glibc: nonzero for process-shared */
	struct gs_waitq waiters; /* this round's early arrivals */
};
_Static_assert(sizeof(struct gs_barrier) <= sizeof(pthread_barrier_t), "must fit");

static struct gs_barrier *gb(pthread_barrier_t *b)
{
	return (struct gs_barrier *)b;
}

static int ours(pthread_barrier_t *b)
{
	return gs_thread_on() && !gb(b)->shared;
}

GS_EXPORT int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *attr, unsigned count)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_barrier_init)(b, attr, count);
	int pshared = PTHREAD_PROCESS_PRIVATE;
	if (attr)
		pthread_barrierattr_getpshared(attr, &pshared);
	if (count == 0 || count > INT_MAX)
		return EINVAL;
	if (pshared == PTHREAD_PROCESS_SHARED)
		return GS_REAL(pthread_barrier_init)(b, attr, count);
	struct gs_barrier *g = gb(b);
	*g = (struct gs_barrier){ 0 };
	g->count = count;
	return 0;
}

GS_EXPORT int pthread_barrier_destroy(pthread_barrier_t *b)
{
	if (!ours(b))
		return GS_REAL(pthread_barrier_destroy)(b);
	struct gs_barrier *g = gb(b);
	gs_spin_lock(&g->qlock);
	int busy = g->arrived != 0;
	gs_spin_unlock(&g->qlock);
	return busy ? EBUSY : 0;
}

GS_EXPORT int pthread_barrier_wait(pthread_barrier_t *b)
{
	if (!ours(b))
		return gs_thread_on() && gs_can_park() ? gs_pshared_barrier_wait(b)
						       : GS_REAL(pthread_barrier_wait)(b);
	struct gs_barrier *g = gb(b);
	gs_spin_lock(&g->qlock);
	if (++g->arrived == g->count) {
		g->arrived = 0;
		struct gs_waiter *w;
		while ((w = gs_waitq_pop(&g->waiters)))
			gs_waiter_wake(w, GS_WOKEN);
		gs_spin_unlock(&g->qlock);
		gs_safe_point(); /* a higher-priority thread it released runs now */
		return PTHREAD_BARRIER_SERIAL_THREAD;
	}
	struct gs_waiter w;
	gs_waiter_init(&w);
	gs_waiter_describe(&w, GS_PW_BARRIER, g, 0);
	gs_waitq_push(&g->waiters, &g->qlock, &w);
	gs_spin_unlock(&g->qlock);
	gs_wait(&w, NULL, 0);
	return 0;
}

GS_EXPORT int pthread_spin_lock(pthread_spinlock_t *l)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_spin_lock)(l);
	_Atomic int *a = (_Atomic int *)l;
	for (;;) {
		int expected = GS_SPIN_FREE;
		if (atomic_compare_exchange_weak_explicit(a, &expected, GS_SPIN_HELD,
							  memory_order_acquire, memory_order_relaxed))
			return 0;
		if (gs_can_park())
			gs_yield();
		else
			__builtin_ia32_pause();
	}
}

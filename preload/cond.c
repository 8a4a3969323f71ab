/* pthread condition variables, greened (thread subsystem).
 *
 * Waiters queue in FIFO order under the condvar's spinlock before they
 * release the mutex, so a signal sent by a thread holding the mutex can
 * never miss them; signal wakes the oldest, broadcast all.  The mutex is
 * taken again before returning, after a timeout too.  A process-shared
 * condvar stays glibc's, its waits made on a helper thread (pshared.c).
 * Layout: our fields in the first 24 bytes, glibc's __wrefs (bit 0:
 * shared, bit 1: CLOCK_MONOTONIC) kept at its offset because
 * pthread_cond_init by glibc and the static initialiser agree on it. */
#include <errno.h>

#include "config.h"
#include "mutex.h"
#include "pshared.h"
#include "real.h"

struct gs_cond {
	_Atomic int qlock;
	int pad;
	struct gs_waitq waiters;
	char pad2[12];
	unsigned wrefs; /* glibc __wrefs: flags */
};
#define COND_SHARED 1u
#define COND_MONOTONIC 2u

_Static_assert(sizeof(struct gs_cond) <= sizeof(pthread_cond_t), "gs_cond must fit");
_Static_assert(__builtin_offsetof(struct gs_cond, wrefs) ==
		       __builtin_offsetof(pthread_cond_t, __data.__wrefs), "wrefs stays glibc's");

static struct gs_cond *gc(pthread_cond_t *c)
{
	return (struct gs_cond *)c;
}

static int ours(pthread_cond_t *c)
{
	return gs_thread_on() && !(gc(c)->wrefs & COND_SHARED);
}

/* The condvar's own unlock and relock: the mutex's fast paths, then its
 * general ones (mutex.c), without the unlock's safe point: the waiter is
 * queued and about to park. */
static int mutex_unlock(pthread_mutex_t *m)
{
	if (gs__mutex_unlock_fast((struct gs_mutex *)m))
		return 0;
	return gs__mutex_unlock_any(m);
}

static void mutex_lock(pthread_mutex_t *m)
{
	if (!gs__mutex_lock_fast((struct gs_mutex *)m))
		gs__mutex_lock_any(m);
}

static GS_INLINE_HOT int cond_wait(pthread_cond_t *cv, pthread_mutex_t *m, const struct gs_deadline *d)
{
	struct gs_cond *c = gc(cv);
	gs_testcancel(); /* a cancellation point */
	struct gs_waiter w;
	gs_waiter_init(&w);
	gs_waiter_describe(&w, GS_PW_COND, c, 0);
	gs_spin_lock(&c->qlock);
	gs_waitq_push(&c->waiters, &c->qlock, &w);
	gs_spin_unlock(&c->qlock);
	int err = mutex_unlock(m);
	if (err) { /* e.g. EPERM: an errorcheck mutex we do not own */
		gs_spin_lock(&c->qlock);
		if (atomic_load(&w.state) == GS_WAITING)
			gs_waitq_remove(&c->waiters, &w);
		gs_spin_unlock(&c->qlock);
		return err;
	}
	int how = gs_wait(&w, d, GS_WAIT_CANCELLABLE);
	if (how == GS_CANCELED) {
		/* Acted upon: no second cancellation may end the relock, which
		 * comes before the cleanup handlers (POSIX), as glibc's EXITING
		 * bit keeps it. */
		int was;
		gs_setcancelstate(1, &was);
		mutex_lock(m);
		gs_thread_exit_unwinding(GS_CANCELED_VALUE);
	}
	mutex_lock(m);
	return how == GS_TIMEDOUT ? ETIMEDOUT : 0;
}

GS_EXPORT int pthread_cond_init(pthread_cond_t *cv, const pthread_condattr_t *attr)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_cond_init)(cv, attr);
	int pshared = PTHREAD_PROCESS_PRIVATE;
	clockid_t clock = CLOCK_REALTIME;
	if (attr) {
		pthread_condattr_getpshared(attr, &pshared);
		pthread_condattr_getclock(attr, &clock);
	}
	if (pshared == PTHREAD_PROCESS_SHARED)
		return GS_REAL(pthread_cond_init)(cv, attr);
	struct gs_cond *c = gc(cv);
	*c = (struct gs_cond){ 0 };
	c->wrefs = clock == CLOCK_MONOTONIC ? COND_MONOTONIC : 0;
	return 0;
}

GS_EXPORT int pthread_cond_destroy(pthread_cond_t *cv)
{
	if (!ours(cv))
		return GS_REAL(pthread_cond_destroy)(cv);
	return 0;
}

/* A process-shared condvar with a process-shared mutex of ours: glibc's
 * wait, made on a helper thread (pshared.c).  With any other mutex,
 * glibc's own wait here, blocking the OS thread (README, Limits);
 * meanwhile a process-shared mutex we run shows glibc the owner it checks
 * and writes, the kernel tid. */
static int shared_greened(pthread_mutex_t *m)
{
	return gs_thread_on() && gs_pshared_mutex(m);
}

#define GLIBC_WAIT(m, call)                                     \
	do {                                                    \
		int ours_shared = shared_greened(m);            \
		if (ours_shared)                                \
			gs_pshared_mutex_to_glibc(m);           \
		int rc_ = (call);                               \
		if (ours_shared)                                \
			gs_pshared_mutex_from_glibc(m);         \
		else if (((struct gs_mutex *)(m))->kind & GS_MUTEX_ROBUST) \
			gs_tls_robust_adopt(m); /* relocked by glibc */ \
		return rc_;                                     \
	} while (0)

GS_EXPORT int pthread_cond_wait(pthread_cond_t *cv, pthread_mutex_t *m)
{
	if (gs_likely(ours(cv)))
		return cond_wait(cv, m, NULL);
	if (shared_greened(m))
		return gs_pshared_cond_wait(cv, m, NULL);
	GLIBC_WAIT(m, GS_REAL(pthread_cond_wait)(cv, m));
}

GS_EXPORT int pthread_cond_timedwait(pthread_cond_t *cv, pthread_mutex_t *m, const struct timespec *abstime)
{
	if (!ours(cv) && !shared_greened(m))
		GLIBC_WAIT(m, GS_REAL(pthread_cond_timedwait)(cv, m, abstime));
	if (!gs_timespec_valid(abstime))
		return EINVAL;
	struct gs_deadline d = {
		.clock = (gc(cv)->wrefs & COND_MONOTONIC) ? CLOCK_MONOTONIC : CLOCK_REALTIME,
		.at = *abstime,
	};
	return ours(cv) ? cond_wait(cv, m, &d) : gs_pshared_cond_wait(cv, m, &d);
}

GS_EXPORT int pthread_cond_clockwait(pthread_cond_t *cv, pthread_mutex_t *m, clockid_t clock,
				     const struct timespec *abstime)
{
	if (!ours(cv) && !shared_greened(m))
		GLIBC_WAIT(m, GS_REAL(pthread_cond_clockwait)(cv, m, clock, abstime));
	if (!gs_timespec_valid(abstime) || (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC))
		return EINVAL;
	struct gs_deadline d = { .clock = clock, .at = *abstime };
	return ours(cv) ? cond_wait(cv, m, &d) : gs_pshared_cond_wait(cv, m, &d);
}

GS_EXPORT int pthread_cond_signal(pthread_cond_t *cv)
{
	gs_safe_point(); /* a call that never waits yields a spent slice */
	if (!ours(cv))
		return GS_REAL(pthread_cond_signal)(cv);
	struct gs_cond *c = gc(cv);
	/* No waiter queued before the signaller took the mutex: nothing to do
	 * (a waiter queues before it releases the mutex). */
	if (!__atomic_load_n(&c->waiters.head, __ATOMIC_ACQUIRE))
		return 0;
	gs_spin_lock(&c->qlock);
	struct gs_waiter *w = gs_waitq_pop(&c->waiters);
	if (w)
		gs_waiter_wake(w, GS_WOKEN);
	gs_spin_unlock(&c->qlock);
	gs_safe_point(); /* a higher-priority thread it woke runs now */
	return 0;
}

GS_EXPORT int pthread_cond_broadcast(pthread_cond_t *cv)
{
	gs_safe_point(); /* a call that never waits yields a spent slice */
	if (!ours(cv))
		return GS_REAL(pthread_cond_broadcast)(cv);
	struct gs_cond *c = gc(cv);
	if (!__atomic_load_n(&c->waiters.head, __ATOMIC_ACQUIRE))
		return 0;
	gs_spin_lock(&c->qlock);
	struct gs_waiter *w;
	while ((w = gs_waitq_pop(&c->waiters)))
		gs_waiter_wake(w, GS_WOKEN);
	gs_spin_unlock(&c->qlock);
	gs_safe_point();
	return 0;
}

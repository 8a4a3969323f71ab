/* pthread mutexes, greened (thread subsystem).
 *
 * Fast path: one compare-and-swap, as glibc.  Slow path: the waiter queues
 * itself under the mutex's spinlock and parks; unlock hands the mutex to
 * the first waiter (FIFO, no barging past a waiter, no thundering herd).
 *
 * Invariant: while a waiter is queued, word is 2, so every unlock takes the
 * slow path and sees it.  word goes 1 -> 2 only under qlock (a locker
 * about to queue); 2 -> 0 only under qlock with no waiter left.
 *
 * Types: normal (default; relock deadlocks, as natively), recursive,
 * errorcheck (EDEADLK / EPERM), adaptive (= normal).  Robust and priority
 * protocols are accepted and behave as their base type: a release goes to
 * the waiter of highest SCHED_FIFO/RR priority, but there is no priority
 * inheritance or ceiling, and an owner that dies holding a robust mutex is
 * not detected (see README).  A process-shared mutex keeps glibc's format
 * and protocol (pshared.c). */
#include <errno.h>

#include "config.h"
#include "mutex.h"
#include "pshared.h"
#include "real.h"

_Static_assert(sizeof(struct gs_mutex) <= sizeof(pthread_mutex_t), "gs_mutex must fit");
_Static_assert(__builtin_offsetof(struct gs_mutex, kind) ==
		       __builtin_offsetof(pthread_mutex_t, __data.__kind),
	       "kind must stay where glibc's initialisers put it");

static struct gs_mutex *gm(pthread_mutex_t *m)
{
	return (struct gs_mutex *)m;
}

/* glibc's lock of a robust process-shared mutex (those stay glibc's):
 * once it is the caller's, it goes on the robust list the kernel walks
 * when the process dies (gs_tls_robust_adopt). */
static int robust_locked(pthread_mutex_t *m, int rc)
{
	if ((rc == 0 || rc == EOWNERDEAD) && (gm(m)->kind & GS_MUTEX_ROBUST) && gs_thread_on())
		gs_tls_robust_adopt(m);
	return rc;
}

/* Whether this mutex is ours (1) or glibc's (0). */
static int ours(pthread_mutex_t *m)
{
	return gs_thread_on() && !(gm(m)->kind & GS_MUTEX_PSHARED);
}

static int lock_slow(struct gs_mutex *m, int self, const struct gs_deadline *d)
{
	gs_spin_lock(&m->qlock);
	if (gs_xchg(&m->word, 2) == 0) {
		gs_spin_unlock(&m->qlock);
		atomic_store_explicit(&m->owner, self, memory_order_relaxed);
		return 0;
	}
	if (d) {
		struct timespec left;
		gs_deadline_left(d, &left);
		if (!left.tv_sec && !left.tv_nsec) {
			gs_spin_unlock(&m->qlock);
			return ETIMEDOUT;
		}
	}
	struct gs_waiter w;
	gs_waiter_init(&w);
	gs_waiter_describe(&w, GS_PW_MUTEX, m, atomic_load_explicit(&m->owner, memory_order_relaxed));
	gs_waitq_push(&m->waiters, &m->qlock, &w);
	gs_spin_unlock(&m->qlock);
	/* Handed over: the unlocker made us the owner before waking us. */
	return gs_wait(&w, d, 0) == GS_WOKEN ? 0 : ETIMEDOUT;
}

int gs__mutex_lock(struct gs_mutex *m, const struct gs_deadline *d)
{
	int kind = m->kind;
	int self = gs__current_id ? gs__current_id : gs_thread_id(gs_self());
	int type = kind & GS_MUTEX_KIND_MASK;
	if (gs_unlikely(kind == GS_MUTEX_DESTROYED))
		return EINVAL;
	if (type == PTHREAD_MUTEX_RECURSIVE || type == PTHREAD_MUTEX_ERRORCHECK) {
		if (atomic_load_explicit(&m->owner, memory_order_relaxed) == self) {
			if (type == PTHREAD_MUTEX_ERRORCHECK)
				return EDEADLK;
			if (m->count + 1 == 0)
				return EAGAIN;
			m->count++;
			return 0;
		}
	}
	if (gs_likely(gs_cas(&m->word, 0, 1))) {
		atomic_store_explicit(&m->owner, self, memory_order_relaxed);
		return 0;
	}
	return lock_slow(m, self, d);
}

int gs__mutex_unlock(struct gs_mutex *m)
{
	int kind = m->kind;
	int type = kind & GS_MUTEX_KIND_MASK;
	if (gs_unlikely(kind == GS_MUTEX_DESTROYED))
		return EINVAL;
	if (type == PTHREAD_MUTEX_RECURSIVE || type == PTHREAD_MUTEX_ERRORCHECK) {
		if (atomic_load_explicit(&m->owner, memory_order_relaxed) != gs_thread_id(gs_self()))
			return EPERM;
		if (m->count) {
			m->count--;
			return 0;
		}
	}
	atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
	if (gs_likely(gs_cas(&m->word, 1, 0)))
		return 0;
	gs_spin_lock(&m->qlock);
	struct gs_waiter *w = gs_waitq_pop(&m->waiters);
	if (!w) {
		atomic_store_explicit(&m->word, 0, memory_order_release);
	} else {
		/* Hand over: word stays locked (2 while others wait, else 1). */
		atomic_store_explicit(&m->word, gs_waitq_first(&m->waiters) ? 2 : 1, memory_order_relaxed);
		atomic_store_explicit(&m->owner, gs_thread_id(w->thread), memory_order_relaxed);
		gs_waiter_wake(w, GS_WOKEN);
	}
	gs_spin_unlock(&m->qlock);
	return 0;
}

GS_EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_mutex_init)(m, attr);
	int type = PTHREAD_MUTEX_NORMAL, pshared = PTHREAD_PROCESS_PRIVATE;
	int robust = PTHREAD_MUTEX_STALLED, protocol = PTHREAD_PRIO_NONE;
	if (attr) {
		pthread_mutexattr_gettype(attr, &type);
		pthread_mutexattr_getpshared(attr, &pshared);
		pthread_mutexattr_getrobust(attr, &robust);
		pthread_mutexattr_getprotocol(attr, &protocol);
	}
	if (pshared == PTHREAD_PROCESS_SHARED)
		return GS_REAL(pthread_mutex_init)(m, attr);
	struct gs_mutex *g = gm(m);
	*g = (struct gs_mutex){ 0 };
	g->kind = type | (robust == PTHREAD_MUTEX_ROBUST ? GS_MUTEX_ROBUST : 0) |
		  (protocol == PTHREAD_PRIO_INHERIT ? GS_MUTEX_PRIO_INHERIT : 0) |
		  (protocol == PTHREAD_PRIO_PROTECT ? GS_MUTEX_PRIO_PROTECT : 0);
	return 0;
}

GS_EXPORT int pthread_mutex_destroy(pthread_mutex_t *m)
{
	if (!ours(m))
		return GS_REAL(pthread_mutex_destroy)(m);
	struct gs_mutex *g = gm(m);
	if (atomic_load(&g->word) != 0)
		return EBUSY;
	g->kind = GS_MUTEX_DESTROYED;
	return 0;
}

int gs__mutex_lock_any(pthread_mutex_t *m)
{
	if (ours(m))
		return gs__mutex_lock(gm(m), NULL);
	if (gs_thread_on() && gs_pshared_mutex(m))
		return gs_pshared_mutex_lock(m, NULL, 0);
	return robust_locked(m, GS_REAL(pthread_mutex_lock)(m));
}

int gs__mutex_unlock_any(pthread_mutex_t *m)
{
	if (ours(m))
		return gs__mutex_unlock(gm(m));
	if (gs_thread_on() && gs_pshared_mutex(m))
		return gs_pshared_mutex_unlock(m);
	return GS_REAL(pthread_mutex_unlock)(m);
}

GS_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	if (gs_likely(gs_cfg.thread > 0 && gs__mutex_lock_fast(gm(m))))
		return 0;
	return gs__mutex_lock_any(m);
}

GS_EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
	gs_safe_point(); /* a call that never waits yields a spent slice */
	if (!ours(m))
		return gs_thread_on() && gs_pshared_mutex(m) ? gs_pshared_mutex_lock(m, NULL, 1)
							      : robust_locked(m, GS_REAL(pthread_mutex_trylock)(m));
	struct gs_mutex *g = gm(m);
	int kind = g->kind, type = kind & GS_MUTEX_KIND_MASK;
	int self = gs_thread_id(gs_self());
	if (kind == GS_MUTEX_DESTROYED)
		return EINVAL;
	if (type == PTHREAD_MUTEX_RECURSIVE &&
	    atomic_load_explicit(&g->owner, memory_order_relaxed) == self) {
		if (g->count + 1 == 0)
			return EAGAIN;
		g->count++;
		return 0;
	}
	if (gs_cas(&g->word, 0, 1)) {
		atomic_store_explicit(&g->owner, self, memory_order_relaxed);
		return 0;
	}
	return EBUSY;
}

/* glibc checks the clock first, then tries the lock, and looks at the
 * timespec only when it has to wait. */
static int timed_lock(pthread_mutex_t *m, clockid_t clock, const struct timespec *abstime)
{
	if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
		return EINVAL;
	if (!ours(m)) { /* process-shared: glibc's protocol (pshared.c) */
		struct gs_deadline d = { .clock = clock, .at = *abstime };
		return gs_pshared_mutex_lock(m, &d, 0);
	}
	if (pthread_mutex_trylock(m) == 0)
		return 0;
	struct gs_mutex *g = gm(m);
	int type = g->kind & GS_MUTEX_KIND_MASK;
	if (type == PTHREAD_MUTEX_ERRORCHECK &&
	    atomic_load_explicit(&g->owner, memory_order_relaxed) == gs_thread_id(gs_self()))
		return EDEADLK;
	if (!gs_timespec_valid(abstime))
		return EINVAL;
	if (abstime->tv_sec < 0)
		return ETIMEDOUT;
	struct gs_deadline d = { .clock = clock, .at = *abstime };
	return gs__mutex_lock(g, &d);
}

GS_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
	if (!ours(m) && !(gs_thread_on() && gs_pshared_mutex(m)))
		return robust_locked(m, GS_REAL(pthread_mutex_timedlock)(m, abstime));
	return timed_lock(m, CLOCK_REALTIME, abstime);
}

GS_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock, const struct timespec *abstime)
{
	if (!ours(m) && !(gs_thread_on() && gs_pshared_mutex(m)))
		return robust_locked(m, GS_REAL(pthread_mutex_clocklock)(m, clock, abstime));
	return timed_lock(m, clock, abstime);
}

GS_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
	struct gs_mutex *g = gm(m);
	if (gs_likely(gs_cfg.thread > 0 && gs__mutex_unlock_fast(g)))
		return 0;
	if (!ours(m))
		return gs__mutex_unlock_any(m);
	int rc = gs__mutex_unlock(gm(m));
	gs_safe_point(); /* a higher-priority thread it handed the lock to runs now */
	return rc;
}

GS_EXPORT int pthread_mutex_consistent(pthread_mutex_t *m)
{
	if (!ours(m))
		return GS_REAL(pthread_mutex_consistent)(m);
	return EINVAL; /* never inconsistent: owner death is not tracked */
}

GS_EXPORT int pthread_mutex_getprioceiling(const pthread_mutex_t *m, int *ceiling)
{
	if (!ours((pthread_mutex_t *)m))
		return GS_REAL(pthread_mutex_getprioceiling)(m, ceiling);
	if (!(gm((pthread_mutex_t *)m)->kind & GS_MUTEX_PRIO_PROTECT))
		return EINVAL;
	*ceiling = 0;
	return 0;
}

GS_EXPORT int pthread_mutex_setprioceiling(pthread_mutex_t *m, int ceiling, int *old)
{
	if (!ours(m))
		return GS_REAL(pthread_mutex_setprioceiling)(m, ceiling, old);
	if (!(gm(m)->kind & GS_MUTEX_PRIO_PROTECT))
		return EINVAL;
	*old = 0;
	return 0;
}

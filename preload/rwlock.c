/* pthread rwlocks, greened (thread subsystem).
 *
 * All state changes under the lock's spinlock; waiters queue FIFO, each
 * marked reader or writer.  Kinds as glibc: the default (and PREFER_WRITER,
 * which glibc treats alike) lets a reader in whenever no writer holds the
 * lock; PREFER_WRITER_NONRECURSIVE makes readers queue behind a waiting
 * writer.  Relocking by the writing thread is EDEADLK.  glibc's __shared
 * and __flags stay at their offsets (initialisers, process-shared locks,
 * which stay glibc's: pshared.c makes their waits). */
#include <errno.h>
#include <limits.h>

#include "config.h"
#include "pshared.h"
#include "real.h"

struct gs_rwlock {
	_Atomic int qlock;
	int readers;            /* active readers */
	int writer;             /* writing thread's id, 0 if none */
	int writers_waiting;    /* queued writers */
	int pad[3];
	int shared;             /* glibc __shared */
	struct gs_waitq waiters;
	unsigned flags;         /* glibc __flags: the kind */
};
#define WRITER ((uintptr_t)1) /* gs_waiter.data of a queued writer */

_Static_assert(sizeof(struct gs_rwlock) <= sizeof(pthread_rwlock_t), "must fit");
_Static_assert(__builtin_offsetof(struct gs_rwlock, shared) ==
		       __builtin_offsetof(pthread_rwlock_t, __data.__shared), "glibc's __shared");
_Static_assert(__builtin_offsetof(struct gs_rwlock, flags) ==
		       __builtin_offsetof(pthread_rwlock_t, __data.__flags), "glibc's __flags");

static struct gs_rwlock *gr(pthread_rwlock_t *l)
{
	return (struct gs_rwlock *)l;
}

static int ours(pthread_rwlock_t *l)
{
	return gs_thread_on() && !gr(l)->shared;
}

static int reader_may_enter(struct gs_rwlock *l)
{
	if (l->writer)
		return 0;
	if (l->flags == PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP && l->writers_waiting)
		return 0;
	return 1;
}

/* Lets in whoever may enter now, oldest first.  Called with qlock held. */
static void grant(struct gs_rwlock *l)
{
	struct gs_waiter *w;
	while ((w = gs_waitq_first(&l->waiters))) {
		if (w->data == WRITER) {
			if (l->writer || l->readers)
				return;
			gs_waitq_remove(&l->waiters, w);
			l->writers_waiting--;
			l->writer = gs_thread_id(w->thread);
			gs_waiter_wake(w, GS_WOKEN);
			return;
		}
		if (l->writer)
			return;
		gs_waitq_remove(&l->waiters, w);
		l->readers++;
		gs_waiter_wake(w, GS_WOKEN);
	}
}

static int lock(pthread_rwlock_t *rw, int write, int try, const struct gs_deadline *d)
{
	struct gs_rwlock *l = gr(rw);
	int self = gs_thread_id(gs_self());
	gs_spin_lock(&l->qlock);
	if (l->writer == self && !try) {
		gs_spin_unlock(&l->qlock);
		return EDEADLK;
	}
	if (write ? (!l->writer && !l->readers) : reader_may_enter(l)) {
		if (write)
			l->writer = self;
		else if (l->readers == INT_MAX) {
			gs_spin_unlock(&l->qlock);
			return EAGAIN;
		} else
			l->readers++;
		gs_spin_unlock(&l->qlock);
		return 0;
	}
	if (try) {
		gs_spin_unlock(&l->qlock);
		return EBUSY;
	}
	struct gs_waiter w;
	gs_waiter_init(&w);
	gs_waiter_describe(&w, GS_PW_RWLOCK, l, l->writer);
	w.data = write ? WRITER : 0;
	if (write)
		l->writers_waiting++;
	gs_waitq_push(&l->waiters, &l->qlock, &w);
	gs_spin_unlock(&l->qlock);
	int how = gs_wait(&w, d, 0);
	if (how == GS_WOKEN)
		return 0;
	/* Timed out: a writer no longer waiting may let readers in. */
	gs_spin_lock(&l->qlock);
	if (write)
		l->writers_waiting--;
	grant(l);
	gs_spin_unlock(&l->qlock);
	return ETIMEDOUT;
}

static int timed(pthread_rwlock_t *rw, int write, clockid_t clock, const struct timespec *abstime)
{
	if ((clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC) || !gs_timespec_valid(abstime))
		return EINVAL;
	struct gs_deadline d = { .clock = clock, .at = *abstime };
	return ours(rw) ? lock(rw, write, 0, &d) : gs_pshared_rwlock_lock(rw, write, 0, &d);
}

GS_EXPORT int pthread_rwlock_init(pthread_rwlock_t *rw, const pthread_rwlockattr_t *attr)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_rwlock_init)(rw, attr);
	int pshared = PTHREAD_PROCESS_PRIVATE, kind = PTHREAD_RWLOCK_DEFAULT_NP;
	if (attr) {
		pthread_rwlockattr_getpshared(attr, &pshared);
		pthread_rwlockattr_getkind_np(attr, &kind);
	}
	if (pshared == PTHREAD_PROCESS_SHARED)
		return GS_REAL(pthread_rwlock_init)(rw, attr);
	struct gs_rwlock *l = gr(rw);
	*l = (struct gs_rwlock){ 0 };
	l->flags = (unsigned)kind;
	return 0;
}

GS_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *rw)
{
	if (!ours(rw))
		return GS_REAL(pthread_rwlock_destroy)(rw);
	return 0;
}

/* Process-shared: glibc's format; a green thread's wait is glibc's own
 * call on a helper thread (pshared.c). */
static int shared_greened(pthread_rwlock_t *rw)
{
	return gs_thread_on() && gr(rw)->shared && gs_can_park();
}

static int untimed(pthread_rwlock_t *rw, int write, int try)
{
	if (ours(rw))
		return lock(rw, write, try, NULL);
	if (shared_greened(rw))
		return gs_pshared_rwlock_lock(rw, write, try, NULL);
	if (write)
		return try ? GS_REAL(pthread_rwlock_trywrlock)(rw) : GS_REAL(pthread_rwlock_wrlock)(rw);
	return try ? GS_REAL(pthread_rwlock_tryrdlock)(rw) : GS_REAL(pthread_rwlock_rdlock)(rw);
}

GS_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *rw)
{
	return untimed(rw, 0, 0);
}

GS_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *rw)
{
	return untimed(rw, 0, 1);
}

GS_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *rw, const struct timespec *t)
{
	return ours(rw) || shared_greened(rw) ? timed(rw, 0, CLOCK_REALTIME, t)
					      : GS_REAL(pthread_rwlock_timedrdlock)(rw, t);
}

GS_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *rw, clockid_t c, const struct timespec *t)
{
	return ours(rw) || shared_greened(rw) ? timed(rw, 0, c, t) : GS_REAL(pthread_rwlock_clockrdlock)(rw, c, t);
}

GS_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *rw)
{
	return untimed(rw, 1, 0);
}

GS_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *rw)
{
	return untimed(rw, 1, 1);
}

GS_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *rw, const struct timespec *t)
{
	return ours(rw) || shared_greened(rw) ? timed(rw, 1, CLOCK_REALTIME, t)
					      : GS_REAL(pthread_rwlock_timedwrlock)(rw, t);
}

GS_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *rw, clockid_t c, const struct timespec *t)
{
	return ours(rw) || shared_greened(rw) ? timed(rw, 1, c, t) : GS_REAL(pthread_rwlock_clockwrlock)(rw, c, t);
}

GS_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *rw)
{
	if (!ours(rw))
		return shared_greened(rw) ? gs_pshared_rwlock_unlock(rw) : GS_REAL(pthread_rwlock_unlock)(rw);
	struct gs_rwlock *l = gr(rw);
	int self = gs_thread_id(gs_self());
	gs_spin_lock(&l->qlock);
	if (l->writer && l->writer == self)
		l->writer = 0;
	else if (l->readers > 0)
		l->readers--;
	grant(l);
	gs_spin_unlock(&l->qlock);
	gs_safe_point(); /* a higher-priority thread it let in runs now */
	return 0;
}

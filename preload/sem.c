/* Unnamed POSIX semaphores, greened (thread subsystem).
 *
 * sem_post hands its unit straight to the oldest waiter if there is one,
 * else increments the value; sem_wait takes a unit without the lock when
 * the value is positive.  Waits end with EINTR when a signal handler ran
 * (whatever SA_RESTART says, as on Linux).  glibc keeps 0 at offset 8 of a
 * private semaphore and 128 (FUTEX_SHARED) for a process-shared one, which
 * includes every sem_open() semaphore: those keep glibc's format and
 * protocol, and a green thread waits on them in pshared.c. */
#include <errno.h>
#include <limits.h>
#include <semaphore.h>

#include "config.h"
#include "pshared.h"
#include "real.h"

struct gs_sem {
	_Atomic unsigned value;
	_Atomic int qlock;
	int shared;              /* glibc's "private" word: 0 private, 128 shared */
	int pad;
	struct gs_waitq waiters; /* each is handed one unit */
};
_Static_assert(sizeof(struct gs_sem) <= sizeof(sem_t), "must fit");

static struct gs_sem *gsem(sem_t *s)
{
	return (struct gs_sem *)s;
}

static int ours(sem_t *s)
{
	return gs_thread_on() && !gsem(s)->shared;
}

static int fail(int err)
{
	errno = err;
	return -1;
}

/* A process-shared semaphore (glibc's format) that a green thread waits
 * on: pshared.c. */
static int shared_greened(void)
{
	return gs_thread_on() && gs_can_park();
}

GS_EXPORT int sem_init(sem_t *s, int pshared, unsigned value)
{
	if (!gs_thread_on() || pshared)
		return GS_REAL(sem_init)(s, pshared, value);
	if (value > SEM_VALUE_MAX)
		return fail(EINVAL);
	struct gs_sem *g = gsem(s);
	*g = (struct gs_sem){ 0 };
	g->value = value;
	return 0;
}

GS_EXPORT int sem_destroy(sem_t *s)
{
	if (!ours(s))
		return GS_REAL(sem_destroy)(s);
	return 0;
}

static int try_take(struct gs_sem *g)
{
	unsigned v = atomic_load_explicit(&g->value, memory_order_relaxed);
	while (v > 0)
		if (atomic_compare_exchange_weak_explicit(&g->value, &v, v - 1, memory_order_acquire,
							  memory_order_relaxed))
			return 1;
	return 0;
}

/* Gives one unit: to the oldest waiter if any, else to the value.
 * 0 or EOVERFLOW. */
static int post(struct gs_sem *g)
{
	gs_spin_lock(&g->qlock);
	struct gs_waiter *w = gs_waitq_pop(&g->waiters);
	if (w) {
		gs_waiter_wake(w, GS_WOKEN);
	} else if (atomic_load_explicit(&g->value, memory_order_relaxed) >= SEM_VALUE_MAX) {
		gs_spin_unlock(&g->qlock);
		return EOVERFLOW;
	} else {
		atomic_fetch_add_explicit(&g->value, 1, memory_order_release);
	}
	gs_spin_unlock(&g->qlock);
	return 0;
}

static int sem_wait_until(sem_t *s, const struct gs_deadline *d)
{
	struct gs_sem *g = gsem(s);
	gs_testcancel(); /* a cancellation point */
restart:
	if (try_take(g))
		return 0;
	gs_spin_lock(&g->qlock);
	if (try_take(g)) {
		gs_spin_unlock(&g->qlock);
		return 0;
	}
	struct gs_waiter w;
	gs_waiter_init(&w);
	gs_waiter_describe(&w, GS_PW_SEM, g, 0);
	gs_waitq_push(&g->waiters, &g->qlock, &w);
	gs_spin_unlock(&g->qlock);
	/* Linux: a timed wait always ends with EINTR when a handler runs, an
	 * untimed one is restarted after an SA_RESTART handler. */
	int how = gs_wait(&w, d, (d ? GS_INTR_ALWAYS : GS_INTR_UNLESS_RESTART) | GS_WAIT_CANCELLABLE);
	if (how == GS_CANCELED)
		gs_testcancel();
	if (how == GS_INTERRUPTED && w.interrupted == 2)
		goto restart; /* the SA_RESTART handler ran (on resume): wait on */
	if (how == GS_WOKEN && w.interrupted == 1) {
		/* Handed a unit, but a handler ran for us first (perhaps the
		 * very one that posted): glibc reports EINTR and leaves the unit
		 * in the semaphore. */
		post(g);
		return fail(EINTR);
	}
	if (how == GS_WOKEN)
		return 0;
	return fail(how == GS_INTERRUPTED ? EINTR : ETIMEDOUT);
}

GS_EXPORT int sem_wait(sem_t *s)
{
	if (!ours(s))
		return shared_greened() ? gs_pshared_sem_wait(s, NULL) : GS_REAL(sem_wait)(s);
	return sem_wait_until(s, NULL);
}

GS_EXPORT int sem_trywait(sem_t *s)
{
	gs_safe_point(); /* a call that never waits yields a spent slice */
	if (!ours(s))
		return GS_REAL(sem_trywait)(s);
	return try_take(gsem(s)) ? 0 : fail(EAGAIN);
}

static int timed(sem_t *s, clockid_t clock, const struct timespec *abstime)
{
	if (!gs_timespec_valid(abstime))
		return fail(EINVAL);
	struct gs_deadline d = { .clock = clock, .at = *abstime };
	return ours(s) ? sem_wait_until(s, &d) : gs_pshared_sem_wait(s, &d);
}

GS_EXPORT int sem_timedwait(sem_t *s, const struct timespec *abstime)
{
	if (!ours(s) && !shared_greened())
		return GS_REAL(sem_timedwait)(s, abstime);
	return timed(s, CLOCK_REALTIME, abstime);
}

GS_EXPORT int sem_clockwait(sem_t *s, clockid_t clock, const struct timespec *abstime)
{
	if (!ours(s) && !shared_greened())
		return GS_REAL(sem_clockwait)(s, clock, abstime);
	if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
		return fail(EINVAL);
	return timed(s, clock, abstime);
}

GS_EXPORT int sem_post(sem_t *s)
{
	gs_safe_point(); /* a call that never waits yields a spent slice */
	if (!ours(s))
		return GS_REAL(sem_post)(s);
	int rc = post(gsem(s));
	gs_safe_point(); /* a higher-priority thread it woke runs now */
	return rc ? fail(rc) : 0;
}

GS_EXPORT int sem_getvalue(sem_t *s, int *value)
{
	if (!ours(s))
		return GS_REAL(sem_getvalue)(s, value);
	*value = (int)atomic_load(&gsem(s)->value);
	return 0;
}

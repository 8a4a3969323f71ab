/* glibc's process-shared mutexes, semaphores and barriers, greened
 * (thread subsystem).
 *
 * A process-shared object lives in memory another process maps, and that
 * process may run without the shim: the object keeps glibc 2.36's format
 * and protocol, word for word, so either side can lock, post or arrive.
 * What changes is only where a waiter waits: a green thread parks on its
 * hub while a watcher thread waits on the shared word in the kernel
 * (shared_wait.c), so a wake from any process reaches it; glibc's own
 * calls would block the OS thread and every green thread on it.
 *
 * Ownership.  glibc records a mutex's owner as the kernel tid, which all
 * green threads of an OS thread share; so here it is an id of the green
 * thread's own: bit 30 set (no kernel tid is that large, PID_MAX_LIMIT
 * being 2^22), plus the thread's green id and a salt drawn per process
 * (a fork child draws its own), so that another process's threads, ours
 * or not, never see their own id there.  glibc in another process
 * compares the owner only with its own tid, so it is not confused.
 *
 * Covered: mutexes of every type (normal, recursive, errorcheck,
 * adaptive) but robust and priority-protocol ones, sem_wait & co. on
 * pshared and sem_open semaphores (sem_post, trywait and getvalue never
 * wait and stay glibc's), barriers.  Condvars and rwlocks stay glibc's:
 * their waits block the OS thread (README, Limits); a condvar's mutex is
 * handed to glibc's wait with the owner glibc expects. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "mutex.h"
#include "pshared.h"
#include "rawsys.h"
#include "real.h"

/* ---- owners ------------------------------------------------------------ */

static unsigned salt;
static _Atomic int atfork_registered;

static void new_salt(void)
{
	salt = 0;
}

static int owner_id(void)
{
	if (gs_unlikely(!salt)) {
		if (!atomic_load_explicit(&atfork_registered, memory_order_relaxed) &&
		    gs_cas(&atfork_registered, 0, 1))
			pthread_atfork(NULL, NULL, new_salt);
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		unsigned s = ((unsigned)getpid() * 2654435761u) ^ (unsigned)now.tv_nsec ^ (unsigned)now.tv_sec;
		salt = s ? s : 1;
	}
	int id = (int)((1u << 30) | ((salt + (unsigned)gs_thread_id(gs_self())) & 0x3fffffffu));
	return id >= INT_MAX - 1 ? id - 2 : id; /* not glibc's INCONSISTENT / NOTRECOVERABLE */
}

/* ---- waiting on a shared word ------------------------------------------ */

/* Until *addr may no longer be val, the deadline, or (as interruptible
 * says) a signal or cancellation: how it ended (GS_*), and the waiter's
 * interrupted mark in *intr.  Without a watcher, the kernel's wait. */
static int wait_word(const void *addr, unsigned val, int private, const struct gs_deadline *d,
		     int interruptible, int *intr)
{
	*intr = 0;
	int how = gs_shared_wait(addr, val, private, d, interruptible, intr);
	if (how >= 0)
		return how;
	int e = gs_shared_wait_os(addr, val, private, d);
	if (e == ETIMEDOUT)
		return GS_TIMEDOUT;
	if (e == EINTR && GS_INTR_MODE(interruptible)) {
		*intr = 1;
		return GS_INTERRUPTED;
	}
	return GS_WOKEN;
}

static int expired(const struct gs_deadline *d)
{
	struct timespec left;
	gs_deadline_left(d, &left);
	return !left.tv_sec && !left.tv_nsec;
}

/* ---- mutexes ------------------------------------------------------------ */

#define KIND(m) ((m)->__data.__kind)
#define TYPE(m) (KIND(m) & GS_MUTEX_KIND_MASK)
#define LOCKWORD(m) ((_Atomic int *)&(m)->__data.__lock)

int gs_pshared_mutex(pthread_mutex_t *m)
{
	int k = KIND(m);
	return (k & GS_MUTEX_PSHARED) && !(k & (GS_MUTEX_ROBUST | GS_MUTEX_PRIO_INHERIT | GS_MUTEX_PRIO_PROTECT)) &&
	       gs_can_park();
}

/* glibc's lll_lock on the shared word: 0 free, 1 locked, 2 locked and
 * maybe waited for; a waiter marks 2 before it sleeps, so the unlocker
 * wakes one.  0 or ETIMEDOUT / EINVAL. */
static int lll_lock(pthread_mutex_t *m, const struct gs_deadline *d)
{
	_Atomic int *w = LOCKWORD(m);
	int expect = 0;
	if (atomic_compare_exchange_strong_explicit(w, &expect, 1, memory_order_acquire, memory_order_relaxed))
		return 0;
	while (atomic_exchange_explicit(w, 2, memory_order_acquire) != 0) {
		if (d && !gs_timespec_valid(&d->at))
			return EINVAL; /* the kernel's answer to glibc's wait */
		if (d && expired(d))
			return ETIMEDOUT;
		int intr;
		if (wait_word(w, 2, 0, d, GS_INTR_NEVER, &intr) == GS_TIMEDOUT)
			return ETIMEDOUT;
	}
	return 0;
}

int gs_pshared_mutex_lock(pthread_mutex_t *m, const struct gs_deadline *d, int try)
{
	int me = owner_id(), type = TYPE(m);
	if (type == PTHREAD_MUTEX_RECURSIVE && m->__data.__owner == me) {
		if (m->__data.__count + 1 == 0)
			return EAGAIN;
		m->__data.__count++;
		return 0;
	}
	if (type == PTHREAD_MUTEX_ERRORCHECK && !try && m->__data.__owner == me)
		return EDEADLK;
	if (try) {
		int expect = 0;
		if (!atomic_compare_exchange_strong_explicit(LOCKWORD(m), &expect, 1, memory_order_acquire,
							     memory_order_relaxed))
			return EBUSY;
	} else {
		int rc = lll_lock(m, d);
		if (rc)
			return rc;
	}
	m->__data.__owner = me;
	m->__data.__nusers++;
	if (type == PTHREAD_MUTEX_RECURSIVE)
		m->__data.__count = 1;
	return 0;
}

static void lll_unlock(pthread_mutex_t *m)
{
	if (atomic_exchange_explicit(LOCKWORD(m), 0, memory_order_release) > 1)
		gs_shared_wake(LOCKWORD(m), 1, 0);
}

int gs_pshared_mutex_unlock(pthread_mutex_t *m)
{
	int me = owner_id(), type = TYPE(m);
	if (type == PTHREAD_MUTEX_RECURSIVE) {
		if (m->__data.__owner != me)
			return EPERM;
		if (--m->__data.__count != 0)
			return 0;
	} else if (type == PTHREAD_MUTEX_ERRORCHECK) {
		if (m->__data.__owner != me || atomic_load_explicit(LOCKWORD(m), memory_order_relaxed) == 0)
			return EPERM;
	}
	m->__data.__owner = 0;
	m->__data.__nusers--;
	lll_unlock(m);
	return 0;
}

void gs_pshared_mutex_to_glibc(pthread_mutex_t *m)
{
	if (m->__data.__owner == owner_id())
		m->__data.__owner = (int)gs__sys(SYS_gettid, 0, 0, 0, 0, 0, 0);
}

void gs_pshared_mutex_from_glibc(pthread_mutex_t *m)
{
	if (m->__data.__owner == (int)gs__sys(SYS_gettid, 0, 0, 0, 0, 0, 0))
		m->__data.__owner = owner_id();
}

/* ---- semaphores --------------------------------------------------------- */

/* glibc 2.36's semaphore on a 64-bit machine: the value in the low half of
 * data, the number of waiters in the high half; `private` is 0 for a
 * private one and FUTEX_SHARED (128) otherwise. */
struct glibc_sem {
	_Atomic uint64_t data;
	int private;
	int pad;
};
#define SEM_WAITER (1ULL << 32)
_Static_assert(sizeof(struct glibc_sem) <= sizeof(sem_t), "glibc's semaphore fits");

int gs_pshared_sem_wait(sem_t *sem, const struct gs_deadline *d)
{
	struct glibc_sem *s = (struct glibc_sem *)sem;
	gs_testcancel();
	uint64_t v = atomic_load_explicit(&s->data, memory_order_relaxed);
	while ((uint32_t)v > 0)
		if (atomic_compare_exchange_weak_explicit(&s->data, &v, v - 1, memory_order_acquire,
							  memory_order_relaxed))
			return 0;
	/* As glibc: a registered waiter until it takes a unit or gives up. */
	v = atomic_fetch_add_explicit(&s->data, SEM_WAITER, memory_order_relaxed);
	for (;;) {
		if ((uint32_t)v == 0) {
			int intr;
			/* Linux: a timed wait ends with EINTR whenever a handler
			 * runs, an untimed one goes on after an SA_RESTART one. */
			int how = wait_word(&s->data, 0, s->private == 0, d,
					    (d ? GS_INTR_ALWAYS : GS_INTR_UNLESS_RESTART) | GS_WAIT_CANCELLABLE,
					    &intr);
			int err = how == GS_TIMEDOUT ? ETIMEDOUT
				  : how == GS_INTERRUPTED && intr != 2 ? EINTR
				  : 0;
			if (how == GS_CANCELED) {
				atomic_fetch_sub_explicit(&s->data, SEM_WAITER, memory_order_relaxed);
				gs_testcancel();
			}
			if (err) {
				atomic_fetch_sub_explicit(&s->data, SEM_WAITER, memory_order_relaxed);
				errno = err;
				return -1;
			}
			v = atomic_load_explicit(&s->data, memory_order_relaxed);
		} else if (atomic_compare_exchange_weak_explicit(&s->data, &v, v - 1 - SEM_WAITER,
								 memory_order_acquire, memory_order_relaxed)) {
			return 0;
		}
	}
}

/* ---- barriers ----------------------------------------------------------- */

/* glibc 2.36's barrier: arrivals count `in` up, each round ends when `in`
 * reaches the next multiple of count (current_round moves there), and
 * `in` is reset once every thread of the last round before the threshold
 * has left (`out`). */
struct glibc_barrier {
	_Atomic unsigned in;
	_Atomic unsigned current_round;
	unsigned count;
	int shared; /* FUTEX_SHARED (128) for a process-shared one */
	_Atomic unsigned out;
};
#define BARRIER_IN_THRESHOLD (UINT_MAX / 2)
_Static_assert(sizeof(struct glibc_barrier) <= sizeof(pthread_barrier_t), "glibc's barrier fits");

static void barrier_sleep(struct glibc_barrier *b, _Atomic unsigned *word, unsigned val)
{
	int intr;
	wait_word(word, val, b->shared == 0, NULL, GS_INTR_NEVER, &intr);
}

int gs_pshared_barrier_wait(pthread_barrier_t *barrier)
{
	struct glibc_barrier *b = (struct glibc_barrier *)barrier;
	unsigned i, count, max_in, cr;
restart:
	i = atomic_fetch_add_explicit(&b->in, 1, memory_order_acq_rel) + 1;
	count = b->count;
	max_in = BARRIER_IN_THRESHOLD - BARRIER_IN_THRESHOLD % count;
	if (i > max_in) { /* a reset is due: wait for it, then enter again */
		while (i > max_in) {
			barrier_sleep(b, &b->in, i);
			i = atomic_load_explicit(&b->in, memory_order_relaxed);
		}
		goto restart;
	}
	cr = atomic_load_explicit(&b->current_round, memory_order_relaxed);
	while (cr + count <= i) { /* this arrival may complete a round */
		unsigned newcr = i - i % count;
		if (atomic_compare_exchange_weak_explicit(&b->current_round, &cr, newcr, memory_order_release,
							  memory_order_relaxed)) {
			cr = newcr;
			gs_shared_wake(&b->current_round, INT_MAX, b->shared == 0);
			if (i <= cr)
				goto leave;
			break;
		}
	}
	while (i > cr) {
		barrier_sleep(b, &b->current_round, cr);
		cr = atomic_load_explicit(&b->current_round, memory_order_relaxed);
	}
	atomic_thread_fence(memory_order_acquire);
leave:;
	unsigned o = atomic_fetch_add_explicit(&b->out, 1, memory_order_release) + 1;
	if (o == max_in) { /* the last to leave before the threshold resets */
		atomic_thread_fence(memory_order_acquire);
		atomic_store_explicit(&b->current_round, 0, memory_order_relaxed);
		atomic_store_explicit(&b->out, 0, memory_order_relaxed);
		int shared = b->shared;
		atomic_store_explicit(&b->in, 0, memory_order_release);
		gs_shared_wake(&b->in, INT_MAX, shared == 0);
	}
	return i % count == 0 ? PTHREAD_BARRIER_SERIAL_THREAD : 0;
}

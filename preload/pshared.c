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
 * wait and stay glibc's), barriers; condvars (with such a mutex) and
 * rwlocks through glibc's own calls on a helper thread (below).  A robust
 * or priority-protocol mutex stays glibc's, and its wait blocks the OS
 * thread (README, Limits). */
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
#include "real_thread.h"

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
		gs_atfork_child_once(&atfork_registered, new_salt);
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

/* ---- condvars and rwlocks: glibc's own calls, on a helper --------------- */

/* glibc's condvar and rwlock protocols are long; rather than keep a copy
 * of them, a helper OS thread (helper_call.c) makes glibc's own call while
 * the green thread parks.  The helper waits in slices, so that it sees a
 * caller that left (a cancellation) soon.  A condvar wait's slice
 * (COND_SLICE_MS) that ends is a spurious wakeup (POSIX allows them):
 * glibc stops counting the helper as a waiter before it relocks the mutex,
 * so a signal sent meanwhile would go to nobody if the helper waited
 * again; the program, back from its wait, looks at its predicate first.
 * An rwlock slice (RWLOCK_SLICE_MS) that ends has not got the lock, and
 * the helper asks again.  The green thread's deadline, on its own clock,
 * decides when a wait is over: never early. */
#define COND_SLICE_MS 1000
#define RWLOCK_SLICE_MS 20

/* The end of the next slice on CLOCK_MONOTONIC; 0 when the deadline has
 * passed. */
static int next_slice(const struct gs_deadline *d, long slice_ms, struct timespec *end)
{
	long long ns = slice_ms * 1000000LL;
	if (d) {
		struct timespec left;
		gs_deadline_left(d, &left);
		long long l = left.tv_sec * 1000000000LL + left.tv_nsec;
		if (l == 0)
			return 0;
		if (l < ns)
			ns = l;
	}
	clock_gettime(CLOCK_MONOTONIC, end);
	end->tv_nsec += ns % 1000000000LL;
	end->tv_sec += ns / 1000000000LL + end->tv_nsec / 1000000000L;
	end->tv_nsec %= 1000000000L;
	return 1;
}

static int kernel_tid(void)
{
	return (int)gs__sys(SYS_gettid, 0, 0, 0, 0, 0, 0);
}

struct cond_call {
	struct helper_call c; /* first */
	pthread_cond_t *cv;
	pthread_mutex_t *m;
	const struct gs_deadline *d;
	int owner; /* the green thread's owner id, to hand the mutex back */
	int rc;
	int signalled; /* glibc's wait returned 0 */
};

static void cond_on_helper(struct helper_call *hc)
{
	struct cond_call *k = (struct cond_call *)hc;
	k->m->__data.__owner = kernel_tid(); /* what glibc's unlock inside checks */
	struct timespec end;
	if (!next_slice(k->d, COND_SLICE_MS, &end)) {
		k->rc = ETIMEDOUT;
	} else {
		int r = GS_REAL(pthread_cond_clockwait)(k->cv, k->m, CLOCK_MONOTONIC, &end);
		if (r == ETIMEDOUT && k->d && !next_slice(k->d, COND_SLICE_MS, &end))
			k->rc = ETIMEDOUT; /* the caller's own time is up */
		else
			k->rc = r == ETIMEDOUT ? 0 : r; /* a slice's end: spurious */
		k->signalled = r == 0;
	}
	k->m->__data.__owner = k->owner; /* the green thread holds it again */
}

/* Woken for a caller that was cancelled meanwhile: the signal was someone
 * else's (POSIX: a cancelled waiter consumes none), and goes on, as
 * glibc's own cancellation cleanup passes it. */
static void cond_undo(struct helper_call *hc)
{
	struct cond_call *k = (struct cond_call *)hc;
	if (k->signalled)
		GS_REAL(pthread_cond_signal)(k->cv);
}

int gs_pshared_cond_wait(pthread_cond_t *cv, pthread_mutex_t *m, const struct gs_deadline *d)
{
	int me = owner_id(), type = TYPE(m);
	gs_testcancel(); /* a cancellation point */
	if ((type == PTHREAD_MUTEX_ERRORCHECK || type == PTHREAD_MUTEX_RECURSIVE) &&
	    m->__data.__owner != me)
		return EPERM; /* glibc's unlock inside the wait says so */
	struct cond_call k = { .c.fn = cond_on_helper, .c.undo = cond_undo, .cv = cv, .m = m, .d = d, .owner = me };
	int how = gs_helper_call(&k.c, GS_WAIT_CANCELLABLE, GS_PW_COND, cv);
	if (how == GS_CANCELED)
		gs_testcancel(); /* with the mutex held, as POSIX says */
	if (how == -1) { /* no helper: glibc's wait blocks this OS thread */
		gs_pshared_mutex_to_glibc(m);
		struct timespec end;
		if (d)
			end = d->at;
		k.rc = d ? GS_REAL(pthread_cond_clockwait)(cv, m, d->clock, &end) : GS_REAL(pthread_cond_wait)(cv, m);
		gs_pshared_mutex_from_glibc(m);
	}
	return k.rc;
}

#define CUR_WRITER(rw) ((rw)->__data.__cur_writer)

struct rwlock_call {
	struct helper_call c; /* first */
	pthread_rwlock_t *rw;
	int write;
	const struct gs_deadline *d;
	int owner;
	int rc;
};

static void rwlock_on_helper(struct helper_call *hc)
{
	struct rwlock_call *k = (struct rwlock_call *)hc;
	for (;;) {
		struct timespec end;
		if (!next_slice(k->d, RWLOCK_SLICE_MS, &end)) {
			k->rc = ETIMEDOUT;
			return;
		}
		int r = k->write ? GS_REAL(pthread_rwlock_clockwrlock)(k->rw, CLOCK_MONOTONIC, &end)
				 : GS_REAL(pthread_rwlock_clockrdlock)(k->rw, CLOCK_MONOTONIC, &end);
		if (r != ETIMEDOUT || atomic_load_explicit(&k->c.abandoned, memory_order_acquire)) {
			k->rc = r == ETIMEDOUT ? -1 : r; /* -1: left without it */
			if (r == 0 && k->write)
				CUR_WRITER(k->rw) = k->owner;
			return;
		}
	}
}

/* Got for a caller that had left (an asynchronous cancellation): given
 * back, as the helper's own. */
static void rwlock_undo(struct helper_call *hc)
{
	struct rwlock_call *k = (struct rwlock_call *)hc;
	if (k->rc != 0)
		return;
	if (k->write)
		CUR_WRITER(k->rw) = kernel_tid();
	GS_REAL(pthread_rwlock_unlock)(k->rw);
}

int gs_pshared_rwlock_lock(pthread_rwlock_t *rw, int write, int try, const struct gs_deadline *d)
{
	int me = owner_id();
	if (!try && CUR_WRITER(rw) == me)
		return EDEADLK;
	int r = write ? GS_REAL(pthread_rwlock_trywrlock)(rw) : GS_REAL(pthread_rwlock_tryrdlock)(rw);
	if (r == 0 && write)
		CUR_WRITER(rw) = me;
	if (try || r != EBUSY)
		return r;
	struct rwlock_call k = { .c.fn = rwlock_on_helper, .c.undo = rwlock_undo, .rw = rw, .write = write,
				 .d = d, .owner = me };
	if (gs_helper_call(&k.c, 0, GS_PW_RWLOCK, rw) == -1) { /* no helper: glibc's wait, here */
		struct timespec end;
		if (d)
			end = d->at;
		k.rc = write ? (d ? GS_REAL(pthread_rwlock_clockwrlock)(rw, d->clock, &end)
				  : GS_REAL(pthread_rwlock_wrlock)(rw))
			     : (d ? GS_REAL(pthread_rwlock_clockrdlock)(rw, d->clock, &end)
				  : GS_REAL(pthread_rwlock_rdlock)(rw));
		if (k.rc == 0 && write)
			CUR_WRITER(rw) = me;
	}
	return k.rc;
}

int gs_pshared_rwlock_unlock(pthread_rwlock_t *rw)
{
	/* glibc tells a writer's unlock from a reader's by its own tid */
	if (CUR_WRITER(rw) == owner_id())
		CUR_WRITER(rw) = kernel_tid();
	return GS_REAL(pthread_rwlock_unlock)(rw);
}

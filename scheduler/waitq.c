/* Waiting: spinlocks, FIFO wait queues, parking with a deadline.
 *
 * The protocol every primitive follows (mutex, cond, rwlock, sem, join):
 *   lock the object's spinlock; test the condition; if it must wait,
 *   gs_waitq_push a waiter from its own stack; unlock; gs_wait.
 * A waker locks the spinlock, pops a waiter, does the hand-over (e.g. makes
 * it the mutex owner) and calls gs_waiter_wake, still under the lock.
 * A timeout or signal takes the same lock and only acts if the waiter is
 * still GS_WAITING, so exactly one of them decides how the wait ended.
 *
 * A green waiter parks its green thread; its timer lives in its thread
 * record and fires in the hub.  An OS thread with no hub (with the thread
 * subsystem on: a thread the shim did not create, e.g. a SIGEV_THREAD
 * timer callback) sleeps on a futex on the waiter's state instead.
 */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "rawsys.h"

/* ---- spinlocks ------------------------------------------------------- */

/* Held only for a few instructions and never across a park, so contention
 * exists only between OS threads; sched_yield covers a preempted holder. */
void gs__spin_lock_contended(_Atomic int *l)
{
	for (unsigned spins = 0;; spins++) {
		while (atomic_load_explicit(l, memory_order_relaxed)) {
			if (++spins > 100)
				gs__sys(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
			else
				__builtin_ia32_pause();
		}
		if (!atomic_exchange_explicit(l, 1, memory_order_acquire))
			return;
	}
}

/* ---- queues ---------------------------------------------------------- */

static int prio_of(const struct gs_waiter *w)
{
	return w->thread ? w->thread->prio : 0;
}

/* Behind every waiter of the same or a higher priority: a release goes to
 * the highest-priority waiter, the longest-waiting among equals, as the
 * kernel's futex queues order them. */
GS_INLINE_HOT void gs_waitq_push(struct gs_waitq *q, _Atomic int *qlock, struct gs_waiter *w)
{
	w->q = q;
	w->qlock = qlock;
	struct gs_waiter *after = q->tail;
	int p = prio_of(w);
	if (gs_unlikely(p))
		while (after && prio_of(after) < p)
			after = after->prev;
	w->prev = after;
	w->next = after ? after->next : q->head;
	if (w->next)
		w->next->prev = w;
	else
		q->tail = w;
	if (after)
		after->next = w;
	else
		q->head = w;
}

GS_INLINE_HOT void gs_waitq_remove(struct gs_waitq *q, struct gs_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		q->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		q->tail = w->prev;
	w->next = w->prev = NULL;
	w->q = NULL;
}

/* A waiter whose thread existed only in the parent of a fork. */
static int ghost(const struct gs_waiter *w)
{
	return gs_unlikely(w->thread && w->thread->fork_gen != gs__fork_gen);
}

GS_INLINE_HOT struct gs_waiter *gs_waitq_first(struct gs_waitq *q)
{
	struct gs_waiter *w;
	while ((w = q->head) && ghost(w))
		gs_waitq_remove(q, w); /* its memory stays mapped; it never runs */
	return w;
}

GS_INLINE_HOT struct gs_waiter *gs_waitq_pop(struct gs_waitq *q)
{
	struct gs_waiter *w = gs_waitq_first(q);
	if (w)
		gs_waitq_remove(q, w);
	return w;
}

int gs_waiter_ghost(const struct gs_waiter *w)
{
	return ghost(w);
}

/* ---- futexes (hub-less waiters) -------------------------------------- */

int gs__futex_wait(_Atomic int *addr, int val, const struct gs_deadline *d)
{
	int op = FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG;
	struct timespec ts, *tp = NULL;
	if (d) {
		if (d->clock == CLOCK_REALTIME) {
			op |= FUTEX_CLOCK_REALTIME;
			ts = d->at;
		} else if (d->clock == CLOCK_MONOTONIC) {
			ts = d->at;
		} else { /* other clocks: wait relative to monotonic now */
			struct timespec left, now;
			gs_deadline_left(d, &left);
			clock_gettime(CLOCK_MONOTONIC, &now);
			ts.tv_sec = now.tv_sec + left.tv_sec;
			ts.tv_nsec = now.tv_nsec + left.tv_nsec;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
		}
		tp = &ts;
	}
	long r = gs__sys(SYS_futex, (long)addr, op, val, (long)tp, 0, FUTEX_BITSET_MATCH_ANY);
	return r < 0 ? (int)r : 0;
}

void gs__futex_wake(_Atomic int *addr, int n)
{
	gs__sys(SYS_futex, (long)addr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n, 0, 0, 0);
}

/* ---- waking ---------------------------------------------------------- */

GS_INLINE_HOT void gs_waiter_init(struct gs_waiter *w)
{
	struct gs_thread *t = gs_self();
	w->next = w->prev = NULL;
	w->q = NULL;
	w->qlock = NULL;
	w->thread = t;
	w->data = 0;
	w->interrupted = 0;
	w->kind = GS_PW_NONE;
	w->object = NULL;
	w->holder = 0;
	atomic_store_explicit(&w->state, GS_WAITING, memory_order_relaxed);
	/* With a hub the thread parks; without one it sleeps on a futex.
	 * The hub is created by sleeps and thread creation, not here: an OS
	 * thread that only ever waits on locks needs no event loop. */
	w->native = (gs__os.hub == NULL);
}

GS_INLINE_HOT int gs_waiter_wake(struct gs_waiter *w, int how)
{
	struct gs_thread *t = w->thread;
	int native = w->native;
	if (!gs_cas(&w->state, GS_WAITING, how))
		return 0;
	/* From here on w may be gone (its owner may have returned). */
	if (native)
		gs__futex_wake(&w->state, 1);
	else if (gs_unlikely(gs__trace_wakes))
		gs__trace_ready(t); /* gs__ready, and who woke whom for the trace */
	else
		gs__ready(t);
	return 1;
}

/* The timer, a signal or a cancellation ends w's wait with `how`, unless a
 * waker got there first. */
void gs__end_wait(struct gs_waiter *w, int how)
{
	_Atomic int *ql = w->qlock;
	if (ql) {
		gs_spin_lock(ql);
		if (atomic_load_explicit(&w->state, memory_order_relaxed) == GS_WAITING) {
			if (w->q)
				gs_waitq_remove(w->q, w);
			gs_waiter_wake(w, how);
		}
		gs_spin_unlock(ql);
	} else {
		gs_waiter_wake(w, how);
	}
}

/* ---- deadlines ------------------------------------------------------- */

int gs_timespec_valid(const struct timespec *ts)
{
	return ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

int gs_clock_supported(clockid_t c)
{
	return c == CLOCK_MONOTONIC || c == CLOCK_REALTIME || c == CLOCK_BOOTTIME || c == CLOCK_TAI;
}

void gs_deadline_in(struct gs_deadline *d, const struct timespec *rel)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	d->clock = CLOCK_MONOTONIC;
	d->at.tv_sec = now.tv_sec + rel->tv_sec;
	d->at.tv_nsec = now.tv_nsec + rel->tv_nsec;
	if (d->at.tv_nsec >= 1000000000L) {
		d->at.tv_sec++;
		d->at.tv_nsec -= 1000000000L;
	}
}

void gs_deadline_left(const struct gs_deadline *d, struct timespec *left)
{
	struct timespec now;
	clock_gettime(d->clock, &now);
	long long ns = (long long)(d->at.tv_sec - now.tv_sec) * 1000000000LL +
		       (d->at.tv_nsec - now.tv_nsec);
	if (ns < 0)
		ns = 0;
	left->tv_sec = ns / 1000000000LL;
	left->tv_nsec = ns % 1000000000LL;
}

static double left_seconds(const struct gs_deadline *d)
{
	struct timespec left;
	gs_deadline_left(d, &left);
	return left.tv_sec + left.tv_nsec * 1e-9;
}

static void deadline_fired(struct gs_thread *t);

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	deadline_fired(w->data);
}

static void periodic_cb(struct ev_loop *loop, ev_periodic *w, int revents)
{
	deadline_fired(w->data);
}

/* Arms the thread's timer for its deadline.  CLOCK_REALTIME uses an
 * ev_periodic so that setting the wall clock moves the wake-up as it does
 * for a native absolute wait; every other clock a relative ev_timer. */
static void arm(struct gs_thread *t)
{
	struct ev_loop *loop = t->hub->loop;
	const struct gs_deadline *d = t->deadline;
	ev_now_update(loop);
	double left = left_seconds(d);
	if (d->clock == CLOCK_REALTIME) {
		ev_periodic_init(&t->periodic, periodic_cb, d->at.tv_sec + d->at.tv_nsec * 1e-9, 0., 0);
		t->periodic.data = t;
		ev_periodic_start(loop, &t->periodic);
	} else {
		ev_timer_init(&t->timer, timer_cb, left, 0.);
		t->timer.data = t;
		ev_timer_start(loop, &t->timer);
	}
	gs__precise_arm(t->hub, left);
}

static void disarm(struct gs_thread *t)
{
	if (t->deadline->clock == CLOCK_REALTIME)
		ev_periodic_stop(t->hub->loop, &t->periodic);
	else
		ev_timer_stop(t->hub->loop, &t->timer);
}

/* libev fires on its own clock; the deadline's clock has the last word, so
 * a wait never ends early. */
static void deadline_fired(struct gs_thread *t)
{
	struct timespec left;
	gs_deadline_left(t->deadline, &left);
	if (left.tv_sec || left.tv_nsec) {
		disarm(t);
		arm(t);
		return;
	}
	gs__end_wait(t->waiting, GS_TIMEDOUT);
}

/* ---- waiting --------------------------------------------------------- */

static int wait_green(struct gs_waiter *w, const struct gs_deadline *d, int interruptible);

/* The kernel already applies Linux's rules to a futex wait: an untimed one
 * is restarted after an SA_RESTART handler, a timed one never is, so its
 * EINTR is exactly when the call we stand for would fail with EINTR. */
static int wait_native(struct gs_waiter *w, const struct gs_deadline *d, int interruptible)
{
	for (;;) {
		int s = atomic_load_explicit(&w->state, memory_order_acquire);
		if (s != GS_WAITING)
			return s;
		/* Whatever the futex says (a negative time is EINVAL to it), the
		 * deadline's clock decides whether the wait is over. */
		if (gs__futex_wait(&w->state, GS_WAITING, d) == -EINTR && GS_INTR_MODE(interruptible)) {
			w->interrupted = 1;
			gs__end_wait(w, GS_INTERRUPTED);
		}
		if (d) {
			struct timespec left;
			gs_deadline_left(d, &left);
			if (!left.tv_sec && !left.tv_nsec)
				gs__end_wait(w, GS_TIMEDOUT);
		}
	}
}

/* Leaves errno as it found it: pthread functions never touch errno, and
 * the futex and clock calls below may. */
GS_INLINE_HOT int gs_wait(struct gs_waiter *w, const struct gs_deadline *d, int interruptible)
{
	if (gs_likely(!w->native && !d))
		return wait_green(w, NULL, interruptible); /* no system call: errno is safe */
	int saved = errno;
	int how = w->native ? wait_native(w, d, interruptible) : wait_green(w, d, interruptible);
	errno = saved;
	return how;
}

/* A signal for a thread in a wait no signal ends (a mutex, rwlock,
 * barrier, condvar or join wait) runs its handler at once, inside the
 * wait, which then goes on, as natively the futex wait is resumed: a
 * timed lock still gets the lock within its time.  The waiter stays
 * queued, so a hand-over during the handler is seen when it returns.  The
 * handler may wait itself: the thread's wait fields and timer are its
 * while it runs, and the outer wait takes them back after. */
static void handlers_inside_wait(struct gs_thread *t, struct gs_waiter *w,
				 const struct gs_deadline *d, int interruptible)
{
	if (d)
		disarm(t);
	gs__pub_wait_end(t, d);
	t->waiting = NULL;
	t->deadline = NULL;
	t->interruptible = 0;
	gs__deliver_pending(t);
	t->waiting = w;
	t->deadline = d;
	t->interruptible = interruptible;
	gs__pub_wait_begin(t, w, d);
	if (d)
		arm(t);
}

static int wait_green(struct gs_waiter *w, const struct gs_deadline *d, int interruptible)
{
	struct gs_thread *t = w->thread;
	t->waiting = w;
	t->deadline = d;
	t->interruptible = interruptible;
	gs__pub_wait_begin(t, w, d);
	if (d) {
		arm(t);
		t->hub->armed++;
	}
	while (atomic_load_explicit(&w->state, memory_order_acquire) == GS_WAITING) {
		if (gs_cas(&t->park_token, GS_PARK_NONE, GS_PARK_PARKED)) {
			t->state = GS_T_PARKED;
			gs__park();
		}
		/* Woken, or a waker on another OS thread came first (NOTIFIED):
		 * either way the token is spent. */
		atomic_store_explicit(&t->park_token, GS_PARK_NONE, memory_order_relaxed);
		if (gs_unlikely(atomic_load_explicit(&t->sigpending, memory_order_relaxed) & ~t->sigmask) &&
		    !GS_INTR_MODE(interruptible) && !t->fdw_n &&
		    atomic_load_explicit(&w->state, memory_order_acquire) == GS_WAITING)
			handlers_inside_wait(t, w, d, interruptible);
	}
	if (d) {
		disarm(t);
		t->hub->armed--;
	}
	gs__pub_wait_end(t, d);
	t->waiting = NULL;
	t->interruptible = 0;
	int how = atomic_load_explicit(&w->state, memory_order_relaxed);
	/* What arrived during the wait runs now that it is over (its fd
	 * watchers, if any, go first: wait_on sends then). */
	if (gs_unlikely(atomic_load_explicit(&t->sigpending, memory_order_relaxed) & ~t->sigmask) &&
	    !t->fdw_n)
		gs__deliver_pending(t);
	/* Ended by an asynchronous cancellation, in a wait that is not a
	 * cancellation point (a mutex wait, say): the thread is cancelled
	 * here, not queued for what it waited for. */
	if (gs_unlikely(how == GS_CANCELED) && !(interruptible & GS_WAIT_CANCELLABLE))
		gs_thread_exit_unwinding(GS_CANCELED_VALUE);
	return how;
}

int gs_sleep_until(const struct gs_deadline *d)
{
	struct gs_waiter w;
	if (!gs__hub())
		return -EAGAIN;
	gs_testcancel(); /* sleeps are cancellation points */
	gs_waiter_init(&w);
	gs_waiter_describe(&w, GS_PW_SLEEP, NULL, 0);
	int how = gs_wait(&w, d, GS_INTR_ALWAYS | GS_WAIT_CANCELLABLE);
	if (how == GS_CANCELED)
		gs_testcancel();
	return how == GS_INTERRUPTED ? -EINTR : 0;
}


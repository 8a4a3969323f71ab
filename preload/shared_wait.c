/* Waiting on a futex word that other processes may wake (thread
 * subsystem): the wait under glibc's process-shared mutexes, semaphores
 * (sem_open's too) and barriers (pshared.c).
 *
 * The waker may be any process, one without the shim among them, so it
 * wakes the word with a kernel FUTEX_WAKE: only a task the kernel sees
 * waiting on the word can be woken.  A green thread cannot be that task
 * (its OS thread runs the others), so a watcher waits for it: a real OS
 * thread of the shim's that waits on up to SLOTS words at once with
 * FUTEX_WAITV, plus a control word of its own.  The green thread parks
 * on its hub until the watcher wakes it, its deadline passes, or a
 * signal or cancellation ends the wait, as for any green wait.
 *
 * The protocol, under the watcher's spinlock (never held across a system
 * call or a park):
 *   - a waiter takes a slot, bumps control and wakes it, so that the
 *     watcher builds its vector again;
 *   - FUTEX_WAITV returns the index of the word woken: that slot's wait
 *     ends (gs_waiter_wake).  If its waiter had already left (a deadline,
 *     a signal), the wake was meant for someone and is passed on with
 *     FUTEX_WAKE(1), so no other waiter of the word misses it.  -EAGAIN
 *     (a word no longer held its value when the vector was queued) ends
 *     the wait of every slot whose word changed: its waiter looks again;
 *   - a waiter whose wait ended otherwise takes its slot back before it
 *     returns: the watcher never reads a waiter that has left.
 * A watcher with no slots leaves after IDLE_MS (glibc counts real
 * threads: an idle one must not keep alive a process whose main thread
 * called pthread_exit).  Watchers block every signal.  A fork child has
 * none: the table is forgotten there.  Past 256 watchers, or where the
 * kernel has no FUTEX_WAITV, a waiter gets a helper thread of its own
 * (wait_on_helper). */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>

#include "config.h"
#include "pshared.h"
#include "rawsys.h"
#include "real.h"
#include "real_thread.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#define WAITV_U32 0x02      /* FUTEX2_SIZE_U32 */
#define WAITV_PRIVATE 128   /* FUTEX2_PRIVATE */
#define SLOTS 127           /* FUTEX_WAITV_MAX (128) less the control word */
#define WATCHERS 256 /* 32,512 waiters; more wait on helper_call.c's threads */
#define SLICE_MS 20
#define IDLE_MS 200

struct waitv { /* the kernel's struct futex_waitv */
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};

/* A green thread's wait, on its stack. */
struct slot_waiter {
	struct gs_waiter w;
	const void *addr;
	unsigned val;
	unsigned flags; /* WAITV_U32, | WAITV_PRIVATE for a private word */
};

struct watcher {
	_Atomic int lock;
	_Atomic unsigned control; /* bumped when the slots change */
	int alive;                /* its thread runs, or is being started */
	int n;
	struct slot_waiter *slot[SLOTS];
};

static struct watcher watchers[WATCHERS];
static _Atomic int atfork_registered;
/* The kernel refused FUTEX_WAITV (older than 5.16, a seccomp filter,
 * valgrind): every wait goes to a helper thread of its own instead. */
static _Atomic int waitv_missing;

static void forget_watchers(void)
{
	memset(watchers, 0, sizeof watchers);
}

static void wake_word(const void *addr, int n, int private)
{
	gs__sys(SYS_futex, (long)addr, FUTEX_WAKE | (private ? FUTEX_PRIVATE_FLAG : 0), n, 0, 0, 0);
}

static void poke(struct watcher *h)
{
	atomic_fetch_add_explicit(&h->control, 1, memory_order_release);
}

static int find(struct watcher *h, const struct slot_waiter *s)
{
	for (int k = 0; k < h->n; k++)
		if (h->slot[k] == s)
			return k;
	return -1;
}

static void drop(struct watcher *h, int k)
{
	h->slot[k] = h->slot[--h->n];
}

static void *watch(void *arg)
{
	struct watcher *h = arg;
	struct waitv v[SLOTS + 1];
	struct slot_waiter *snap[SLOTS + 1];
	int idle_out = 0;
	prctl(PR_SET_NAME, "greenshim-futex", 0, 0, 0);
	gs_spin_lock(&h->lock);
	for (;;) {
		if (h->n == 0 && idle_out)
			break; /* decided under the lock: a new waiter sees us gone */
		int n = h->n;
		v[0] = (struct waitv){ atomic_load_explicit(&h->control, memory_order_acquire),
				       (uintptr_t)&h->control, WAITV_U32 | WAITV_PRIVATE, 0 };
		for (int i = 0; i < n; i++) {
			snap[i + 1] = h->slot[i];
			v[i + 1] = (struct waitv){ h->slot[i]->val, (uintptr_t)h->slot[i]->addr,
						   h->slot[i]->flags, 0 };
		}
		gs_spin_unlock(&h->lock);
		struct timespec idle, *tp = NULL;
		if (n == 0) {
			clock_gettime(CLOCK_MONOTONIC, &idle);
			idle.tv_nsec += IDLE_MS * 1000000L;
			idle.tv_sec += idle.tv_nsec / 1000000000L;
			idle.tv_nsec %= 1000000000L;
			tp = &idle;
		}
		long r = gs__sys(SYS_futex_waitv, (long)v, n + 1, 0, (long)tp, CLOCK_MONOTONIC, 0);
		idle_out = r == -ETIMEDOUT;
		int pass_on = 0;
		gs_spin_lock(&h->lock);
		if (r == -ENOSYS || r == -EPERM) { /* no FUTEX_WAITV: every waiter looks again */
			atomic_store(&waitv_missing, 1);
			while (h->n > 0) {
				struct slot_waiter *s = h->slot[0];
				drop(h, 0);
				gs_waiter_wake(&s->w, GS_WOKEN);
			}
			break;
		}
		if (r >= 1 && r <= n) {
			int k = find(h, snap[r]);
			if (k >= 0)
				drop(h, k);
			if (k < 0 || !gs_waiter_wake(&snap[r]->w, GS_WOKEN))
				pass_on = 1; /* its waiter left: the wake is someone else's */
		} else if (r == -EAGAIN) {
			for (int k = 0; k < h->n;) {
				struct slot_waiter *s = h->slot[k];
				if (atomic_load_explicit((const _Atomic unsigned *)s->addr, memory_order_acquire) !=
				    s->val) {
					drop(h, k);
					gs_waiter_wake(&s->w, GS_WOKEN);
				} else {
					k++;
				}
			}
		}
		if (pass_on) {
			gs_spin_unlock(&h->lock);
			wake_word((const void *)(uintptr_t)v[r].uaddr, 1, v[r].flags & WAITV_PRIVATE);
			gs_spin_lock(&h->lock);
		}
	}
	h->alive = 0;
	gs_spin_unlock(&h->lock);
	return NULL;
}

static int start_watcher(struct watcher *h)
{
	return gs_start_real_thread(watch, h, 64 << 10);
}

/* A slot for s on a running watcher with room, or on one started for it;
 * NULL if none could be started. */
static struct watcher *take_slot(struct slot_waiter *s)
{
	gs_atfork_child_once(&atfork_registered, forget_watchers);
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < WATCHERS; i++) {
			struct watcher *h = &watchers[i];
			gs_spin_lock(&h->lock);
			/* first pass: running ones; second: one to start */
			if (h->n < SLOTS && h->alive == !pass) {
				int start = !h->alive;
				h->alive = 1;
				h->slot[h->n++] = s;
				poke(h);
				gs_spin_unlock(&h->lock);
				if (!start) {
					wake_word(&h->control, 1, 1);
					return h;
				}
				if (start_watcher(h) == 0)
					return h;
				gs_spin_lock(&h->lock);
				int k = find(h, s);
				if (k >= 0)
					drop(h, k);
				if (h->n == 0)
					h->alive = 0;
				gs_spin_unlock(&h->lock);
				return NULL;
			}
			gs_spin_unlock(&h->lock);
		}
	}
	return NULL;
}

struct leaving {
	struct watcher *h;
	struct slot_waiter *s;
};

/* Takes s's slot back if the watcher still has it. */
static void leave(void *arg)
{
	struct leaving *l = arg;
	gs_spin_lock(&l->h->lock);
	int k = find(l->h, l->s);
	if (k >= 0) {
		drop(l->h, k);
		poke(l->h); /* so the kernel stops holding a wait for us */
	}
	gs_spin_unlock(&l->h->lock);
	if (k >= 0)
		wake_word(&l->h->control, 1, 1);
}

/* Without a watcher slot (no FUTEX_WAITV, or every watcher full): a helper
 * thread of helper_call.c waits on the word itself, in the kernel, for at
 * most SLICE_MS, and the caller looks again (a spurious wake-up to it).
 * A signal or cancellation ends the wait as gs_wait's would, once the
 * helper is out of the kernel's wait (within SLICE_MS). */
struct word_call {
	struct helper_call c; /* first */
	const void *addr;
	unsigned val;
	int private;
	const struct gs_deadline *d;
};

static void word_on_helper(struct helper_call *hc)
{
	struct word_call *k = (struct word_call *)hc;
	struct timespec rel = { 0, SLICE_MS * 1000000L };
	if (k->d) {
		struct timespec left;
		gs_deadline_left(k->d, &left);
		if (left.tv_sec == 0 && left.tv_nsec < rel.tv_nsec)
			rel = left;
	}
	gs__sys(SYS_futex, (long)k->addr, FUTEX_WAIT | (k->private ? FUTEX_PRIVATE_FLAG : 0), k->val,
		(long)&rel, 0, 0);
}

static int wait_on_helper(const void *addr, unsigned val, int private, const struct gs_deadline *d,
			  int interruptible, int *interrupted)
{
	struct word_call k = { .c.fn = word_on_helper, .addr = addr, .val = val, .private = private, .d = d };
	int r = gs_helper_call(&k.c, interruptible, GS_PW_FUTEX, addr);
	if (r == GS_INTERRUPTED && interrupted)
		*interrupted = k.c.w.interrupted;
	if (r == -1 || r == GS_CANCELED || r == GS_INTERRUPTED)
		return r;
	if (d) {
		struct timespec left;
		gs_deadline_left(d, &left);
		if (!left.tv_sec && !left.tv_nsec)
			return GS_TIMEDOUT;
	}
	return GS_WOKEN;
}

int gs_shared_wait(const void *addr, unsigned val, int private, const struct gs_deadline *d,
		   int interruptible, int *interrupted)
{
	if (interrupted)
		*interrupted = 0;
	if (atomic_load_explicit(&waitv_missing, memory_order_relaxed))
		return wait_on_helper(addr, val, private, d, interruptible, interrupted);
	struct slot_waiter s;
	gs_waiter_init(&s.w);
	gs_waiter_describe(&s.w, GS_PW_FUTEX, addr, 0);
	s.addr = addr;
	s.val = val;
	s.flags = WAITV_U32 | (private ? WAITV_PRIVATE : 0);
	struct leaving l = { take_slot(&s), &s };
	if (!l.h)
		return wait_on_helper(addr, val, private, d, interruptible, interrupted);
	int how;
	/* An asynchronous cancellation unwinds out of the wait itself. */
	pthread_cleanup_push(leave, &l);
	how = gs_wait(&s.w, d, interruptible);
	pthread_cleanup_pop(0);
	if (interrupted)
		*interrupted = s.w.interrupted;
	if (how != GS_WOKEN)
		leave(&l);
	return how;
}

int gs_shared_wait_os(const void *addr, unsigned val, int private, const struct gs_deadline *d)
{
	int op = FUTEX_WAIT_BITSET | (private ? FUTEX_PRIVATE_FLAG : 0);
	if (d && d->clock == CLOCK_REALTIME)
		op |= FUTEX_CLOCK_REALTIME;
	long r = gs__sys(SYS_futex, (long)addr, op, val, (long)(d ? &d->at : NULL), 0,
			 FUTEX_BITSET_MATCH_ANY);
	return r < 0 ? (int)-r : 0;
}

void gs_shared_wake(const void *addr, int n, int private)
{
	wake_word(addr, n, private);
}

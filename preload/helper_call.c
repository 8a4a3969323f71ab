/* A blocking glibc call made for a green thread on a helper OS thread
 * (thread subsystem): the waits on process-shared condvars and rwlocks,
 * whose protocols are glibc's to keep (pshared.c).  The green thread
 * parks until the helper is done.
 *
 * Unlike the DNS pool, a call never queues: it gets an idle helper or a
 * new one at once.  A condvar waiter must be registered with glibc before
 * its mutex is released, or a signal sent meanwhile would miss it; and
 * the calls block for as long as the program says, so a bounded pool
 * could wait for itself.
 *
 * Each helper has a word it sleeps on; the idle ones are on a stack under
 * a spinlock (never held across a system call).  A helper idle for
 * IDLE_MS leaves (glibc counts real threads: an idle one must not keep
 * alive a process whose main thread called pthread_exit).  Helpers block
 * every signal (real_thread.c).  A fork child has none: the stack is
 * forgotten there. */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "config.h"
#include "pshared.h"
#include "rawsys.h"
#include "real.h"
#include "real_thread.h"

#define IDLE_MS 200

struct helper {
	struct helper *next_idle;
	_Atomic unsigned word; /* bumped when a call is handed over */
	struct helper_call *call;
};

static struct {
	_Atomic int lock;
	struct helper *idle;
} helpers;
static _Atomic int atfork_registered;

static void forget_helpers(void)
{
	memset(&helpers, 0, sizeof helpers);
}

/* On the helper: the call, then the caller is woken; from then on the
 * call's record may be gone.  A caller that left the wait first (it was
 * cancelled) waits for `done` instead, our last touch of the record, and
 * what the call got is given back (undo): whether the caller left is
 * known for sure only here, by the failed wake, not by `abandoned`, which
 * the caller sets only once it runs again. */
static void run(struct helper_call *c)
{
	c->fn(c);
	if (!gs_waiter_wake(&c->w, GS_WOKEN)) {
		if (c->undo)
			c->undo(c);
		atomic_store_explicit(&c->done, 1, memory_order_release);
	}
}

static void *helper_main(void *arg)
{
	struct helper *h = arg;
	prctl(PR_SET_NAME, "greenshim-wait", 0, 0, 0);
	for (;;) {
		struct helper_call *c = h->call;
		h->call = NULL;
		run(c);
		unsigned seen = atomic_load_explicit(&h->word, memory_order_acquire);
		gs_spin_lock(&helpers.lock);
		h->next_idle = helpers.idle;
		helpers.idle = h;
		gs_spin_unlock(&helpers.lock);
		for (;;) {
			struct timespec idle = { IDLE_MS / 1000, IDLE_MS % 1000 * 1000000L };
			long r = gs__sys(SYS_futex, (long)&h->word, FUTEX_WAIT_PRIVATE, seen, (long)&idle, 0, 0);
			if (atomic_load_explicit(&h->word, memory_order_acquire) != seen)
				break; /* handed a call */
			if (r != -ETIMEDOUT)
				continue;
			/* Idle too long: leave, unless a caller took us meanwhile. */
			gs_spin_lock(&helpers.lock);
			struct helper **p = &helpers.idle;
			while (*p && *p != h)
				p = &(*p)->next_idle;
			int still_idle = *p == h;
			if (still_idle)
				*p = h->next_idle;
			gs_spin_unlock(&helpers.lock);
			if (still_idle) {
				free(h);
				return NULL;
			}
		}
	}
}

static int start_helper(struct helper_call *c)
{
	struct helper *h = calloc(1, sizeof *h);
	if (!h)
		return -1;
	h->call = c;
	if (gs_start_real_thread(helper_main, h, 0) != 0) {
		free(h);
		return -1;
	}
	return 0;
}

/* The caller's wait ended before the helper's call did: tell the helper
 * (its call gives back what it got) and wait for it to let go of c. */
static void abandon(void *arg)
{
	struct helper_call *c = arg;
	atomic_store_explicit(&c->abandoned, 1, memory_order_release);
	int was_disabled;
	gs_setcancelstate(1, &was_disabled); /* the sleeps below are no cancellation point */
	while (!atomic_load_explicit(&c->done, memory_order_acquire)) {
		struct timespec ms = { 0, 1000000 };
		struct gs_deadline d;
		gs_deadline_in(&d, &ms);
		if (gs_sleep_until(&d) == -EAGAIN) /* no hub: the OS thread sleeps */
			gs__sys(SYS_nanosleep, (long)&ms, 0, 0, 0, 0, 0);
	}
	gs_setcancelstate(was_disabled, &was_disabled);
}

int gs_helper_call(struct helper_call *c, int interruptible, unsigned describe_kind, const void *object)
{
	gs_atfork_child_once(&atfork_registered, forget_helpers);
	gs_waiter_init(&c->w);
	gs_waiter_describe(&c->w, describe_kind, object, 0);
	atomic_store_explicit(&c->abandoned, 0, memory_order_relaxed);
	atomic_store_explicit(&c->done, 0, memory_order_relaxed);
	gs_spin_lock(&helpers.lock);
	struct helper *h = helpers.idle;
	if (h)
		helpers.idle = h->next_idle;
	gs_spin_unlock(&helpers.lock);
	if (h) {
		h->call = c;
		atomic_fetch_add_explicit(&h->word, 1, memory_order_release);
		gs__sys(SYS_futex, (long)&h->word, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
	} else if (start_helper(c) != 0) {
		return -1;
	}
	/* A cancellation or a signal (as interruptible says) may end the
	 * wait first: it comes back here; an asynchronous cancellation
	 * unwinds out of it (waitq.c). */
	int how;
	pthread_cleanup_push(abandon, c);
	how = gs_wait(&c->w, NULL, interruptible);
	pthread_cleanup_pop(0);
	if (how == GS_WOKEN)
		return 0;
	abandon(c);
	return how;
}

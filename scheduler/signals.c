/* Signals and green threads.
 *
 * Signal masks are per OS thread in the kernel; here each green thread has
 * its own (sigmask), and a switch changes the OS thread's mask only when
 * the two threads' masks differ.  The hub's own context polls with the
 * root thread's mask, so a process-directed signal is taken whenever the
 * main thread would take it natively.
 *
 * pthread_kill of a green thread marks the signal pending on that thread
 * (sigpending) and delivers it, with a real tgkill to our own OS thread,
 * the next time the thread runs with it unblocked: so the handler runs in
 * the target's context, and a blocked signal stays pending until the
 * target unblocks it, as natively.  If the target is in an interruptible
 * greened wait (nanosleep, sem_wait), that wait ends with EINTR.
 *
 * A handler that runs while the hub polls (a process-directed signal, or a
 * raw tgkill to the OS thread) ends the root thread's interruptible wait:
 * Linux offers a process-directed signal to the main thread first.  The
 * handler wrapper only records (gs_signal_ran); the hub acts. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "rawsys.h"

#define BIT(sig) (1ULL << ((sig) - 1))

/* The kernel never lets SIGKILL or SIGSTOP be blocked, and drops them
 * from any mask it is given: they are never in a thread's mask. */
#define UNBLOCKABLE (BIT(SIGKILL) | BIT(SIGSTOP))

/* Signals the kernel mask never blocks, whatever the program's mask says:
 * SIGURG while preemption ticks use it (preload/signal.c keeps the
 * program's blocked SIGURG pending itself). */
static uint64_t keep_open;

void gs_sig_keep_open(int sig)
{
	keep_open |= BIT(sig);
	gs__set_os_mask(gs__get_os_mask());
}

void gs__set_os_mask(uint64_t mask)
{
	mask &= ~keep_open;
	gs__sys(SYS_rt_sigprocmask, SIG_SETMASK, (long)&mask, 0, sizeof mask, 0, 0);
}

uint64_t gs_sig_current_mask(void)
{
	struct gs_thread *t = gs__os_current;
	return t ? t->sigmask : gs__get_os_mask();
}

int gs_sig_defer_if_blocked(int sig)
{
	struct gs_thread *t = gs__os_current;
	if (!t || !(t->sigmask & BIT(sig)))
		return 0;
	atomic_fetch_or(&t->sigpending, BIT(sig));
	return 1;
}

uint64_t gs__get_os_mask(void)
{
	uint64_t mask = 0;
	gs__sys(SYS_rt_sigprocmask, SIG_BLOCK, 0, (long)&mask, sizeof mask, 0, 0);
	return mask;
}

/* Runs t's deliverable pending signals now, on its own stack: each tgkill
 * to ourselves with the signal unblocked is taken before it returns. */
void gs__deliver_pending(struct gs_thread *t)
{
	int saved = errno;
	uint64_t ready;
	while ((ready = atomic_load(&t->sigpending) & ~t->sigmask)) {
		int sig = __builtin_ctzll(ready) + 1;
		atomic_fetch_and(&t->sigpending, ~BIT(sig));
		gs__sys(SYS_tgkill, gs__sys(SYS_getpid, 0, 0, 0, 0, 0, 0),
			gs__sys(SYS_gettid, 0, 0, 0, 0, 0, 0), sig, 0, 0, 0);
	}
	errno = saved;
}

/* On an OS thread without a record, the mask before the handler is the
 * kernel's, which the interrupted context holds: should the handler make
 * the thread's record (its first greened wait, say), the record starts
 * with the handler's mask, and gs_sig_handler_leave puts this one back,
 * as sigreturn does in the kernel (a thread that blocked signals with
 * sigprocmask has no record yet: gs_sigmask). */
uint64_t gs_sig_handler_enter(uint64_t extra, uint64_t interrupted)
{
	struct gs_thread *t = gs__os_current;
	if (!t)
		return interrupted & ~UNBLOCKABLE;
	uint64_t saved = t->sigmask;
	t->sigmask |= extra;
	return saved;
}

/* What became pending during the handler for a signal it blocked (its
 * own, raised again after signal(sig, SIG_DFL), say) is sent now: the
 * kernel delivers it as the handler returns and its mask comes off. */
void gs_sig_handler_leave(uint64_t saved)
{
	struct gs_thread *t = gs__os_current;
	if (!t)
		return;
	t->sigmask = saved;
	if (gs_unlikely(atomic_load_explicit(&t->sigpending, memory_order_relaxed) & ~saved))
		gs__deliver_pending(t);
}


/* gs_sigmask on an OS thread that has no record yet (it never made or
 * ran a green thread, never waited through a hub: every process until it
 * does, a shell for its whole life): its mask is the kernel's alone, the
 * one a record would copy when made (gs__adopt), nothing kept open and
 * nothing held pending here.  So the change goes to the kernel as it is,
 * which drops SIGKILL and SIGSTOP, fails a bad how with EINVAL (old
 * untouched) and ignores how without a set, as the record's way does,
 * and no record is made for it: adopting one maps a page that every
 * fork of a shell would then copy on write, parent and child. */
GS_STARTUP static int os_sigmask(int how, const uint64_t *set, uint64_t *old)
{
	uint64_t in = set ? *set : 0, out = 0;
	long rc = gs__sys(SYS_rt_sigprocmask, how, set ? (long)&in : 0, old ? (long)&out : 0,
			  sizeof in, 0, 0);
	if (rc < 0)
		return (int)rc;
	if (old)
		*old = out;
	return 0;
}

GS_STARTUP int gs_sigmask(int how, const uint64_t *set, uint64_t *old)
{
	if (!gs__os_current && !keep_open)
		return os_sigmask(how, set, old);
	struct gs_thread *t = gs_self();
	uint64_t cur = t->sigmask, next = cur;
	if (set) {
		uint64_t in = *set & ~UNBLOCKABLE;
		switch (how) {
		case SIG_BLOCK:
			next = cur | in;
			break;
		case SIG_UNBLOCK:
			next = cur & ~in;
			break;
		case SIG_SETMASK:
			next = in;
			break;
		default:
			return -EINVAL;
		}
	}
	if (old)
		*old = cur;
	if (next != cur) {
		t->sigmask = next;
		gs__set_os_mask(next);
		struct gs_hub *h = t->hub;
		if (h && t == h->root)
			h->sched.sigmask = next; /* the hub polls with main's mask */
		gs__deliver_pending(t);
	}
	return 0;
}

/* Requests from another OS thread (pthread_cancel, pthread_kill) are only
 * marked on the target; this tells its hub, which acts on its own thread,
 * where the target's wait state may be touched. */
void gs__poke(struct gs_thread *t)
{
	struct gs_hub *h = t->hub;
	if (!h || atomic_exchange(&t->poked, 1))
		return;
	struct gs_thread *old = atomic_load_explicit(&h->poke, memory_order_relaxed);
	do
		atomic_store_explicit(&t->next_poke, old, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&h->poke, &old, t, memory_order_release,
						      memory_order_relaxed));
	ev_async_send(h->loop, &h->remote_wake);
}

/* On t's own hub: a pending cancellation ends a cancellable wait, a
 * deliverable signal an interruptible one. */
void gs__act_on_requests(struct gs_thread *t)
{
	if (t->state != GS_T_PARKED || !t->waiting)
		return;
	struct gs_waiter *w = t->waiting;
	/* Asynchronous cancellation ends any wait but one on fds (whose
	 * watchers the caller stops; every such wait is cancellable anyway):
	 * the wait itself then unwinds (waitq.c). */
	if (atomic_load(&t->cancel_pending) && !t->cancel_disabled &&
	    ((t->interruptible & GS_WAIT_CANCELLABLE) || (t->cancel_async && !t->fdw_n))) {
		gs__end_wait(w, GS_CANCELED);
	} else if (atomic_load(&t->sigpending) & t->sigwaiting) {
		gs__end_wait(w, GS_WOKEN); /* sigwait: the signal is taken, not delivered */
	} else if (atomic_load(&t->sigpending) & ~t->sigmask) {
		if (GS_INTR_MODE(t->interruptible)) {
			w->interrupted = 1;
			gs__end_wait(w, GS_INTERRUPTED);
		} else {
			gs__ready(t); /* the handler runs inside the wait */
		}
	}
}

void gs__drain_pokes(struct gs_hub *h)
{
	struct gs_thread *t = atomic_exchange_explicit(&h->poke, NULL, memory_order_acquire);
	while (t) {
		struct gs_thread *next = atomic_load_explicit(&t->next_poke, memory_order_relaxed);
		atomic_store(&t->poked, 0);
		gs__act_on_requests(t);
		t = next;
	}
}

int gs_signal_thread(struct gs_thread *t, int sig, int disposition)
{
	struct gs_thread *self = gs_self();
	if (disposition == GS_SIG_NO_HANDLER && !(t->sigmask & BIT(sig))) {
		/* The default action (or SIG_IGN) is the process's, whichever
		 * thread takes it: take it now, as natively. */
		gs__sys(SYS_tgkill, gs__sys(SYS_getpid, 0, 0, 0, 0, 0, 0),
			gs__sys(SYS_gettid, 0, 0, 0, 0, 0, 0), sig, 0, 0, 0);
		return 0;
	}
	atomic_fetch_or(&t->sigpending, BIT(sig));
	if (t != self)
		gs__direct_kick(t); /* in the kernel (direct.c): out, to take it */
	if (t != self && t->hub != gs__os.hub) {
		gs__poke(t); /* its hub ends an interruptible wait */
		return 1;
	}
	if (t == self) {
		gs__deliver_pending(t);
		return 0;
	}
	/* A thread in sigwait for it takes it (blocked as it is). */
	if ((t->sigwaiting & BIT(sig)) && t->state == GS_T_PARKED && t->waiting) {
		gs__end_wait(t->waiting, GS_WOKEN);
		return 0;
	}
	/* Wake it so that the handler runs in its context; an untimed wait
	 * after an SA_RESTART handler then goes on (the caller re-waits). */
	if (!(t->sigmask & BIT(sig)) && t->state == GS_T_PARKED && GS_INTR_MODE(t->interruptible) &&
	    t->waiting) {
		int restart = disposition == GS_SIG_HANDLER_RESTART &&
			      GS_INTR_MODE(t->interruptible) == GS_INTR_UNLESS_RESTART;
		if (t->waiting->interrupted != 1)
			t->waiting->interrupted = restart ? 2 : 1;
		gs__end_wait(t->waiting, GS_INTERRUPTED);
	} else if (!(t->sigmask & BIT(sig)) && t->state == GS_T_PARKED && t->waiting && !t->fdw_n) {
		gs__ready(t); /* a lock wait: the handler runs inside it (waitq.c) */
	}
	return 0;
}

void gs_signal_ran(int thread_directed, int restart)
{
	gs__direct_handler_ran(restart);
	struct gs_hub *h = gs__os.hub;
	if (!h)
		return;
	/* A handler that ran inside a green thread's own code was its own:
	 * if it was aimed at this OS thread, nobody else is interrupted. */
	if (thread_directed && gs__os_current != &h->sched)
		return;
	/* A process-directed one goes to the main thread natively when main
	 * does not block it; if main itself ran the handler, or was not in an
	 * interruptible wait when it ran (it computed: natively it took the
	 * signal there), no later wait of main's may end for it. */
	struct gs_thread *r = h->root;
	if (gs__os_current == r || !r || !r->waiting || !GS_INTR_MODE(r->interruptible))
		return;
	atomic_store_explicit(&h->signal_restart, restart, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->signal_gen, 1, memory_order_release);
	ev_async_send(h->loop, &h->remote_wake); /* async-signal-safe, says libev */
}

void gs__deliver_signals(struct gs_hub *h)
{
	unsigned gen = atomic_load_explicit(&h->signal_gen, memory_order_acquire);
	if (gen == h->signal_seen)
		return;
	h->signal_seen = gen;
	struct gs_thread *r = h->root;
	struct gs_waiter *w = r->waiting;
	if (!w || !GS_INTR_MODE(r->interruptible))
		return;
	if (GS_INTR_MODE(r->interruptible) == GS_INTR_UNLESS_RESTART &&
	    atomic_load_explicit(&h->signal_restart, memory_order_relaxed))
		return;
	/* Even if a waker (say, the handler's own sem_post) got there first,
	 * the call reports EINTR, as natively. */
	w->interrupted = 1;
	gs__end_wait(w, GS_INTERRUPTED);
}

/* The signals pending for this OS thread alone, not the process: the
 * SigPnd line of /proc/thread-self/status (ShdPnd is the process's). */
static uint64_t status_hex(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);
	return p ? strtoull(p + strlen(key), NULL, 16) : 0;
}

static uint64_t os_thread_pending(void)
{
	char buf[2048];
	long fd = gs__sys(SYS_open, (long)"/proc/thread-self/status", O_RDONLY | O_CLOEXEC, 0, 0, 0, 0);
	if (fd < 0)
		return 0;
	long n = gs__sys(SYS_read, fd, (long)buf, sizeof buf - 1, 0, 0, 0);
	gs__sys(SYS_close, fd, 0, 0, 0, 0, 0);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* what is pending for the process too is everyone's */
	return status_hex(buf, "\nSigPnd:") & ~status_hex(buf, "\nShdPnd:");
}

/* What the kernel holds pending for the OS thread itself (a tgkill from
 * another process to its tid, which natively reaches the thread with that
 * tid: the hub's root) is the root's, not every green thread's; what is
 * pending for the process is every thread's, as natively. */
uint64_t gs_sigpending(void)
{
	struct gs_thread *t = gs_self();
	uint64_t os = 0;
	gs__sys(SYS_rt_sigpending, (long)&os, sizeof os, 0, 0, 0, 0);
	if (gs_unlikely(os) && t->hub && t != t->hub->root)
		os &= ~os_thread_pending();
	return os | atomic_load(&t->sigpending);
}

/* ---- sigwait and friends ---------------------------------------------- */

void gs_sigwait_set(uint64_t set)
{
	gs_self()->sigwaiting = set;
}

int gs_sigtake(uint64_t set)
{
	struct gs_thread *t = gs_self();
	uint64_t mine = atomic_load(&t->sigpending) & set;
	if (!mine)
		return 0;
	int sig = __builtin_ctzll(mine) + 1;
	atomic_fetch_and(&t->sigpending, ~BIT(sig));
	return sig;
}

/* A green thread alone on its OS thread blocks in the kernel itself.
 *
 * Parking a thread costs system calls of its own: a non-blocking attempt
 * that fails, the registration of the fd with the hub's epoll, the
 * epoll_wait, and the attempt again.  They buy the OS thread for the other
 * green threads of the hub.  When there are none (the hub has one live
 * thread, nothing ready, nothing timed, no fd waited on, no wake-up or
 * request queued), nobody would get the OS thread meanwhile: the call is
 * made as it is, blocking, and the kernel gives it exactly its native
 * result (O_NONBLOCK, SO_RCVTIMEO, partial transfers, SIGPIPE, EINTR and
 * SA_RESTART are the kernel's own).
 *
 * What the hub would have done for a parked thread is kept so:
 * - A request made while the thread is in the kernel (pthread_cancel or
 *   pthread_kill from another OS thread, a close of its fd through us on
 *   any thread, or a handler on this thread that cancels, closes, or makes
 *   a second green thread) kicks it out of the call before anything was
 *   transferred: the call is made by gs__direct_syscall (the per-arch .S),
 *   whose window before and in the kernel a signal handler can end
 *   (gs_direct_interrupted); the kick is a SIGURG, the shim's own signal,
 *   tagged so that the program's SIGURG handler never sees it.  The thread
 *   then acts as a parked one would have been made to: EBADF for a close,
 *   the cancellation, the signal's handler (EINTR unless SA_RESTART), or
 *   the parked way when there is someone else to run now.
 * - Whoever kicks reads direct_tid after making its request, and the
 *   thread sets direct_tid before it looks at its requests (both sequentially
 *   consistent): either the thread sees the request before it calls, or
 *   the kicker sees the tid and the signal arrives in the window, or at
 *   the stub's check of direct_kick, which the kicker set first.
 * - The inspector shows the thread waiting on the fd while it is in the
 *   kernel, as it shows a parked one.
 * - A kick only ever ends the call inside the window: past
 *   gs__direct_end the call's result stands (a pipe read that got data,
 *   a write that wrote part, is returned as the kernel returned it).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "direct.h"
#include "internal.h"
#include "rawsys.h"


/* What a kick carries as its sigqueue value: the address of this tag. */
static const char kick_tag;

/* This OS thread's id, for kicks; looked up once (and again in a fork
 * child, whose id is another). */
static __thread int os_tid __attribute__((tls_model("initial-exec")));

GS_STARTUP static void forget_tid_in_child(void)
{
	os_tid = 0;
}

__attribute__((constructor)) static void register_fork_handler(void)
{
	pthread_atfork(NULL, NULL, forget_tid_in_child);
}

static int tid(void)
{
	if (gs_unlikely(!os_tid))
		os_tid = (int)gs__sys(SYS_gettid, 0, 0, 0, 0, 0, 0);
	return os_tid;
}

/* Nobody but the caller could use the OS thread while it blocks: no hub
 * (nothing ever parked here), or a hub whose only live thread is the
 * caller, with nothing ready, timed, waited on or queued. */
static int alone(const struct gs_hub *h)
{
	return !h || (h->live == 1 && !h->ready_head && !h->armed && !h->fd_waits &&
		      !atomic_load_explicit(&h->remote, memory_order_relaxed) &&
		      !atomic_load_explicit(&h->poke, memory_order_relaxed));
}

/* The same question for a wait the kernel could not be kicked out of
 * (waitpid): with one OS thread, nobody can kick. */
int gs_alone(void)
{
	/* glibc's flag, which green threads never clear: no other OS thread */
	return gs_single() && gs_can_park() && alone(gs__os.hub);
}

/* Something the call must leave the kernel for (see the top). */
static int wants_out(struct gs_thread *t)
{
	return atomic_load_explicit(&t->direct_closed, memory_order_relaxed) ||
	       (atomic_load(&t->cancel_pending) && !t->cancel_disabled) ||
	       (atomic_load(&t->sigpending) & ~t->sigmask) || !alone(gs__os.hub);
}

/* The call in the kernel ends for good without returning: the caller's
 * handler left it with a siglongjmp (or the thread ends). */
static void abandon(struct gs_thread *t)
{
	gs__fd_unregister(&t->direct_reg);
	gs__pub_direct_end(t, gs__os.hub);
	atomic_store(&t->direct_tid, 0);
}

/* How far above a call's frame a stack pointer of the same stack can be:
 * a handler that runs inside the call runs below its frame (or on an
 * alternate stack, elsewhere). */
#define SAME_STACK_SPAN ((uintptr_t)64 << 20)

int gs_direct_possible(void)
{
	struct gs_thread *t = gs__os_current;
	if (!HAVE_DIRECT || !t || (t->flags & GS_TF_HUB))
		return 0;
	if (gs_unlikely(atomic_load_explicit(&t->direct_tid, memory_order_relaxed))) {
		/* A call is in the kernel still: this one is made by a handler
		 * that interrupted it (below its frame: the parked way), or
		 * that call was left by a siglongjmp to above it. */
		uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
		if (sp < t->direct_sp || sp - t->direct_sp > SAME_STACK_SPAN)
			return 0;
		abandon(t);
	}
	return alone(gs__os.hub);
}

void gs__direct_gone(struct gs_thread *t)
{
	if (atomic_load_explicit(&t->direct_tid, memory_order_relaxed))
		abandon(t);
}

/* After a kick: what a parked thread would have been made to do.  Make
 * the call again (AGAIN); leave it for the parked way (GS_DIRECT_NOT_ALONE:
 * a request queued for the hub, or a thread to run); be cancelled
 * (CANCEL); or the call's result (-EBADF, -EINTR). */
static long act_on_kick(struct gs_thread *t)
{
	if (atomic_load_explicit(&t->direct_closed, memory_order_relaxed))
		return -EBADF; /* as a parked thread's wait ends (fdwait.c) */
	if (atomic_load(&t->cancel_pending) && !t->cancel_disabled)
		return CANCEL;
	if (atomic_load(&t->sigpending) & ~t->sigmask) {
		/* Its handlers run now, on this thread, as the kernel would
		 * have run them inside the call; one without SA_RESTART ends
		 * the call with EINTR (gs_signal_ran notes it). */
		t->direct_eintr = 0;
		t->direct_delivering = 1;
		gs__deliver_pending(t);
		t->direct_delivering = 0;
		if (t->direct_eintr)
			return -EINTR;
	}
	if (!alone(gs__os.hub))
		return GS_DIRECT_NOT_ALONE;
	return AGAIN;
}

long gs_direct_call(long nr, long a, long b, long c, int fd, unsigned kind)
{
	struct gs_thread *t = gs__os_current;
	/* The hub is made as a parked call would make it: the process is
	 * published, and the inspector sees the call (nothing else runs). */
	gs__hub();
	struct gs_fdwatch *reg = &t->direct_reg;
	memset(reg, 0, sizeof *reg);
	reg->io.fd = fd;
	reg->direct = t;
	t->direct_sp = (uintptr_t)__builtin_frame_address(0);
	atomic_store_explicit(&t->direct_closed, 0, memory_order_relaxed);
	gs__fd_register(reg); /* a close through us finds the call */
	long r;
	for (;;) {
		atomic_store_explicit(&t->direct_kick, 0, memory_order_relaxed);
		atomic_store(&t->direct_tid, tid());
		if (wants_out(t)) {
			r = GS_DIRECT_KICKED;
		} else {
			gs__pub_direct_begin(t, gs__os.hub, fd, kind);
			r = gs__direct_syscall(nr, a, b, c, &t->direct_kick);
			gs__pub_direct_end(t, gs__os.hub);
		}
		atomic_store(&t->direct_tid, 0);
		if (r != GS_DIRECT_KICKED)
			break;
		r = act_on_kick(t);
		if (r != AGAIN)
			break;
	}
	gs__fd_unregister(reg);
	if (r == CANCEL) {
		gs_testcancel(); /* does not return */
		r = -EINTR;
	}
	return r;
}

void gs__direct_kick(struct gs_thread *t)
{
	int to = atomic_load(&t->direct_tid);
	if (!to)
		return; /* not in the kernel: it sees the request itself */
	atomic_store(&t->direct_kick, 1);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = SIGURG;
	si.si_code = SI_QUEUE;
	si.si_pid = (pid_t)gs__sys(SYS_getpid, 0, 0, 0, 0, 0, 0);
	si.si_uid = (uid_t)gs__sys(SYS_getuid, 0, 0, 0, 0, 0, 0);
	si.si_value.sival_ptr = (void *)&kick_tag;
	gs__sys(SYS_rt_tgsigqueueinfo, si.si_pid, to, SIGURG, (long)&si, 0, 0);
}

void gs__direct_closing(struct gs_thread *t)
{
	atomic_store_explicit(&t->direct_closed, 1, memory_order_relaxed);
	gs__direct_kick(t);
}

int gs_direct_is_kick(const void *siginfo)
{
	const siginfo_t *si = siginfo;
	return si && si->si_code == SI_QUEUE && si->si_value.sival_ptr == (void *)&kick_tag;
}

void gs_direct_interrupted(void *uc)
{
	struct gs_thread *t = gs__os_current;
	if (!uc || !t || !atomic_load_explicit(&t->direct_tid, memory_order_relaxed))
		return;
	if (!atomic_load(&t->direct_kick) && !wants_out(t))
		return;
	uintptr_t *pc = interrupted_pc(uc);
	/* Only inside the window: nothing has been transferred yet. */
	if (*pc >= (uintptr_t)gs__direct_begin && *pc < (uintptr_t)gs__direct_end)
		*pc = (uintptr_t)gs__direct_kicked;
}

void gs__direct_handler_ran(int restart)
{
	struct gs_thread *t = gs__os_current;
	if (t && t->direct_delivering && !restart)
		t->direct_eintr = 1;
}

/* Leaving a green thread the way glibc leaves a thread: pthread_exit and
 * acted-upon cancellation run the cleanup handlers (innermost first), C++
 * destructors and catch(...)-rethrow blocks of the frames in between, then
 * the key destructors.
 *
 * C cleanup handlers (pthread_cleanup_push without -fexceptions) register a
 * jump buffer with __pthread_register_cancel; we keep each green thread's
 * chain of them (linked through the buffer's spare words).  Frames compiled
 * with unwind tables are walked by libgcc's _Unwind_ForcedUnwind, loaded on
 * first use as glibc does (libgcc.c); our stop function jumps into the
 * innermost cleanup buffer once its frame is reached, and into
 * thread_entry's own buffer at the end of the stack (the trampoline marks
 * it).  The handler then calls __pthread_unwind_next, which goes on with
 * the next buffer.
 * Without libgcc_s, and for root threads (their stack ends in libc's
 * start-up code, not in ours), only the C cleanup buffers are run. */
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <unwind.h>

#include "internal.h"

/* glibc's __pthread_unwind_buf_t, as the cleanup macros lay it out. */
struct unwind_buf {
	struct {
		long jmp_buf[8];
		int mask_was_saved;
	} cancel_jmp_buf[1];
	void *pad[4]; /* pad[0]: our link to the next outer buffer */
};

void gs_cleanup_register(void *buf)
{
	struct gs_thread *t = gs_self();
	struct unwind_buf *b = buf;
	b->pad[0] = t->cleanup;
	t->cleanup = b;
}

void gs_cleanup_unregister(void *buf)
{
	struct gs_thread *t = gs_self();
	struct unwind_buf *b = buf;
	t->cleanup = b->pad[0];
}

/* A cleanup buffer is a jmp_buf without the saved-mask tail (its
 * mask_was_saved is 0, so longjmp never reads past it), as glibc uses it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
static _Noreturn void jump(void *jb)
{
	longjmp(*(jmp_buf *)jb, 1);
}
#pragma GCC diagnostic pop

static void exception_dropped(_Unwind_Reason_Code reason, struct _Unwind_Exception *exc)
{
	gs_warn("greenshim: a thread's exit or cancellation was caught and not rethrown");
	abort();
}

static _Unwind_Reason_Code stop(int version, _Unwind_Action actions, _Unwind_Exception_Class cls,
				struct _Unwind_Exception *exc, struct _Unwind_Context *ctx, void *arg)
{
	struct gs_thread *t = arg;
	struct unwind_buf *b = t->cleanup;
	/* libgcc_s is loaded: this runs inside its forced unwind. */
	if (b && (uintptr_t)b < (uintptr_t)gs__libgcc()->get_cfa(ctx))
		jump(b->cancel_jmp_buf[0].jmp_buf); /* its frame is next: run its handler */
	if (actions & _UA_END_OF_STACK)
		jump(t->exit_jb);
	return _URC_NO_REASON;
}

/* Runs the next cleanup handler, or finishes the exit. */
static _Noreturn void unwind_on(struct gs_thread *t)
{
	const struct gs__libgcc *g;
	if (!(t->flags & GS_TF_ROOT) && t->exit_jb && (g = gs__libgcc())) {
		memset(&t->exc, 0, sizeof t->exc); /* not catchable: no class */
		t->exc.exception_cleanup = exception_dropped;
		g->forced_unwind(&t->exc, stop, t);
		/* The unwinder gave up (a frame without unwind tables): fall
		 * back to the C handlers only. */
	}
	struct unwind_buf *b = t->cleanup;
	if (b)
		jump(b->cancel_jmp_buf[0].jmp_buf);
	gs_thread_exit(t->retval);
}

_Noreturn void gs_thread_exit_unwinding(void *retval)
{
	struct gs_thread *t = gs_self();
	t->retval = retval;
	t->cancel_disabled = 1; /* exiting: no second cancellation */
	unwind_on(t);
}

_Noreturn void gs_cleanup_next(void *buf)
{
	struct gs_thread *t = gs_self();
	struct unwind_buf *b = buf;
	t->cleanup = b->pad[0];
	unwind_on(t);
}

/* ---- cancellation ------------------------------------------------------ */

_Atomic int gs__cancel_requested;

int gs_cancel(struct gs_thread *t)
{
	/* As glibc's pthread_cancel: the unwinder is loaded here, in the
	 * canceller's own context, not by an asynchronous cancellation acting
	 * from a tick's handler. */
	gs__libgcc();
	atomic_store(&t->cancel_pending, 1);
	atomic_store(&gs__cancel_requested, 1);
	if (t->cancel_disabled)
		return 0;
	if (t == gs_self()) {
		if (t->cancel_async)
			gs_thread_exit_unwinding(GS_CANCELED_VALUE);
		return 0;
	}
	gs__direct_kick(t); /* in the kernel (direct.c): out, to be cancelled */
	if (t->hub != gs__os.hub)
		gs__poke(t); /* its hub ends a cancellable wait, on its own thread */
	else
		gs__act_on_requests(t);
	return 0;
}

/* Where a thread resumes after it was switched out while it ran (a tick,
 * a safe point, a yield): with asynchronous cancellation enabled, a
 * request that came meanwhile acts now, as SIGCANCEL's handler would
 * have at the interrupted instruction. */
void gs__async_cancel_point(struct gs_thread *t)
{
	if (gs_unlikely(t->cancel_async) && atomic_load_explicit(&t->cancel_pending, memory_order_relaxed) &&
	    !t->cancel_disabled) {
		gs__set_os_mask(t->sigmask); /* out of a tick's handler: its mask stays behind */
		gs_thread_exit_unwinding(GS_CANCELED_VALUE);
	}
}

void gs__testcancel(void)
{
	struct gs_thread *t = gs_self();
	if (gs_unlikely(atomic_load_explicit(&t->cancel_pending, memory_order_relaxed)) &&
	    !t->cancel_disabled)
		gs_thread_exit_unwinding(GS_CANCELED_VALUE);
}

int gs_setcancelstate(int disable, int *old_disabled)
{
	struct gs_thread *t = gs_self();
	*old_disabled = t->cancel_disabled;
	t->cancel_disabled = disable;
	return 0;
}

int gs_setcanceltype(int async, int *old_async)
{
	struct gs_thread *t = gs_self();
	*old_async = t->cancel_async;
	t->cancel_async = async;
	if (async) /* glibc acts at once on a pending request */
		gs_testcancel();
	return 0;
}

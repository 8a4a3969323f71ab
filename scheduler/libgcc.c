/* libgcc_s, mapped when something first needs it, as glibc maps it.
 *
 * The shim has no DT_NEEDED on libgcc_s.so.1: a program that never unwinds
 * a thread never maps it, and never runs its constructor (whose dozens of
 * cpuid instructions are each a VM exit on a virtual machine).  What the
 * shim takes from it, found here on first use:
 *   - the unwinder pthread_exit and cancellation walk green stacks with
 *     (_Unwind_ForcedUnwind, _Unwind_GetCFA: unwind.c);
 *   - an address inside its text, so that preemption knows where not to
 *     interrupt (_Unwind_RaiseException: preempt.c, which maps it before
 *     any thread can be preempted);
 *   - the two names a file built with -fexceptions refers to (preload/
 *     once.c's cleanup): the personality routine of its frames and
 *     _Unwind_Resume, which its landing pad calls.  Both are defined below
 *     as forwarders the shim does not export, so the link binds those
 *     references here and not to libgcc_s.  They only run while an unwinder is at work on such
 *     a frame, that is once libgcc_s (or another unwinder) is loaded.
 *
 * Built without link-time optimisation (Makefile): the references to the
 * two forwarders are made by the compiler as it writes once.c's landing
 * pads, after LTO would have dropped or renamed definitions it saw no use
 * of. */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unwind.h>

#include "internal.h"

typedef _Unwind_Reason_Code (*personality_fn)(int, _Unwind_Action, _Unwind_Exception_Class,
					      struct _Unwind_Exception *, struct _Unwind_Context *);
typedef void (*resume_fn)(struct _Unwind_Exception *);

static struct gs__libgcc table;
static personality_fn personality;
static resume_fn resume;
/* 0: not tried yet, 1: every entry found, -1: libgcc_s or a symbol missing.
 * Two OS threads may both load: dlopen hands both the same object (one
 * reference more, never dropped), and they write the same values. */
static _Atomic int state;

const struct gs__libgcc *gs__libgcc(void)
{
	int st = atomic_load_explicit(&state, memory_order_acquire);
	if (st)
		return st > 0 ? &table : NULL;
	void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_LOCAL);
	if (h) {
		table.forced_unwind = (gs__forced_unwind_fn)dlsym(h, "_Unwind_ForcedUnwind");
		table.get_cfa = (gs__get_cfa_fn)dlsym(h, "_Unwind_GetCFA");
		table.raise_exception = dlsym(h, "_Unwind_RaiseException");
		personality = (personality_fn)dlsym(h, "__gcc_personality_v0");
		resume = (resume_fn)dlsym(h, "_Unwind_Resume");
	}
	int ok = h && table.forced_unwind && table.get_cfa && table.raise_exception && personality &&
		 resume;
	if (ok) /* preemption's rule 1 counts its text from now on */
		gs__preempt_text_loaded(table.raise_exception);
	atomic_store_explicit(&state, ok ? 1 : -1, memory_order_release);
	return ok ? &table : NULL;
}

/* Without libgcc_s an unwind through a frame of ours cannot go on (and the
 * shim could not even be loaded when it was a DT_NEEDED). */
static _Noreturn void no_libgcc(const char *what)
{
	gs_warn("greenshim: %s: cannot load libgcc_s.so.1 or find its unwinder", what);
	abort();
}

/* Declared nowhere: hidden, as everything of ours. */
_Unwind_Reason_Code __gcc_personality_v0(int version, _Unwind_Action actions,
					 _Unwind_Exception_Class cls, struct _Unwind_Exception *exc,
					 struct _Unwind_Context *ctx);

_Unwind_Reason_Code __gcc_personality_v0(int version, _Unwind_Action actions,
					 _Unwind_Exception_Class cls, struct _Unwind_Exception *exc,
					 struct _Unwind_Context *ctx)
{
	if (!gs__libgcc())
		no_libgcc("unwinding through the shim");
	return personality(version, actions, cls, exc, ctx);
}

/* A landing pad's call.  The real one goes on unwinding from the frame
 * that called it: a tail call here, so that is the landing pad's frame,
 * as if it had been called directly.
 * unwind.h declares it with default visibility; exports.map keeps it out
 * of the dynamic symbol table (local: *), so no other object's unwinding
 * ever binds to it. */
void _Unwind_Resume(struct _Unwind_Exception *exc)
{
	if (!gs__libgcc())
		no_libgcc("unwinding through the shim");
	resume(exc); /* never returns */
}

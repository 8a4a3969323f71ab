/* Alternate signal stacks, one per green thread.
 *
 * The kernel keeps one alternate signal stack per OS thread; natively each
 * thread has its own, and it goes with the thread.  Here a green thread's
 * sigaltstack is recorded on the thread (alt), and the OS thread's is, at
 * every switch, the incoming thread's own or, for a thread without one,
 * the hub's (gs__altstack: the SIGSEGV report and the syscall trap's
 * handler run there).  So a thread that set one on its stack and ended
 * leaves nothing behind, and one thread's never receives another's
 * signal frames.  What a thread reads back is its own setting, with
 * SS_ONSTACK when the caller's stack pointer is on it.
 *
 * Invariant: h->alt_installed (and _size, _flags) is what the kernel has
 * for the hub's OS thread (ss_sp NULL: none): a new size or flags at the
 * same address is installed too.  A switch made
 * while running on the installed stack (a handler that parked) cannot
 * change it (the kernel refuses, EPERM): it stays until the next switch. */
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>

#include "internal.h"
#include "rawsys.h"

#ifndef SS_AUTODISARM
#define SS_AUTODISARM ((int)(1U << 31)) /* the kernel's (linux/signal.h) */
#endif
/* The kernel's minimum (x86_64's MINSIGSTKSZ; glibc's macro may be a
 * sysconf call). */
#define KERNEL_MINSIGSTKSZ 2048u

static const stack_t *effective(struct gs_hub *h, const struct gs_thread *t)
{
	return t->alt_set ? &t->alt : &h->altstack;
}

/* Keeps gs__altstack_switch's one-test fast path true: alt_not_hubs is 0
 * exactly when the kernel has the hub's own stack installed. */
static void note_installed(struct gs_hub *h)
{
	h->alt_not_hubs = !(h->alt_installed == h->altstack.ss_sp &&
			    h->alt_installed_size == h->altstack.ss_size &&
			    h->alt_installed_flags == h->altstack.ss_flags);
}

void gs__altstack_switch_slow(struct gs_hub *h, struct gs_thread *next)
{
	const stack_t *want = effective(h, next);
	if (want->ss_sp == h->alt_installed && want->ss_size == h->alt_installed_size &&
	    want->ss_flags == h->alt_installed_flags)
		return;
	stack_t ss = *want;
	if (!ss.ss_sp)
		ss.ss_flags = SS_DISABLE;
	if (gs__sys(SYS_sigaltstack, (long)&ss, 0, 0, 0, 0, 0) == 0) {
		h->alt_installed = want->ss_sp;
		h->alt_installed_size = want->ss_size;
		h->alt_installed_flags = want->ss_flags;
		note_installed(h);
	}
}

int gs_sigaltstack(const stack_t *ss, stack_t *old, uintptr_t sp)
{
	struct gs_thread *t = gs__os_current;
	struct gs_hub *h = gs__os.hub;
	if (!t || !h || t->hub != h || (t->flags & GS_TF_HUB))
		return (int)gs__sys(SYS_sigaltstack, (long)ss, (long)old, 0, 0, 0, 0);
	int on = t->alt_set && sp >= (uintptr_t)t->alt.ss_sp &&
		 sp < (uintptr_t)t->alt.ss_sp + t->alt.ss_size;
	if (old) {
		if (t->alt_set) {
			*old = t->alt;
			old->ss_flags = (t->alt.ss_flags & SS_AUTODISARM) | (on ? SS_ONSTACK : 0);
		} else {
			*old = (stack_t){ .ss_flags = SS_DISABLE };
		}
	}
	if (!ss)
		return 0;
	if (on)
		return -EPERM;
	int mode = ss->ss_flags & ~SS_AUTODISARM;
	if (mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK)
		return -EINVAL;
	if (mode == SS_DISABLE) {
		t->alt_set = 0;
	} else {
		if (ss->ss_size < KERNEL_MINSIGSTKSZ)
			return -ENOMEM;
		t->alt = *ss;
		t->alt.ss_flags &= SS_AUTODISARM;
		t->alt_set = 1;
	}
	gs__altstack_switch(h, t);
	return 0;
}

void gs__altstack_adopt(struct gs_hub *h, struct gs_thread *root)
{
	stack_t cur;
	if (gs__sys(SYS_sigaltstack, 0, (long)&cur, 0, 0, 0, 0) != 0 || (cur.ss_flags & SS_DISABLE))
		return;
	h->alt_installed = cur.ss_sp;
	h->alt_installed_size = cur.ss_size;
	h->alt_installed_flags = cur.ss_flags & SS_AUTODISARM;
	note_installed(h);
	if (cur.ss_sp == h->altstack.ss_sp)
		return;
	/* The program's, set before the hub existed: the root thread's. */
	root->alt = cur;
	root->alt.ss_flags &= SS_AUTODISARM;
	root->alt_set = 1;
}

/* Signal handlers, wrapped so the scheduler knows one ran.
 *
 * Natively a handler that runs while a thread sleeps in nanosleep, sem_wait
 * or similar makes that call fail with EINTR.  Here the OS thread is
 * usually inside the hub's epoll_wait when the signal arrives, so the
 * scheduler must be told: every handler the program installs is called
 * through wrapper(), which calls it exactly as the kernel would have
 * (same arguments, same flags, same mask) and then reports to the hub.
 * sigaction() and signal() report the program's own handler back, never
 * the wrapper.  Handlers installed by a raw rt_sigaction system call are
 * not seen (see README). */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>

#include "config.h"
#include "rawsys.h"
#include "real.h"

struct user_handler {
	void *_Atomic fn; /* the program's handler (sa_handler or sa_sigaction) */
	_Atomic int flags; /* the program's sa_flags */
	_Atomic uint64_t mask; /* the program's sa_mask */
};
static struct user_handler handlers[NSIG];

static void wrapper(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	void *fn = atomic_load(&handlers[sig].fn);
	int flags = atomic_load(&handlers[sig].flags);
	if (flags & SA_RESETHAND) /* the kernel already reset it */
		atomic_store(&handlers[sig].fn, (void *)SIG_DFL);
	errno = saved;
	uintptr_t outer = gs_preempt_handler_enter(__builtin_frame_address(0));
	/* The handler is the program's code: with the syscall trap armed its
	 * system calls trap, whatever the interrupted code was doing (a
	 * greened call of ours, a GS_REAL call), and a longjmp out of it
	 * leaves the thread trapping as it should. */
	volatile unsigned char *sel = gs_trap_selector();
	unsigned char was = sel ? *sel : GS_SUD_ALLOW;
	if (sel)
		*sel = GS_SUD_BLOCK;
	/* The thread's mask while the handler runs is the kernel's: its own,
	 * the handler's sa_mask and the signal (a siglongjmp out of it then
	 * really changes the mask back). */
	uint64_t extra = atomic_load(&handlers[sig].mask);
	if (!(flags & SA_NODEFER))
		extra |= 1ULL << (sig - 1);
	uint64_t interrupted = 0;
	if (uc)
		memcpy(&interrupted, &((ucontext_t *)uc)->uc_sigmask, sizeof interrupted);
	uint64_t mask_before = gs_sig_handler_enter(extra, interrupted);
	if (flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))fn)(sig, si, uc);
	else if (fn != (void *)SIG_DFL && fn != (void *)SIG_IGN)
		((void (*)(int))fn)(sig);
	gs_sig_handler_leave(mask_before);
	if ((sel = gs_trap_selector())) /* this context's, after any switch */
		*sel = was;
	gs_preempt_handler_leave(outer);
	saved = errno;
	gs_signal_ran(si && si->si_code == SI_TKILL, flags & SA_RESTART);
	/* The handler may have asked for something (a cancel, a close, a
	 * thread) a lone thread's call in the kernel must leave for. */
	gs_direct_interrupted(uc);
	errno = saved;
}

/* What the program set for sig, for pthread_kill (GS_SIG_*). */
int gs__sig_disposition(int sig)
{
	void *fn = atomic_load(&handlers[sig].fn);
	if (fn == (void *)SIG_DFL || fn == (void *)SIG_IGN)
		return GS_SIG_NO_HANDLER;
	return (atomic_load(&handlers[sig].flags) & SA_RESTART) ? GS_SIG_HANDLER_RESTART : GS_SIG_HANDLER;
}

/* Any subsystem with interruptible waits needs to know of handlers. */
GS_STARTUP static int wrapping(void)
{
	return gs_time_on() || gs_thread_on() || gs_socket_on() || gs_os_on() || gs_select_on();
}

/* ---- SIGURG: preemption ticks, and the program's own ------------------- */

/* With preemption on, SIGURG's kernel handler is ours (scheduler/preempt.c
 * explains the ticks).  The program's SIGURG handler is recorded, not
 * installed, and called by ours for every SIGURG that is not a tick, with
 * the mask it asked for; sigaction reads back the program's own.  The
 * shim never lets SIGURG be blocked in the kernel (gs__set_os_mask): one
 * that arrives while the running thread blocks it stays pending on that
 * thread and is delivered when it unblocks, as natively.  SIG_DFL and
 * SIG_IGN both discard it, SIGURG's default action. */
static _Atomic int urg_installed;

static void urg_handler(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	if (gs_direct_is_kick(si))
		; /* the shim's own: gs_direct_interrupted below */
	else if (gs_preempt_is_tick(si))
		gs_preempt_tick(uc);
	else
		gs_sig_to_program(sig, si, uc);
	/* A kick merged with a pending SIGURG of the program's (a standard
	 * signal is pending once) arrives as that one: looked for anyway. */
	gs_direct_interrupted(uc);
	errno = saved;
}

void gs__urg_install(void)
{
	if (atomic_load_explicit(&urg_installed, memory_order_relaxed) ||
	    atomic_exchange(&urg_installed, 1))
		return;
	struct sigaction act, old;
	memset(&act, 0, sizeof act);
	act.sa_sigaction = urg_handler;
	act.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&act.sa_mask);
	sigdelset(&act.sa_mask, SIGSYS); /* the trap's: never blocked */
	if (GS_REAL(sigaction)(SIGURG, &act, &old) != 0) {
		atomic_store(&urg_installed, 0);
		return;
	}
	/* What was there (SIG_IGN inherited across exec, say) is the program's;
	 * a handler it installed through us before is recorded already. */
	if (old.sa_sigaction != wrapper) {
		atomic_store(&handlers[SIGURG].fn, (void *)old.sa_sigaction);
		atomic_store(&handlers[SIGURG].flags, old.sa_flags);
	}
	uint64_t m;
	memcpy(&m, &old.sa_mask, sizeof m);
	atomic_store(&handlers[SIGURG].mask, m);
	gs_sig_keep_open(SIGURG);
}

/* sigaction for a signal whose kernel handler is the shim's (SIGURG with
 * preemption, SIGSYS with the trap): the program's is recorded, and read
 * back. */
static int recorded_action(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (old) {
		memset(old, 0, sizeof *old);
		old->sa_sigaction = (void (*)(int, siginfo_t *, void *))atomic_load(&handlers[sig].fn);
		old->sa_flags = atomic_load(&handlers[sig].flags);
		uint64_t m = atomic_load(&handlers[sig].mask);
		memcpy(&old->sa_mask, &m, sizeof m);
	}
	if (act) {
		uint64_t m;
		memcpy(&m, &act->sa_mask, sizeof m);
		atomic_store(&handlers[sig].fn, (void *)act->sa_sigaction);
		atomic_store(&handlers[sig].flags, act->sa_flags);
		atomic_store(&handlers[sig].mask, m);
	}
	return 0;
}

/* ---- sigaltstack: each green thread's own (scheduler/altstack.c) -------- */

GS_EXPORT int sigaltstack(const stack_t *ss, stack_t *old)
{
	/* Any thread of a hub (also with GREENSHIM_THREAD=0: the hub's own
	 * alternate stack is not the program's); the kernel's elsewhere. */
	int r = gs_sigaltstack(ss, old, (uintptr_t)__builtin_frame_address(0));
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

/* ---- SIGSYS: the syscall trap's (trap.c) -------------------------------- */

/* Once the trap's handler is the kernel's, the program's SIGSYS handler is
 * recorded, not installed, as SIGURG's is; one that is no trap reaches it
 * through gs_sig_to_program. */
static _Atomic int sys_installed;

void gs_sig_trap_installed(void *handler, int flags, uint64_t mask)
{
	if (handler != (void *)wrapper) {
		atomic_store(&handlers[SIGSYS].fn, handler);
		atomic_store(&handlers[SIGSYS].flags, flags & ~0x04000000); /* SA_RESTORER: libc's */
	}
	atomic_store(&handlers[SIGSYS].mask, mask);
	atomic_store(&sys_installed, 1);
}

/* Our kernel handler (SIGURG's) runs where the thread was; one of the
 * program's that asked for SA_ONSTACK runs on the alternate stack, as the
 * kernel would have run it (Go's handlers check that they do).  Already
 * on it, or with none: here. */
#if defined(__x86_64__)
void gs__call_on_stack(void *arg, void *stack_top, void (*fn)(void *)); /* trap_x86_64.S */
#endif
struct deferred_call {
	int sig;
	siginfo_t *si;
	void *uc;
};

static void call_wrapper(void *arg)
{
	struct deferred_call *c = arg;
	wrapper(c->sig, c->si, c->uc);
}

static void to_program_on_altstack(int sig, siginfo_t *si, void *uc)
{
#if defined(__x86_64__)
	stack_t ss;
	if (gs__sys(SYS_sigaltstack, 0, (long)&ss, 0, 0, 0, 0) == 0 &&
	    !(ss.ss_flags & (SS_DISABLE | SS_ONSTACK)) && ss.ss_size >= 4096) {
		struct deferred_call c = { sig, si, uc };
		gs__call_on_stack(&c, (void *)(((uintptr_t)ss.ss_sp + ss.ss_size) & ~(uintptr_t)15),
				  call_wrapper);
		return;
	}
#endif
	wrapper(sig, si, uc);
}

void gs_sig_to_program(int sig, siginfo_t *si, void *uc)
{
	if (gs_sig_defer_if_blocked(sig))
		return;
	void *fn = atomic_load(&handlers[sig].fn);
	if (fn == (void *)SIG_IGN || (fn == (void *)SIG_DFL && sig == SIGURG))
		return; /* SIGURG's default action is to discard it */
	if (fn == (void *)SIG_DFL) {
		/* The default action, as natively: put it back, send it again
		 * (taken when the handler returns). */
		struct sigaction dfl;
		memset(&dfl, 0, sizeof dfl);
		dfl.sa_handler = SIG_DFL;
		GS_REAL(sigaction)(sig, &dfl, NULL);
		gs__sys(SYS_rt_tgsigqueueinfo, gs__sys(SYS_getpid, 0, 0, 0, 0, 0, 0),
			gs__sys(SYS_gettid, 0, 0, 0, 0, 0, 0), sig, (long)si, 0, 0);
		return;
	}
	uint64_t m = gs_sig_current_mask() | atomic_load(&handlers[sig].mask);
	int flags = atomic_load(&handlers[sig].flags);
	if (!(flags & SA_NODEFER))
		m |= 1ULL << (sig - 1);
	m &= ~(1ULL << (SIGSYS - 1)); /* the trap's: never blocked */
	gs__sys(SYS_rt_sigprocmask, SIG_SETMASK, (long)&m, 0, sizeof m, 0, 0);
	if (flags & SA_ONSTACK)
		to_program_on_altstack(sig, si, uc);
	else
		wrapper(sig, si, uc);
}

/* ---- SIGSEGV: stack overflow reports --------------------------------- */

/* With the thread subsystem on, SIGSEGV stays ours (on the alternate
 * stack): a fault in a green thread's guard page is reported by name; any
 * other fault goes to the program's handler as if it were installed
 * itself; with none, the default action (we restore it and return, and the
 * faulting instruction faults again). */
static _Atomic int segv_installed;

/* A fault in the running thread's guard page, natively: the kernel can
 * deliver it only on the thread's own alternate stack, to a handler that
 * asked for it (SA_ONSTACK), and says SEGV_ACCERR (the guard is a PROT_NONE
 * page; a guard marker faults as unmapped memory, SEGV_MAPERR).  Otherwise
 * the signal cannot be delivered and the process dies of it. */
static int overflow_to_program(int sig, siginfo_t *si, void *uc, void *fn)
{
	stack_t own;
	if (fn == (void *)SIG_DFL || fn == (void *)SIG_IGN || !(atomic_load(&handlers[sig].flags) & SA_ONSTACK) ||
	    gs_sigaltstack(NULL, &own, (uintptr_t)__builtin_frame_address(0)) != 0 || (own.ss_flags & SS_DISABLE))
		return 0;
	si->si_code = SEGV_ACCERR;
	to_program_on_altstack(sig, si, uc);
	return 1;
}

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	void *fn = atomic_load(&handlers[sig].fn);
	if (si->si_code > 0 && gs_stack_guard_hit(si->si_addr)) {
		if (overflow_to_program(sig, si, uc, fn))
			return;
		gs_stack_overflow_report(si->si_addr);
	} else if (fn != (void *)SIG_DFL && fn != (void *)SIG_IGN) {
		wrapper(sig, si, uc);
		return;
	}
	/* A SIGSEGV that was sent (raise, kill, pthread_kill: si_code <= 0),
	 * not a fault: SIG_IGN discards it, and the default action needs it
	 * sent again, since no instruction will fault again (CPython's
	 * faulthandler re-raises so after its traceback). */
	int sent = si->si_code <= 0;
	if (sent && fn == (void *)SIG_IGN)
		return;
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	GS_REAL(sigaction)(sig, &dfl, NULL);
	if (sent)
		gs__sys(SYS_rt_tgsigqueueinfo, gs__sys(SYS_getpid, 0, 0, 0, 0, 0, 0),
			gs__sys(SYS_gettid, 0, 0, 0, 0, 0, 0), sig, (long)si, 0, 0);
}

void gs__segv_install(void)
{
	if (atomic_exchange(&segv_installed, 1))
		return;
	struct sigaction act, old;
	memset(&act, 0, sizeof act);
	act.sa_sigaction = segv_handler;
	act.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&act.sa_mask);
	if (GS_REAL(sigaction)(SIGSEGV, &act, &old) != 0)
		return;
	/* A handler the program set before (through us, wrapped) stays its. */
	if (old.sa_sigaction != wrapper && old.sa_handler != SIG_DFL) {
		atomic_store(&handlers[SIGSEGV].fn, (void *)old.sa_sigaction);
		atomic_store(&handlers[SIGSEGV].flags, old.sa_flags);
	}
}

/* sigaction(SIGSEGV) while our guard handler is installed: the program's
 * handler is recorded (and called by ours); what it reads back is its own. */
static int segv_action(const struct sigaction *act, struct sigaction *old)
{
	struct sigaction prev;
	if (GS_REAL(sigaction)(SIGSEGV, NULL, &prev) != 0)
		return -1;
	if (old) {
		*old = prev;
		old->sa_sigaction = (void (*)(int, siginfo_t *, void *))atomic_load(&handlers[SIGSEGV].fn);
		old->sa_flags = atomic_load(&handlers[SIGSEGV].flags);
	}
	if (act) {
		atomic_store(&handlers[SIGSEGV].fn, (void *)act->sa_sigaction);
		atomic_store(&handlers[SIGSEGV].flags, act->sa_flags);
	}
	return 0;
}

GS_STARTUP GS_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!wrapping() || sig <= 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP)
		return GS_REAL(sigaction)(sig, act, old);
	if (sig == SIGSEGV && atomic_load(&segv_installed))
		return segv_action(act, old);
	if ((sig == SIGURG && atomic_load(&urg_installed)) ||
	    (sig == SIGSYS && atomic_load(&sys_installed)))
		return recorded_action(sig, act, old);
	struct sigaction k, prev;
	const struct sigaction *install = act;
	if (act && act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN) {
		k = *act;
		k.sa_sigaction = wrapper;
		k.sa_flags |= SA_SIGINFO;
		/* The syscall trap's SIGSYS is never blocked (trap.c): a handler
		 * that blocks it would be killed by its first trapped call.  The
		 * program reads back the mask it set. */
		sigdelset(&k.sa_mask, SIGSYS);
		install = &k;
	}
	void *old_fn = atomic_load(&handlers[sig].fn);
	int old_flags = atomic_load(&handlers[sig].flags);
	uint64_t old_mask = atomic_load(&handlers[sig].mask);
	if (install == &k) {
		uint64_t m;
		memcpy(&m, &act->sa_mask, sizeof m);
		atomic_store(&handlers[sig].fn, (void *)act->sa_sigaction);
		atomic_store(&handlers[sig].flags, act->sa_flags);
		atomic_store(&handlers[sig].mask, m);
	}
	if (GS_REAL(sigaction)(sig, install, &prev) != 0) {
		int e = errno;
		atomic_store(&handlers[sig].fn, old_fn);
		atomic_store(&handlers[sig].flags, old_flags);
		atomic_store(&handlers[sig].mask, old_mask);
		errno = e;
		return -1;
	}
	if (old) {
		*old = prev;
		if (prev.sa_sigaction == wrapper) {
			old->sa_sigaction = (void (*)(int, siginfo_t *, void *))old_fn;
			old->sa_flags = old_flags;
		}
	}
	return 0;
}

static __sighandler_t install(int sig, __sighandler_t handler, int flags, int mask_sig)
{
	if (handler == SIG_ERR || sig <= 0 || sig >= NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	struct sigaction act, old;
	memset(&act, 0, sizeof act);
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	if (mask_sig)
		sigaddset(&act.sa_mask, sig);
	act.sa_flags = flags;
	if (sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

/* glibc's signal() has BSD semantics: handler stays, signal blocked while
 * it runs, system calls restarted. */
GS_EXPORT __sighandler_t signal(int sig, __sighandler_t handler)
{
	if (!wrapping())
		return GS_REAL(signal)(sig, handler);
	return install(sig, handler, SA_RESTART, 1);
}

GS_EXPORT __sighandler_t bsd_signal(int sig, __sighandler_t handler)
{
	return signal(sig, handler);
}

GS_EXPORT __sighandler_t sysv_signal(int sig, __sighandler_t handler)
{
	if (!wrapping())
		return GS_REAL(sysv_signal)(sig, handler);
	return install(sig, handler, SA_RESETHAND | SA_NODEFER, 0);
}

/* ---- masks: one per green thread ---------------------------------------- */

/* glibc never lets a program block its two internal signals (SIGCANCEL,
 * SIGSETXID: 32 and 33); it removes them from the set silently. */
#define INTERNAL_SIGNALS ((1ULL << 31) | (1ULL << 32))

GS_STARTUP static int mask(int how, const sigset_t *set, sigset_t *old, uint64_t never)
{
	uint64_t in = 0, out = 0;
	if (set) {
		memcpy(&in, set, sizeof in);
		in &= ~never;
	}
	int rc = gs_sigmask(how, set ? &in : NULL, &out);
	if (rc)
		return -rc;
	if (old) {
		sigemptyset(old);
		memcpy(old, &out, sizeof out);
	}
	return 0;
}

GS_STARTUP GS_EXPORT int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_sigmask)(how, set, old);
	return mask(how, set, old, INTERNAL_SIGNALS);
}

GS_STARTUP GS_EXPORT int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	if (!gs_thread_on())
		return GS_REAL(sigprocmask)(how, set, old);
	int rc = mask(how, set, old, INTERNAL_SIGNALS);
	if (rc) {
		errno = rc;
		return -1;
	}
	return 0;
}

/* glibc's own code blocks its internal signals with this call: its
 * pthread_create blocks every signal around the clone, so that the new
 * thread starts with all blocked until it sets its own mask (a SIGEV_THREAD
 * timer's helper thread, whose SIGTIMER, 32, kills the process if it
 * comes while unblocked). */
long gs__rt_sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	if (!gs_thread_on())
		return gs__sys(SYS_rt_sigprocmask, how, (long)set, (long)old, sizeof(uint64_t), 0, 0);
	int rc = mask(how, set, old, 0); /* 0 or an error number */
	return -rc;
}

GS_EXPORT int sigpending(sigset_t *set)
{
	if (!gs_thread_on())
		return GS_REAL(sigpending)(set);
	uint64_t p = gs_sigpending();
	sigemptyset(set);
	memcpy(set, &p, sizeof p);
	return 0;
}

/* ---- ppoll, pselect, epoll_pwait: a mask for the length of a wait ------ */

/* Sets the caller's mask to set and returns 1 when a signal with a handler
 * that set lets through is already pending: it is delivered at once, and
 * the call fails with EINTR, as natively.  *old is what to restore. */
int gs__wait_mask_begin(const sigset_t *set, uint64_t *old)
{
	uint64_t in;
	memcpy(&in, set, sizeof in);
	in &= ~INTERNAL_SIGNALS;
	uint64_t deliverable = gs_sigpending() & ~in, handled = 0;
	for (int sig = 1; sig <= 64; sig++)
		if ((deliverable & (1ULL << (sig - 1))) && gs__sig_disposition(sig) != GS_SIG_NO_HANDLER)
			handled |= 1ULL << (sig - 1);
	if (gs_thread_on()) {
		gs_sigmask(SIG_SETMASK, &in, old);
	} else {
		sigset_t s, o;
		sigemptyset(&s);
		memcpy(&s, &in, sizeof in);
		GS_REAL(pthread_sigmask)(SIG_SETMASK, &s, &o);
		memcpy(old, &o, sizeof *old);
	}
	return handled != 0;
}

void gs__wait_mask_end(uint64_t old)
{
	if (gs_thread_on()) {
		gs_sigmask(SIG_SETMASK, &old, NULL);
	} else {
		sigset_t s;
		sigemptyset(&s);
		memcpy(&s, &old, sizeof old);
		GS_REAL(pthread_sigmask)(SIG_SETMASK, &s, NULL);
	}
}

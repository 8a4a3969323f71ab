/* The syscall trap: blocking system calls that no interposer sees (made
 * inside libc, or by a raw syscall instruction) park the green thread
 * instead of blocking the OS thread.  GREENSHIM_SYSCALLS=trap|off.
 *
 * Mechanism: Linux's Syscall User Dispatch (prctl(PR_SET_SYSCALL_USER_
 * DISPATCH), 5.11+), per OS thread, never inherited by a new thread or a
 * fork child, cleared by exec.  It is armed on a hub's OS thread when the
 * hub gets its second green thread (a program that never makes a thread
 * pays nothing).  Then the kernel reads the hub's selector byte at every
 * system call made outside the shim's text:
 *   ALLOW  the call goes to the kernel (the hub's own context; the shim
 *          calling libc through GS_REAL, real.h; inside this handler);
 *   BLOCK  it is not made: SIGSYS instead (every green thread otherwise).
 * Each context resumes with its own selector value (hub.c's switch).
 *
 * The handler (on_sigsys) takes the call's number and arguments from the
 * trapped registers, runs it the way syscall(2) runs it under the shim
 * (syscall.c: the greened read, write, poll, futex, nanosleep, wait4, ...
 * may park this green thread, from inside the handler), and puts the
 * kernel's result convention (-errno) back in rax.  The program's errno is
 * untouched, as by a real system call.  Numbers nothing greens go to the
 * kernel from here (our text is allowed).  Special:
 *   rt_sigreturn  another restorer (libc's __restore_rt for a handler
 *                 installed before the trap was on, Go's) ran it with
 *                 BLOCK: done here on the frame it meant (gs__sigreturn_at);
 *   vfork, and CLONE_VM|CLONE_VFORK without a stack: made here, and the
 *                 child continues on the trapped code's own stack with its
 *                 registers (gs__clone_resume_regs), sharing memory as
 *                 natively, while the parent waits in this handler;
 *   any clone with a stack for the child (clone(fn, stack, SIGCHLD, ...)
 *                 too): the child starts there (gs__clone_resume);
 *   fork-like clones: made here; the child returns through the handler.
 * The handler runs on the alternate stack with every signal blocked but
 * the faults and SIGSYS itself (SA_NODEFER): nothing runs inside its frame
 * there.  A call that may wait moves to the green thread's trap area
 * first (run_on_trap_area), where the trapped code's mask holds again.
 * SIGSYS is never blocked in the kernel while the trap is armed
 * (gs_sig_keep_open): a blocked trap signal would kill the process.  A SIGSYS that is not a trap (kill -SYS, seccomp) goes
 * to the program's handler or its default action (signal.c records the
 * program's SIGSYS handler instead of installing it). */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "config.h"
#include "rawsys.h"
#include "real.h"
#include "syscalls.h"
#include "usermem.h"

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_OFF 0
#define PR_SYS_DISPATCH_ON 1
#endif
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2 /* si_code of a trap */
#endif
#define KERNEL_SA_RESTORER 0x04000000UL
#define SIGBIT(sig) (1ULL << ((sig) - 1))

int gs_trap_mode = GS_TRAP_DEFAULT;
int gs_trap_asked;

#if defined(__x86_64__)

/* trap_x86_64.S */
void gs__sigrestorer(void);
_Noreturn void gs__sigreturn_at(void *sp);
long gs__clone_resume(long nr, long a0, long a1, long a2, long a3, long a4);
long gs__clone_resume_regs(long nr, long a0, long a1, long a2, long a3, long a4, const greg_t *regs);
/* gs__clone_resume_regs' child finds the signal mask 256 bytes past the
 * registers. */
_Static_assert(offsetof(ucontext_t, uc_sigmask) - offsetof(ucontext_t, uc_mcontext.gregs) == 256,
	       "ucontext_t's layout (trap_x86_64.S reads uc_sigmask from the gregs)");

/* The shim's executable segment: the one range whose calls never trap. */
static uintptr_t text_lo, text_len;

static int find_text(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t me = (uintptr_t)arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && me >= lo && me < lo + ph->p_memsz) {
			text_lo = lo;
			text_len = ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

/* The kernel's struct sigaction (x86_64). */
struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

static void on_sigsys(int sig, siginfo_t *si, void *ucv);

/* Ours, with our restorer (allowed text: returning never traps). */
static int install_handler(void)
{
	gs_real_resolve_handler_set(); /* what the handler calls: no lookup in it */
	struct kernel_sigaction k = {
		.handler = (void *)on_sigsys,
		.flags = SA_SIGINFO | SA_NODEFER | SA_RESTART | SA_ONSTACK | KERNEL_SA_RESTORER,
		.restorer = gs__sigrestorer,
		/* Everything but the faults: no handler runs inside this one's
		 * frame on the alternate stack (trap_slow puts the trapped
		 * code's mask back before anything may park). */
		.mask = ~(SIGBIT(SIGSYS) | SIGBIT(SIGSEGV) | SIGBIT(SIGBUS) | SIGBIT(SIGILL) |
			  SIGBIT(SIGFPE) | SIGBIT(SIGTRAP) | SIGBIT(SIGKILL) | SIGBIT(SIGSTOP)),
	};
	struct kernel_sigaction old;
	if (gs__sys(SYS_rt_sigaction, SIGSYS, (long)&k, (long)&old, 8, 0, 0) != 0)
		return -1;
	gs_sig_trap_installed(old.handler, (int)old.flags, old.mask);
	return 0;
}

/* gs_trap_arm_hook (gs.h). */
static int arm(volatile unsigned char *sel)
{
	/* Under AddressSanitizer the trapped program hangs (its runtime's own
	 * system calls and locks; not understood yet): by default the trap
	 * stays off there, GREENSHIM_SYSCALLS=trap arms it anyway. */
	if (!gs_trap_asked && dlsym(RTLD_DEFAULT, "__asan_init"))
		return 0;
	static _Atomic int installed; /* 0, 2 being done, 1 done, -1 failed */
	int expected = 0;
	if (atomic_compare_exchange_strong(&installed, &expected, 2)) {
		dl_iterate_phdr(find_text, (void *)(uintptr_t)&arm);
		int ok = text_len && install_handler() == 0;
		atomic_store(&installed, ok ? 1 : -1);
		if (!ok)
			gs_warn("greenshim: GREENSHIM_SYSCALLS=trap: could not install the SIGSYS "
				"handler; system calls inside libc are not greened");
	}
	while (atomic_load(&installed) == 2)
		;
	if (atomic_load(&installed) != 1)
		return 0;
	gs_sig_keep_open(SIGSYS);
	*sel = GS_SUD_BLOCK; /* the calling green thread runs shim code, not a GS_REAL call */
	long r = gs__sys(SYS_prctl, PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, (long)text_lo,
			 (long)text_len, (long)sel, 0);
	if (r != 0) {
		*sel = GS_SUD_ALLOW;
		static _Atomic int warned;
		if (!atomic_exchange(&warned, 1))
			gs_warn("greenshim: GREENSHIM_SYSCALLS=trap: Syscall User Dispatch is not "
				"available (%s); system calls inside libc are not greened",
				strerror((int)-r));
		return 0;
	}
	return 1;
}

void gs_trap_setup(void)
{
	if (gs_trap_mode == GS_TRAP_ON)
		gs_trap_arm_hook = arm;
}

/* ---- clones ------------------------------------------------------------- */

/* struct clone_args (linux/sched.h), the fields read here. */
struct clone3_head {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size;
};

/* A child with a stack of its own starts there with the trapped
 * registers and signal mask, which it finds just below its stack top
 * (trap_x86_64.S). */
static long clone_on_stack(long nr, const long *a, uintptr_t top, const greg_t *g,
			   const void *mask)
{
	/* A bad stack faults here, as the child would natively. */
	memcpy((void *)(top - 17 * sizeof(greg_t)), g, 17 * sizeof(greg_t));
	memcpy((void *)(top - 18 * sizeof(greg_t)), mask, 8);
	return gs__clone_resume(nr, a[0], a[1], a[2], a[3], a[4]);
}

static long trapped_clone(long nr, const long *a, ucontext_t *uc)
{
	const greg_t *g = uc->uc_mcontext.gregs;
	unsigned long flags;
	uintptr_t stack_top = 0;
	struct clone3_head h;
	if (nr == SYS_vfork) {
		flags = CLONE_VM | CLONE_VFORK;
	} else if (nr == SYS_clone) {
		flags = (unsigned long)a[0];
		stack_top = (uintptr_t)a[1];
	} else { /* clone3 */
		if ((size_t)a[1] < sizeof h || gs_copy_in(&h, (const void *)a[0], sizeof h))
			return gs__sys(nr, a[0], a[1], 0, 0, 0, 0); /* the kernel's EINVAL or EFAULT */
		flags = h.flags;
		stack_top = h.stack ? (uintptr_t)(h.stack + h.stack_size) : 0;
	}
	if (stack_top) /* a thread, posix_spawn's child, clone(fn, stack, ...) */
		return clone_on_stack(nr, a, stack_top, g, &uc->uc_sigmask);
	if ((flags & (CLONE_VM | CLONE_VFORK)) == (CLONE_VM | CLONE_VFORK))
		return gs__clone_resume_regs(nr, a[0], a[1], a[2], a[3], a[4], g);
	/* Fork-like: the child returns through this handler, on its own copy
	 * of everything (or, CLONE_VM with no stack and no waiting parent, as
	 * broken as natively). */
	return gs__sys(nr, a[0], a[1], a[2], a[3], a[4], 0);
}

/* ---- calls that may switch: on the thread's trap area ------------------- */

/* The handler runs on the OS thread's alternate signal stack (SA_ONSTACK):
 * the trapped code's stack may be tiny (a goroutine's is a few KiB, and a
 * system call natively uses none of it).  A call that may park cannot stay
 * there: the next green thread's trap would put its frame on the same
 * alternate stack.  So the signal frame (the registers, the FPU state,
 * the mask) is copied to the top of the green thread's own trap area, the
 * call runs on the stack below it, and the thread returns by rt_sigreturn
 * from the copy; the frame on the alternate stack is left behind. */
_Noreturn void gs__trap_on_stack(void *arg, void *stack_top, void (*fn)(void *));

#ifndef FP_XSTATE_MAGIC1
#define FP_XSTATE_MAGIC1 0x46505853u
#endif
#define FRAME_ROOM (16u << 10) /* the copy's room, at the area's top */

/* The area holds up to SLOTS nested calls (a handler that interrupts a
 * parked call and makes one itself), each in a slot of its own below the
 * one before: slot 0 is the top half, each next one half of what is left.
 * Deeper, a call goes just below the trapped stack pointer when that is
 * on the area (a handler running there), with 24 KiB at least below it.
 * The depth lives in the first page above the guard; a call that ends
 * takes its slot back, and a call trapped on the thread's own stack finds
 * every slot free (those a longjmp out of a handler left taken).  With no room, a call that may park fails with EINTR rather
 * than park on the shared alternate stack. */
#define SLOTS 3

static int *area_depth(char *area)
{
	return (int *)(area + 4096);
}

static char *slot_top(char *area, int depth)
{
	size_t top = GS_TRAP_AREA;
	for (int i = 0; i < depth; i++)
		top /= 2;
	return area + top;
}

static _Noreturn void trap_slow(void *arg)
{
	ucontext_t *uc = arg;
	greg_t *g = uc->uc_mcontext.gregs;
	/* The handler blocks every signal but the trap's and the faults (a
	 * signal cannot run a handler inside its frame on the alternate
	 * stack); here the trapped code's mask holds again. */
	gs__sys(SYS_rt_sigprocmask, SIG_SETMASK, (long)&uc->uc_sigmask, 0, 8, 0, 0);
	long nr = g[REG_RAX];
	long a[6] = { g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9] };
	int saved = errno;
	gs_thread_in_trap(1);
	gs_trap_user_sp = (uintptr_t)g[REG_RSP];
	long r = gs_trapped_syscall(nr, a);
	gs_trap_user_sp = 0;
	gs_thread_in_trap(0);
	g[REG_RAX] = r;
	if (nr == SYS_rt_sigprocmask && r == 0) {
		/* The new mask is the thread's: the frame's would undo it. */
		uint64_t now;
		if (gs__sys(SYS_rt_sigprocmask, SIG_BLOCK, 0, (long)&now, 8, 0, 0) == 0)
			memcpy(&uc->uc_sigmask, &now, sizeof now);
	}
	/* rt_sigreturn puts back the frame's alternate stack: make it the
	 * one the OS thread has now (this call, or another green thread while
	 * this one was parked, may have set another). */
	stack_t now;
	if (gs__sys(SYS_sigaltstack, 0, (long)&now, 0, 0, 0, 0) == 0) {
		now.ss_flags &= ~SS_ONSTACK;
		uc->uc_stack = now;
	}
	errno = saved;
	char *area = gs_thread_trap_area();
	if (area && *area_depth(area) > 0)
		(*area_depth(area))--; /* this slot is free once we are off it */
	volatile unsigned char *sel = gs_trap_selector(); /* after any switch */
	if (sel)
		*sel = GS_SUD_BLOCK;
	gs__sigreturn_at(uc);
}

/* Moves to the trap area and never returns.  Returns 0 when there is no
 * area (no green thread runs: nothing can park, the call may run where
 * the handler is), -1 when there is one but no room in it (a frame too
 * big; every slot taken and the trapped code is not on the area itself,
 * below whose stack pointer the next one could go). */
static int run_on_trap_area(ucontext_t *uc, siginfo_t *si)
{
	char *area = gs_thread_trap_area();
	if (!area)
		return 0;
	char *top;
	uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	/* Trapped on neither the area nor the alternate stack, the thread has
	 * no call in progress on the area: slots a longjmp out of a handler
	 * left taken are free again. */
	stack_t alt;
	int on_alt = gs__sys(SYS_sigaltstack, 0, (long)&alt, 0, 0, 0, 0) == 0 &&
		     !(alt.ss_flags & SS_DISABLE) && sp >= (uintptr_t)alt.ss_sp &&
		     sp < (uintptr_t)alt.ss_sp + alt.ss_size;
	if (!on_alt && !(sp >= (uintptr_t)area && sp < (uintptr_t)area + GS_TRAP_AREA))
		*area_depth(area) = 0;
	int depth = *area_depth(area);
	if (depth < SLOTS)
		top = slot_top(area, depth);
	else if (sp > (uintptr_t)area + (24u << 10) && sp < (uintptr_t)area + GS_TRAP_AREA)
		top = (char *)((sp - 128) & ~(uintptr_t)63); /* below the red zone */
	else
		return -1;
	char *lo = (char *)uc - sizeof(long); /* the frame's return address */
	char *fp = (char *)uc->uc_mcontext.fpregs;
	size_t fpsize = 512;
	if (fp) {
		uint32_t sw[2];
		memcpy(sw, fp + 464, sizeof sw); /* fxsave's software bytes */
		if (sw[0] == FP_XSTATE_MAGIC1 && sw[1] > 512)
			fpsize = sw[1];
	}
	char *hi = (char *)si + sizeof *si;
	if (fp && fp + fpsize > hi)
		hi = fp + fpsize;
	if (fp && (fp < lo || hi - lo > (long)FRAME_ROOM - 128))
		return -1;
	size_t len = (size_t)(hi - lo);
	size_t fpoff = fp ? (size_t)(fp - lo) : 0;
	(*area_depth(area))++;
	/* The copy keeps the FPU state 64-byte aligned (xrstor needs it). */
	uintptr_t base = ((uintptr_t)(top - len - 64) & ~(uintptr_t)63) - (fpoff % 64);
	memcpy((void *)base, lo, len);
	ucontext_t *copy = (ucontext_t *)(base + sizeof(long));
	if (fp)
		copy->uc_mcontext.fpregs = (void *)(base + fpoff);
	uintptr_t stack_top = (base - 64) & ~(uintptr_t)15;
	gs__trap_on_stack(copy, (void *)stack_top, trap_slow);
}

/* ---- the handler ---------------------------------------------------------- */

/* The calls made right here, on the alternate stack with every signal
 * blocked: the kernel's, which never wait and that nothing of ours takes
 * (the common ones of malloc, stat and the like).  Everything else moves
 * to the trap area, with the trapped code's mask: a call the kernel makes
 * wait (flock, a raw io_uring_enter) is interrupted by signals as
 * natively, a greened one may park, sigaltstack is not refused (EPERM on
 * the alternate stack). */
static int stays_here(long nr)
{
	switch (nr) {
	case SYS_getpid: case SYS_getppid: case SYS_getuid: case SYS_geteuid: case SYS_getgid:
	case SYS_getegid: case SYS_getresuid: case SYS_getresgid: case SYS_getpgrp: case SYS_getpgid:
	case SYS_getsid: case SYS_brk: case SYS_mprotect: case SYS_madvise: case SYS_fstat:
	case SYS_newfstatat: case SYS_stat: case SYS_lstat: case SYS_statx: case SYS_access:
	case SYS_faccessat: case SYS_faccessat2: case SYS_readlink: case SYS_readlinkat:
	case SYS_getcwd: case SYS_uname: case SYS_clock_gettime: case SYS_clock_getres:
	case SYS_gettimeofday: case SYS_time: case SYS_getrlimit: case SYS_prlimit64:
	case SYS_sysinfo: case SYS_getdents64: case SYS_lseek: case SYS_getrusage: case SYS_times:
	case SYS_umask: case SYS_set_robust_list: case SYS_rseq: case SYS_getrandom:
		return 1; /* none of them is one gs_trapped_syscall takes */
	}
	return 0;
}

static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	volatile unsigned char *sel = gs_trap_selector();
	if (si->si_code != SYS_USER_DISPATCH || !sel) {
		gs_sig_to_program(sig, si, ucv);
		return;
	}
	*sel = GS_SUD_ALLOW;
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	long nr = g[REG_RAX];
	if (nr == SYS_rt_sigreturn) {
		*sel = GS_SUD_BLOCK; /* the restored code's: it trapped */
		gs__sigreturn_at((void *)g[REG_RSP]);
	}
	long a[6] = { g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9] };
	int saved = errno;
	long r;
	if (nr == SYS_clone || nr == SYS_clone3 || nr == SYS_vfork || nr == SYS_fork) {
		r = nr == SYS_fork ? gs__sys(nr, 0, 0, 0, 0, 0, 0) : trapped_clone(nr, a, uc);
	} else {
		/* A call that may park never runs on the alternate stack, which
		 * the next green thread's trap would overwrite: with no room on
		 * the area it fails as if a signal had interrupted it. */
		if (!stays_here(nr) && run_on_trap_area(uc, si) < 0)
			r = -EINTR;
		else
			r = gs_trapped_syscall(nr, a);
	}
	g[REG_RAX] = r;
	if (nr == SYS_rt_sigprocmask && r == 0) {
		/* The new mask is the thread's: the frame's would undo it. */
		uint64_t now;
		if (gs__sys(SYS_rt_sigprocmask, SIG_BLOCK, 0, (long)&now, 8, 0, 0) == 0)
			memcpy(&uc->uc_sigmask, &now, sizeof now);
	}
	errno = saved;
	sel = gs_trap_selector(); /* this context's hub, after any switch */
	if (sel)
		*sel = GS_SUD_BLOCK;
}

#else /* not x86_64: no trap */

void gs_trap_setup(void)
{
	if (gs_trap_mode == GS_TRAP_ON)
		gs_warn("greenshim: GREENSHIM_SYSCALLS=trap: not supported on this machine; "
			"system calls inside libc are not greened");
}

#endif

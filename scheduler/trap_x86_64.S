/* The machine side of the syscall trap (Syscall User Dispatch, trap.c).
 *
 * The shim's text is the one range whose system calls never trap; the
 * kernel consults the hub's selector byte (struct gs_hub's first field,
 * GS_SUD_ALLOW 0 or GS_SUD_BLOCK 1) for every other system call of the
 * hub's OS thread.  A green thread runs with BLOCK, so libc's own system
 * calls trap; what the shim calls in libc on purpose runs with ALLOW:
 *
 *   gs__allow_call      every call through GS_REAL (real.h): the target in
 *                       r11, the caller's arguments untouched.  With ALLOW
 *                       already (or no hub) a plain tail jump; with BLOCK
 *                       the selector is ALLOW for the call and BLOCK again
 *                       after it.  The callee sees a copy of the caller's
 *                       first eight stack words: real functions with stack
 *                       arguments (syscall's seventh) get them where the
 *                       ABI puts them.
 *   gs__sigrestorer     the restorer of every handler the trap installs:
 *                       rt_sigreturn from allowed text.  Its bytes are
 *                       glibc's __restore_rt's, and it has no unwind
 *                       entry, so libgcc's unwinder recognises a signal
 *                       frame here as it does there.
 *   gs__sigreturn_at    finishes a trapped rt_sigreturn: another restorer
 *                       (libc's, Go's) ran rt_sigreturn with BLOCK; the
 *                       frame it meant is at the trapped stack pointer.
 *   gs__trap_on_stack   runs a trapped call that may park on the green
 *                       thread's trap area (trap.c says why).
 *   gs__clone_resume    a trapped clone or clone3 that gives the child a
 *                       stack of its own: made here, and the child leaves
 *                       with the registers of the trapped call (rax 0) at
 *                       the instruction after it, on its new stack, as if
 *                       the kernel had cloned it there.
 */
	.text

/* Loads, from the ucontext gregs at \base (REG_R8 0 ... REG_RIP 128),
 * every register a system call leaves as it was, but rax, rsp, rcx, r11
 * and \base itself. */
	.macro	load_gregs base
	movq	0(\base), %r8
	movq	8(\base), %r9
	movq	16(\base), %r10
	movq	32(\base), %r12
	movq	40(\base), %r13
	movq	48(\base), %r14
	movq	56(\base), %r15
	movq	64(\base), %rdi
	movq	72(\base), %rsi
	movq	80(\base), %rbp
	movq	88(\base), %rbx
	movq	96(\base), %rdx
	.endm

/* rt_sigprocmask(SIG_SETMASK, \mask, NULL, 8): a cloned child takes the
 * trapped code's mask (the handler's blocks nearly everything).  Clobbers
 * rax, rdi, rsi, rdx, r10, rcx and r11. */
	.macro	set_mask mask
	movl	$14, %eax
	movl	$2, %edi
	leaq	\mask, %rsi
	xorl	%edx, %edx
	movl	$8, %r10d
	syscall
	.endm

/* In .text.hot, beside the GS_REAL stubs that jump here (gs.h, GS_STARTUP). */
	.pushsection .text.hot.gs__allow_call,"ax",@progbits
/* gs__allow_call: r11 = the real function; everything else as the caller
 * left it (rax counts vector arguments of a variadic call). */
	.globl	gs__allow_call
	.hidden	gs__allow_call
	.type	gs__allow_call, @function
	.p2align 4
gs__allow_call:
	.cfi_startproc
	movq	gs__os@gottpoff(%rip), %r10
	movq	%fs:(%r10), %r10	/* gs__os.hub */
	testq	%r10, %r10
	jz	1f
	cmpb	$1, (%r10)		/* hub->sud_sel == GS_SUD_BLOCK? */
	je	2f
1:	jmp	*%r11
2:	pushq	%rbp
	.cfi_def_cfa_offset 16
	.cfi_offset rbp, -16
	movq	%rsp, %rbp
	.cfi_def_cfa_register rbp
	subq	$64, %rsp		/* rsp = rbp - 64: 16-byte aligned */
	.irp	off, 0, 8, 16, 24, 32, 40, 48, 56	/* the caller's stack words */
	movq	16+\off(%rbp), %r10
	movq	%r10, \off(%rsp)
	.endr
	movq	gs__os@gottpoff(%rip), %r10
	movq	%fs:(%r10), %r10
	movb	$0, (%r10)		/* ALLOW */
	callq	*%r11
	/* The hub again: the call may have parked and resumed. */
	movq	gs__os@gottpoff(%rip), %r10
	movq	%fs:(%r10), %r10
	movb	$1, (%r10)		/* BLOCK, as it was */
	leave
	.cfi_def_cfa rsp, 8
	ret
	.cfi_endproc
	.size	gs__allow_call, .-gs__allow_call
	.popsection

/* No .cfi here: see above. */
	.globl	gs__sigrestorer
	.hidden	gs__sigrestorer
	.type	gs__sigrestorer, @function
	.p2align 4
	nop
gs__sigrestorer:
	movq	$15, %rax		/* SYS_rt_sigreturn */
	syscall
	ud2
	.size	gs__sigrestorer, .-gs__sigrestorer

/* gs__sigreturn_at(void *sp): never returns. */
	.globl	gs__sigreturn_at
	.hidden	gs__sigreturn_at
	.type	gs__sigreturn_at, @function
	.p2align 4
gs__sigreturn_at:
	movq	%rdi, %rsp
	movq	$15, %rax
	syscall
	ud2
	.size	gs__sigreturn_at, .-gs__sigreturn_at

/* gs__trap_on_stack(void *arg, void *stack_top, void (*fn)(void *)):
 * runs fn(arg) on the stack below stack_top (16-byte aligned); fn never
 * returns (it ends in gs__sigreturn_at). */
	.globl	gs__trap_on_stack
	.hidden	gs__trap_on_stack
	.type	gs__trap_on_stack, @function
	.p2align 4
gs__trap_on_stack:
	.cfi_startproc
	.cfi_undefined rip		/* the outermost frame of the trap stack */
	movq	%rsi, %rsp
	callq	*%rdx
	ud2
	.cfi_endproc
	.size	gs__trap_on_stack, .-gs__trap_on_stack

/* gs__call_on_stack(void *arg, void *stack_top, void (*fn)(void *)):
 * fn(arg) on the stack below stack_top (16-byte aligned), then back. */
	.globl	gs__call_on_stack
	.hidden	gs__call_on_stack
	.type	gs__call_on_stack, @function
	.p2align 4
gs__call_on_stack:
	.cfi_startproc
	pushq	%rbp
	.cfi_def_cfa_offset 16
	.cfi_offset rbp, -16
	movq	%rsp, %rbp
	.cfi_def_cfa_register rbp
	movq	%rsi, %rsp
	callq	*%rdx
	leave
	.cfi_def_cfa rsp, 8
	ret
	.cfi_endproc
	.size	gs__call_on_stack, .-gs__call_on_stack

/* long gs__clone_resume(long nr, long a0, long a1, long a2, long a3,
 *                       long a4)
 *   rdi nr, rsi..r9 the call's first five arguments.  The caller (trap.c)
 *   has copied the trapped registers (ucontext's gregs REG_R8 ... REG_RIP,
 *   136 bytes) just below the child's stack top, and the trapped signal
 *   mask (8 bytes) below them, which the child reads
 *   before its first push: the parent's own memory may be gone by then (a
 *   thread does not wait for its child).  The parent gets the kernel's
 *   result; the child loads the registers, rax 0, and continues at their
 *   rip with the stack pointer the kernel gave it. */
	.globl	gs__clone_resume
	.hidden	gs__clone_resume
	.type	gs__clone_resume, @function
	.p2align 4
gs__clone_resume:
	.cfi_startproc
	movq	%rdi, %rax
	movq	%rsi, %rdi
	movq	%rdx, %rsi
	movq	%rcx, %rdx
	movq	%r8, %r10
	movq	%r9, %r8
	syscall
	testq	%rax, %rax
	jz	1f
	ret
1:	/* The child, on its own stack: the trapped code's signal mask and
	 * registers just below it. */
	set_mask -144(%rsp)
	leaq	-136(%rsp), %rax
	load_gregs %rax
	movq	24(%rax), %r11
	movq	112(%rax), %rcx
	subq	$8, %rsp		/* at the saved rip (offset 128) */
	xorl	%eax, %eax
	ret
	.cfi_endproc
	.size	gs__clone_resume, .-gs__clone_resume

/* long gs__clone_resume_regs(long nr, long a0, long a1, long a2, long a3,
 *                            long a4, const long *regs)
 *   the same for a child with no stack of its own that shares the
 *   parent's (vfork, clone with CLONE_VM|CLONE_VFORK): regs (8(%rsp)) are
 *   the trapped registers in the handler's frame, which stays as it is
 *   while the parent waits for the child's exec or exit.  The child loads
 *   them all, the stack pointer included, and jumps to their rip through
 *   rcx (which a system call leaves holding the return address anyway):
 *   nothing is written below the trapped stack pointer, whose red zone
 *   may be live. */
	.globl	gs__clone_resume_regs
	.hidden	gs__clone_resume_regs
	.type	gs__clone_resume_regs, @function
	.p2align 4
gs__clone_resume_regs:
	.cfi_startproc
	pushq	%r12
	.cfi_def_cfa_offset 16
	.cfi_offset r12, -16
	movq	16(%rsp), %r12		/* regs: kept by the kernel for the child */
	movq	%rdi, %rax
	movq	%rsi, %rdi
	movq	%rdx, %rsi
	movq	%rcx, %rdx
	movq	%r8, %r10
	movq	%r9, %r8
	syscall
	testq	%rax, %rax
	jz	1f
	popq	%r12
	.cfi_def_cfa_offset 8
	ret
1:	set_mask 256(%r12)		/* uc_sigmask, 256 bytes past the gregs */
	movq	%r12, %r11		/* r11: clobbered by syscall anyway */
	load_gregs %r11
	movq	120(%r11), %rsp		/* REG_RSP */
	movq	128(%r11), %rcx		/* REG_RIP */
	xorl	%eax, %eax
	jmp	*%rcx
	.cfi_endproc
	.size	gs__clone_resume_regs, .-gs__clone_resume_regs

	.section .note.GNU-stack,"",@progbits

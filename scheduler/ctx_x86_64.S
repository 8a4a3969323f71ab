/* x86_64 context switch (System V AMD64 ABI).
 *
 *   void gs__ctx_switch(struct gs_ctx *from, struct gs_ctx *to);   rdi, rsi
 *   void gs__ctx_make(struct gs_ctx *ctx, void *stack_top,         rdi, rsi,
 *                     size_t stack_size, void (*fn)(void *),        rdx, rcx,
 *                     void *arg);                                   r8
 *
 * The ABI makes rbx, rbp, r12-r15, the MXCSR control bits and the x87
 * control word callee-saved; everything else is dead across a call, so a
 * switch only has to preserve those.  A suspended context's stack, from
 * struct gs_ctx.sp upwards (GS_FRAME_* below, 8 bytes each):
 *
 *   sp+0   MXCSR (low 4 bytes), x87 control word (bytes 4-5)
 *   sp+8   r15
 *   sp+16  r14
 *   sp+24  r13     (a new context: fn)
 *   sp+32  r12     (a new context: arg)
 *   sp+40  rbx
 *   sp+48  rbp
 *   sp+56  return address (a new context: gs__ctx_trampoline)
 *
 * struct gs_ctx holds only sp, at offset 0.  ldmxcsr and fldcw are slow,
 * so each is executed only when the incoming value differs from the one
 * just saved (r8/r9 are scratch registers in this ABI).
 */
	.text

/* gs__ctx_switch_fs(from, to, tp) (rdi, rsi, rdx) also installs tp as
 * the %fs base with wrfsbase (only called where tls.c found
 * HWCAP2_FSGSBASE), in the instruction before the stack pointer moves: no
 * C code runs with one context's stack and the other's TCB, and a signal
 * taken between the two runs on a valid TCB (the incoming one) below the
 * outgoing context's saved frame.  gs__ctx_switch is the same with tp 0:
 * %fs untouched. */
	.globl	gs__ctx_switch
	.hidden	gs__ctx_switch
	.type	gs__ctx_switch, @function
	.globl	gs__ctx_switch_fs
	.hidden	gs__ctx_switch_fs
	.type	gs__ctx_switch_fs, @function
	.p2align 4
gs__ctx_switch:
	.cfi_startproc
	xorl	%edx, %edx
gs__ctx_switch_fs:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$8, %rsp
	stmxcsr	(%rsp)
	fnstcw	4(%rsp)
	movl	(%rsp), %r8d		/* keep ours to compare: the loads are slow */
	movzwl	4(%rsp), %r9d
	movq	%rsp, (%rdi)		/* from->sp */
	testq	%rdx, %rdx
	jz	3f
	wrfsbase %rdx
3:	movq	(%rsi), %rsp		/* to->sp */
	cmpl	(%rsp), %r8d
	je	1f
	ldmxcsr	(%rsp)
1:	cmpw	4(%rsp), %r9w
	je	2f
	fldcw	4(%rsp)
2:	addq	$8, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	gs__ctx_switch, .-gs__ctx_switch
	.size	gs__ctx_switch_fs, .-gs__ctx_switch_fs

/* Builds the frame above so that the first switch to ctx "returns" into the
 * trampoline with fn in r13 and arg in r12.  The frame sits 80 bytes below
 * the 16-byte aligned top, so that after the ret rsp is 16-byte aligned and
 * fn is entered, through the trampoline's call, with the ABI's alignment.
 * The MXCSR and x87 control word are copied from the creator, as a new
 * kernel thread inherits them. */
	.globl	gs__ctx_make
	.hidden	gs__ctx_make
	.type	gs__ctx_make, @function
	.p2align 4
gs__ctx_make:
	.cfi_startproc
	andq	$-16, %rsi
	leaq	-80(%rsi), %rax
	stmxcsr	(%rax)
	fnstcw	4(%rax)
	movq	$0, 8(%rax)		/* r15 */
	movq	$0, 16(%rax)		/* r14 */
	movq	%rcx, 24(%rax)		/* r13 = fn */
	movq	%r8, 32(%rax)		/* r12 = arg */
	movq	$0, 40(%rax)		/* rbx */
	movq	$0, 48(%rax)		/* rbp = 0 ends frame-pointer walks */
	leaq	gs__ctx_trampoline(%rip), %r9
	movq	%r9, 56(%rax)
	movq	$0, 64(%rax)		/* no caller above the trampoline */
	movq	%rax, (%rdi)
	ret
	.cfi_endproc
	.size	gs__ctx_make, .-gs__ctx_make

	.type	gs__ctx_trampoline, @function
	.p2align 4
gs__ctx_trampoline:
	.cfi_startproc
	.cfi_undefined rip		/* outermost frame for unwinders and gdb */
	movq	%r12, %rdi
	callq	*%r13
	ud2				/* fn must not return */
	.cfi_endproc
	.size	gs__ctx_trampoline, .-gs__ctx_trampoline

	.section .note.GNU-stack,"",@progbits

/* x86_64: the system call a lone green thread blocks in (direct.c).
 *
 *   long gs__direct_syscall(long nr, long a, long b, long c,     rdi, rsi, rdx, rcx,
 *                           _Atomic int *kicked);                 r8
 *
 * Makes system call nr(a, b, c) and returns the kernel's result (a
 * negative errno on failure), unless *kicked is non-zero before the call
 * starts: then it returns GS_DIRECT_KICKED (-5000) without a call.
 *
 * The instructions from gs__direct_begin up to (not including)
 * gs__direct_end are the window in which the call has not happened yet,
 * or is blocked in the kernel and would be restarted when a handler
 * returns (the kernel then resumes at the `syscall` instruction itself).
 * A signal handler that finds the interrupted pc inside that window may
 * move it to gs__direct_kicked (gs__direct_pc_kick): the call then returns
 * GS_DIRECT_KICKED and has transferred nothing.  At gs__direct_end the call
 * is over and its result stands.
 *
 * System V AMD64 ABI: rax, rcx, rdx, rsi, rdi, r8-r11 are scratch; the
 * kernel takes rax (number), rdi, rsi, rdx and clobbers rcx and r11.
 */
	.text
	.globl	gs__direct_syscall
	.hidden	gs__direct_syscall
	.type	gs__direct_syscall, @function
	.globl	gs__direct_begin
	.hidden	gs__direct_begin
	.globl	gs__direct_end
	.hidden	gs__direct_end
	.globl	gs__direct_kicked
	.hidden	gs__direct_kicked
gs__direct_syscall:
	.cfi_startproc
	mov	%rdi, %rax
	mov	%rsi, %rdi
	mov	%rdx, %rsi
	mov	%rcx, %rdx
gs__direct_begin:
	cmpl	$0, (%r8)
	jne	gs__direct_kicked
	syscall
gs__direct_end:
	ret
gs__direct_kicked:
	mov	$-5000, %rax
	ret
	.cfi_endproc
	.size	gs__direct_syscall, .-gs__direct_syscall

	.section .note.GNU-stack,"",@progbits

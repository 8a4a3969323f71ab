/* vfork: the child borrows the parent's memory, stack and TLS until it
 * execs or exits, so whatever the shim did in it would be done to the
 * parent: a close() waking the parent's threads with EBADF, a
 * pthread_sigmask() writing the parent's green mask (the parent's own
 * restore then looked like a no-op, and its kernel mask stayed all
 * blocked: CPython's _posixsubprocess does exactly this), a sigaction()
 * rewriting the parent's handler table.  So the child is marked: while
 * gs__vforked is set, every interposer passes straight to libc
 * (config.h's gs_flag), as if the shim were not there.
 *
 * The mark is a TLS variable of the calling thread: the child runs on the
 * parent's thread pointer, and that thread is suspended until the child
 * execs or exits, when the parent clears it.  Other threads are not
 * affected.  vfork cannot be a C wrapper (the child returns through the
 * wrapper's frame, which the parent then returns through too), so, as
 * glibc's, it keeps its return address in a register across the system
 * call, and the child returns straight to the caller.  Its syscall
 * instruction is in the shim's text, which the syscall trap never traps. */
#include <errno.h>
#include <sys/syscall.h>

#include "config.h"
#include "fdkind.h"
#include "real.h"

#define STR_(x) #x
#define STR(x) STR_(x)

__thread int gs__vforked __attribute__((tls_model("initial-exec")));

__attribute__((used)) void gs__vfork_enter(void)
{
	gs_real_resolve_handler_set(); /* the child calls libc through the table */
	gs_fd_shared_all(); /* the child may change a shared description (posix_spawn too) */
	gs__vforked = 1;
}

__attribute__((used)) long gs__vfork_leave(long r)
{
	gs__vforked = 0;
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* rsp at entry is 8 mod 16 (the return address): the calls below keep
 * their ABI alignment. */
__asm__(".text\n"
	".globl vfork\n"
	".type vfork,@function\n"
	".globl __vfork\n"
	".type __vfork,@function\n"
	"vfork:\n"
	"__vfork:\n"
	"	.cfi_startproc\n"
	"	subq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	call gs__vfork_enter\n"
	"	addq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"	popq %rdi\n" /* the return address, safe from the child */
	"	.cfi_adjust_cfa_offset -8\n"
	"	.cfi_register %rip, %rdi\n"
	"	movl $" STR(SYS_vfork) ", %eax\n"
	"	syscall\n"
	"	pushq %rdi\n"
	"	.cfi_adjust_cfa_offset 8\n"
	"	.cfi_rel_offset %rip, 0\n"
	"	testq %rax, %rax\n"
	"	jz 1f\n" /* the child: straight back, still marked */
	"	pushq %rax\n" /* the parent, once the child let go: 16-aligned */
	"	.cfi_adjust_cfa_offset 8\n"
	"	movq %rax, %rdi\n"
	"	call gs__vfork_leave\n"
	"	addq $8, %rsp\n"
	"	.cfi_adjust_cfa_offset -8\n"
	"1:	ret\n"
	"	.cfi_endproc\n"
	".size vfork, .-vfork\n"
	".size __vfork, .-__vfork\n");

/* Portable context switch on ucontext(3), for architectures without a .S
 * file (and, with `make GS_CTX=ucontext`, to test this path on x86_64).
 * swapcontext saves and restores the signal mask with a system call, so it
 * is one to two orders of magnitude slower than the assembly version. */
#include <stdint.h>
#include <stdlib.h>

#include "ctx.h"

void gs__ctx_switch(struct gs_ctx *from, struct gs_ctx *to)
{
	swapcontext(&from->uc, &to->uc);
}

/* makecontext passes only int arguments: split the pointers in halves. */
static void ctx_entry(unsigned fn_hi, unsigned fn_lo, unsigned arg_hi, unsigned arg_lo)
{
	void (*fn)(void *) = (void (*)(void *))(((uintptr_t)fn_hi << 32) | fn_lo);
	void *arg = (void *)(((uintptr_t)arg_hi << 32) | arg_lo);
	fn(arg);
	abort(); /* fn must not return */
}

void gs__ctx_make(struct gs_ctx *ctx, void *stack_top, size_t stack_size,
		  void (*fn)(void *), void *arg)
{
	uintptr_t f = (uintptr_t)fn, a = (uintptr_t)arg;
	getcontext(&ctx->uc);
	ctx->uc.uc_stack.ss_sp = (char *)stack_top - stack_size;
	ctx->uc.uc_stack.ss_size = stack_size;
	ctx->uc.uc_link = NULL;
	makecontext(&ctx->uc, (void (*)(void))ctx_entry, 4,
		    (unsigned)(f >> 32), (unsigned)f, (unsigned)(a >> 32), (unsigned)a);
}

/* Machine contexts: save the running context, resume another.
 *
 * A context is what a green thread needs to be resumed: on x86_64 only its
 * stack pointer (the callee-saved registers, MXCSR and the x87 control word
 * are pushed on its own stack by gs__ctx_switch); elsewhere a ucontext_t.
 * The choice is made here, not in the .c files (see STYLE.md). */
#ifndef GS_CTX_H
#define GS_CTX_H

#include <stddef.h>

#if defined(__x86_64__) && !defined(GS_CTX_UCONTEXT)
struct gs_ctx {
	void *sp; /* saved stack pointer; the frame below it is described in ctx_x86_64.S */
};
#else
#include <ucontext.h>
struct gs_ctx {
	ucontext_t uc; /* the whole portable context */
};
#endif

/* Save the current context into *from and resume *to.  Returns when some
 * other context switches back to *from. */
void gs__ctx_switch(struct gs_ctx *from, struct gs_ctx *to);

/* The same, installing tp as the thread pointer on the way (x86_64 with
 * wrfsbase only; see tls.c). */
void gs__ctx_switch_fs(struct gs_ctx *from, struct gs_ctx *to, void *tp);

/* Prepare *ctx so that switching to it runs fn(arg) on the stack whose
 * highest address is stack_top (of stack_size bytes).  fn must never
 * return: a green thread leaves by switching away for good. */
void gs__ctx_make(struct gs_ctx *ctx, void *stack_top, size_t stack_size,
		  void (*fn)(void *), void *arg);

#endif

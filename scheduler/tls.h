/* Thread-local storage per green thread: each context owns a static TLS
 * block, a DTV and a thread control block (glibc's struct pthread), and
 * the thread pointer is switched with the stack (see tls.c).
 *
 * Invariant: a context's TCB never changes while the context lives.  So
 * code that the compiler compiled with the thread pointer cached across a
 * call (every TLS access may be) stays right across a switch: a context
 * resumes on the TCB it was suspended on. */
#ifndef GS_TLS_H
#define GS_TLS_H

#include <stddef.h>

struct gs_thread;
struct gs_hub;

/* 1 once the first hub decided that contexts get TCBs of their own (then
 * for good); 0: every context of an OS thread shares its TCB (the shim's
 * own state in TLS is per OS thread, errno is saved at each switch). */
extern int gs__tls_on;
/* 1: the thread pointer is set with wrfsbase, in the switch itself. */
extern int gs__tls_fsgsbase;

/* Decides gs__tls_on (once, from gs_tls_request and what glibc offers). */
void gs__tls_init(void);
/* The calling context's thread pointer. */
void *gs__tp_get(void);
/* Installs tp as the thread pointer (arch_prctl, or wrfsbase). */
void gs__tp_set(void *tp);
/* A TCB for t, a context of hub h, ready to run t (its TLS initialised
 * from the modules' images, the shim's own variables pointing at t and h);
 * NULL if out of memory. */
void *gs__tls_new(struct gs_thread *t, struct gs_hub *h);
/* First thing a context does on its own TCB (what glibc's thread start
 * does: the locale's ctype tables). */
void gs__tls_context_start(void);
/* The thread t ends, on its own TCB: C++ thread_local destructors. */
void gs__tls_thread_exit(struct gs_thread *t);
/* Puts an ended thread's TCB back into the pool (from another context). */
void gs__tls_release(void *tcb);
/* The same for a hub's own TCB, which shares root_tcb's malloc cache
 * (gs__tls_new): the pool gets it without that cache. */
void gs__tls_release_hub(void *tcb, void *root_tcb);
/* A thread of h called dlopen (h->tls_dlopened): a library with static
 * TLS loaded meanwhile has its block initialised by glibc only in the
 * threads on glibc's lists; this copies its image into every other TCB of
 * h.  Called at the dlopening thread's next switch, before any other
 * thread of h runs. */
void gs__tls_dlopened(struct gs_hub *h);
/* glibc made a real thread (the process is multi-threaded now): every
 * green TCB of hub h must say so, as glibc's own atomics read it there. */
void gs__tls_check_threads(struct gs_hub *h);

#endif

/* Private to scheduler/direct.c: the per-arch system call a signal
 * handler can end before anything was transferred (direct_x86_64.S), and
 * the values gs_direct_call passes around besides a call's result (all
 * below -4095, so never a kernel's). */
#ifndef GS_DIRECT_H
#define GS_DIRECT_H

#include <stdint.h>
#include <ucontext.h>

#include "gs.h"

enum {
	AGAIN = -5002,  /* after a kick: nothing to act on, make the call again */
	CANCEL = -5003, /* after a kick: act on the pending cancellation */
};
_Static_assert(GS_DIRECT_KICKED == -5000, "direct_x86_64.S returns -5000");

#if defined(__x86_64__)
#define HAVE_DIRECT 1
extern char gs__direct_begin[], gs__direct_end[], gs__direct_kicked[];
long gs__direct_syscall(long nr, long a, long b, long c, _Atomic int *kicked);
static inline uintptr_t *interrupted_pc(void *uc)
{
	return (uintptr_t *)&((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
}
#else
/* Elsewhere every blocking call takes the parked way. */
#define HAVE_DIRECT 0
static char gs__direct_begin[1], gs__direct_end[1], gs__direct_kicked[1];
static inline long gs__direct_syscall(long nr, long a, long b, long c, _Atomic int *kicked)
{
	return GS_DIRECT_KICKED;
}
static inline uintptr_t *interrupted_pc(void *uc)
{
	static uintptr_t none;
	return &none;
}
#endif

#endif

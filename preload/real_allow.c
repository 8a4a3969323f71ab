/* One stub per real function (real.h's GS_REAL): loads the function from
 * gs_real and jumps to gs__allow_call (scheduler/trap_x86_64.S), which
 * runs it with the syscall trap's selector at ALLOW.  The stubs read the
 * table at each call, so a test that swaps an entry still reaches its
 * replacement.  Built without link-time optimisation (Makefile): gs_real
 * is named from assembly here, which LTO cannot see. */
#if defined(__x86_64__)
#include <stddef.h>

#include "gs.h"
#include "real.h"

#define GS_ALLOW_STUB(ret, name, params, version)                                        \
	__attribute__((naked)) GS_STARTUP void gs__allow_##name(void)                     \
	{                                                                                 \
		__asm__ volatile("movq gs_real+%c0(%%rip), %%r11\n\t"                     \
				 "jmp gs__allow_call" ::"i"(offsetof(struct gs_real_table, name))); \
	}
GS_REAL_FUNCTIONS(GS_ALLOW_STUB)
#endif

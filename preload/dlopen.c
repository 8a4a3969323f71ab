/* dlopen and dlmopen, seen (thread subsystem, with TLS per green thread).
 *
 * A library with static TLS (initial-exec, or TLS descriptors glibc
 * places in the static surplus) loaded while green threads exist gets its
 * block initialised by glibc only in the threads on glibc's own lists:
 * the other green TCBs would read zeroes.  So a dlopen marks the hub, and
 * the dlopening thread's next switch copies the new blocks' images into
 * every other TCB before any of them runs (scheduler/tls.c).
 *
 * The interposers cannot be C functions that call the real dlopen: glibc
 * takes the caller from dlopen's return address, and searches the
 * caller's DT_RUNPATH for a bare name; called from here, that would be
 * ours.  So on x86_64 each is a stub that notes the call, restores the
 * argument registers and jumps to the real function with the program's
 * own return address in place.  Elsewhere they are not interposed. */
#include <dlfcn.h>

#include "config.h"

#if defined(__x86_64__)


static void *real_of(const char *name)
{
	void *p = dlvsym(RTLD_NEXT, name, "GLIBC_2.34");
	return p ? p : dlsym(RTLD_NEXT, name);
}

/* Called by the stubs below (which: 0 dlopen, 1 dlmopen): notes the
 * dlopen, returns the real function. */
__attribute__((used, visibility("hidden"))) void *gs__dlopen_note(int which)
{
	static void *real[2];
	if (!real[which])
		real[which] = real_of(which ? "dlmopen" : "dlopen");
	gs_tls_dlopen_coming();
	return real[which];
}

/* At entry rsp is 8 mod 16; four pushes and 8 bytes make the call
 * aligned.  rdi, rsi, rdx (the arguments) and rcx are kept; edi carries
 * `which` to the note. */
#define GS_DLOPEN_STUB(name, which)                                                             \
	__asm__(".text\n"                                                                        \
		".globl " #name "\n"                                                             \
		".type " #name ", @function\n"                                                   \
		".p2align 4\n" #name ":\n"                                                       \
		"	pushq %rdi\n"                                                            \
		"	pushq %rsi\n"                                                            \
		"	pushq %rdx\n"                                                            \
		"	pushq %rcx\n"                                                            \
		"	subq $8, %rsp\n"                                                         \
		"	movl $" #which ", %edi\n"                                                \
		"	call gs__dlopen_note\n"                                                  \
		"	addq $8, %rsp\n"                                                         \
		"	popq %rcx\n"                                                             \
		"	popq %rdx\n"                                                             \
		"	popq %rsi\n"                                                             \
		"	popq %rdi\n"                                                             \
		"	jmp *%rax\n"                                                             \
		".size " #name ", .-" #name "\n")
GS_DLOPEN_STUB(dlopen, 0);
GS_DLOPEN_STUB(dlmopen, 1);

#endif

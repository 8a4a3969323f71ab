/* What syscall(2) (syscall.c) hands to the greened code, number by
 * number: each sets *handled when it took the call, and returns what
 * syscall(2) would (-1 and errno on failure). */
#ifndef GS_SYSCALLS_H
#define GS_SYSCALLS_H

/* futex.c: FUTEX_WAIT(_BITSET) and FUTEX_WAKE(_BITSET) of a green thread;
 * recheck: a trapped wait, which a real thread's kernel wake may end. */
long gs_futex_syscall(long *a, int *handled, int recheck);

/* mappings.c: 1 if addr lies in a private mapping (MAP_PRIVATE or
 * private anonymous), which no other process can see. */
#include <stdint.h>
int gs_in_private_mapping(uintptr_t addr);
/* Called before and after a mapping changes (mmap & co.): cached answers
 * from before are not used again. */
void gs_mappings_changing(void);

/* wait.c: waitid with the system call's rusage (NULL: libc's waitid). */
#include <sys/resource.h>
#include <sys/wait.h>
int gs_waitid(idtype_t type, id_t id, siginfo_t *info, int options, struct rusage *ru);

/* syscall.c: a trapped system call (trap.c), as syscall(2) under the shim
 * runs it, with the kernel's convention: the result, or -errno. */
long gs_trapped_syscall(long nr, long *a);
/* The trapped code's stack pointer during a trapped call (0: none). */
#include <stdint.h>
extern __thread uintptr_t gs_trap_user_sp;

#endif

/* What syscall(2) (syscall.c) hands to the greened code, number by
 * number: each sets *handled when it took the call, and returns what
 * syscall(2) would (-1 and errno on failure). */
#ifndef GS_SYSCALLS_H
#define GS_SYSCALLS_H

/* futex.c: FUTEX_WAIT(_BITSET) and FUTEX_WAKE(_BITSET) of a green thread. */
long gs_futex_syscall(long *a, int *handled);

#endif

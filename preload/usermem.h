/* Reading and writing memory the program handed us as it gave it to the
 * kernel: a bad pointer is EFAULT, as the system call would say, never a
 * fault in the shim.  One process_vm_readv/writev on ourselves: for paths
 * where the kernel's own validation would come too late (syscall(2)'s
 * timeouts and sigsets, which the shim reads before any system call). */
#ifndef GS_USERMEM_H
#define GS_USERMEM_H

#include <errno.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "rawsys.h"

/* 0, or EFAULT when [src, src + n) is not all readable. */
static inline int gs_copy_in(void *dst, const void *src, size_t n)
{
	struct iovec local = { dst, n }, remote = { (void *)src, n };
	long pid = gs__sys(SYS_getpid, 0, 0, 0, 0, 0, 0);
	long r = gs__sys(SYS_process_vm_readv, pid, (long)&local, 1, (long)&remote, 1, 0);
	if (r == (long)n)
		return 0;
	if (r >= 0 || r == -EFAULT)
		return EFAULT;
	/* Refused (a seccomp filter, say): trust the pointer. */
	__builtin_memcpy(dst, src, n);
	return 0;
}

/* Writes what it can; a fault is ignored (the kernel's timeout write-back
 * into read-only memory is ignored too). */
static inline void gs_copy_out(void *dst, const void *src, size_t n)
{
	struct iovec local = { (void *)src, n }, remote = { dst, n };
	long pid = gs__sys(SYS_getpid, 0, 0, 0, 0, 0, 0);
	gs__sys(SYS_process_vm_writev, pid, (long)&local, 1, (long)&remote, 1, 0);
}

#endif

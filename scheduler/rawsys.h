/* System calls made by the scheduler itself.  They must not go through
 * libc's syscall(), which the preload interposes (futex greening): the
 * scheduler's own futex waits would come back to it.  Returns the kernel's
 * result: a negative errno on failure, errno untouched. */
#ifndef GS_RAWSYS_H
#define GS_RAWSYS_H

#if defined(__x86_64__)
static inline long gs__sys(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#else
#include <dlfcn.h>
#include <errno.h>
static inline long gs__sys(long n, long a, long b, long c, long d, long e, long f)
{
	static long (*real)(long, ...);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	int saved = errno;
	long r = real(n, a, b, c, d, e, f);
	if (r == -1)
		r = -errno;
	errno = saved;
	return r;
}
#endif

#endif

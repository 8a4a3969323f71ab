/* syscall(2): each system call number that has a greened or tracked libc
 * wrapper takes that wrapper's path, with syscall(2)'s contract (-1 and
 * errno); every other number goes to the kernel untouched.
 *   futex                      the parking lot (futex.c)
 *   gettid, tgkill, tkill, kill, rt_tgsigqueueinfo, sched_*, *priority
 *                              a green thread's virtual id (tid.c)
 *   close, dup2, dup3, close_range
 *                              our close & co. (os.c): the fd's waiters and
 *                              its cached kind go with it (libuv closes fds
 *                              this way) */
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "real.h"
#include "syscalls.h"
#include "tid.h"

GS_EXPORT long syscall(long nr, ...)
{
	long a[6];
	va_list ap;
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	int handled = 0;
	long r = 0;
	if (nr == SYS_futex && gs_thread_on())
		r = gs_futex_syscall(a, &handled);
	else
		r = gs_tid_syscall(nr, a, &handled);
	if (handled)
		return r;
	switch (nr) {
	case SYS_close:
		return close((int)a[0]);
	case SYS_dup2:
		return dup2((int)a[0], (int)a[1]);
	case SYS_dup3:
		return dup3((int)a[0], (int)a[1], (int)a[2]);
	case SYS_close_range:
		return close_range((unsigned)a[0], (unsigned)a[1], (int)a[2]);
	}
	return GS_REAL(syscall)(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

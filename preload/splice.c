/* sendfile, splice, tee and copy_file_range into or out of a blocking pipe
 * or socket (os and socket subsystems).  They have no non-blocking attempt
 * the shim could make (a MSG_DONTWAIT, an RWF_NOWAIT), and making the
 * description O_NONBLOCK would change it for every process sharing it; so
 * the kernel call is made as it is, on a helper OS thread (helper_call.c),
 * while the green thread parks: the reader or writer at the other end may
 * be another green thread of this OS thread (CPython's test_socket sends
 * 10 MiB to its own reader so).  Calls on regular files (and directories,
 * block devices: fdkind.c's FILE), on fds the program made non-blocking,
 * or from a context that cannot park go straight to the kernel.  A signal handler runs at once in the waiting thread, and the
 * call goes on (it is not ended with EINTR or a short count). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>

#include "config.h"
#include "fdkind.h"
#include "pshared.h"
#include "rawsys.h"
#include "real.h"

/* Not a regular file (the kind cached by fdkind.c), and blocking by the
 * program's own flag, looked at now. */
static int may_block(int fd)
{
	if (fd < 0)
		return 0;
	int kind = gs_fd_kind(fd);
	if (kind == GS_FDK_FILE || kind == GS_FDK_UNKNOWN)
		return 0;
	long fl = gs__sys(SYS_fcntl, fd, F_GETFL, 0, 0, 0, 0);
	return fl >= 0 && !(fl & O_NONBLOCK);
}

static int greened(int in, int out)
{
	return (gs_os_on() || gs_socket_on()) && gs_thread_on() && gs_can_park() &&
	       (may_block(in) || may_block(out));
}

struct kernel_call {
	struct helper_call c; /* first */
	long nr, a[6];
	long r;
};

static void on_helper(struct helper_call *hc)
{
	struct kernel_call *k = (struct kernel_call *)hc;
	k->r = gs__sys(k->nr, k->a[0], k->a[1], k->a[2], k->a[3], k->a[4], k->a[5]);
}

/* The system call on a helper, or here when none could be had. */
static long call(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	struct kernel_call k = { .c.fn = on_helper, .nr = nr, .a = { a0, a1, a2, a3, a4, a5 } };
	int here = gs_helper_call(&k.c, 0, GS_PW_OFFLOAD, (const void *)(uintptr_t)nr) == -1;
	if (here)
		k.r = gs__sys(nr, a0, a1, a2, a3, a4, a5);
	else if (k.r == -EPIPE)
		raise(SIGPIPE); /* the kernel sent it to the helper, which blocks it */
	if (k.r < 0 && k.r > -4096) {
		errno = (int)-k.r;
		return -1;
	}
	return k.r;
}

GS_EXPORT ssize_t sendfile(int out, int in, off_t *offset, size_t count)
{
	if (!greened(in, out))
		return GS_REAL(sendfile)(out, in, offset, count);
	return call(SYS_sendfile, out, in, (long)offset, (long)count, 0, 0);
}

GS_EXPORT ssize_t sendfile64(int out, int in, off_t *offset, size_t count) __attribute__((alias("sendfile")));

GS_EXPORT ssize_t splice(int in, off_t *off_in, int out, off_t *off_out, size_t len, unsigned flags)
{
	if (!greened(in, out))
		return GS_REAL(splice)(in, off_in, out, off_out, len, flags);
	return call(SYS_splice, in, (long)off_in, out, (long)off_out, (long)len, flags);
}

GS_EXPORT ssize_t tee(int in, int out, size_t len, unsigned flags)
{
	if (!greened(in, out))
		return GS_REAL(tee)(in, out, len, flags);
	return call(SYS_tee, in, out, (long)len, flags, 0, 0);
}

GS_EXPORT ssize_t copy_file_range(int in, off_t *off_in, int out, off_t *off_out, size_t len, unsigned flags)
{
	if (!greened(in, out))
		return GS_REAL(copy_file_range)(in, off_in, out, off_out, len, flags);
	return call(SYS_copy_file_range, in, (long)off_in, out, (long)off_out, (long)len, flags);
}

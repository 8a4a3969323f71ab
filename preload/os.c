/* The os subsystem (GREENSHIM_OS), and the fd bookkeeping every I/O
 * subsystem relies on.
 *
 * read, write, readv, writev on pipes, FIFOs, ttys, eventfds and other
 * pollable files park the green thread instead of the OS thread (on
 * sockets they belong to the socket subsystem; regular files, directories
 * and block devices never wait and go straight through).  pread/pwrite
 * are not interposed: on anything that can block they fail with ESPIPE;
 * preadv2/pwritev2 at the file position with no flags are readv/writev.
 *
 * close, dup2, dup3, close_range, closefrom, fclose, pclose, freopen and
 * closedir
 * end the waits of other green threads on the fd they close or replace
 * (EBADF), stop the hub's watchers for it before the real close, and make
 * the fd's kind be looked at anew: a later fd with the same number is
 * never taken for the old one. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "filelock.h"
#include "io.h"
#include "real.h"

static int io_subsystems_on(void)
{
	return gs_socket_on() || gs_os_on() || gs_select_on();
}

GS_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	int kind;
	if (!gs_io_greened(fd, &kind) || n > SSIZE_MAX)
		return GS_REAL(read)(fd, buf, n);
	struct iovec v = { .iov_base = buf, .iov_len = n };
	return gs_io_readv(fd, kind, &v, 1);
}

GS_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	int kind;
	if (!gs_io_greened(fd, &kind) || n > SSIZE_MAX)
		return GS_REAL(write)(fd, buf, n);
	struct iovec v = { .iov_base = (void *)buf, .iov_len = n };
	return gs_io_writev(fd, kind, &v, 1);
}

GS_EXPORT ssize_t __read(int fd, void *buf, size_t n) __attribute__((alias("read")));
GS_EXPORT ssize_t __write(int fd, const void *buf, size_t n) __attribute__((alias("write")));

/* _FORTIFY_SOURCE's read when the buffer's size is known (Debian builds
 * most packages so). */
GS_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		__chk_fail();
	return read(fd, buf, n);
}

/* readv and writev read the program's vector before any system call: a
 * NULL one goes to the kernel (EFAULT). */
GS_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
	int kind;
	if (!gs_io_greened(fd, &kind) || iovcnt <= 0 || iovcnt > IOV_MAX || !iov)
		return GS_REAL(readv)(fd, iov, iovcnt);
	return gs_io_readv(fd, kind, iov, iovcnt);
}

GS_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	int kind;
	if (!gs_io_greened(fd, &kind) || iovcnt <= 0 || iovcnt > IOV_MAX || !iov)
		return GS_REAL(writev)(fd, iov, iovcnt);
	return gs_io_writev(fd, kind, iov, iovcnt);
}

/* preadv2/pwritev2 at offset -1 (the file position) with no flags are
 * readv/writev; with an offset or flags they are the kernel's (an offset on
 * a pipe is ESPIPE, RWF_NOWAIT the program's own non-blocking attempt). */
GS_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int iovcnt, off_t off, int flags)
{
	if (off == -1 && flags == 0)
		return readv(fd, iov, iovcnt);
	return GS_REAL(preadv2)(fd, iov, iovcnt, off, flags);
}

GS_EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int iovcnt, off_t off, int flags)
{
	if (off == -1 && flags == 0)
		return writev(fd, iov, iovcnt);
	return GS_REAL(pwritev2)(fd, iov, iovcnt, off, flags);
}

GS_EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int iovcnt, off_t off, int flags)
	__attribute__((alias("preadv2")));
GS_EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int iovcnt, off_t off, int flags)
	__attribute__((alias("pwritev2")));

/* ---- a file description's flags change ---------------------------------- */

/* Whatever fd the program names, the description may be shared with other
 * fds (dup): every "verified blocking" bit is dropped (fdkind.h). */
static void flags_may_change(int cmd)
{
	if (cmd == F_SETFL)
		gs_fd_flags_changed();
}

/* F_DUPFD and F_DUPFD_CLOEXEC make an fd (fdmake.c). */
static void after_fcntl(int fd, int cmd, int r)
{
	flags_may_change(cmd);
	if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && r >= 0)
		gs_fd_duplicated(fd, r);
}

/* glibc's fcntl takes its third argument as a pointer-sized value. */
GS_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	flags_may_change(cmd);
	int r = GS_REAL(fcntl)(fd, cmd, arg);
	after_fcntl(fd, cmd, r); /* and after: a look taken meanwhile is stale */
	return r;
}

GS_EXPORT int __fcntl(int fd, int cmd, ...) __attribute__((alias("fcntl")));

GS_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	flags_may_change(cmd);
	int r = GS_REAL(fcntl64)(fd, cmd, arg);
	after_fcntl(fd, cmd, r);
	return r;
}

GS_EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (request == FIONBIO)
		gs_fd_flags_changed();
	int r = GS_REAL(ioctl)(fd, request, arg);
	if (request == FIONBIO)
		gs_fd_flags_changed();
	return r;
}

/* ---- the fd changes meaning --------------------------------------------- */

static void closing(int fd)
{
	if (fd < 0)
		return;
	gs_fd_closing(fd);
	gs_fd_forget(fd);
}

GS_EXPORT int close(int fd)
{
	if (io_subsystems_on())
		closing(fd);
	return GS_REAL(close)(fd);
}

GS_EXPORT int __close(int fd) __attribute__((alias("close")));

/* dup2 and dup3 close new only when old is valid (else they fail EBADF
 * and leave new alone). */
static int valid_fd(int fd)
{
	return gs__sys(SYS_fcntl, fd, F_GETFD, 0, 0, 0, 0) >= 0;
}

GS_EXPORT int dup2(int old, int new)
{
	if (old != new && io_subsystems_on() && valid_fd(old))
		closing(new);
	int r = GS_REAL(dup2)(old, new);
	if (r >= 0 && old != new)
		gs_fd_duplicated(old, new);
	return r;
}

GS_EXPORT int __dup2(int old, int new)
{
	return dup2(old, new);
}

GS_EXPORT int dup3(int old, int new, int flags)
{
	if (old != new && io_subsystems_on() && valid_fd(old))
		closing(new);
	int r = GS_REAL(dup3)(old, new, flags);
	if (r >= 0)
		gs_fd_duplicated(old, new);
	return r;
}

GS_EXPORT int close_range(unsigned lo, unsigned hi, int flags)
{
	if (io_subsystems_on() && !(flags & CLOSE_RANGE_CLOEXEC) && lo <= hi) {
		gs_fd_closing_range(lo, hi);
		gs_fd_forget_range(lo, hi);
	}
	return GS_REAL(close_range)(lo, hi, flags);
}

GS_EXPORT void closefrom(int lo)
{
	if (io_subsystems_on() && lo >= 0) {
		gs_fd_closing_range((unsigned)lo, ~0u);
		gs_fd_forget_range((unsigned)lo, ~0u);
	}
	GS_REAL(closefrom)(lo);
}

/* stdio closes and reopens fds inside libc, where we cannot see it. */
static void closing_stream(FILE *f)
{
	if (f && io_subsystems_on())
		closing(fileno_unlocked(f)); /* the caller waited for f already */
}

GS_EXPORT int fclose(FILE *f)
{
	gs_file_wait(f);
	closing_stream(f);
	return GS_REAL_TRAPPED(fclose)(f); /* its flush into a full pipe parks */
}

GS_EXPORT int pclose(FILE *f)
{
	gs_file_wait(f);
	closing_stream(f);
	return GS_REAL_TRAPPED(pclose)(f); /* its wait4 parks this thread (trap.c) */
}

/* closedir(NULL) fails with EINVAL in glibc. */
static int dir_fd(DIR *d)
{
	return d ? dirfd(d) : -1;
}

GS_EXPORT int closedir(DIR *d)
{
	if (io_subsystems_on())
		closing(dir_fd(d));
	return GS_REAL(closedir)(d);
}

GS_EXPORT FILE *freopen(const char *path, const char *mode, FILE *f)
{
	gs_file_wait(f);
	closing_stream(f);
	FILE *r = GS_REAL(freopen)(path, mode, f);
	closing_stream(r);
	return r;
}

GS_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *f)
{
	gs_file_wait(f);
	closing_stream(f);
	FILE *r = GS_REAL(freopen64)(path, mode, f);
	closing_stream(r);
	return r;
}

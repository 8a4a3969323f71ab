/* Every fd-making function libc exports, beyond sockets (socket.c):
 * pipes, files, eventfd & co., ptys, temporary files, and the stdio and
 * directory streams that open an fd inside libc.
 *
 * Each marks its new fd number as made by this process (GS_FDV_OWN: no
 * other process shares its file description yet) with its kind left to be
 * learnt on first use (fdkind.h).  So a number that was closed behind the
 * shim (a raw close system call) and is made again here never keeps the
 * kind of what it was before; and the kind is what fstat says the fd is,
 * not what the function's name promises (a test swaps the real table's
 * entries for functions that hand out other kinds).  The cost is one
 * fstat on the first greened call on each fd, the same as for an fd
 * inherited across exec.
 *
 * Not here: dup2, dup3, fcntl(F_DUPFD*) (os.c, with the close paths) and
 * socket, socketpair, accept, accept4 (socket.c: those are sockets). */
#include <dirent.h>
#include <fcntl.h>
#include <pty.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "config.h"
#include "fdkind.h"
#include "real.h"

static int made(int fd)
{
	if (fd >= 0)
		gs_fd_created(fd, GS_FDK_UNKNOWN);
	return fd;
}

static FILE *made_stream(FILE *f)
{
	if (f)
		made(fileno_unlocked(f)); /* no other thread knows f yet */
	return f;
}

/* ---- pipes ---------------------------------------------------------------- */

GS_EXPORT int pipe(int fds[2])
{
	int r = GS_REAL(pipe)(fds);
	if (r == 0) {
		made(fds[0]);
		made(fds[1]);
	}
	return r;
}

GS_EXPORT int __pipe(int fds[2])
{
	return pipe(fds);
}

GS_EXPORT int pipe2(int fds[2], int flags)
{
	int r = GS_REAL(pipe2)(fds, flags);
	if (r == 0) {
		made(fds[0]);
		made(fds[1]);
	}
	return r;
}

/* ---- open and its fortified and 64-bit names ------------------------------- */

/* open's mode argument is there when the flags create a file. */
static int needs_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define MODE_ARG(flags, mode)                                                                  \
	do {                                                                                   \
		if (needs_mode(flags)) {                                                       \
			va_list ap;                                                            \
			va_start(ap, flags);                                                   \
			mode = va_arg(ap, mode_t);                                             \
			va_end(ap);                                                            \
		}                                                                              \
	} while (0)

GS_EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	return made(GS_REAL(open)(path, flags, mode));
}

GS_EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	return made(GS_REAL(open64)(path, flags, mode));
}

GS_EXPORT int __open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	return made(GS_REAL(open)(path, flags, mode));
}

GS_EXPORT int __open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	return made(GS_REAL(open64)(path, flags, mode));
}

GS_EXPORT int openat(int dir, const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	return made(GS_REAL(openat)(dir, path, flags, mode));
}

GS_EXPORT int openat64(int dir, const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	return made(GS_REAL(openat64)(dir, path, flags, mode));
}

/* _FORTIFY_SOURCE's open when the flags are not a constant and no mode is
 * given: libc's checks that no mode was needed, then opens. */
GS_EXPORT int __open_2(const char *path, int flags)
{
	return made(GS_REAL(__open_2)(path, flags));
}

GS_EXPORT int __open64_2(const char *path, int flags)
{
	return made(GS_REAL(__open64_2)(path, flags));
}

GS_EXPORT int __openat_2(int dir, const char *path, int flags)
{
	return made(GS_REAL(__openat_2)(dir, path, flags));
}

GS_EXPORT int __openat64_2(int dir, const char *path, int flags)
{
	return made(GS_REAL(__openat64_2)(dir, path, flags));
}

GS_EXPORT int creat(const char *path, mode_t mode)
{
	return made(GS_REAL(creat)(path, mode));
}

GS_EXPORT int creat64(const char *path, mode_t mode)
{
	return made(GS_REAL(creat64)(path, mode));
}

GS_EXPORT int open_by_handle_at(int mount, struct file_handle *h, int flags)
{
	return made(GS_REAL(open_by_handle_at)(mount, h, flags));
}

/* ---- dup ------------------------------------------------------------------- */

GS_EXPORT int dup(int old)
{
	int fd = GS_REAL(dup)(old);
	if (fd >= 0)
		gs_fd_duplicated(old, fd);
	return fd;
}

/* ---- anonymous-inode fds --------------------------------------------------- */

GS_EXPORT int eventfd(unsigned count, int flags)
{
	return made(GS_REAL(eventfd)(count, flags));
}

/* signalfd on an existing fd changes its mask and makes nothing. */
GS_EXPORT int signalfd(int fd, const sigset_t *mask, int flags)
{
	int r = GS_REAL(signalfd)(fd, mask, flags);
	return fd == -1 ? made(r) : r;
}

GS_EXPORT int timerfd_create(clockid_t clock, int flags)
{
	return made(GS_REAL(timerfd_create)(clock, flags));
}

GS_EXPORT int epoll_create(int size)
{
	return made(GS_REAL(epoll_create)(size));
}

GS_EXPORT int epoll_create1(int flags)
{
	return made(GS_REAL(epoll_create1)(flags));
}

GS_EXPORT int inotify_init(void)
{
	return made(GS_REAL(inotify_init)());
}

GS_EXPORT int inotify_init1(int flags)
{
	return made(GS_REAL(inotify_init1)(flags));
}

GS_EXPORT int fanotify_init(unsigned flags, unsigned event_flags)
{
	return made(GS_REAL(fanotify_init)(flags, event_flags));
}

GS_EXPORT int memfd_create(const char *name, unsigned flags)
{
	return made(GS_REAL(memfd_create)(name, flags));
}

GS_EXPORT int pidfd_open(pid_t pid, unsigned flags)
{
	return made(GS_REAL(pidfd_open)(pid, flags));
}

GS_EXPORT int pidfd_getfd(int pidfd, int target, unsigned flags)
{
	return made(GS_REAL(pidfd_getfd)(pidfd, target, flags));
}

/* ---- terminals -------------------------------------------------------------- */

GS_EXPORT int posix_openpt(int flags)
{
	return made(GS_REAL(posix_openpt)(flags));
}

GS_EXPORT int getpt(void)
{
	return made(GS_REAL(getpt)());
}

GS_EXPORT int openpty(int *master, int *slave, char *name, const struct termios *tio,
		      const struct winsize *ws)
{
	int r = GS_REAL(openpty)(master, slave, name, tio, ws);
	if (r == 0) {
		made(*master);
		made(*slave);
	}
	return r;
}

/* ---- temporary files -------------------------------------------------------- */

GS_EXPORT int mkstemp(char *tmpl)
{
	return made(GS_REAL(mkstemp)(tmpl));
}

GS_EXPORT int mkstemp64(char *tmpl)
{
	return made(GS_REAL(mkstemp64)(tmpl));
}

GS_EXPORT int mkostemp(char *tmpl, int flags)
{
	return made(GS_REAL(mkostemp)(tmpl, flags));
}

GS_EXPORT int mkostemp64(char *tmpl, int flags)
{
	return made(GS_REAL(mkostemp64)(tmpl, flags));
}

GS_EXPORT int mkstemps(char *tmpl, int suffix)
{
	return made(GS_REAL(mkstemps)(tmpl, suffix));
}

GS_EXPORT int mkstemps64(char *tmpl, int suffix)
{
	return made(GS_REAL(mkstemps64)(tmpl, suffix));
}

GS_EXPORT int mkostemps(char *tmpl, int suffix, int flags)
{
	return made(GS_REAL(mkostemps)(tmpl, suffix, flags));
}

GS_EXPORT int mkostemps64(char *tmpl, int suffix, int flags)
{
	return made(GS_REAL(mkostemps64)(tmpl, suffix, flags));
}

/* ---- streams that open an fd inside libc ------------------------------------ */

GS_EXPORT FILE *fopen(const char *path, const char *mode)
{
	return made_stream(GS_REAL(fopen)(path, mode));
}

GS_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	return made_stream(GS_REAL(fopen64)(path, mode));
}

GS_EXPORT FILE *tmpfile(void)
{
	return made_stream(GS_REAL(tmpfile)());
}

GS_EXPORT FILE *tmpfile64(void)
{
	return made_stream(GS_REAL(tmpfile64)());
}

/* The child shares every description (spawn.c). */
GS_EXPORT FILE *popen(const char *command, const char *mode)
{
	gs_fd_shared_all();
	return made_stream(GS_REAL(popen)(command, mode));
}

GS_EXPORT DIR *opendir(const char *path)
{
	DIR *d = GS_REAL(opendir)(path);
	if (d)
		made(dirfd(d));
	return d;
}

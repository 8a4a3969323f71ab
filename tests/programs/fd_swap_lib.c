/*
 * fd_swap_lib — libfd_swap.so, fault injection in the shim's real-call
 * table (SQLite's os_unix.c swaps its syscall table the same way).
 *
 * It defines libc's fd-making functions; a program linking it gets them in
 * place of libc's, and so does the shim, whose dlsym(RTLD_NEXT) searches
 * the libraries after libgreenshim.so.  Each hands out another kind of fd
 * than its name says when the environment variable FD_SWAP asks, read
 * anew on every call (a program may change it between calls):
 *
 *   FD_SWAP=NAME=KIND[,NAME=KIND...]     unset or no entry: libc's own call
 *
 *   NAME        the calls it covers                          KIND
 *   socket      socket                                       file, pipe, socketpair
 *   socketpair  socketpair (sv[0] a pipe's read end,         pipe
 *               sv[1] its write end)
 *   pipe        pipe, pipe2 (fds[0], fds[1] the two ends     socketpair
 *               of an AF_UNIX stream socketpair)
 *   eventfd     eventfd                                      file, pipe, socketpair
 *   signalfd    signalfd(-1, ...) (a new one only)           file, pipe, socketpair
 *   timerfd     timerfd_create                               file, pipe, socketpair
 *   inotify     inotify_init, inotify_init1                  file, pipe, socketpair
 *   epoll       epoll_create, epoll_create1                  file, pipe, socketpair
 *   memfd       memfd_create                                 file, pipe, socketpair
 *   open        open, openat, creat (and the *64 names), for file, pipe, socketpair
 *               paths starting with "/tmp/fd_swap" only (the
 *               path is not opened; other paths are libc's)
 *   mkstemp     mkstemp (the file is made and named as by    file, pipe, socketpair
 *               libc, but the fd returned is the substitute)
 *
 *   file        a regular file in /tmp, already unlinked, empty, O_RDWR
 *               (whatever access mode the call asked for)
 *   pipe        a pipe's read end (its write end for open/openat with
 *               O_WRONLY, and for creat)
 *   socketpair  one end of an AF_UNIX stream socketpair
 *
 * The contract of the call is kept: the call is first made for real, so
 * every error libc gives (a bad flag, a bad domain, EMFILE) comes back as
 * is; that fd is closed and the substitute made with the call's O_CLOEXEC
 * and O_NONBLOCK (SOCK_*, EFD_*, SFD_*, TFD_*, IN_*, EPOLL_CLOEXEC,
 * MFD_CLOEXEC; O_DIRECT of pipe2 makes a SOCK_SEQPACKET pair).  What the
 * kind cannot carry is dropped: an eventfd's initial value, a signalfd's
 * mask, a timerfd's clock.
 *
 * accept and accept4 stay libc's: they accept for real.
 *
 * The other end of a one-fd substitute (pipe, socketpair) stays open in
 * the library, blocking and close-on-exec; fd_swap_peer(fd) returns it
 * (and, given that other end, fd).  Closing either is the program's job.
 *
 * Every fd the library makes or closes goes through functions resolved
 * with dlsym(RTLD_NEXT): never through the PLT, where the shim would see
 * the substitute being made and learn its true kind.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

/* The paths open & co. swap. */
#define FD_SWAP_OPEN_PREFIX "/tmp/fd_swap"

enum kind { NONE, FILE_KIND, PIPE_KIND, SOCKETPAIR_KIND };

/* ---- libc, behind the shim's back ------------------------------------- */

struct libc {
	int (*close)(int);
	int (*fcntl)(int, int, ...);
	int (*fstat)(int, struct stat *);
	int (*mkostemp)(char *, int);
	int (*unlink)(const char *);
	int (*pipe2)(int *, int);
	int (*socketpair)(int, int, int, int *);
	int (*socket)(int, int, int);
	int (*eventfd)(unsigned, int);
	int (*signalfd)(int, const sigset_t *, int);
	int (*timerfd_create)(int, int);
	int (*inotify_init1)(int);
	int (*epoll_create)(int);
	int (*epoll_create1)(int);
	int (*memfd_create)(const char *, unsigned);
	int (*open)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*mkstemp)(char *);
};

static struct libc libc;

/* Filled on first use; every thread that races here stores the same
 * pointers. */
static const struct libc *real(void)
{
	static int done;
	if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
		return &libc;
#define R(name) __atomic_store_n((void **)&libc.name, dlsym(RTLD_NEXT, #name), __ATOMIC_RELAXED)
	R(close);
	R(fcntl);
	R(fstat);
	R(mkostemp);
	R(unlink);
	R(pipe2);
	R(socketpair);
	R(socket);
	R(eventfd);
	R(signalfd);
	R(timerfd_create);
	R(inotify_init1);
	R(epoll_create);
	R(epoll_create1);
	R(memfd_create);
	R(open);
	R(openat);
	R(mkstemp);
#undef R
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	return &libc;
}

/* ---- FD_SWAP ------------------------------------------------------------ */

/* What FD_SWAP says for name (NONE when nothing or something unknown). */
static enum kind wanted(const char *name)
{
	const char *s = getenv("FD_SWAP");
	size_t n = strlen(name);
	while (s && *s) {
		if (strncmp(s, name, n) == 0 && s[n] == '=') {
			const char *v = s + n + 1;
			size_t len = strcspn(v, ",");
			if (len == 4 && strncmp(v, "file", 4) == 0)
				return FILE_KIND;
			if (len == 4 && strncmp(v, "pipe", 4) == 0)
				return PIPE_KIND;
			if (len == 10 && strncmp(v, "socketpair", 10) == 0)
				return SOCKETPAIR_KIND;
			return NONE;
		}
		s = strchr(s, ',');
		if (s)
			s++;
	}
	return NONE;
}

/* ---- the other ends ----------------------------------------------------- */

#define MAX_PAIRED 4096

/* fd's other end, and both inodes when they were paired: a number closed
 * and reused since no longer matches. */
static struct pairing {
	int peer;
	dev_t dev, peer_dev;
	ino_t ino, peer_ino;
} pairs[MAX_PAIRED];

static int same_file(int fd, dev_t dev, ino_t ino)
{
	struct stat st;
	return real()->fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

static void pair_one(int fd, int peer)
{
	struct stat a, b;
	if (fd < 0 || fd >= MAX_PAIRED || real()->fstat(fd, &a) != 0 || real()->fstat(peer, &b) != 0)
		return;
	pairs[fd] = (struct pairing){ .peer = peer + 1, /* 0: none */
				      .dev = a.st_dev, .ino = a.st_ino,
				      .peer_dev = b.st_dev, .peer_ino = b.st_ino };
}

EXPORT int fd_swap_peer(int fd)
{
	if (fd < 0 || fd >= MAX_PAIRED || pairs[fd].peer == 0)
		return -1;
	const struct pairing *p = &pairs[fd];
	if (!same_file(fd, p->dev, p->ino) || !same_file(p->peer - 1, p->peer_dev, p->peer_ino))
		return -1;
	return p->peer - 1;
}

/* ---- substitutes -------------------------------------------------------- */

/* Sets fd's close-on-exec and non-blocking flags to what flags asks. */
static int set_flags(int fd, int flags)
{
	const struct libc *c = real();
	int fl = c->fcntl(fd, F_GETFL);
	if (fl < 0 || c->fcntl(fd, F_SETFD, (flags & O_CLOEXEC) ? FD_CLOEXEC : 0) < 0 ||
	    c->fcntl(fd, F_SETFL, (flags & O_NONBLOCK) ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) < 0)
		return -1;
	return 0;
}

static int temp_file(int flags)
{
	const struct libc *c = real();
	char path[] = "/tmp/fd_swap_file.XXXXXX";
	int fd = c->mkostemp(path, flags & (O_CLOEXEC | O_NONBLOCK));
	if (fd >= 0)
		c->unlink(path);
	return fd;
}

/* One fd of the kind, with flags' O_CLOEXEC and O_NONBLOCK; a pair's other
 * end is kept (fd_swap_peer).  writer: a pipe's write end is wanted. */
static int substitute(enum kind k, int flags, int writer)
{
	const struct libc *c = real();
	int p[2];
	if (k == FILE_KIND)
		return temp_file(flags);
	if (k == PIPE_KIND ? c->pipe2(p, O_CLOEXEC) < 0
			   : c->socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
		return -1;
	int fd = p[writer], peer = p[!writer];
	if (set_flags(fd, flags) < 0) {
		int e = errno;
		c->close(p[0]);
		c->close(p[1]);
		errno = e;
		return -1;
	}
	pair_one(fd, peer);
	pair_one(peer, fd);
	return fd;
}

/* The real call made r (or failed: r < 0, errno set): the substitute in its
 * place, or r itself when nothing is asked. */
static int replace(int r, enum kind k, int flags, int writer)
{
	if (r < 0 || k == NONE)
		return r;
	int e = errno;
	real()->close(r);
	errno = e;
	return substitute(k, flags, writer);
}

/* ---- sockets and pipes -------------------------------------------------- */

EXPORT int socket(int domain, int type, int protocol)
{
	int r = real()->socket(domain, type, protocol);
	return replace(r, wanted("socket"), type & (SOCK_CLOEXEC | SOCK_NONBLOCK), 0);
}

EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
	const struct libc *c = real();
	if (wanted("socketpair") != PIPE_KIND)
		return c->socketpair(domain, type, protocol, sv);
	int t[2];
	if (c->socketpair(domain, type, protocol, t) < 0)
		return -1;
	c->close(t[0]);
	c->close(t[1]);
	return c->pipe2(sv, type & (SOCK_CLOEXEC | SOCK_NONBLOCK));
}

static int make_pipe(int fds[2], int flags)
{
	const struct libc *c = real();
	if (wanted("pipe") != SOCKETPAIR_KIND)
		return c->pipe2(fds, flags);
	int t[2];
	if (c->pipe2(t, flags) < 0)
		return -1;
	c->close(t[0]);
	c->close(t[1]);
	int type = ((flags & O_DIRECT) ? SOCK_SEQPACKET : SOCK_STREAM) |
		   ((flags & O_CLOEXEC) ? SOCK_CLOEXEC : 0) | ((flags & O_NONBLOCK) ? SOCK_NONBLOCK : 0);
	return c->socketpair(AF_UNIX, type, 0, fds);
}

EXPORT int pipe2(int fds[2], int flags)
{
	return make_pipe(fds, flags);
}

EXPORT int pipe(int fds[2])
{
	return make_pipe(fds, 0);
}

/* ---- anonymous inodes --------------------------------------------------- */

EXPORT int eventfd(unsigned initval, int flags)
{
	int r = real()->eventfd(initval, flags);
	return replace(r, wanted("eventfd"), flags & (EFD_CLOEXEC | EFD_NONBLOCK), 0);
}

EXPORT int signalfd(int fd, const sigset_t *mask, int flags)
{
	int r = real()->signalfd(fd, mask, flags);
	if (fd != -1)
		return r; /* an existing one given a new mask */
	return replace(r, wanted("signalfd"), flags & (SFD_CLOEXEC | SFD_NONBLOCK), 0);
}

EXPORT int timerfd_create(int clockid, int flags)
{
	int r = real()->timerfd_create(clockid, flags);
	return replace(r, wanted("timerfd"), flags & (TFD_CLOEXEC | TFD_NONBLOCK), 0);
}

static int make_inotify(int flags)
{
	int r = real()->inotify_init1(flags);
	return replace(r, wanted("inotify"), flags & (IN_CLOEXEC | IN_NONBLOCK), 0);
}

EXPORT int inotify_init1(int flags)
{
	return make_inotify(flags);
}

EXPORT int inotify_init(void)
{
	return make_inotify(0);
}

EXPORT int epoll_create1(int flags)
{
	int r = real()->epoll_create1(flags);
	return replace(r, wanted("epoll"), flags & EPOLL_CLOEXEC, 0);
}

EXPORT int epoll_create(int size)
{
	int r = real()->epoll_create(size);
	return replace(r, wanted("epoll"), 0, 0);
}

EXPORT int memfd_create(const char *name, unsigned flags)
{
	int r = real()->memfd_create(name, flags);
	return replace(r, wanted("memfd"), (flags & MFD_CLOEXEC) ? O_CLOEXEC : 0, 0);
}

/* ---- paths -------------------------------------------------------------- */

static enum kind wanted_path(const char *path)
{
	if (!path || strncmp(path, FD_SWAP_OPEN_PREFIX, sizeof FD_SWAP_OPEN_PREFIX - 1) != 0)
		return NONE;
	return wanted("open");
}

/* The path is not opened: the substitute alone is what the call makes. */
static int open_substitute(enum kind k, int flags)
{
	return substitute(k, flags & (O_CLOEXEC | O_NONBLOCK), (flags & O_ACCMODE) == O_WRONLY);
}

static int do_open(int dir, const char *path, int flags, mode_t mode)
{
	enum kind k = wanted_path(path);
	if (k != NONE)
		return open_substitute(k, flags);
	if (dir == AT_FDCWD)
		return real()->open(path, flags, mode);
	return real()->openat(dir, path, flags, mode);
}

EXPORT int openat(int dir, const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (__OPEN_NEEDS_MODE(flags)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return do_open(dir, path, flags, mode);
}

EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	if (__OPEN_NEEDS_MODE(flags)) {
		va_list ap;
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return do_open(AT_FDCWD, path, flags, mode);
}

EXPORT int creat(const char *path, mode_t mode)
{
	return do_open(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

EXPORT int open64(const char *path, int flags, ...) __attribute__((alias("open")));
EXPORT int openat64(int dir, const char *path, int flags, ...) __attribute__((alias("openat")));
EXPORT int creat64(const char *path, mode_t mode) __attribute__((alias("creat")));

EXPORT int mkstemp(char *template)
{
	int r = real()->mkstemp(template);
	return replace(r, wanted("mkstemp"), 0, 0);
}

EXPORT int mkstemp64(char *template) __attribute__((alias("mkstemp")));

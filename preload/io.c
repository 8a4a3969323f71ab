/* The blocking-call engine (io.h): attempts, waits, and the read/write
 * loops shared by the socket and os subsystems. */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "io.h"
#include "real.h"

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

int gs_io_ready(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	struct timespec zero = { 0, 0 };
	return gs__sys(SYS_ppoll, (long)&p, 1, (long)&zero, 0, 8, 0) > 0;
}

/* The socket's SO_RCVTIMEO/SO_SNDTIMEO as a deadline from now. */
static void socket_deadline(struct gs_io *io)
{
	struct timeval tv;
	socklen_t len = sizeof tv;
	if (gs__sys(SYS_getsockopt, io->fd, SOL_SOCKET, io->timeo_opt, (long)&tv, (long)&len, 0) < 0 ||
	    (tv.tv_sec == 0 && tv.tv_usec == 0))
		return;
	struct timespec rel = { .tv_sec = tv.tv_sec, .tv_nsec = tv.tv_usec * 1000L };
	gs_deadline_in(&io->d, &rel);
	io->timed = 1;
}

/* No hub can be made (out of memory): block the OS thread in poll. */
static int wait_natively(struct gs_io *io)
{
	struct pollfd p = { .fd = io->fd, .events = io->events == GS_FD_READ ? POLLIN : POLLOUT };
	struct timespec left, *tp = NULL;
	if (io->timed) {
		gs_deadline_left(&io->d, &left);
		tp = &left;
	}
	long r = gs__sys(SYS_ppoll, (long)&p, 1, (long)tp, 0, 8, 0);
	if (r == 0) {
		errno = EAGAIN;
		return -1;
	}
	return r < 0 ? (int)gs_sysret(r) : 0;
}

/* ---- the kind cache heals itself ------------------------------------------ *
 *
 * Invariant: the fd-kind cache never makes a call fail, or wait, where the
 * program's own call would not.
 *
 * Why it holds.  A cached kind is right unless the number was closed and
 * made again where no interposer saw it (a raw system call instruction,
 * or a close inside libc): every close path and every fd-making function
 * libc exports passes through us (os.c, fdmake.c, socket.c, syscall.c)
 * and makes the kind be learnt again from fstat.  For what slips past,
 * the calls that work on every kind of fd (read, write, readv, writev:
 * io->any_kind) learn the fd again
 * - when an attempt fails in a way only the cached kind's way of calling
 *   can: ENOTSOCK from sendmsg/recvmsg on what is no socket now;
 *   EOPNOTSUPP or EINVAL from RWF_NOWAIT on what is no pipe now;
 * - before the first wait of a call on an fd whose blocking mode is not
 *   vouched for (gs_fd_verified) and whose number no interposer of ours
 *   handed out (gs_fd_made: its kind was learnt for the file it names):
 *   so a stale kind never makes a call wait (a regular file is never
 *   waited on; a socket's SO_RCVTIMEO is honoured).
 * and then make the attempt again the new kind's way.  An error the
 * program's own call would give is never hidden: the relearnt kind is the
 * fd's real one, and the call made for it is the one that kind uses.
 * send, recv & co. keep ENOTSOCK: natively they fail so too.
 *
 * What is left (README): an fd that this process (or its parent before
 * a fork) made, then closed and made again behind every interposer
 * (raw system calls: see the syscall-level greening) keeps its old kind
 * until it is closed through us; a regular file taken for a pipe then
 * polls as always ready, and a pipe taken for a file blocks the OS
 * thread. */
static int relearn(struct gs_io *io)
{
	int k = gs_fd_relearn(io->fd);
	if (k == GS_FDK_NOWAIT && io->kind == GS_FDK_POLLED) {
		gs_fd_set_kind(io->fd, GS_FDK_POLLED); /* as found before: no RWF_NOWAIT */
		return 0;
	}
	if (k == io->kind)
		return 0;
	io->kind = k;
	return 1;
}

int gs_io_wait(struct gs_io *io)
{
	if (!io->checked) {
		io->checked = 1;
		unsigned bit = io->events == GS_FD_WRITE ? GS_FDV_WRITE : GS_FDV_READ;
		if (!gs_fd_verified(io->fd, bit)) {
			/* About to wait on a kind nothing vouches for: the fd is
			 * learnt again first (see relearn below). */
			if (io->any_kind && !gs_fd_made(io->fd) && relearn(io)) {
				io->checked = 0; /* the new kind's wait looks again */
				return 0;
			}
			unsigned epoch = gs_fd_epoch(); /* before looking: a change meanwhile wins */
			long fl = gs__sys(SYS_fcntl, io->fd, F_GETFL, 0, 0, 0, 0);
			if (fl < 0)
				return (int)gs_sysret(fl);
			if (fl & O_NONBLOCK) { /* the program asked for EAGAIN */
				errno = EAGAIN;
				return -1;
			}
			if (io->kind == GS_FDK_SOCKET && io->timeo_opt)
				socket_deadline(io);
			if (!io->timed)
				gs_fd_set_verified(io->fd, bit, epoch);
		}
	}
	/* signal(7): a call on a socket with a timeout is never restarted. */
	int intr = (io->timed ? GS_INTR_ALWAYS : GS_INTR_UNLESS_RESTART) | GS_WAIT_CANCELLABLE;
	int restart;
	int events = io->events | (gs_fd_made(io->fd) ? GS_FD_SAME_FILE : 0);
	int how = gs_fd_wait(io->fd, events, io->timed ? &io->d : NULL, intr, &restart);
	switch (how) {
	case GS_WOKEN:
		return 0;
	case GS_TIMEDOUT:
		errno = EAGAIN;
		return -1;
	case GS_INTERRUPTED:
		if (restart)
			return 0;
		errno = EINTR;
		return -1;
	case GS_CANCELED:
		gs_testcancel();
		errno = EINTR;
		return -1;
	case GS_CLOSED:
		errno = EBADF;
		return -1;
	case -EAGAIN:
		return wait_natively(io);
	default:
		errno = -how;
		return -1;
	}
}

/* ---- a lone thread's call, made in the kernel --------------------------- *
 *
 * With green threads (the thread subsystem), a thread with nobody else on
 * its hub makes its call as the program wrote it, blocking in the kernel
 * (scheduler/direct.c): a pipe hand-off then costs the reader's read and
 * the writer's write, nothing else.  Everything the program sees is the
 * kernel's own answer: the description's O_NONBLOCK (set by whoever, in
 * any process), a socket's timeouts, partial transfers, SIGPIPE, EINTR
 * and SA_RESTART; a cancellation, a pthread_kill or a close through us
 * while it is in the kernel act as on a parked thread.  With real threads
 * (GREENSHIM_THREAD=0) glibc's pthread_cancel must find the call inside
 * glibc's own cancellable wrapper, so they keep the parked way.
 *
 * Returns GS_DIRECT_NOT_ALONE when the call was not made and takes the
 * parked way (someone else on the OS thread, or made while the caller's
 * handler interrupted its own call in the kernel). */
static long direct(int fd, int w, long nr, long a, long b, long c)
{
	if (!gs_thread_on() || !gs_direct_possible())
		return GS_DIRECT_NOT_ALONE;
	gs__urg_install(); /* the kicks' handler (once) */
	return gs_direct_call(nr, a, b, c, fd, w ? GS_PW_WRITE : GS_PW_READ);
}

/* A vector of one buffer is the program's read or write (what read(2)
 * and write(2) reach us as): made as that call, which the kernel serves
 * without copying in a vector.  The same answer as readv/writev's for
 * every buffer of at most SSIZE_MAX bytes (a longer one is readv's
 * EINVAL, but read's clamped count). */
static long direct_rw(int fd, int w, const struct iovec *iov, int iovcnt)
{
	if (iovcnt == 1 && iov[0].iov_len <= SSIZE_MAX)
		return direct(fd, w, w ? SYS_write : SYS_read, fd, (long)iov[0].iov_base,
			      (long)iov[0].iov_len);
	return direct(fd, w, w ? SYS_writev : SYS_readv, fd, (long)iov, iovcnt);
}

/* ---- attempts ---------------------------------------------------------- */

/* One non-blocking attempt to move m's data (recvmsg/sendmsg semantics;
 * flags are a socket call's own): -1 with EAGAIN when it would block. */
static ssize_t attempt(struct gs_io *io, const struct msghdr *m, int flags)
{
	int w = io->events == GS_FD_WRITE;
	const struct iovec *iov = m->msg_iov;
	int iovcnt = (int)m->msg_iovlen;
	switch (io->kind) {
	case GS_FDK_SOCKET: {
		/* read/write on a socket are recvmsg/sendmsg with no flags */
		long r = gs__sys(w ? SYS_sendmsg : SYS_recvmsg, io->fd, (long)m, flags | MSG_DONTWAIT,
				 0, 0, 0);
		if (gs_unlikely(r == -ENOTSOCK) && io->any_kind && relearn(io))
			return attempt(io, m, flags);
		return gs_sysret(r);
	}
	case GS_FDK_FILE: /* learnt again: a file never waits */
		return w ? GS_REAL(writev)(io->fd, iov, iovcnt) : GS_REAL(readv)(io->fd, iov, iovcnt);
	case GS_FDK_NOWAIT: {
		long r = gs__sys(w ? SYS_pwritev2 : SYS_preadv2, io->fd, (long)iov, iovcnt, -1, 0,
				 RWF_NOWAIT);
		if (r != -EOPNOTSUPP && r != -EINVAL)
			return gs_sysret(r);
		if (io->any_kind && relearn(io))
			return attempt(io, m, flags); /* no pipe (any more) */
		/* EINVAL may be the call's own (an epoll fd or pidfd cannot be
		 * read, an eventfd wants 8 bytes): a call of no bytes, which
		 * never waits, says whether the fd takes this direction at all. */
		if (r == -EINVAL) {
			char none;
			long z = gs__sys(w ? SYS_write : SYS_read, io->fd, (long)&none, 0, 0, 0, 0);
			if (z == -EINVAL)
				return gs_sysret(z);
		}
		/* This file (a FIFO, say) takes no RWF_NOWAIT: poll first from
		 * now on.  A genuine EINVAL comes back from the real call. */
		io->kind = GS_FDK_POLLED;
		gs_fd_set_kind(io->fd, GS_FDK_POLLED);
	}
		/* fall through */
	default:
		if (!gs_io_ready(io->fd, w ? POLLOUT : POLLIN)) {
			errno = EAGAIN;
			return -1;
		}
		if (!w)
			return GS_REAL(readv)(io->fd, iov, iovcnt);
		/* Writable means room for at least PIPE_BUF bytes: more could
		 * block, so a large write goes in PIPE_BUF pieces (a write of at
		 * most PIPE_BUF stays whole, as atomic as natively). */
		struct iovec piece[1];
		if (gs_io_msg_size(m) <= PIPE_BUF)
			return GS_REAL(writev)(io->fd, iov, iovcnt);
		int i = 0;
		while (i < iovcnt - 1 && iov[i].iov_len == 0)
			i++;
		piece[0].iov_base = iov[i].iov_base;
		piece[0].iov_len = iov[i].iov_len < PIPE_BUF ? iov[i].iov_len : PIPE_BUF;
		return GS_REAL(writev)(io->fd, piece, 1);
	}
}

ssize_t gs_io_readv(int fd, int kind, const struct iovec *iov, int iovcnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt };
	if (gs_io_msg_size(&m) == 0) /* never waits natively (a socket returns 0
				       * at once and leaves a queued datagram alone) */
		return GS_REAL(readv)(fd, iov, iovcnt);
	struct gs_io io;
	gs_io_init(&io, fd, GS_FD_READ, kind);
	io.any_kind = 1;
	gs_testcancel();
	long d = direct_rw(fd, 0, iov, iovcnt);
	if (d != GS_DIRECT_NOT_ALONE)
		return gs_sysret(d);
	int saved = errno; /* a success leaves errno alone, whatever was tried */
	for (;;) {
		ssize_t r = attempt(&io, &m, 0);
		if (r >= 0)
			errno = saved;
		if (r >= 0 || errno != EAGAIN)
			return r;
		if (gs_io_wait(&io) < 0)
			return -1;
	}
}

/* ---- vectors ------------------------------------------------------------- */

size_t gs_io_msg_size(const struct msghdr *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->msg_iovlen; i++)
		n += m->msg_iov[i].iov_len;
	return n;
}

void gs_io_msg_advance(struct msghdr *m, size_t n)
{
	while (m->msg_iovlen > 0 && n >= m->msg_iov->iov_len) {
		n -= m->msg_iov->iov_len;
		m->msg_iov++;
		m->msg_iovlen--;
	}
	if (m->msg_iovlen > 0) {
		m->msg_iov->iov_base = (char *)m->msg_iov->iov_base + n;
		m->msg_iov->iov_len -= n;
	}
}

struct iovec *gs_io_msg_own_iov(struct msghdr *m, struct iovec small[GS_IO_SMALL_IOV])
{
	struct iovec *copy = small;
	if (m->msg_iovlen > GS_IO_SMALL_IOV && !(copy = malloc(m->msg_iovlen * sizeof *copy))) {
		errno = ENOMEM;
		return NULL;
	}
	memcpy(copy, m->msg_iov, m->msg_iovlen * sizeof *copy);
	m->msg_iov = copy;
	return copy;
}

/* ---- writing everything ---------------------------------------------------- */

/* An unconnected AF_UNIX datagram (or seqpacket) socket. */
static int unix_datagram(int fd)
{
	int domain = 0, type = 0;
	socklen_t l = sizeof domain;
	if (gs__sys(SYS_getsockopt, fd, SOL_SOCKET, SO_DOMAIN, (long)&domain, (long)&l, 0) < 0)
		return 0;
	l = sizeof type;
	if (gs__sys(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, (long)&type, (long)&l, 0) < 0)
		return 0;
	return domain == AF_UNIX && type != SOCK_STREAM;
}

/* any_kind: the write family (see relearn). */
static ssize_t send_all(int fd, int kind, const struct msghdr *msg, int flags, int any_kind)
{
	struct gs_io io;
	gs_io_init(&io, fd, GS_FD_WRITE, kind);
	io.any_kind = any_kind;
	gs_testcancel();
	/* A write of the write family is writev of the message's vector; a
	 * send family's is sendmsg with the program's flags. */
	long d = any_kind ? direct_rw(fd, 1, msg->msg_iov, (int)msg->msg_iovlen)
			  : direct(fd, 1, SYS_sendmsg, fd, (long)msg, flags);
	if (d != GS_DIRECT_NOT_ALONE)
		return gs_sysret(d);
	int saved = errno; /* a success leaves errno alone, whatever was tried */
	ssize_t r = attempt(&io, msg, flags);
	size_t total = gs_io_msg_size(msg);
	if (r >= 0 && (size_t)r == total) {
		errno = saved;
		return r; /* the usual case: all at once */
	}
	if (r < 0 && errno != EAGAIN)
		return r; /* a real error */
	if (r < 0 && io.kind == GS_FDK_SOCKET && msg->msg_name && unix_datagram(fd))
		/* It waits for room in the peer's queue, which polling our own
		 * socket cannot see (it is always writable): block as natively. */
		return GS_REAL(sendmsg)(fd, msg, flags);
	/* Part of it (or nothing) went: the rest needs a copy of the vector
	 * that can be advanced. */
	struct msghdr m = *msg;
	struct iovec small[GS_IO_SMALL_IOV], *own = gs_io_msg_own_iov(&m, small);
	if (!own)
		return r > 0 ? r : -1;
	size_t done = 0;
	for (;;) {
		if (r >= 0) {
			done += (size_t)r;
			if (done == total)
				break;
			gs_io_msg_advance(&m, (size_t)r);
			/* Ancillary data went with the first byte. */
			m.msg_control = NULL;
			m.msg_controllen = 0;
		} else if (errno != EAGAIN) {
			break; /* EPIPE and friends */
		}
		/* wait for room, as the kernel would */
		if (gs_io_wait(&io) < 0)
			break; /* EAGAIN (timeout, O_NONBLOCK), EINTR, EBADF */
		r = attempt(&io, &m, flags);
	}
	if (own != small)
		free(own);
	/* After a part, the count; the error shows up on the next call. */
	if (done > 0) {
		errno = saved;
		return (ssize_t)done;
	}
	return -1;
}

ssize_t gs_io_send_all(int fd, int kind, const struct msghdr *msg, int flags)
{
	return send_all(fd, kind, msg, flags, 0);
}

ssize_t gs_io_writev(int fd, int kind, const struct iovec *iov, int iovcnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt };
	return send_all(fd, kind, &m, 0, 1);
}

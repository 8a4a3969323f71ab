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

int gs_io_wait(struct gs_io *io)
{
	if (!io->checked) {
		io->checked = 1;
		unsigned bit = io->events == GS_FD_WRITE ? GS_FDV_WRITE : GS_FDV_READ;
		if (!gs_fd_verified(io->fd, bit)) {
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
	int events = io->events | (gs_fd_owned(io->fd) ? GS_FD_SAME_FILE : 0);
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

/* ---- attempts ---------------------------------------------------------- */

/* One non-blocking readv/writev: -1 with EAGAIN when it would block. */
static ssize_t attempt(struct gs_io *io, const struct iovec *iov, int iovcnt)
{
	int w = io->events == GS_FD_WRITE;
	switch (io->kind) {
	case GS_FDK_SOCKET: {
		struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt };
		/* read/write on a socket are recvmsg/sendmsg with no flags */
		return gs_sysret(gs__sys(w ? SYS_sendmsg : SYS_recvmsg, io->fd, (long)&m, MSG_DONTWAIT,
					 0, 0, 0));
	}
	case GS_FDK_NOWAIT: {
		long r = gs__sys(w ? SYS_pwritev2 : SYS_preadv2, io->fd, (long)iov, iovcnt, -1, 0,
				 RWF_NOWAIT);
		if (r != -EOPNOTSUPP && r != -EINVAL)
			return gs_sysret(r);
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
		size_t total = 0;
		for (int i = 0; i < iovcnt; i++)
			total += iov[i].iov_len;
		if (total <= PIPE_BUF)
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
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (total == 0) /* never waits natively (a socket returns 0 at once and
			 * leaves a queued datagram alone) */
		return GS_REAL(readv)(fd, iov, iovcnt);
	struct gs_io io;
	gs_io_init(&io, fd, GS_FD_READ, kind);
	gs_testcancel();
	for (;;) {
		ssize_t r = attempt(&io, iov, iovcnt);
		if (r >= 0 || errno != EAGAIN)
			return r;
		if (gs_io_wait(&io) < 0)
			return -1;
	}
}

/* Skips the first n bytes of a vector (in place). */
static void advance(struct iovec **iov, int *iovcnt, size_t n)
{
	while (*iovcnt > 0 && n >= (*iov)->iov_len) {
		n -= (*iov)->iov_len;
		(*iov)++;
		(*iovcnt)--;
	}
	if (*iovcnt > 0) {
		(*iov)->iov_base = (char *)(*iov)->iov_base + n;
		(*iov)->iov_len -= n;
	}
}

#define SMALL_IOV 8

ssize_t gs_io_writev(int fd, int kind, const struct iovec *iov, int iovcnt)
{
	struct gs_io io;
	gs_io_init(&io, fd, GS_FD_WRITE, kind);
	gs_testcancel();
	ssize_t r = attempt(&io, iov, iovcnt);
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	if (r >= 0 ? (size_t)r == total : errno != EAGAIN)
		return r; /* the usual case: all at once, or a real error */
	/* Part of it (or nothing) went: the rest needs a copy of the vector
	 * that can be advanced. */
	struct iovec small[SMALL_IOV], *copy = small;
	if (iovcnt > SMALL_IOV && !(copy = malloc(iovcnt * sizeof *copy))) {
		errno = ENOMEM;
		return r > 0 ? r : -1;
	}
	memcpy(copy, iov, iovcnt * sizeof *copy);
	struct iovec *cur = copy;
	int left = iovcnt;
	size_t done = r > 0 ? (size_t)r : 0;
	advance(&cur, &left, done);
	for (;;) {
		if (r < 0 && gs_io_wait(&io) < 0)
			break; /* EAGAIN (timeout, O_NONBLOCK), EINTR, EBADF */
		r = attempt(&io, cur, left);
		if (r < 0) {
			if (errno != EAGAIN)
				break; /* EPIPE and friends */
			continue;
		}
		done += r;
		if (done == total)
			break;
		advance(&cur, &left, r);
		r = -1; /* a part went: wait for room, as the kernel would */
		errno = EAGAIN;
	}
	if (copy != small)
		free(copy);
	/* After a part, the count; the error shows up on the next call. */
	return done > 0 ? (ssize_t)done : -1;
}

/* The engine behind every greened blocking I/O call (socket.c, os.c).
 *
 * A greened call makes non-blocking attempts (MSG_DONTWAIT, RWF_NOWAIT, or
 * a zero-timeout poll before the real call) and, when one fails with
 * EAGAIN, asks gs_io_wait whether the program's own call would have
 * blocked (the fd is blocking from its point of view: O_NONBLOCK clear) and
 * if so parks the green thread until the fd is ready.  The file
 * description's flags are never changed (except around connect, see
 * socket.c), so what fcntl(F_GETFL) shows, what other processes sharing
 * the description see, and what stdio's own unhooked reads and writes get
 * all stay native. */
#ifndef GS_IO_H
#define GS_IO_H

#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "config.h"
#include "fdkind.h"
#include "rawsys.h"

/* One blocking call in progress. */
struct gs_io {
	int fd;
	int events;          /* GS_FD_READ or GS_FD_WRITE */
	int kind;            /* enum gs_fd_kind */
	int timeo_opt;       /* the socket timeout for its direction (sockets only) */
	int checked;         /* blocking mode and timeout have been looked at */
	int any_kind;        /* read/write & co., which work on every kind of fd:
			      * a kind found stale is learnt again (io.c) */
	int timed;           /* the socket has that timeout: d is the deadline */
	struct gs_deadline d;
};

static inline void gs_io_init(struct gs_io *io, int fd, int events, int kind)
{
	io->fd = fd;
	io->events = events;
	io->kind = kind;
	io->timeo_opt = events == GS_FD_WRITE ? SO_SNDTIMEO : SO_RCVTIMEO;
	io->checked = 0;
	io->any_kind = 0;
	io->timed = 0;
}

/* After an attempt failed with EAGAIN: 0 to try again (the fd is ready,
 * or an SA_RESTART handler ran), or -1 with errno what the call fails with:
 * EAGAIN (O_NONBLOCK set by the program, or the socket timeout passed),
 * EINTR, EBADF (the fd was closed meanwhile). */
int gs_io_wait(struct gs_io *io);

/* Whether fd's blocking calls are greened for the caller; *kind is set. */
static inline int gs_io_greened(int fd, int *kind)
{
	if (!gs_can_park())
		return 0;
	int k = gs_fd_kind(fd);
	*kind = k;
	if (k == GS_FDK_SOCKET)
		return gs_socket_on();
	return k >= GS_FDK_NOWAIT && gs_os_on();
}

/* A raw system call's result as libc returns it. */
static inline long gs_sysret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* 1 if a poll of fd for events (POLLIN/POLLOUT) says a call would not block
 * now (including errors and hang-ups, which the call then reports). */
int gs_io_ready(int fd, short events);

/* Blocking readv/writev semantics for fd of the given kind (not a regular
 * file): a read returns as soon as anything arrived; a write transfers
 * everything unless interrupted, timed out or failed after a part, which
 * it then reports as a short count, as the kernel does. */
ssize_t gs_io_readv(int fd, int kind, const struct iovec *iov, int iovcnt);
ssize_t gs_io_writev(int fd, int kind, const struct iovec *iov, int iovcnt);
/* The same write for a message: a blocking sendmsg with the program's
 * flags (a socket), or writev of msg's vector (other kinds).  The one loop
 * behind write, writev, send, sendto and sendmsg. */
ssize_t gs_io_send_all(int fd, int kind, const struct msghdr *msg, int flags);

/* Message vectors: the bytes a message holds; skipping n of them (in the
 * vector itself); and giving m a vector of its own that may be advanced
 * (small, or malloc'ed when longer: free the result if it is not small;
 * NULL with ENOMEM). */
#define GS_IO_SMALL_IOV 8
size_t gs_io_msg_size(const struct msghdr *m);
void gs_io_msg_advance(struct msghdr *m, size_t n);
struct iovec *gs_io_msg_own_iov(struct msghdr *m, struct iovec small[GS_IO_SMALL_IOV]);

/* signal.c: ppoll, pselect and epoll_pwait install their mask for the
 * wait; begin returns 1 when a handled signal is already deliverable
 * (the call then fails with EINTR after end). */
#include <signal.h>
int gs__wait_mask_begin(const sigset_t *set, uint64_t *old);
void gs__wait_mask_end(uint64_t old);

#endif

/* The socket subsystem (GREENSHIM_SOCKET): accept, connect, send*, recv*
 * (and read/write on sockets, through io.c) park the green thread until
 * the socket is ready instead of blocking the OS thread.
 *
 * Every attempt is non-blocking by its own flag (MSG_DONTWAIT), so the
 * socket's O_NONBLOCK stays what the program set; a program that set it,
 * or passed MSG_DONTWAIT, gets EAGAIN exactly as natively.  SO_RCVTIMEO
 * and SO_SNDTIMEO end a wait with EAGAIN (a partial count for a send that
 * moved some bytes; EINPROGRESS for connect, as Linux does).  Two calls
 * have no per-call non-blocking flag:
 * - accept is made once a zero-timeout poll says a connection waits; no
 *   other green thread of the hub can take it in between (a process
 *   sharing the listening socket could, and then accept blocks as natively);
 * - connect sets O_NONBLOCK for the duration of the system call only,
 *   then waits for the outcome and reports it as a blocking connect would.
 * shutdown needs nothing: the kernel makes the socket ready, which wakes
 * its waiters. */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "io.h"
#include "real.h"

static int greened(int fd)
{
	int kind;
	return gs_io_greened(fd, &kind) && kind == GS_FDK_SOCKET;
}

GS_EXPORT int socket(int domain, int type, int protocol)
{
	int fd = GS_REAL(socket)(domain, type, protocol);
	if (fd >= 0)
		gs_fd_created(fd, GS_FDK_SOCKET);
	return fd;
}

GS_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
	int r = GS_REAL(socketpair)(domain, type, protocol, sv);
	if (r == 0) {
		gs_fd_created(sv[0], GS_FDK_SOCKET);
		gs_fd_created(sv[1], GS_FDK_SOCKET);
	}
	return r;
}

/* A new send or receive timeout may apply to a socket whose waits were
 * found untimed (fdkind.h). */
GS_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO ||
				    name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW))
		gs_fd_flags_changed();
	int r = GS_REAL(setsockopt)(fd, level, name, val, len);
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO ||
				    name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW))
		gs_fd_flags_changed(); /* and after: a look taken meanwhile is stale */
	return r;
}

/* ---- accept ------------------------------------------------------------ */

static int accept_greened(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct gs_io io;
	gs_io_init(&io, fd, GS_FD_READ, GS_FDK_SOCKET);
	gs_testcancel();
	for (int first = 1;; first = 0) {
		if (gs_io_ready(fd, POLLIN)) {
			int r = GS_REAL(accept4)(fd, addr, len, flags);
			if (r >= 0)
				gs_fd_created(r, GS_FDK_SOCKET);
			if (r >= 0 || errno != EAGAIN)
				return r;
		} else if (first) {
			/* Not listening (a UDP socket, say): the real call fails
			 * at once with the right errno. */
			int on = 0;
			socklen_t l = sizeof on;
			if (gs__sys(SYS_getsockopt, fd, SOL_SOCKET, SO_ACCEPTCONN, (long)&on, (long)&l,
				    0) < 0 ||
			    !on)
				return GS_REAL(accept4)(fd, addr, len, flags);
		}
		if (gs_io_wait(&io) < 0)
			return -1;
	}
}

GS_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	if (!greened(fd))
		return GS_REAL(accept)(fd, addr, len);
	return accept_greened(fd, addr, len, 0);
}

GS_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	if (!greened(fd))
		return GS_REAL(accept4)(fd, addr, len, flags);
	return accept_greened(fd, addr, len, flags);
}

/* ---- connect ----------------------------------------------------------- */

/* One connect system call with O_NONBLOCK set for its duration: no other
 * green thread of this hub runs before the flags are back. */
static int connect_nonblocking(int fd, long fl, const struct sockaddr *addr, socklen_t len)
{
	gs__sys(SYS_fcntl, fd, F_SETFL, fl | O_NONBLOCK, 0, 0, 0);
	int r = GS_REAL(connect)(fd, addr, len);
	int e = errno;
	gs__sys(SYS_fcntl, fd, F_SETFL, fl, 0, 0, 0);
	errno = e;
	return r;
}

/* The outcome is read back with a second connect, not SO_ERROR: that
 * moves the socket to the state a blocking connect leaves (connected, so
 * the next connect is EISCONN; or unconnected after a refusal, so the next
 * one tries again), exactly as the kernel's own blocking path does. */
GS_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (!greened(fd))
		return GS_REAL(connect)(fd, addr, len);
	gs_testcancel();
	long fl = gs__sys(SYS_fcntl, fd, F_GETFL, 0, 0, 0, 0);
	if (fl < 0 || (fl & O_NONBLOCK))
		return GS_REAL(connect)(fd, addr, len);
	int r = connect_nonblocking(fd, fl, addr, len);
	if (r == 0)
		return 0;
	if (errno == EAGAIN && addr && addr->sa_family == AF_UNIX)
		return GS_REAL(connect)(fd, addr, len); /* a full backlog: block as natively */
	if (errno != EINPROGRESS)
		return r;
	struct gs_io io;
	gs_io_init(&io, fd, GS_FD_WRITE, GS_FDK_SOCKET);
	for (;;) {
		if (gs_io_wait(&io) < 0) {
			if (errno == EAGAIN) /* SO_SNDTIMEO passed: Linux says */
				errno = EINPROGRESS;
			return -1;
		}
		r = connect_nonblocking(fd, fl, addr, len);
		if (r == 0 || errno != EALREADY)
			return r;
	}
}

GS_EXPORT int __connect(int fd, const struct sockaddr *addr, socklen_t len) __attribute__((alias("connect")));

/* ---- send -------------------------------------------------------------- */

/* fds sent with SCM_RIGHTS share their descriptions with the receiver
 * (fdkind.h: no longer ours alone).  Before the send: the receiver may
 * change their flags as soon as they arrive. */
static void sending_fds(const struct msghdr *msg)
{
	if (!msg || !msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)msg); c;
	     c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		const unsigned char *p = CMSG_DATA(c);
		for (size_t i = 0; i < n; i++) {
			int sent;
			memcpy(&sent, p + i * sizeof sent, sizeof sent);
			gs_fd_shared(sent);
		}
	}
}

/* A blocking send is gs_io_send_all: all of it, unless a signal, the send
 * timeout or an error comes after a part (then the part's count). */
GS_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	sending_fds(msg);
	if ((flags & MSG_DONTWAIT) || !greened(fd))
		return GS_REAL(sendmsg)(fd, msg, flags);
	return gs_io_send_all(fd, GS_FDK_SOCKET, msg, flags);
}

GS_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
			 socklen_t tolen)
{
	if ((flags & MSG_DONTWAIT) || !greened(fd))
		return GS_REAL(sendto)(fd, buf, n, flags, to, tolen);
	struct iovec v = { .iov_base = (void *)buf, .iov_len = n };
	struct msghdr m = { .msg_name = (void *)to, .msg_namelen = tolen, .msg_iov = &v, .msg_iovlen = 1 };
	return gs_io_send_all(fd, GS_FDK_SOCKET, &m, flags);
}

GS_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	if ((flags & MSG_DONTWAIT) || !greened(fd))
		return GS_REAL(send)(fd, buf, n, flags);
	struct iovec v = { .iov_base = (void *)buf, .iov_len = n };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	return gs_io_send_all(fd, GS_FDK_SOCKET, &m, flags);
}

GS_EXPORT ssize_t __send(int fd, const void *buf, size_t n, int flags) __attribute__((alias("send")));

/* A blocking sendmmsg sends every message, each as a blocking sendmsg;
 * after a failure it reports how many went. */
GS_EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
	for (unsigned i = 0; v && i < n && i < UIO_MAXIOV; i++)
		sending_fds(&v[i].msg_hdr);
	if ((flags & MSG_DONTWAIT) || !greened(fd) || n == 0)
		return GS_REAL(sendmmsg)(fd, v, n, flags);
	struct gs_io io;
	gs_io_init(&io, fd, GS_FD_WRITE, GS_FDK_SOCKET);
	gs_testcancel();
	unsigned done = 0;
	if (n > UIO_MAXIOV)
		n = UIO_MAXIOV; /* as the kernel */
	for (;;) {
		long r = gs__sys(SYS_sendmmsg, fd, (long)(v + done), n - done, flags | MSG_DONTWAIT, 0, 0);
		if (r == 0)
			return (int)done;
		if (r > 0) {
			done += r;
			if (done == n)
				return (int)done;
			continue;
		}
		if (r != -EAGAIN || gs_io_wait(&io) < 0) {
			if (done)
				return (int)done;
			return (int)(r != -EAGAIN ? gs_sysret(r) : -1);
		}
	}
}

/* ---- receive ----------------------------------------------------------- */

/* A blocking recvmsg; with MSG_WAITALL on a stream, until the buffer is
 * full, the peer closes, or a signal or the timeout ends it after a part. */
static ssize_t recv_wait(int fd, struct msghdr *msg, int flags)
{
	struct gs_io io;
	gs_io_init(&io, fd, GS_FD_READ, GS_FDK_SOCKET);
	gs_testcancel();
	long r;
	while ((r = gs__sys(SYS_recvmsg, fd, (long)msg, flags | MSG_DONTWAIT, 0, 0, 0)) == -EAGAIN)
		if (gs_io_wait(&io) < 0)
			return -1;
	if (r <= 0 || !(flags & MSG_WAITALL) || (size_t)r == gs_io_msg_size(msg) || (flags & MSG_PEEK))
		return gs_sysret(r);
	/* MSG_WAITALL and a part: go on with a copy of the vector.  For a
	 * datagram socket one message is all there is (the kernel ignores
	 * WAITALL there), so only streams continue. */
	int type = 0;
	socklen_t l = sizeof type;
	if (gs__sys(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, (long)&type, (long)&l, 0) < 0 ||
	    type != SOCK_STREAM)
		return r;
	size_t total = gs_io_msg_size(msg), done = (size_t)r;
	struct msghdr m = *msg;
	struct iovec small[GS_IO_SMALL_IOV], *copy = gs_io_msg_own_iov(&m, small);
	if (!copy)
		return (ssize_t)done;
	m.msg_name = NULL;
	m.msg_namelen = 0;
	m.msg_control = NULL;
	m.msg_controllen = 0;
	gs_io_msg_advance(&m, done);
	while (done < total) {
		r = gs__sys(SYS_recvmsg, fd, (long)&m, flags | MSG_DONTWAIT, 0, 0, 0);
		if (r == 0)
			break; /* end of stream */
		if (r > 0) {
			done += r;
			gs_io_msg_advance(&m, r);
			continue;
		}
		if (r != -EAGAIN || gs_io_wait(&io) < 0)
			break; /* a part went: its count; the error comes next call */
	}
	if (copy != small)
		free(copy);
	msg->msg_flags = m.msg_flags;
	return (ssize_t)done;
}

GS_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	if ((flags & MSG_DONTWAIT) || !greened(fd))
		return GS_REAL(recvmsg)(fd, msg, flags);
	return recv_wait(fd, msg, flags);
}

GS_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from,
			   socklen_t *fromlen)
{
	if ((flags & MSG_DONTWAIT) || !greened(fd) || (from && !fromlen))
		return GS_REAL(recvfrom)(fd, buf, n, flags, from, fromlen);
	struct iovec v = { .iov_base = buf, .iov_len = n };
	struct msghdr m = { .msg_name = from, .msg_namelen = from ? *fromlen : 0, .msg_iov = &v,
			    .msg_iovlen = 1 };
	ssize_t r = recv_wait(fd, &m, flags);
	if (r >= 0 && from)
		*fromlen = m.msg_namelen;
	return r;
}

GS_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	if ((flags & MSG_DONTWAIT) || !greened(fd))
		return GS_REAL(recv)(fd, buf, n, flags);
	struct iovec v = { .iov_base = buf, .iov_len = n };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	return recv_wait(fd, &m, flags);
}

/* _FORTIFY_SOURCE's recv and recvfrom when the buffer's size is known. */
GS_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (n > buflen)
		__chk_fail();
	return recv(fd, buf, n, flags);
}

GS_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
				 struct sockaddr *from, socklen_t *fromlen)
{
	if (n > buflen)
		__chk_fail();
	return recvfrom(fd, buf, n, flags, from, fromlen);
}

/* A blocking recvmmsg waits for the first message, then (unless
 * MSG_WAITFORONE) for every one; its timeout is only looked at after each
 * message arrives, as in Linux. */
GS_EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned n, int flags, struct timespec *timeout)
{
	if ((flags & MSG_DONTWAIT) || !greened(fd) || n == 0 ||
	    (timeout && !gs_timespec_valid(timeout)))
		return GS_REAL(recvmmsg)(fd, v, n, flags, timeout);
	struct gs_io io;
	gs_io_init(&io, fd, GS_FD_READ, GS_FDK_SOCKET);
	gs_testcancel();
	struct gs_deadline end = { 0 };
	if (timeout)
		gs_deadline_in(&end, timeout);
	unsigned done = 0;
	if (n > UIO_MAXIOV)
		n = UIO_MAXIOV;
	for (;;) {
		long r = gs__sys(SYS_recvmmsg, fd, (long)(v + done), n - done, flags | MSG_DONTWAIT, 0, 0);
		if (r == 0)
			break;
		if (r > 0) {
			done += r;
			struct timespec left = { 1, 0 };
			if (timeout)
				gs_deadline_left(&end, &left);
			if (done == n || (flags & MSG_WAITFORONE) || (!left.tv_sec && !left.tv_nsec))
				break;
			continue;
		}
		if (r != -EAGAIN || gs_io_wait(&io) < 0) {
			if (done)
				break;
			return (int)(r != -EAGAIN ? gs_sysret(r) : -1);
		}
	}
	if (timeout)
		gs_deadline_left(&end, timeout);
	return (int)done;
}

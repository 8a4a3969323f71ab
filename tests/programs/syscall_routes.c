/*
 * syscall_routes — blocking and fd-making calls made through syscall(2)
 * (as libuv, Go's and Rust's runtimes, and JITs make them) behave as
 * natively: a raw-number call that waits lets the other threads run, with
 * syscall(2)'s contract (-1 and errno, errno untouched on success) and the
 * kernel's own semantics (remaining time written back, sigsetsize checked).
 *
 * Every call under test is made as syscall(SYS_xxx, ...); set-up calls the
 * shim does not route (bind, listen, getsockname, epoll_create1/ctl, fork,
 * kill, pthread_*) are libc's.  A "waiter" thread is created first and
 * makes the blocking call; a "waker" thread created after it naps 20 ms
 * (SYS_nanosleep) and makes the call that ends the wait.  With green
 * threads on one OS thread the waker runs only if the waiter's call
 * yields: a call that does not blocks the process, and the alarm below
 * names the step.
 *   pipes     SYS_read woken by SYS_write; SYS_write (SYS_writev) into a
 *             full pipe drained by SYS_readv (SYS_read); UDP
 *             SYS_recvfrom/SYS_sendto;
 *             SYS_recvmsg/SYS_sendmsg (with an fd passed) and
 *             SYS_recvmmsg/SYS_sendmmsg on a SYS_socketpair
 *   accept    SYS_accept4 and SYS_accept woken by SYS_connect (SYS_socket,
 *             loopback), a few bytes each way
 *   waits     SYS_poll, SYS_ppoll, SYS_select, SYS_pselect6, SYS_epoll_wait,
 *             SYS_epoll_pwait, SYS_epoll_pwait2 woken by a write, and each
 *             timing out: the time left written back where the kernel does
 *   sleeps    SYS_nanosleep and SYS_clock_nanosleep (relative, absolute)
 *             in two threads at once: the shorter ends first
 *   children  SYS_wait4 and SYS_waitid for a child another thread releases
 *             or kills; WNOHANG, WNOWAIT
 *   futex     FUTEX_WAIT and FUTEX_WAIT_BITSET woken by FUTEX_WAKE
 *   fds       SYS_eventfd2, SYS_pipe2, SYS_openat, SYS_fcntl (F_DUPFD_CLOEXEC,
 *             F_SETFL O_NONBLOCK), SYS_dup2, SYS_dup3, SYS_close_range,
 *             SYS_close, used through syscall(2) and through read/write; a
 *             socket closed with SYS_close and its number reused by a file
 *             (SYS_openat) and by a pipe (SYS_pipe2)
 *   signals   a handler ends SYS_read (without SA_RESTART), SYS_poll,
 *             SYS_epoll_wait, SYS_nanosleep, SYS_clock_nanosleep with
 *             EINTR (the sleeps write the time left back); with SA_RESTART
 *             SYS_read goes on; the masks of SYS_ppoll, SYS_pselect6,
 *             SYS_epoll_pwait(2) (kernel sigsets) block or let in SIGUSR1
 *   cancel    syscall(2) is no cancellation point: a thread cancelled in
 *             SYS_read or SYS_nanosleep finishes the call, then is
 *             cancelled at pthread_testcancel
 *   errors    each as "name: ret errno": EBADF, EINVAL (bad clocks,
 *             timespecs, sigsetsizes, flags), ECONNREFUSED, ECHILD, EAGAIN,
 *             EPIPE, ... and errno untouched by calls that succeed
 *
 * usage: syscall_routes [PART...]   (default: every part, in this order)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define KSIGSET 8 /* the kernel's sigset_t: 64 signals */

/* ---- steps, the alarm, failures ------------------------------------------ */

static const char *volatile step = "start";
static int failed;

/* A hang (a call that blocks the only OS thread) becomes a failure naming
 * the step; write(2) and _exit only: the process may be stuck anywhere. */
static void on_alarm(int sig)
{
	static const char msg[] = "syscall_routes: timed out in step: ";
	const char *s = step;
	ssize_t k = write(2, msg, sizeof msg - 1);
	k += write(2, s, strlen(s));
	k += write(2, "\n", 1);
	(void)k;
	(void)sig;
	_exit(3);
}

static void expect(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "syscall_routes: FAIL in %s: %s\n", step, what);
		failed = 1;
	}
}

/* r < 0 is a failure of the set-up, not of the call under test. */
static long need(long r, const char *what)
{
	if (r < 0)
		die(what);
	return r;
}

/* "name: ret ERRNO", errno cleared first: a success prints "0" unless the
 * call touched errno. */
#define SHOW(name, call)                                                  \
	do {                                                              \
		errno = 0;                                                \
		long r_ = (call);                                         \
		int e_ = errno;                                           \
		printf("%s: %ld %s\n", (name), r_, en(e_));               \
	} while (0)

static void nap_ms(long ms)
{
	struct timespec t = ts_of(ms * MS);
	while (syscall(SYS_nanosleep, &t, &t) != 0)
		if (errno != EINTR)
			die("SYS_nanosleep");
}

/* The waiter first, the waker after it; both joined. */
static void run2(void *(*waiter)(void *), void *(*waker)(void *), void *arg)
{
	pthread_t a, b;
	must(pthread_create(&a, NULL, waiter, arg), "pthread_create");
	must(pthread_create(&b, NULL, waker, arg), "pthread_create");
	must(pthread_join(a, NULL), "pthread_join");
	must(pthread_join(b, NULL), "pthread_join");
}

static void make_pipe(int p[2], int flags)
{
	need(syscall(SYS_pipe2, p, flags), "SYS_pipe2");
}

static void close2(int p[2])
{
	syscall(SYS_close, p[0]);
	syscall(SYS_close, p[1]);
}

static int cloexec(int fd)
{
	long f = syscall(SYS_fcntl, fd, F_GETFD);
	return f >= 0 && (f & FD_CLOEXEC);
}

static int left_ns_ok(const struct timespec *t)
{
	long long n = ns_of(t);
	return n > 4000 * MS && n < 5000 * MS;
}

/* ---- pipes and sockets: a waiting call woken by another thread ----------- */

struct io {
	int fd[2];  /* [0] the waiter's, [1] the waker's */
	long r, w;  /* the waiter's and the waker's results */
	int re, we; /* ... and errnos */
	char buf[128];
	size_t cap;                /* full pipe: its size */
	int vec;                   /* full pipe: SYS_writev and SYS_read, not write and readv */
	int in_order;              /* full pipe: the drained bytes are right */
	struct sockaddr_in to;     /* udp: the receiver's address */
	struct sockaddr_in from;   /* udp: where the datagram came from */
	socklen_t fromlen;
	int passed;                /* sendmsg: the fd received, -1 if none */
	int lens[3];               /* mmsg: each message's length */
};

static void *read_waiter(void *arg)
{
	struct io *c = arg;
	c->r = syscall(SYS_read, c->fd[0], c->buf, sizeof c->buf);
	c->re = errno;
	return NULL;
}

static void *write_waker(void *arg)
{
	struct io *c = arg;
	nap_ms(20);
	c->w = syscall(SYS_write, c->fd[1], "hello", 5);
	c->we = errno;
	return NULL;
}

#define FULL_EXTRA 5000

static void *full_writer(void *arg)
{
	struct io *c = arg;
	char b[FULL_EXTRA];
	struct iovec v[2] = { { b, 1000 }, { b + 1000, FULL_EXTRA - 1000 } };
	memset(b, 'w', sizeof b);
	if (c->vec)
		c->w = syscall(SYS_writev, c->fd[1], v, 2);
	else
		c->w = syscall(SYS_write, c->fd[1], b, sizeof b);
	c->we = errno;
	return NULL;
}

static void *full_drainer(void *arg)
{
	struct io *c = arg;
	size_t want = c->cap + FULL_EXTRA, got = 0;
	char a[1000], b[3000];
	nap_ms(20);
	c->in_order = 1;
	while (got < want) {
		struct iovec v[2] = { { a, sizeof a }, { b, sizeof b } };
		long k = c->vec ? syscall(SYS_read, c->fd[0], a, sizeof a) : syscall(SYS_readv, c->fd[0], v, 2);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		for (long i = 0; i < k; i++, got++) {
			char ch = i < (long)sizeof a ? a[i] : b[i - sizeof a];
			if (ch != (got < c->cap ? 'f' : 'w'))
				c->in_order = 0;
		}
	}
	c->r = (long)got;
	return NULL;
}

static void *recvfrom_waiter(void *arg)
{
	struct io *c = arg;
	c->fromlen = sizeof c->from;
	c->r = syscall(SYS_recvfrom, c->fd[0], c->buf, sizeof c->buf, 0, &c->from, &c->fromlen);
	c->re = errno;
	return NULL;
}

static void *sendto_waker(void *arg)
{
	struct io *c = arg;
	nap_ms(20);
	c->w = syscall(SYS_sendto, c->fd[1], "datagram", 8, 0, &c->to, sizeof c->to);
	c->we = errno;
	return NULL;
}

union cmsgbuf {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

static void *recvmsg_waiter(void *arg)
{
	struct io *c = arg;
	union cmsgbuf cb;
	struct iovec v[2] = { { c->buf, 3 }, { c->buf + 3, 20 } };
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 2, .msg_control = cb.buf,
			    .msg_controllen = sizeof cb.buf };
	c->passed = -1;
	c->r = syscall(SYS_recvmsg, c->fd[0], &m, MSG_CMSG_CLOEXEC);
	c->re = errno;
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	if (c->r >= 0 && h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
		memcpy(&c->passed, CMSG_DATA(h), sizeof(int));
	return NULL;
}

static int passing; /* the fd sendmsg_waker passes */

static void *sendmsg_waker(void *arg)
{
	struct io *c = arg;
	union cmsgbuf cb;
	struct iovec v[3] = { { "abc", 3 }, { "defg", 4 }, { "hi", 2 } };
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 3, .msg_control = cb.buf,
			    .msg_controllen = sizeof cb.buf };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &passing, sizeof(int));
	nap_ms(20);
	c->w = syscall(SYS_sendmsg, c->fd[1], &m, 0);
	c->we = errno;
	return NULL;
}

static void *recvmmsg_waiter(void *arg)
{
	struct io *c = arg;
	struct iovec v[3] = { { c->buf, 10 }, { c->buf + 10, 10 }, { c->buf + 20, 10 } };
	struct mmsghdr mm[3];
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < 3; i++) {
		mm[i].msg_hdr.msg_iov = &v[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	/* flags 0, no timeout: waits for all three */
	c->r = syscall(SYS_recvmmsg, c->fd[0], mm, 3, 0, NULL);
	c->re = errno;
	for (int i = 0; i < 3; i++)
		c->lens[i] = (int)mm[i].msg_len;
	return NULL;
}

static void *sendmmsg_waker(void *arg)
{
	struct io *c = arg;
	struct iovec v[3] = { { "x", 1 }, { "yy", 2 }, { "zzz", 3 } };
	struct mmsghdr mm[3];
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < 3; i++) {
		mm[i].msg_hdr.msg_iov = &v[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	nap_ms(20);
	c->w = syscall(SYS_sendmmsg, c->fd[1], mm, 3, 0);
	c->we = errno;
	return NULL;
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int bound(int type)
{
	int fd = (int)need(syscall(SYS_socket, AF_INET, type | SOCK_CLOEXEC, 0), "SYS_socket");
	struct sockaddr_in a = loopback(0);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("bind");
	return fd;
}

static int port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t n = sizeof a;
	if (getsockname(fd, (struct sockaddr *)&a, &n) != 0)
		die("getsockname");
	return ntohs(a.sin_port);
}

static void part_pipes(void)
{
	struct io c;

	step = "pipes: SYS_read woken by SYS_write";
	memset(&c, 0, sizeof c);
	make_pipe(c.fd, O_CLOEXEC);
	run2(read_waiter, write_waker, &c);
	printf("pipe: SYS_read in a thread, woken by SYS_write: %ld %s \"%.*s\", write: %ld\n", c.r,
	       en(c.r < 0 ? c.re : 0), (int)(c.r > 0 ? c.r : 0), c.buf, c.w);
	expect(c.r == 5 && !memcmp(c.buf, "hello", 5), "SYS_read got \"hello\"");
	close2(c.fd);

	for (int vec = 0; vec < 2; vec++) {
		step = vec ? "pipes: SYS_writev into a full pipe, drained by SYS_read" :
			     "pipes: SYS_write into a full pipe, drained by SYS_readv";
		memset(&c, 0, sizeof c);
		c.vec = vec;
		make_pipe(c.fd, O_CLOEXEC);
		c.cap = (size_t)need(syscall(SYS_fcntl, c.fd[1], F_GETPIPE_SZ), "F_GETPIPE_SZ");
		char *fill = malloc(c.cap);
		memset(fill, 'f', c.cap);
		long k = syscall(SYS_write, c.fd[1], fill, c.cap); /* fills it exactly: no wait */
		expect(k == (long)c.cap, "the filling SYS_write wrote the pipe's size");
		free(fill);
		run2(full_writer, full_drainer, &c);
		printf("full pipe: %s of %d in a thread: %ld %s; %s drained size + %ld, in order: %s\n",
		       vec ? "SYS_writev" : "SYS_write", FULL_EXTRA, c.w, en(c.w < 0 ? c.we : 0),
		       vec ? "SYS_read" : "SYS_readv", c.r - (long)c.cap, yesno(c.in_order));
		expect(c.w == FULL_EXTRA && c.r == (long)c.cap + FULL_EXTRA && c.in_order,
		       "the blocked write completed and the drain saw every byte");
		close2(c.fd);
	}

	step = "pipes: UDP SYS_recvfrom woken by SYS_sendto";
	memset(&c, 0, sizeof c);
	c.fd[0] = bound(SOCK_DGRAM);
	c.fd[1] = bound(SOCK_DGRAM);
	c.to = loopback(port_of(c.fd[0]));
	run2(recvfrom_waiter, sendto_waker, &c);
	int from_ok = c.fromlen == sizeof c.from && ntohs(c.from.sin_port) == port_of(c.fd[1]) &&
		      c.from.sin_addr.s_addr == htonl(INADDR_LOOPBACK);
	printf("udp: SYS_recvfrom in a thread, woken by SYS_sendto: %ld %s \"%.*s\", from the sender: %s, "
	       "sendto: %ld\n",
	       c.r, en(c.r < 0 ? c.re : 0), (int)(c.r > 0 ? c.r : 0), c.buf, yesno(from_ok), c.w);
	expect(c.r == 8 && from_ok, "recvfrom got the datagram and its source");
	close2(c.fd);

	step = "pipes: SYS_recvmsg woken by SYS_sendmsg (SCM_RIGHTS)";
	memset(&c, 0, sizeof c);
	int sv[2], pp[2];
	need(syscall(SYS_socketpair, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), "SYS_socketpair");
	c.fd[0] = sv[0];
	c.fd[1] = sv[1];
	make_pipe(pp, O_CLOEXEC);
	passing = pp[0];
	run2(recvmsg_waiter, sendmsg_waker, &c);
	char via[8] = "";
	long pr = -1;
	if (c.passed >= 0) {
		need(syscall(SYS_write, pp[1], "fd!", 3), "SYS_write");
		pr = syscall(SYS_read, c.passed, via, sizeof via);
	}
	printf("socketpair: SYS_recvmsg in a thread, woken by SYS_sendmsg: %ld %s, iov \"%.3s\" \"%.6s\", "
	       "sendmsg: %ld; the passed fd: %s, close-on-exec: %s, reads %ld \"%.*s\"\n",
	       c.r, en(c.r < 0 ? c.re : 0), c.buf, c.buf + 3, c.w, yesno(c.passed >= 0),
	       yesno(c.passed >= 0 && cloexec(c.passed)), pr, (int)(pr > 0 ? pr : 0), via);
	expect(c.r == 9 && pr == 3, "recvmsg got 9 bytes and a working fd");
	if (c.passed >= 0)
		syscall(SYS_close, c.passed);
	close2(pp);

	step = "pipes: SYS_recvmmsg woken by SYS_sendmmsg";
	memset(&c, 0, sizeof c);
	c.fd[0] = sv[0];
	c.fd[1] = sv[1];
	run2(recvmmsg_waiter, sendmmsg_waker, &c);
	printf("socketpair: SYS_recvmmsg (3, no timeout) in a thread, woken by SYS_sendmmsg: %ld %s, "
	       "lengths %d %d %d, \"%.1s\" \"%.2s\" \"%.3s\", sendmmsg: %ld\n",
	       c.r, en(c.r < 0 ? c.re : 0), c.lens[0], c.lens[1], c.lens[2], c.buf, c.buf + 10,
	       c.buf + 20, c.w);
	expect(c.r == 3 && c.w == 3, "three messages each way");
	close2(sv);
}

/* ---- accept and connect ---------------------------------------------------- */

struct tcp {
	int lfd, port;
	int plain;         /* SYS_accept, SYS_read/SYS_write instead of accept4, recvfrom/sendto */
	long afd;          /* the accepted fd */
	int aerr;
	int cloexec;       /* the accepted fd has FD_CLOEXEC */
	int peer_port;     /* what accept4 said the peer is */
	char got[8];       /* what the acceptor read */
	long cr;           /* the connector's SYS_connect */
	int cerr;
	int local_port;    /* the connector's own port */
	char reply[8];     /* what the connector read */
	long eof;          /* the connector's read after the acceptor closed */
};

static void *acceptor(void *arg)
{
	struct tcp *t = arg;
	struct sockaddr_in peer;
	socklen_t plen = sizeof peer;
	long k;
	if (t->plain) {
		t->afd = syscall(SYS_accept, t->lfd, NULL, NULL);
	} else {
		t->afd = syscall(SYS_accept4, t->lfd, &peer, &plen, SOCK_CLOEXEC);
		t->peer_port = ntohs(peer.sin_port);
	}
	t->aerr = errno;
	if (t->afd < 0)
		return NULL;
	t->cloexec = cloexec((int)t->afd);
	if (t->plain)
		k = syscall(SYS_read, t->afd, t->got, 4);
	else
		k = syscall(SYS_recvfrom, t->afd, t->got, 4, MSG_WAITALL, NULL, NULL);
	if (k == 4) {
		if (t->plain)
			syscall(SYS_write, t->afd, "pong", 4);
		else
			syscall(SYS_sendto, t->afd, "pong", 4, 0, NULL, 0);
	}
	syscall(SYS_close, t->afd);
	return NULL;
}

static void *connector(void *arg)
{
	struct tcp *t = arg;
	struct sockaddr_in a = loopback(t->port);
	nap_ms(20);
	int fd = (int)need(syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), "SYS_socket");
	t->cr = syscall(SYS_connect, fd, &a, sizeof a);
	t->cerr = errno;
	if (t->cr == 0) {
		t->local_port = port_of(fd);
		if (t->plain) {
			syscall(SYS_write, fd, "ping", 4);
			syscall(SYS_read, fd, t->reply, 4);
			t->eof = syscall(SYS_read, fd, t->reply + 4, 4);
		} else {
			syscall(SYS_sendto, fd, "ping", 4, 0, NULL, 0);
			syscall(SYS_recvfrom, fd, t->reply, 4, MSG_WAITALL, NULL, NULL);
			t->eof = syscall(SYS_recvfrom, fd, t->reply + 4, 4, 0, NULL, NULL);
		}
	}
	syscall(SYS_close, fd);
	return NULL;
}

static void part_accept(void)
{
	int lfd = bound(SOCK_STREAM);
	if (listen(lfd, 8) != 0)
		die("listen");
	for (int plain = 0; plain < 2; plain++) {
		struct tcp t = { .lfd = lfd, .port = port_of(lfd), .plain = plain, .eof = -2 };
		step = plain ? "accept: SYS_accept woken by SYS_connect" :
			       "accept: SYS_accept4 woken by SYS_connect";
		run2(acceptor, connector, &t);
		printf("tcp: %s in a thread, woken by SYS_connect: fd: %s %s, close-on-exec: %s",
		       plain ? "SYS_accept" : "SYS_accept4(SOCK_CLOEXEC)", yesno(t.afd >= 0),
		       en(t.afd < 0 ? t.aerr : 0), yesno(t.cloexec));
		if (!plain)
			printf(", peer is the connector: %s", yesno(t.peer_port == t.local_port));
		printf("; connect: %ld %s; got \"%.4s\", reply \"%.4s\", then EOF: %s\n", t.cr,
		       en(t.cr < 0 ? t.cerr : 0), t.got, t.reply, yesno(t.eof == 0));
		expect(t.afd >= 0 && t.cr == 0 && !memcmp(t.got, "ping", 4) && !memcmp(t.reply, "pong", 4) &&
			       t.eof == 0 && t.cloexec == !plain,
		       "accept, connect and the exchange");
	}
	syscall(SYS_close, lfd);
}

/* ---- poll, select, epoll ------------------------------------------------- */

struct waitc {
	int rfd, wfd, ep;
	long r;
	int e;
	int readable;   /* the call reported rfd readable */
	char note[96];  /* what became of the timeout passed */
	void (*call)(struct waitc *);
};

static void w_poll(struct waitc *w)
{
	struct pollfd p = { w->rfd, POLLIN, 0 };
	w->r = syscall(SYS_poll, &p, 1, 5000);
	w->e = errno;
	w->readable = p.revents == POLLIN;
}

static void w_ppoll(struct waitc *w)
{
	struct pollfd p = { w->rfd, POLLIN, 0 };
	struct timespec ts = { 5, 0 };
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	w->r = syscall(SYS_ppoll, &p, 1, &ts, &m, KSIGSET);
	w->e = errno;
	w->readable = p.revents == POLLIN;
	snprintf(w->note, sizeof w->note, ", time left written back (4 s < left < 5 s): %s",
		 yesno(left_ns_ok(&ts)));
}

static void w_select(struct waitc *w)
{
	fd_set rs;
	struct timeval tv = { 5, 0 };
	FD_ZERO(&rs);
	FD_SET(w->rfd, &rs);
	w->r = syscall(SYS_select, w->rfd + 1, &rs, NULL, NULL, &tv);
	w->e = errno;
	w->readable = FD_ISSET(w->rfd, &rs);
	struct timespec ts = { tv.tv_sec, tv.tv_usec * 1000L };
	snprintf(w->note, sizeof w->note, ", time left written back (4 s < left < 5 s): %s",
		 yesno(left_ns_ok(&ts)));
}

struct sigarg {
	const sigset_t *ss;
	size_t len;
};

static void w_pselect6(struct waitc *w)
{
	fd_set rs;
	struct timespec ts = { 5, 0 };
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	struct sigarg sa = { &m, KSIGSET };
	FD_ZERO(&rs);
	FD_SET(w->rfd, &rs);
	w->r = syscall(SYS_pselect6, w->rfd + 1, &rs, NULL, NULL, &ts, &sa);
	w->e = errno;
	w->readable = FD_ISSET(w->rfd, &rs);
	snprintf(w->note, sizeof w->note, ", time left written back (4 s < left < 5 s): %s",
		 yesno(left_ns_ok(&ts)));
}

static void epoll_result(struct waitc *w, const struct epoll_event *ev)
{
	w->e = errno;
	w->readable = w->r == 1 && ev->events == EPOLLIN && ev->data.u64 == 0x5eed;
}

static void w_epoll_wait(struct waitc *w)
{
	struct epoll_event ev[4];
	w->r = syscall(SYS_epoll_wait, w->ep, ev, 4, 5000);
	epoll_result(w, ev);
}

static void w_epoll_pwait(struct waitc *w)
{
	struct epoll_event ev[4];
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	w->r = syscall(SYS_epoll_pwait, w->ep, ev, 4, 5000, &m, KSIGSET);
	epoll_result(w, ev);
}

static void w_epoll_pwait2(struct waitc *w)
{
	struct epoll_event ev[4];
	struct timespec ts = { 5, 0 };
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	w->r = syscall(SYS_epoll_pwait2, w->ep, ev, 4, &ts, &m, KSIGSET);
	epoll_result(w, ev);
	snprintf(w->note, sizeof w->note, ", timeout left as passed: %s",
		 yesno(ts.tv_sec == 5 && ts.tv_nsec == 0));
}

static void *wait_waiter(void *arg)
{
	struct waitc *w = arg;
	w->call(w);
	return NULL;
}

static void *byte_waker(void *arg)
{
	struct waitc *w = arg;
	nap_ms(20);
	need(syscall(SYS_write, w->wfd, "!", 1), "SYS_write");
	return NULL;
}

static void timed_out(int rfd, int ep)
{
	struct pollfd p = { rfd, POLLIN, 0 };
	struct timespec ts = ts_of(30 * MS);
	struct epoll_event ev;
	sigset_t m;
	fd_set rs;
	long r;

	step = "waits: timing out";
	SHOW("timeout: SYS_poll 30 ms", syscall(SYS_poll, &p, 1, 30));
	r = syscall(SYS_ppoll, &p, 1, &ts, NULL, KSIGSET);
	printf("timeout: SYS_ppoll 30 ms: %ld, timespec written back {%ld, %ld}\n", r, (long)ts.tv_sec,
	       ts.tv_nsec);
	expect(r == 0 && ts.tv_sec == 0 && ts.tv_nsec == 0, "ppoll timed out and wrote {0, 0} back");

	struct timeval tv = { 0, 30000 };
	FD_ZERO(&rs);
	FD_SET(rfd, &rs);
	r = syscall(SYS_select, rfd + 1, &rs, NULL, NULL, &tv);
	printf("timeout: SYS_select 30 ms: %ld, set cleared: %s, timeval written back {%ld, %ld}\n", r,
	       yesno(!FD_ISSET(rfd, &rs)), (long)tv.tv_sec, (long)tv.tv_usec);
	expect(r == 0 && tv.tv_sec == 0 && tv.tv_usec == 0, "select timed out and wrote {0, 0} back");

	ts = ts_of(30 * MS);
	sigemptyset(&m);
	struct sigarg sa = { &m, KSIGSET };
	FD_ZERO(&rs);
	FD_SET(rfd, &rs);
	r = syscall(SYS_pselect6, rfd + 1, &rs, NULL, NULL, &ts, &sa);
	printf("timeout: SYS_pselect6 30 ms: %ld, set cleared: %s, timespec written back {%ld, %ld}\n", r,
	       yesno(!FD_ISSET(rfd, &rs)), (long)ts.tv_sec, ts.tv_nsec);
	expect(r == 0 && ts.tv_sec == 0 && ts.tv_nsec == 0, "pselect6 timed out and wrote {0, 0} back");

	ts = ts_of(30 * MS);
	r = syscall(SYS_pselect6, rfd + 1, NULL, NULL, NULL, &ts, NULL);
	printf("timeout: SYS_pselect6 30 ms, no sets, no mask argument: %ld, timespec {%ld, %ld}\n", r,
	       (long)ts.tv_sec, ts.tv_nsec);

	SHOW("timeout: SYS_epoll_wait 30 ms", syscall(SYS_epoll_wait, ep, &ev, 1, 30));
	SHOW("timeout: SYS_epoll_pwait 30 ms, no mask", syscall(SYS_epoll_pwait, ep, &ev, 1, 30, NULL, KSIGSET));
	ts = ts_of(30 * MS);
	r = syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, KSIGSET);
	printf("timeout: SYS_epoll_pwait2 30 ms: %ld, timespec left as passed: %s\n", r,
	       yesno(ts.tv_sec == 0 && ts.tv_nsec == 30 * MS));
	SHOW("timeout: SYS_poll 0 ms", syscall(SYS_poll, &p, 1, 0));
	ts = ts_of(0);
	SHOW("timeout: SYS_ppoll {0, 0}", syscall(SYS_ppoll, &p, 1, &ts, NULL, KSIGSET));
}

static void part_waits(void)
{
	static const struct {
		const char *name;
		void (*call)(struct waitc *);
	} calls[] = {
		{ "SYS_poll", w_poll },
		{ "SYS_ppoll (a mask)", w_ppoll },
		{ "SYS_select", w_select },
		{ "SYS_pselect6 (a mask)", w_pselect6 },
		{ "SYS_epoll_wait", w_epoll_wait },
		{ "SYS_epoll_pwait (a mask)", w_epoll_pwait },
		{ "SYS_epoll_pwait2 (a mask)", w_epoll_pwait2 },
	};
	char stepname[96];
	int p[2];
	make_pipe(p, O_CLOEXEC);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x5eed };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) != 0)
		die("epoll");
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
		struct waitc w = { .rfd = p[0], .wfd = p[1], .ep = ep, .call = calls[i].call };
		snprintf(stepname, sizeof stepname, "waits: %s woken by a write", calls[i].name);
		step = stepname;
		run2(wait_waiter, byte_waker, &w);
		printf("%s in a thread, woken by a write: %ld %s, readable: %s%s\n", calls[i].name, w.r,
		       en(w.r < 0 ? w.e : 0), yesno(w.readable), w.note);
		expect(w.r == 1 && w.readable, "woken with the fd readable");
		char c;
		need(syscall(SYS_read, p[0], &c, 1), "SYS_read");
	}
	timed_out(p[0], ep);
	syscall(SYS_close, ep);
	close2(p);
}

/* ---- sleeps in two threads at once ---------------------------------------- */

enum { NANOSLEEP, CLOCK_REL, CLOCK_ABS_MONO, CLOCK_ABS_REAL };

static const char *const sleep_names[] = {
	"SYS_nanosleep",
	"SYS_clock_nanosleep(MONOTONIC)",
	"SYS_clock_nanosleep(MONOTONIC, TIMER_ABSTIME)",
	"SYS_clock_nanosleep(REALTIME, TIMER_ABSTIME)",
};

struct sleeper {
	int fd;      /* where the tag goes once the sleep ended */
	int how;     /* NANOSLEEP, ... */
	long ms;
	char tag;
	long r;
	int e;
	int early;   /* ended before ms had passed */
};

static void *sleeper(void *arg)
{
	struct sleeper *s = arg;
	struct timespec t = ts_of(s->ms * MS), d;
	long long t0 = now_ns(CLOCK_MONOTONIC);
	switch (s->how) {
	case NANOSLEEP:
		s->r = syscall(SYS_nanosleep, &t, NULL);
		break;
	case CLOCK_REL:
		s->r = syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &t, NULL);
		break;
	case CLOCK_ABS_MONO:
		d = deadline_ms(CLOCK_MONOTONIC, s->ms);
		s->r = syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &d, NULL);
		break;
	default:
		d = deadline_ms(CLOCK_REALTIME, s->ms);
		s->r = syscall(SYS_clock_nanosleep, CLOCK_REALTIME, TIMER_ABSTIME, &d, NULL);
		break;
	}
	s->e = errno;
	s->early = now_ns(CLOCK_MONOTONIC) - t0 < s->ms * MS;
	need(syscall(SYS_write, s->fd, &s->tag, 1), "SYS_write");
	return NULL;
}

static void part_sleeps(void)
{
	static const int rounds[][2] = {
		{ CLOCK_REL, NANOSLEEP },
		{ NANOSLEEP, CLOCK_ABS_REAL },
		{ CLOCK_ABS_MONO, CLOCK_REL },
	};
	int p[2];
	make_pipe(p, O_CLOEXEC);
	for (size_t i = 0; i < sizeof rounds / sizeof rounds[0]; i++) {
		struct sleeper a = { p[1], rounds[i][0], 250, 'A', 0, 0, 0 };
		struct sleeper b = { p[1], rounds[i][1], 20, 'B', 0, 0, 0 };
		pthread_t ta, tb;
		char got[3] = "";
		size_t n = 0;
		step = "sleeps: two threads sleeping at once";
		must(pthread_create(&ta, NULL, sleeper, &a), "pthread_create");
		must(pthread_create(&tb, NULL, sleeper, &b), "pthread_create");
		while (n < 2) {
			long k = syscall(SYS_read, p[0], got + n, 2 - n);
			if (k <= 0)
				die("SYS_read");
			n += (size_t)k;
		}
		must(pthread_join(ta, NULL), "pthread_join");
		must(pthread_join(tb, NULL), "pthread_join");
		printf("sleeps: A %s 250 ms (%ld %s) beside B %s 20 ms (%ld %s): order %s, none early: %s\n",
		       sleep_names[a.how], a.r, en(a.r < 0 ? a.e : 0), sleep_names[b.how], b.r,
		       en(b.r < 0 ? b.e : 0), got, yesno(!a.early && !b.early));
		expect(!strcmp(got, "BA"), "the 20 ms sleeper ended first");
	}
	close2(p);
}

/* ---- children ----------------------------------------------------------- */

struct child {
	pid_t pid;
	int go;           /* the write end the child waits on */
	int how;          /* 0 SYS_wait4, 1 SYS_waitid, 2 SYS_waitid(WNOWAIT) */
	int kill;         /* the waker kills it instead of releasing it */
	long r;
	int e;
	int status;       /* SYS_wait4's */
	siginfo_t si;     /* SYS_waitid's */
};

/* A child that exits with code once a byte arrives (99 on EOF). */
static struct child spawn(int code)
{
	struct child c;
	int p[2];
	memset(&c, 0, sizeof c);
	make_pipe(p, O_CLOEXEC);
	fflush(stdout);
	c.pid = fork();
	if (c.pid < 0)
		die("fork");
	if (c.pid == 0) {
		char b;
		close(p[1]);
		_exit(read(p[0], &b, 1) == 1 ? code : 99);
	}
	syscall(SYS_close, p[0]);
	c.go = p[1];
	return c;
}

static void *child_waiter(void *arg)
{
	struct child *c = arg;
	if (c->how == 0)
		c->r = syscall(SYS_wait4, c->pid, &c->status, 0, NULL);
	else
		c->r = syscall(SYS_waitid, P_PID, c->pid, &c->si, WEXITED | (c->how == 2 ? WNOWAIT : 0), NULL);
	c->e = errno;
	return NULL;
}

static void *child_waker(void *arg)
{
	struct child *c = arg;
	nap_ms(20);
	if (c->kill)
		kill(c->pid, SIGTERM);
	else
		need(syscall(SYS_write, c->go, "g", 1), "SYS_write");
	return NULL;
}

static const char *si_str(const siginfo_t *si)
{
	static char buf[64];
	if (si->si_code == CLD_EXITED)
		snprintf(buf, sizeof buf, "CLD_EXITED %d", si->si_status);
	else if (si->si_code == CLD_KILLED)
		snprintf(buf, sizeof buf, "CLD_KILLED SIG%s", sigabbrev_np(si->si_status));
	else
		snprintf(buf, sizeof buf, "si_code %d", si->si_code);
	return buf;
}

static void part_children(void)
{
	struct child c;
	int st = -1;
	long r;

	step = "children: SYS_wait4 for a child another thread releases";
	c = spawn(7);
	r = syscall(SYS_wait4, c.pid, &st, WNOHANG, NULL);
	printf("children: SYS_wait4(WNOHANG) while it waits: %ld\n", r);
	run2(child_waiter, child_waker, &c);
	printf("children: SYS_wait4 in a thread, child released by another: pid: %s %s, exited: %s, status %d\n",
	       yesno(c.r == c.pid), en(c.r < 0 ? c.e : 0), yesno(WIFEXITED(c.status)), WEXITSTATUS(c.status));
	expect(c.r == c.pid && WIFEXITED(c.status) && WEXITSTATUS(c.status) == 7, "wait4 saw exit 7");
	syscall(SYS_close, c.go);

	step = "children: SYS_waitid for a child another thread releases";
	c = spawn(9);
	c.how = 1;
	memset(&c.si, 0, sizeof c.si);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	r = syscall(SYS_waitid, P_PID, c.pid, &si, WEXITED | WNOHANG, NULL);
	printf("children: SYS_waitid(WNOHANG) while it waits: %ld, si_pid 0: %s\n", r, yesno(si.si_pid == 0));
	run2(child_waiter, child_waker, &c);
	printf("children: SYS_waitid in a thread, child released by another: %ld %s, si_pid: %s, %s\n", c.r,
	       en(c.r < 0 ? c.e : 0), yesno(c.si.si_pid == c.pid), si_str(&c.si));
	expect(c.r == 0 && c.si.si_pid == c.pid && c.si.si_code == CLD_EXITED && c.si.si_status == 9,
	       "waitid saw exit 9");
	syscall(SYS_close, c.go);

	step = "children: SYS_waitid(WNOWAIT) for a child another thread kills";
	c = spawn(5);
	c.how = 2;
	c.kill = 1;
	run2(child_waiter, child_waker, &c);
	st = -1;
	r = syscall(SYS_wait4, c.pid, &st, WNOHANG, NULL);
	printf("children: SYS_waitid(WNOWAIT) in a thread, child killed by another: %ld %s, %s; "
	       "then SYS_wait4(WNOHANG) reaps it: %s, killed by SIG%s\n",
	       c.r, en(c.r < 0 ? c.e : 0), si_str(&c.si), yesno(r == c.pid),
	       WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "-");
	expect(c.r == 0 && c.si.si_code == CLD_KILLED && r == c.pid && WIFSIGNALED(st),
	       "waitid saw the kill, wait4 reaped it");
	syscall(SYS_close, c.go);
}

/* ---- futex --------------------------------------------------------------- */

static int fword;

struct fwait {
	int bitset; /* FUTEX_WAIT_BITSET with an absolute deadline */
	long r;
	int e;
};

static void *futex_waiter(void *arg)
{
	struct fwait *f = arg;
	if (f->bitset) {
		struct timespec d = deadline_ms(CLOCK_MONOTONIC, 5000);
		f->r = syscall(SYS_futex, &fword, FUTEX_WAIT_BITSET_PRIVATE, 0, &d, NULL, FUTEX_BITSET_MATCH_ANY);
	} else {
		struct timespec t = { 5, 0 };
		f->r = syscall(SYS_futex, &fword, FUTEX_WAIT_PRIVATE, 0, &t, NULL, 0);
	}
	f->e = errno;
	return NULL;
}

static long woken;

/* FUTEX_WAKE until both waiters were woken (each counted once: the value
 * never changes, so a waiter is woken only by a wake that found it). */
static void *futex_waker(void *arg)
{
	for (int i = 0; i < 1000 && woken < 2; i++) {
		nap_ms(2);
		long k = syscall(SYS_futex, &fword, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
		if (k > 0)
			woken += k;
	}
	return NULL;
}

static void part_futex(void)
{
	struct fwait a = { 0, 0, 0 }, b = { 1, 0, 0 };
	pthread_t ta, tb, tw;
	step = "futex: FUTEX_WAIT and FUTEX_WAIT_BITSET woken by FUTEX_WAKE";
	must(pthread_create(&ta, NULL, futex_waiter, &a), "pthread_create");
	must(pthread_create(&tb, NULL, futex_waiter, &b), "pthread_create");
	must(pthread_create(&tw, NULL, futex_waker, NULL), "pthread_create");
	must(pthread_join(ta, NULL), "pthread_join");
	must(pthread_join(tb, NULL), "pthread_join");
	must(pthread_join(tw, NULL), "pthread_join");
	printf("futex: FUTEX_WAIT in a thread: %ld %s, FUTEX_WAIT_BITSET in another: %ld %s, "
	       "FUTEX_WAKE from a third woke %ld\n",
	       a.r, en(a.r < 0 ? a.e : 0), b.r, en(b.r < 0 ? b.e : 0), woken);
	expect(a.r == 0 && b.r == 0 && woken == 2, "both waiters woken by the waker");
}

/* ---- fd-making numbers ---------------------------------------------------- */

static void *u64_waker(void *arg)
{
	struct io *c = arg;
	uint64_t v = 5;
	nap_ms(20);
	c->w = write(c->fd[1], &v, sizeof v); /* plain write on a SYS_eventfd2 fd */
	return NULL;
}

static void *plain_write_waker(void *arg)
{
	struct io *c = arg;
	nap_ms(20);
	c->w = write(c->fd[1], "via write", 9);
	return NULL;
}

/* The pipe's content, read with plain read (n bytes expected). */
static const char *drain(int fd, size_t n)
{
	static char buf[64];
	ssize_t k = read(fd, buf, n < sizeof buf - 1 ? n : sizeof buf - 1);
	buf[k > 0 ? k : 0] = '\0';
	return buf;
}

static void stale_socket_case(const char *dir)
{
	int sv[2];
	char path[128], buf[32] = "";
	char c = 'x';

	step = "fds: a socket closed with SYS_close, its number reused by SYS_openat";
	need(syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "SYS_socketpair");
	if (syscall(SYS_write, sv[0], &c, 1) != 1 || syscall(SYS_read, sv[1], &c, 1) != 1 ||
	    write(sv[1], &c, 1) != 1 || read(sv[0], &c, 1) != 1)
		die("socket i/o");
	close2(sv);
	snprintf(path, sizeof path, "%s/file", dir);
	int fd = (int)need(syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600),
			   "SYS_openat");
	errno = 0;
	ssize_t w = write(fd, "hello ", 6);
	int we = errno;
	long w2 = syscall(SYS_write, fd, "world", 5);
	long pr = syscall(SYS_pread64, fd, buf, 11, 0);
	char a[4] = "", b[8] = "";
	struct iovec v[2] = { { a, 3 }, { b, 8 } };
	lseek(fd, 0, SEEK_SET);
	long rv = syscall(SYS_readv, fd, v, 2);
	printf("fds: a used socket closed with SYS_close, SYS_openat a file: same number: %s, "
	       "write: %zd %s, SYS_write: %ld, SYS_pread64: %ld \"%.11s\", SYS_readv: %ld \"%.3s\" \"%.8s\", "
	       "close-on-exec: %s\n",
	       yesno(fd == sv[0]), w, en(w < 0 ? we : 0), w2, pr, buf, rv, a, b, yesno(cloexec(fd)));
	expect(w == 6 && w2 == 5 && pr == 11 && rv == 11, "i/o on the file at a socket's number");
	syscall(SYS_close, fd);
	unlink(path);

	step = "fds: a socket closed with SYS_close, its number reused by SYS_pipe2";
	struct io io;
	memset(&io, 0, sizeof io);
	need(syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "SYS_socketpair");
	if (write(sv[0], &c, 1) != 1 || read(sv[1], &c, 1) != 1)
		die("socket i/o");
	close2(sv);
	make_pipe(io.fd, O_CLOEXEC);
	run2(read_waiter, plain_write_waker, &io);
	printf("fds: a used socket closed with SYS_close, SYS_pipe2 at its numbers: %s, SYS_read in a thread "
	       "woken by write: %ld \"%.*s\"\n",
	       yesno(io.fd[0] == sv[0] && io.fd[1] == sv[1]), io.r, (int)(io.r > 0 ? io.r : 0), io.buf);
	expect(io.r == 9, "the pipe at the socket's numbers waits as a pipe");
	close2(io.fd);
}

static void part_fds(void)
{
	struct io c;
	uint64_t v = 0;
	long r;

	step = "fds: SYS_eventfd2";
	memset(&c, 0, sizeof c);
	int efd = (int)need(syscall(SYS_eventfd2, 0, EFD_CLOEXEC), "SYS_eventfd2");
	c.fd[0] = c.fd[1] = efd;
	run2(read_waiter, u64_waker, &c);
	memcpy(&v, c.buf, sizeof v);
	printf("fds: SYS_eventfd2(EFD_CLOEXEC): close-on-exec: %s; SYS_read in a thread woken by write: %ld, "
	       "value %llu\n",
	       yesno(cloexec(efd)), c.r, (unsigned long long)v);
	expect(c.r == 8 && v == 5, "eventfd read 5");
	v = 3;
	ssize_t w = write(efd, &v, sizeof v);
	v = 0;
	r = syscall(SYS_read, efd, &v, sizeof v);
	printf("fds: eventfd write: %zd, SYS_read: %ld value %llu", w, r, (unsigned long long)v);
	v = 2;
	w = syscall(SYS_write, efd, &v, sizeof v);
	v = 0;
	r = read(efd, &v, sizeof v);
	printf("; SYS_write: %zd, read: %ld value %llu\n", w, r, (unsigned long long)v);
	syscall(SYS_close, efd);

	step = "fds: SYS_pipe2";
	int p[2];
	memset(&c, 0, sizeof c);
	r = need(syscall(SYS_pipe2, p, O_CLOEXEC), "SYS_pipe2");
	c.fd[0] = p[0];
	c.fd[1] = p[1];
	run2(read_waiter, plain_write_waker, &c);
	printf("fds: SYS_pipe2(O_CLOEXEC): %ld, close-on-exec: %s %s; SYS_read in a thread woken by write: %ld "
	       "\"%.*s\"",
	       r, yesno(cloexec(p[0])), yesno(cloexec(p[1])), c.r, (int)(c.r > 0 ? c.r : 0), c.buf);
	expect(c.r == 9, "pipe2 read");
	w = syscall(SYS_write, p[1], "raw", 3);
	printf("; SYS_write: %zd, read: \"%s\"\n", w, drain(p[0], 3));

	step = "fds: SYS_fcntl F_DUPFD_CLOEXEC";
	long d = syscall(SYS_fcntl, p[1], F_DUPFD_CLOEXEC, 100);
	w = syscall(SYS_write, d, "dup", 3);
	printf("fds: SYS_fcntl(F_DUPFD_CLOEXEC, 100): at least 100: %s, close-on-exec: %s, SYS_write: %zd, "
	       "read: \"%s\"",
	       yesno(d >= 100), yesno(cloexec((int)d)), w, drain(p[0], 3));
	w = write(d, "dup2", 4);
	memset(c.buf, 0, sizeof c.buf);
	r = syscall(SYS_read, p[0], c.buf, 4);
	printf("; write: %zd, SYS_read: %ld \"%.4s\"\n", w, r, c.buf);
	syscall(SYS_close, d);

	step = "fds: SYS_dup2, SYS_dup3, SYS_close_range";
	long d2 = syscall(SYS_dup2, p[1], 200);
	long d3 = syscall(SYS_dup3, p[1], 201, O_CLOEXEC);
	printf("fds: SYS_dup2(, 200): %ld, close-on-exec: %s; SYS_dup3(, 201, O_CLOEXEC): %ld, close-on-exec: %s\n",
	       d2, yesno(cloexec(200)), d3, yesno(cloexec(201)));
	w = write(200, "two", 3);
	long w3 = syscall(SYS_write, 201, "one", 3);
	printf("fds: write to 200: %zd, SYS_write to 201: %ld, read: \"%s\"\n", w, w3, drain(p[0], 6));
	r = syscall(SYS_close_range, 200, 201, CLOSE_RANGE_CLOEXEC);
	printf("fds: SYS_close_range(200, 201, CLOSE_RANGE_CLOEXEC): %ld, close-on-exec: %s %s, still open: %s\n",
	       r, yesno(cloexec(200)), yesno(cloexec(201)), yesno(syscall(SYS_fcntl, 200, F_GETFD) >= 0));
	r = syscall(SYS_close_range, 200, 201, 0);
	errno = 0;
	w = write(200, "x", 1);
	int we = errno;
	printf("fds: SYS_close_range(200, 201, 0): %ld, then write to 200: %zd %s\n", r, w, en(we));
	SHOW("fds: then SYS_write to 201", syscall(SYS_write, 201, "x", 1));

	step = "fds: a SYS_dup2 copy of a read end, SYS_read in a thread";
	memset(&c, 0, sizeof c);
	c.fd[0] = (int)syscall(SYS_dup2, p[0], 202);
	c.fd[1] = p[1];
	run2(read_waiter, plain_write_waker, &c);
	printf("fds: SYS_read on a SYS_dup2 copy (202) in a thread, woken by write: %ld \"%.*s\"\n", c.r,
	       (int)(c.r > 0 ? c.r : 0), c.buf);
	expect(c.r == 9, "read on the copy");
	syscall(SYS_close, 202);

	step = "fds: SYS_fcntl F_SETFL O_NONBLOCK, then back";
	r = syscall(SYS_fcntl, p[0], F_SETFL, O_NONBLOCK);
	long fl = syscall(SYS_fcntl, p[0], F_GETFL);
	printf("fds: SYS_fcntl(F_SETFL, O_NONBLOCK): %ld, F_GETFL has it: %s\n", r, yesno(fl >= 0 && (fl & O_NONBLOCK)));
	SHOW("fds: then SYS_read of the empty pipe", syscall(SYS_read, p[0], c.buf, 1));
	errno = 0;
	w = read(p[0], c.buf, 1);
	printf("fds: then read: %zd %s\n", w, en(errno));
	r = syscall(SYS_fcntl, p[0], F_SETFL, 0);
	memset(&c, 0, sizeof c);
	c.fd[0] = p[0];
	c.fd[1] = p[1];
	run2(read_waiter, plain_write_waker, &c);
	printf("fds: SYS_fcntl(F_SETFL, 0): %ld; SYS_read in a thread waits again, woken by write: %ld \"%.*s\"\n",
	       r, c.r, (int)(c.r > 0 ? c.r : 0), c.buf);
	expect(c.r == 9, "blocking again after F_SETFL 0");
	close2(p);

	char dir[] = "/tmp/syscall_routes.XXXXXX";
	if (!mkdtemp(dir))
		die("mkdtemp");
	stale_socket_case(dir);
	rmdir(dir);
}

/* ---- signals end waits ---------------------------------------------------- */

static volatile sig_atomic_t hits;

static void on_usr1(int sig)
{
	(void)sig;
	hits++;
}

static void handle_usr1(int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		die("sigaction");
}

enum {
	S_READ, S_POLL, S_EPOLL, S_NANOSLEEP, S_CLOCK_NANOSLEEP,
	S_READ_RESTART, S_PPOLL_MASKED, S_PSELECT_MASKED, /* go on: the kicker ends them with a byte */
	S_PPOLL_UNMASK, S_PSELECT_UNMASK, S_EPOLL_PWAIT_UNMASK, S_EPOLL_PWAIT2_UNMASK,
	S_END
};

/* The kicker ends the wait with a byte after three signals. */
static int goes_on(int how) { return how >= S_READ_RESTART && how <= S_PSELECT_MASKED; }

struct sigc {
	int how;
	int rfd, wfd, ep;
	pthread_t target;
	volatile int done;
	long r;
	int e;
	struct timespec rem;
};

static void *sig_waiter(void *arg)
{
	struct sigc *s = arg;
	struct pollfd p = { s->rfd, POLLIN, 0 };
	struct epoll_event ev;
	struct timespec t = { 5, 0 };
	char b[8];
	sigset_t usr1, none;
	sigemptyset(&none);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(s->rfd, &rs);
	struct sigarg blocks = { &usr1, KSIGSET }, unblocks = { &none, KSIGSET };
	if (s->how >= S_PPOLL_UNMASK) /* blocked but while the call waits */
		pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	switch (s->how) {
	case S_READ:
	case S_READ_RESTART:
		s->r = syscall(SYS_read, s->rfd, b, sizeof b);
		break;
	case S_POLL:
		s->r = syscall(SYS_poll, &p, 1, 5000);
		break;
	case S_EPOLL:
		s->r = syscall(SYS_epoll_wait, s->ep, &ev, 1, 5000);
		break;
	case S_NANOSLEEP:
		s->r = syscall(SYS_nanosleep, &t, &s->rem);
		break;
	case S_CLOCK_NANOSLEEP:
		s->r = syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &t, &s->rem);
		break;
	case S_PPOLL_MASKED:
		s->r = syscall(SYS_ppoll, &p, 1, &t, &usr1, KSIGSET);
		break;
	case S_PSELECT_MASKED:
		s->r = syscall(SYS_pselect6, s->rfd + 1, &rs, NULL, NULL, &t, &blocks);
		break;
	case S_PPOLL_UNMASK:
		s->r = syscall(SYS_ppoll, &p, 1, &t, &none, KSIGSET);
		break;
	case S_PSELECT_UNMASK:
		s->r = syscall(SYS_pselect6, s->rfd + 1, &rs, NULL, NULL, &t, &unblocks);
		break;
	case S_EPOLL_PWAIT_UNMASK:
		s->r = syscall(SYS_epoll_pwait, s->ep, &ev, 1, 5000, &none, KSIGSET);
		break;
	default:
		s->r = syscall(SYS_epoll_pwait2, s->ep, &ev, 1, &t, &none, KSIGSET);
		break;
	}
	s->e = errno;
	if (s->r == 1 && (s->how == S_PPOLL_MASKED || s->how == S_PSELECT_MASKED))
		need(syscall(SYS_read, s->rfd, b, 1), "SYS_read");
	s->done = 1;
	return NULL;
}

/* SIGUSR1 every 10 ms until the waiter's call returned (a signal that
 * comes before the call starts is followed by another); for the calls that
 * go on, three signals, then a byte. */
static void *kicker(void *arg)
{
	struct sigc *s = arg;
	for (int i = 0; i < 500 && !s->done; i++) {
		nap_ms(10);
		if (goes_on(s->how) && i == 3) {
			need(syscall(SYS_write, s->wfd, "r", 1), "SYS_write");
			break;
		}
		pthread_kill(s->target, SIGUSR1);
	}
	return NULL;
}

static void part_signals(void)
{
	static const char *const names[] = {
		"SYS_read (no SA_RESTART)",
		"SYS_poll (SA_RESTART)",
		"SYS_epoll_wait (SA_RESTART)",
		"SYS_nanosleep 5 s",
		"SYS_clock_nanosleep 5 s",
		"SYS_read (SA_RESTART)",
		"SYS_ppoll with a mask blocking SIGUSR1",
		"SYS_pselect6 with a mask blocking SIGUSR1",
		"SYS_ppoll with a mask unblocking SIGUSR1",
		"SYS_pselect6 with a mask unblocking SIGUSR1",
		"SYS_epoll_pwait with a mask unblocking SIGUSR1",
		"SYS_epoll_pwait2 with a mask unblocking SIGUSR1",
	};
	int p[2];
	make_pipe(p, O_CLOEXEC);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 1 };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) != 0)
		die("epoll");
	for (int how = S_READ; how < S_END; how++) {
		struct sigc s = { .how = how, .rfd = p[0], .wfd = p[1], .ep = ep, .rem = { -1, -1 } };
		pthread_t tk;
		char stepname[96];
		snprintf(stepname, sizeof stepname, "signals: %s ended by a handler", names[how]);
		step = stepname;
		handle_usr1(how == S_READ ? 0 : SA_RESTART);
		must(pthread_create(&s.target, NULL, sig_waiter, &s), "pthread_create");
		must(pthread_create(&tk, NULL, kicker, &s), "pthread_create");
		must(pthread_join(s.target, NULL), "pthread_join");
		must(pthread_join(tk, NULL), "pthread_join");
		printf("signals: %s, in a thread; SIGUSR1 from another: %ld %s", names[how], s.r,
		       en(s.r < 0 ? s.e : 0));
		if (how == S_NANOSLEEP || how == S_CLOCK_NANOSLEEP)
			printf(", time left written back (4 s < left < 5 s): %s", yesno(left_ns_ok(&s.rem)));
		printf("\n");
		if (goes_on(how))
			expect(s.r == 1, "the call went on to get the byte");
		else
			expect(s.r == -1 && s.e == EINTR, "EINTR");
	}
	signal(SIGUSR1, SIG_IGN);
	syscall(SYS_close, ep);
	close2(p);
}

/* ---- syscall(2) is no cancellation point ---------------------------------- */

struct cancelc {
	int rfd, wfd;
	int sleep;         /* SYS_nanosleep 100 ms instead of SYS_read */
	pthread_t target;
	long r;            /* the call's result: it went on */
	int e;
};

static void *cancel_waiter(void *arg)
{
	struct cancelc *c = arg;
	char b;
	struct timespec t = ts_of(100 * MS);
	if (c->sleep)
		c->r = syscall(SYS_nanosleep, &t, NULL);
	else
		c->r = syscall(SYS_read, c->rfd, &b, 1);
	c->e = errno;
	pthread_testcancel();
	return NULL;
}

static void *canceller(void *arg)
{
	struct cancelc *c = arg;
	nap_ms(20);
	must(pthread_cancel(c->target), "pthread_cancel");
	nap_ms(20);
	if (!c->sleep)
		need(syscall(SYS_write, c->wfd, "c", 1), "SYS_write");
	return NULL;
}

static void part_cancel(void)
{
	int p[2];
	make_pipe(p, O_CLOEXEC);
	for (int sleep = 0; sleep < 2; sleep++) {
		struct cancelc c = { p[0], p[1], sleep, 0, -2, 0 };
		pthread_t tc;
		void *ret = NULL;
		step = sleep ? "cancel: pthread_cancel during SYS_nanosleep" : "cancel: pthread_cancel during SYS_read";
		must(pthread_create(&c.target, NULL, cancel_waiter, &c), "pthread_create");
		must(pthread_create(&tc, NULL, canceller, &c), "pthread_create");
		must(pthread_join(c.target, &ret), "pthread_join");
		must(pthread_join(tc, NULL), "pthread_join");
		printf("cancel: pthread_cancel of a thread in %s (no cancellation point): the call went on: %ld %s, "
		       "then cancelled at pthread_testcancel: %s\n",
		       sleep ? "SYS_nanosleep 100 ms" : "SYS_read", c.r, en(c.r < 0 ? c.e : 0),
		       yesno(ret == PTHREAD_CANCELED));
		expect(c.r == (sleep ? 0 : 1) && ret == PTHREAD_CANCELED, "the call completed, then the cancel acted");
	}
	close2(p);
}

/* ---- error conventions ----------------------------------------------------- */

static void part_errors(void)
{
	struct timespec bad = { 0, 2000000000L }, zero = { 0, 0 }, neg = { -1, 0 };
	struct pollfd pfd;
	struct epoll_event ev;
	sigset_t m;
	char b[16];
	int p[2], sv[2];

	step = "errors";
	sigemptyset(&m);
	signal(SIGPIPE, SIG_IGN);
	make_pipe(p, O_CLOEXEC);
	pfd = (struct pollfd){ p[0], POLLIN, 0 };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");

	SHOW("SYS_read fd -1", syscall(SYS_read, -1, b, 1));
	SHOW("SYS_write fd -1", syscall(SYS_write, -1, b, 1));
	SHOW("SYS_read on a write end", syscall(SYS_read, p[1], b, 1));
	SHOW("SYS_readv iovcnt -1", syscall(SYS_readv, p[0], NULL, -1));
	SHOW("SYS_pread64 on a pipe", syscall(SYS_pread64, p[0], b, 1, 0));
	SHOW("SYS_clock_nanosleep clock 12345", syscall(SYS_clock_nanosleep, 12345, 0, &zero, NULL));
	SHOW("SYS_clock_nanosleep tv_nsec 2e9", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &bad, NULL));
	SHOW("SYS_clock_nanosleep {0, 0}", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &zero, NULL));
	SHOW("SYS_clock_nanosleep an absolute time passed",
	     syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &zero, NULL));
	SHOW("SYS_nanosleep tv_nsec 2e9", syscall(SYS_nanosleep, &bad, NULL));
	SHOW("SYS_nanosleep tv_sec -1", syscall(SYS_nanosleep, &neg, NULL));
	SHOW("SYS_nanosleep {0, 0}", syscall(SYS_nanosleep, &zero, NULL));
	SHOW("SYS_ppoll sigsetsize 4", syscall(SYS_ppoll, &pfd, 1, &zero, &m, 4));
	SHOW("SYS_ppoll sigsetsize 4, no mask", syscall(SYS_ppoll, &pfd, 1, &zero, NULL, 4));
	SHOW("SYS_ppoll tv_nsec 2e9", syscall(SYS_ppoll, &pfd, 1, &bad, NULL, KSIGSET));
	SHOW("SYS_poll nfds 1<<30", syscall(SYS_poll, &pfd, 1 << 30, 0));
	SHOW("SYS_select nfds -1", syscall(SYS_select, -1, NULL, NULL, NULL, NULL));
	struct timeval badtv = { 0, -1 };
	SHOW("SYS_select tv_usec -1", syscall(SYS_select, 1, NULL, NULL, NULL, &badtv));
	struct sigarg sa = { &m, 4 };
	struct timespec ts = zero;
	SHOW("SYS_pselect6 ss_len 4", syscall(SYS_pselect6, 1, NULL, NULL, NULL, &ts, &sa));
	SHOW("SYS_epoll_pwait sigsetsize 4", syscall(SYS_epoll_pwait, ep, &ev, 1, 0, &m, 4));
	SHOW("SYS_epoll_pwait sigsetsize 4, no mask", syscall(SYS_epoll_pwait, ep, &ev, 1, 0, NULL, 4));
	SHOW("SYS_epoll_pwait2 sigsetsize 4", syscall(SYS_epoll_pwait2, ep, &ev, 1, &zero, &m, 4));
	SHOW("SYS_epoll_pwait2 tv_nsec 2e9", syscall(SYS_epoll_pwait2, ep, &ev, 1, &bad, NULL, KSIGSET));
	SHOW("SYS_epoll_wait on a pipe", syscall(SYS_epoll_wait, p[0], &ev, 1, 0));
	SHOW("SYS_epoll_wait maxevents 0", syscall(SYS_epoll_wait, ep, &ev, 0, 0));

	int s = bound(SOCK_STREAM);
	SHOW("SYS_accept4 on a socket not listening", syscall(SYS_accept4, s, NULL, NULL, 0));
	SHOW("SYS_accept on a pipe", syscall(SYS_accept, p[0], NULL, NULL));
	int closed_port = port_of(s);
	syscall(SYS_close, s);
	struct sockaddr_in to = loopback(closed_port);
	s = (int)need(syscall(SYS_socket, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), "SYS_socket");
	SHOW("SYS_connect to a closed loopback port", syscall(SYS_connect, s, &to, sizeof to));
	syscall(SYS_close, s);

	SHOW("SYS_waitid, no children", syscall(SYS_waitid, P_ALL, 0, NULL, WEXITED, NULL));
	SHOW("SYS_wait4, no children", syscall(SYS_wait4, -1, NULL, 0, NULL));

	int u = bound(SOCK_DGRAM);
	SHOW("SYS_recvfrom MSG_DONTWAIT, nothing there", syscall(SYS_recvfrom, u, b, sizeof b, MSG_DONTWAIT, NULL, NULL));
	struct iovec iv = { b, sizeof b };
	struct msghdr mh = { .msg_iov = &iv, .msg_iovlen = 1 };
	SHOW("SYS_recvmsg MSG_DONTWAIT, nothing there", syscall(SYS_recvmsg, u, &mh, MSG_DONTWAIT));
	struct mmsghdr mm = { .msg_hdr = mh };
	SHOW("SYS_recvmmsg MSG_DONTWAIT, nothing there", syscall(SYS_recvmmsg, u, &mm, 1, MSG_DONTWAIT, NULL));
	SHOW("SYS_sendto, UDP, no address", syscall(SYS_sendto, u, "x", 1, 0, NULL, 0));
	SHOW("SYS_sendmmsg, UDP, no address", syscall(SYS_sendmmsg, u, &mm, 1, 0));
	syscall(SYS_close, u);

	int q[2];
	make_pipe(q, O_CLOEXEC);
	syscall(SYS_close, q[0]);
	SHOW("SYS_write, the read end closed, SIGPIPE ignored", syscall(SYS_write, q[1], "x", 1));
	syscall(SYS_close, q[1]);
	need(syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "SYS_socketpair");
	syscall(SYS_close, sv[1]);
	SHOW("SYS_sendto, the peer closed, SIGPIPE ignored", syscall(SYS_sendto, sv[0], "x", 1, 0, NULL, 0));
	SHOW("SYS_recvfrom, the peer closed", syscall(SYS_recvfrom, sv[0], b, 1, 0, NULL, NULL));
	syscall(SYS_close, sv[0]);

	SHOW("SYS_close fd -1", syscall(SYS_close, -1));
	SHOW("SYS_dup2 from fd -1", syscall(SYS_dup2, -1, 200));
	printf("SYS_dup2 onto itself: the fd: %s\n", yesno(syscall(SYS_dup2, p[0], p[0]) == p[0]));
	SHOW("SYS_dup3 onto itself", syscall(SYS_dup3, p[0], p[0], 0));
	SHOW("SYS_dup3 flags O_NONBLOCK", syscall(SYS_dup3, p[0], 200, O_NONBLOCK));
	SHOW("SYS_close_range first > last", syscall(SYS_close_range, 300, 200, 0));
	SHOW("SYS_close_range nothing open there", syscall(SYS_close_range, 900, 1000, 0));
	SHOW("SYS_fcntl cmd 12345", syscall(SYS_fcntl, p[0], 12345, 0));
	SHOW("SYS_fcntl F_GETFL fd -1", syscall(SYS_fcntl, -1, F_GETFL));
	SHOW("SYS_openat a missing file", syscall(SYS_openat, AT_FDCWD, "/nonexistent/syscall_routes", O_RDONLY));
	SHOW("SYS_socket family 12345", syscall(SYS_socket, 12345, SOCK_STREAM, 0));
	SHOW("SYS_socketpair AF_INET", syscall(SYS_socketpair, AF_INET, SOCK_STREAM, 0, sv));
	SHOW("SYS_eventfd2 flags 12345", syscall(SYS_eventfd2, 0, 12345));
	SHOW("SYS_pipe2 flags 12345", syscall(SYS_pipe2, q, 12345));

	int word = 1;
	SHOW("SYS_futex FUTEX_WAIT, the value differs", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
	ts = ts_of(30 * MS);
	SHOW("SYS_futex FUTEX_WAIT 30 ms", syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0));
	SHOW("SYS_futex FUTEX_WAKE, no waiters", syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
	SHOW("SYS_futex op 99", syscall(SYS_futex, &word, 99, 0, NULL, NULL, 0));

	/* errno is left alone by calls that succeed */
	errno = ERANGE;
	int kept = syscall(SYS_write, p[1], "ok", 2) == 2 && errno == ERANGE;
	kept &= syscall(SYS_poll, &pfd, 1, 0) == 1 && errno == ERANGE;
	kept &= syscall(SYS_read, p[0], b, 2) == 2 && errno == ERANGE;
	kept &= syscall(SYS_nanosleep, &zero, NULL) == 0 && errno == ERANGE;
	kept &= syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &zero, NULL) == 0 && errno == ERANGE;
	long d = syscall(SYS_fcntl, p[0], F_DUPFD_CLOEXEC, 0);
	kept &= d >= 0 && errno == ERANGE;
	kept &= syscall(SYS_close, d) == 0 && errno == ERANGE;
	printf("errno untouched by calls that succeed: %s\n", yesno(kept));
	expect(kept, "errno untouched on success");

	/* EFAULT: a bad pointer is the kernel's to report */
	SHOW("SYS_nanosleep NULL", syscall(SYS_nanosleep, NULL, NULL));
	SHOW("SYS_clock_nanosleep NULL", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, NULL, NULL));
	SHOW("SYS_ppoll fds NULL", syscall(SYS_ppoll, NULL, 1, &zero, NULL, KSIGSET));
	SHOW("SYS_poll fds NULL", syscall(SYS_poll, NULL, 1, 0));

	syscall(SYS_close, ep);
	close2(p);
}

/* ---- main --------------------------------------------------------------- */

static const struct {
	const char *name;
	void (*run)(void);
} parts[] = {
	{ "pipes", part_pipes },       { "accept", part_accept }, { "waits", part_waits },
	{ "sleeps", part_sleeps },     { "children", part_children }, { "futex", part_futex },
	{ "fds", part_fds },           { "signals", part_signals },
	{ "cancel", part_cancel },     { "errors", part_errors },
};

static int wanted(int argc, char **argv, const char *name)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) != 0)
		die("sigaction");
	setvbuf(stdout, NULL, _IOLBF, 0); /* a timeout keeps what came before */
	alarm(15);
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		if (wanted(argc, argv, parts[i].name))
			parts[i].run();
	return failed;
}

/*
 * io_poll — poll, ppoll, select, pselect, epoll_wait and epoll_pwait.
 *
 * Every wait that should end because another thread writes has a helper
 * thread that sleeps 50 ms and writes, while the waiter has a 5 s timeout
 * and reports that it returned after the write: under the shim's one OS
 * thread that needs the wait greened.  Checked (all as Linux does):
 *   poll:   idle pipe, 100 ms -> 0 after >= 100 ms; woken by a write ->
 *           revents exactly POLLIN; writer closed -> POLLHUP (POLLIN|POLLHUP
 *           while data is left); closed fd -> POLLNVAL (and counted); fd -1
 *           ignored; timeout 0 -> 0 at once; a listening socket -> POLLIN
 *           when another thread connects; nfds above RLIMIT_NOFILE ->
 *           EINVAL
 *   ppoll:  a pending signal the given mask unblocks -> EINTR at once, the
 *           handler ran, the thread's own mask is back afterwards; 100 ms
 *           timeout -> 0, the timespec is not changed (glibc's copy)
 *   select: 100 ms on an idle pipe -> 0, the set cleared, the timeval
 *           zeroed; woken by a write -> 1, FD_ISSET, timeval decreased;
 *           a closed fd -> EBADF; a negative tv_sec -> EINVAL
 *   pselect: woken by a write; a pending signal unblocked by its mask ->
 *           EINTR; the timespec is not changed
 *   epoll:  epoll_wait 100 ms -> 0; woken by a write -> 1 event, EPOLLIN,
 *           its data; epoll_pwait with a pending signal unblocked ->
 *           EINTR; maxevents 0 -> EINVAL; EPOLLOUT of an empty pipe at once
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include "testutil.h"

static const char *res(int r, int e)
{
	static char buf[32];
	if (r < 0)
		return en(e);
	snprintf(buf, sizeof buf, "%d", r);
	return buf;
}

static const char *ev_names(int ev)
{
	static char bufs[2][128];
	static int which;
	char *buf = bufs[which++ % 2];
	buf[0] = '\0';
	static const struct {
		int bit;
		const char *name;
	} n[] = { { POLLIN, "POLLIN" },   { POLLPRI, "POLLPRI" }, { POLLOUT, "POLLOUT" },
		  { POLLERR, "POLLERR" }, { POLLHUP, "POLLHUP" }, { POLLNVAL, "POLLNVAL" },
		  { POLLRDNORM, "POLLRDNORM" }, { POLLWRNORM, "POLLWRNORM" } };
	for (size_t i = 0; i < sizeof n / sizeof n[0]; i++)
		if (ev & n[i].bit) {
			if (buf[0])
				strcat(buf, "|");
			strcat(buf, n[i].name);
		}
	return buf[0] ? buf : "0";
}

struct later {
	int fd;
	int close_it; /* close instead of writing */
	long long at;
};

struct conn_later {
	struct later l;
	int c;
	struct sockaddr_in a;
};

static void *connect_later(void *arg)
{
	struct conn_later *conn = arg;
	usleep(50 * 1000);
	conn->l.at = now_ns(CLOCK_MONOTONIC);
	if (connect(conn->c, (struct sockaddr *)&conn->a, sizeof conn->a) != 0) {
		perror("connect");
		exit(1);
	}
	return NULL;
}

static void *act_later(void *arg)
{
	struct later *l = arg;
	usleep(50 * 1000);
	l->at = now_ns(CLOCK_MONOTONIC);
	if (l->close_it)
		close(l->fd);
	else if (write(l->fd, "x", 1) != 1)
		die("write");
	return NULL;
}

static pthread_t later_start(struct later *l, int fd, int close_it)
{
	pthread_t t;
	*l = (struct later){ fd, close_it, 0 };
	must(pthread_create(&t, NULL, act_later, l), "pthread_create");
	return t;
}

/* "after the write: yes" once the helper is joined */
static const char *after(pthread_t t, struct later *l, long long at)
{
	must(pthread_join(t, NULL), "pthread_join");
	return yesno(at >= l->at);
}

static void drain(int fd)
{
	char buf[64];
	if (read(fd, buf, sizeof buf) < 0)
		die("drain");
}

static volatile sig_atomic_t hits;
static void on_usr1(int sig) { hits++; }

/* Blocks SIGUSR1 in this thread and makes it pending. */
static void pend_usr1(sigset_t *old)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, old);
	raise(SIGUSR1);
	hits = 0;
}

static const char *usr1_blocked(void)
{
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	return yesno(sigismember(&cur, SIGUSR1));
}

static void test_poll(void)
{
	int p[2], r, e;
	long long t0, at;
	struct later l;
	pthread_t t;
	if (pipe(p) != 0)
		die("pipe");

	struct pollfd pf = { p[0], POLLIN, 0 };
	t0 = now_ns(CLOCK_MONOTONIC);
	r = poll(&pf, 1, 100);
	printf("poll idle 100 ms: %d, revents %s, waited >= 100 ms: %s\n", r, ev_names(pf.revents),
	       yesno(now_ns(CLOCK_MONOTONIC) - t0 >= 100 * MS));

	t0 = now_ns(CLOCK_MONOTONIC);
	r = poll(&pf, 1, 0);
	printf("poll timeout 0: %d, at once: %s\n", r,
	       yesno(now_ns(CLOCK_MONOTONIC) - t0 < 50 * MS));

	t = later_start(&l, p[1], 0);
	r = poll(&pf, 1, 5000);
	at = now_ns(CLOCK_MONOTONIC);
	printf("poll woken by a write: %d, revents %s, after the write: %s\n", r,
	       ev_names(pf.revents), after(t, &l, at));
	drain(p[0]);

	/* two fds, one ignored (-1), one ready later */
	struct pollfd two[2] = { { -1, POLLIN, 77 }, { p[0], POLLIN, 0 } };
	t = later_start(&l, p[1], 0);
	r = poll(two, 2, 5000);
	at = now_ns(CLOCK_MONOTONIC);
	printf("poll {-1, pipe}: %d, revents %s and %s, after the write: %s\n", r,
	       ev_names(two[0].revents), ev_names(two[1].revents), after(t, &l, at));
	drain(p[0]);

	/* the writer closes, with and without data left */
	if (write(p[1], "y", 1) != 1)
		die("write");
	t = later_start(&l, p[1], 1);
	usleep(100 * 1000);
	must(pthread_join(t, NULL), "pthread_join");
	r = poll(&pf, 1, 5000);
	printf("poll, writer closed, data left: %d, revents %s\n", r, ev_names(pf.revents));
	drain(p[0]);
	r = poll(&pf, 1, 5000);
	printf("poll, writer closed, drained: %d, revents %s\n", r, ev_names(pf.revents));

	/* woken by the close itself */
	int q[2];
	if (pipe(q) != 0)
		die("pipe");
	pf.fd = q[0];
	t = later_start(&l, q[1], 1);
	r = poll(&pf, 1, 5000);
	at = now_ns(CLOCK_MONOTONIC);
	printf("poll woken by the writer closing: %d, revents %s, after the close: %s\n", r,
	       ev_names(pf.revents), after(t, &l, at));
	close(q[0]);

	close(p[0]);
	pf.fd = p[0];
	r = poll(&pf, 1, 100);
	printf("poll closed fd: %d, revents %s\n", r, ev_names(pf.revents));

	/* nfds above RLIMIT_NOFILE */
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur > 4096) {
		rl.rlim_cur = 4096;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	struct pollfd *many = calloc(rl.rlim_cur + 1, sizeof *many);
	for (rlim_t i = 0; i <= rl.rlim_cur; i++)
		many[i].fd = -1;
	errno = 0;
	r = poll(many, rl.rlim_cur + 1, 0);
	e = errno;
	printf("poll nfds > RLIMIT_NOFILE: %s\n", res(r, e));
	free(many);

	/* a listening socket becomes readable when another thread connects */
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int lst = socket(AF_INET, SOCK_STREAM, 0);
	if (lst < 0 || bind(lst, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(lst, (struct sockaddr *)&a, &alen) != 0 || listen(lst, 4) != 0)
		die("listen");
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct conn_later conn = { { 0 }, c, a };
	must(pthread_create(&t, NULL, connect_later, &conn), "pthread_create");
	pf = (struct pollfd){ lst, POLLIN, 0 };
	r = poll(&pf, 1, 5000);
	at = now_ns(CLOCK_MONOTONIC);
	printf("poll listening socket, a thread connects: %d, revents %s, after the connect: %s\n",
	       r, ev_names(pf.revents), after(t, &conn.l, at));
	int s = accept(lst, NULL, NULL);
	close(s);
	close(c);
	close(lst);
}

static void test_ppoll(void)
{
	int p[2], r, e;
	sigset_t old, none;
	if (pipe(p) != 0)
		die("pipe");
	struct pollfd pf = { p[0], POLLIN, 0 };
	struct timespec ts = { 2, 0 };
	sigemptyset(&none);

	pend_usr1(&old);
	long long t0 = now_ns(CLOCK_MONOTONIC);
	r = ppoll(&pf, 1, &ts, &none);
	e = errno;
	printf("ppoll, pending SIGUSR1 unblocked by its mask: %s, handler ran %d, early: %s, "
	       "SIGUSR1 blocked again after: %s\n",
	       res(r, e), (int)hits, yesno(now_ns(CLOCK_MONOTONIC) - t0 < 1000 * MS),
	       usr1_blocked());
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	ts = (struct timespec){ 0, 100 * MS };
	t0 = now_ns(CLOCK_MONOTONIC);
	r = ppoll(&pf, 1, &ts, NULL);
	e = errno;
	printf("ppoll 100 ms: %s, waited >= 100 ms: %s, timespec unchanged: %s\n", res(r, e),
	       yesno(now_ns(CLOCK_MONOTONIC) - t0 >= 100 * MS),
	       yesno(ts.tv_sec == 0 && ts.tv_nsec == 100 * MS));

	struct later l;
	pthread_t t = later_start(&l, p[1], 0);
	ts = (struct timespec){ 5, 0 };
	r = ppoll(&pf, 1, &ts, NULL);
	long long at = now_ns(CLOCK_MONOTONIC);
	printf("ppoll woken by a write: %d, revents %s, after the write: %s\n", r,
	       ev_names(pf.revents), after(t, &l, at));
	close(p[0]);
	close(p[1]);
}

static void test_select(void)
{
	int p[2], r, e;
	fd_set rd;
	struct timeval tv;
	struct later l;
	pthread_t t;
	long long t0, at;
	if (pipe(p) != 0)
		die("pipe");

	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	tv = (struct timeval){ 0, 100000 };
	t0 = now_ns(CLOCK_MONOTONIC);
	r = select(p[0] + 1, &rd, NULL, NULL, &tv);
	printf("select idle 100 ms: %d, waited >= 100 ms: %s, set cleared: %s, timeval zeroed: %s\n",
	       r, yesno(now_ns(CLOCK_MONOTONIC) - t0 >= 100 * MS), yesno(!FD_ISSET(p[0], &rd)),
	       yesno(tv.tv_sec == 0 && tv.tv_usec == 0));

	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	tv = (struct timeval){ 5, 0 };
	t = later_start(&l, p[1], 0);
	r = select(p[0] + 1, &rd, NULL, NULL, &tv);
	at = now_ns(CLOCK_MONOTONIC);
	printf("select woken by a write: %d, FD_ISSET: %s, after the write: %s, "
	       "timeval decreased: %s\n",
	       r, yesno(FD_ISSET(p[0], &rd)), after(t, &l, at),
	       yesno(tv.tv_sec < 5 && tv.tv_sec >= 3 && tv.tv_usec >= 0 && tv.tv_usec < 1000000));
	drain(p[0]);

	/* write set: an empty pipe is writable at once; read set not */
	fd_set wr;
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_SET(p[0], &rd);
	FD_SET(p[1], &wr);
	tv = (struct timeval){ 5, 0 };
	r = select(p[1] + 1, &rd, &wr, NULL, &tv);
	printf("select read+write sets: %d, read set %s, write set %s\n", r,
	       yesno(FD_ISSET(p[0], &rd)), yesno(FD_ISSET(p[1], &wr)));

	/* pselect */
	struct timespec ts = { 5, 0 };
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	t = later_start(&l, p[1], 0);
	r = pselect(p[0] + 1, &rd, NULL, NULL, &ts, NULL);
	at = now_ns(CLOCK_MONOTONIC);
	printf("pselect woken by a write: %d, FD_ISSET: %s, after the write: %s, "
	       "timespec unchanged: %s\n",
	       r, yesno(FD_ISSET(p[0], &rd)), after(t, &l, at),
	       yesno(ts.tv_sec == 5 && ts.tv_nsec == 0));
	drain(p[0]);

	sigset_t old, none;
	sigemptyset(&none);
	pend_usr1(&old);
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	ts = (struct timespec){ 2, 0 };
	t0 = now_ns(CLOCK_MONOTONIC);
	r = pselect(p[0] + 1, &rd, NULL, NULL, &ts, &none);
	e = errno;
	printf("pselect, pending SIGUSR1 unblocked by its mask: %s, handler ran %d, early: %s, "
	       "SIGUSR1 blocked again after: %s\n",
	       res(r, e), (int)hits, yesno(now_ns(CLOCK_MONOTONIC) - t0 < 1000 * MS),
	       usr1_blocked());
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	/* errors */
	int dead[2];
	if (pipe(dead) != 0)
		die("pipe");
	close(dead[0]);
	close(dead[1]);
	FD_ZERO(&rd);
	FD_SET(dead[0], &rd);
	tv = (struct timeval){ 1, 0 };
	errno = 0;
	r = select(dead[0] + 1, &rd, NULL, NULL, &tv);
	e = errno;
	printf("select on a closed fd: %s\n", res(r, e));
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	tv = (struct timeval){ -1, 0 };
	errno = 0;
	r = select(p[0] + 1, &rd, NULL, NULL, &tv);
	e = errno;
	printf("select with tv_sec -1: %s\n", res(r, e));
	close(p[0]);
	close(p[1]);
}

static void test_epoll(void)
{
	int p[2], r, e;
	struct later l;
	pthread_t t;
	long long t0, at;
	if (pipe(p) != 0)
		die("pipe");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x1234567890abcdefULL }, out[4];
	if (epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) != 0)
		die("epoll_ctl");

	t0 = now_ns(CLOCK_MONOTONIC);
	r = epoll_wait(ep, out, 4, 100);
	printf("epoll_wait idle 100 ms: %d, waited >= 100 ms: %s\n", r,
	       yesno(now_ns(CLOCK_MONOTONIC) - t0 >= 100 * MS));

	t = later_start(&l, p[1], 0);
	r = epoll_wait(ep, out, 4, 5000);
	at = now_ns(CLOCK_MONOTONIC);
	printf("epoll_wait woken by a write: %d, events EPOLLIN only: %s, data kept: %s, "
	       "after the write: %s\n",
	       r, yesno(r == 1 && out[0].events == EPOLLIN),
	       yesno(r == 1 && out[0].data.u64 == 0x1234567890abcdefULL), after(t, &l, at));
	drain(p[0]);

	t = later_start(&l, p[1], 0);
	r = epoll_pwait(ep, out, 4, 5000, NULL);
	at = now_ns(CLOCK_MONOTONIC);
	printf("epoll_pwait woken by a write: %d, after the write: %s\n", r, after(t, &l, at));
	drain(p[0]);

	sigset_t old, none;
	sigemptyset(&none);
	pend_usr1(&old);
	t0 = now_ns(CLOCK_MONOTONIC);
	r = epoll_pwait(ep, out, 4, 2000, &none);
	e = errno;
	printf("epoll_pwait, pending SIGUSR1 unblocked by its mask: %s, handler ran %d, early: %s, "
	       "SIGUSR1 blocked again after: %s\n",
	       res(r, e), (int)hits, yesno(now_ns(CLOCK_MONOTONIC) - t0 < 1000 * MS),
	       usr1_blocked());
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	errno = 0;
	r = epoll_wait(ep, out, 0, 100);
	e = errno;
	printf("epoll_wait maxevents 0: %s\n", res(r, e));

	ev = (struct epoll_event){ .events = EPOLLOUT, .data.fd = p[1] };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev) != 0)
		die("epoll_ctl");
	r = epoll_wait(ep, out, 4, 5000);
	printf("epoll_wait EPOLLOUT on an empty pipe: %d, fd and events right: %s\n", r,
	       yesno(r == 1 && out[0].data.fd == p[1] && out[0].events == EPOLLOUT));
	close(ep);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	test_poll();
	test_ppoll();
	test_select();
	test_epoll();
	return 0;
}

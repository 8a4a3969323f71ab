/*
 * io_timeouts — SO_RCVTIMEO and SO_SNDTIMEO on blocking sockets.
 *
 * A ticker thread counts 10 ms usleeps for the whole run; every timed wait
 * below must let it run ("other thread ran: yes"), which under the shim's
 * one OS thread proves the wait was greened.  With SO_RCVTIMEO = 200 ms
 * (a whole number of jiffies at HZ 100, 250, 300 and 1000, so getsockopt
 * reads back exactly 0.200000 s):
 *   - recv, read, recvmsg on an idle TCP connection, recv on an idle UNIX
 *     socketpair, accept on an idle listener: -1 EAGAIN (== EWOULDBLOCK),
 *     after at least the timeout less one jiffy and not more than 1.5 s
 *     late.  The kernel counts a socket timeout in whole jiffies from the
 *     current, partly elapsed one, so natively it can end up to a jiffy
 *     early (seen: 199.x ms for 200); EARLY_SLACK_MS is a jiffy at HZ 100;
 *   - a recv with SO_RCVTIMEO = 2 s ends with the data another thread
 *     sends after 50 ms, well before the timeout.
 * With SO_SNDTIMEO = 200 ms and a peer that never reads, send and write of
 * 8 MiB return a partial count or -1 EAGAIN after at least the timeout
 * (which of the two depends on how full the buffers already are, so the
 * program prints only the category).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "testutil.h"

/* One jiffy at the slowest common HZ (100): how early the kernel may end a
 * socket timeout. */
#define EARLY_SLACK_MS 10

static volatile int stop;
static volatile long ticks;

static void *ticker(void *arg)
{
	while (!stop) {
		usleep(10 * 1000);
		ticks++;
	}
	return NULL;
}

static void set_timeo(int fd, int opt, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	if (setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv) != 0)
		die("setsockopt timeout");
}

static int listener(struct sockaddr_in *a)
{
	socklen_t len = sizeof *a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(a, 0, sizeof *a);
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)a, sizeof *a) != 0 ||
	    getsockname(fd, (struct sockaddr *)a, &len) != 0 || listen(fd, 8) != 0)
		die("listen");
	return fd;
}

/* A connected pair: *c the client end, returns the server end. */
static int tcp_pair(int lst, const struct sockaddr_in *a, int *c)
{
	*c = socket(AF_INET, SOCK_STREAM, 0);
	if (*c < 0 || connect(*c, (const struct sockaddr *)a, sizeof *a) != 0)
		die("connect");
	int s = accept(lst, NULL, NULL);
	if (s < 0)
		die("accept");
	return s;
}

struct timed {
	long long t0;
	long t_ticks;
};

static struct timed start(void)
{
	return (struct timed){ now_ns(CLOCK_MONOTONIC), ticks };
}

/* Reports a call that should time out after `ms`. */
static void expect_timeout(const char *what, struct timed t, ssize_t r, int e, long ms)
{
	long long d = now_ns(CLOCK_MONOTONIC) - t.t0;
	printf("%s: %zd %s, EWOULDBLOCK %s, waited >= timeout: %s, not 1.5 s late: %s, "
	       "other thread ran: %s\n",
	       what, r, r < 0 ? en(e) : "-", yesno(r < 0 && e == EWOULDBLOCK),
	       yesno(d >= (ms - EARLY_SLACK_MS) * MS),
	       yesno(d < (ms + 1500) * MS), yesno(ticks - t.t_ticks >= 3));
}

/* Reports a send into a full buffer that should give up after `ms`. */
static void expect_send_timeout(const char *what, struct timed t, ssize_t r, int e,
				size_t asked, long ms)
{
	long long d = now_ns(CLOCK_MONOTONIC) - t.t0;
	int partial = r > 0 && (size_t)r < asked, eagain = r < 0 && e == EAGAIN;
	printf("%s: partial or EAGAIN: %s, waited >= timeout: %s, not 1.5 s late: %s, "
	       "other thread ran: %s\n",
	       what, yesno(partial || eagain), yesno(d >= (ms - EARLY_SLACK_MS) * MS),
	       yesno(d < (ms + 1500) * MS),
	       yesno(ticks - t.t_ticks >= 3));
}

struct later {
	int fd;
	long long sent_at;
};

static void *send_later(void *arg)
{
	struct later *l = arg;
	usleep(50 * 1000);
	l->sent_at = now_ns(CLOCK_MONOTONIC);
	if (send(l->fd, "hello", 5, 0) != 5)
		die("send");
	return NULL;
}

int main(void)
{
	pthread_t tick;
	struct sockaddr_in a;
	char buf[256];
	struct timed t;
	ssize_t r;

	must(pthread_create(&tick, NULL, ticker, NULL), "pthread_create");
	int lst = listener(&a), c;
	int s = tcp_pair(lst, &a, &c);

	set_timeo(c, SO_RCVTIMEO, 200);
	struct timeval tv;
	socklen_t tl = sizeof tv;
	getsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl);
	printf("SO_RCVTIMEO reads back %ld.%06ld s\n", (long)tv.tv_sec, (long)tv.tv_usec);

	t = start();
	r = recv(c, buf, sizeof buf, 0);
	expect_timeout("recv", t, r, errno, 200);
	t = start();
	r = read(c, buf, sizeof buf);
	expect_timeout("read", t, r, errno, 200);
	struct iovec iov = { buf, sizeof buf };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	t = start();
	r = recvmsg(c, &mh, 0);
	expect_timeout("recvmsg", t, r, errno, 200);

	/* data before the timeout */
	set_timeo(c, SO_RCVTIMEO, 2000);
	struct later l = { s, 0 };
	pthread_t th;
	must(pthread_create(&th, NULL, send_later, &l), "pthread_create");
	r = recv(c, buf, sizeof buf, 0);
	long long at = now_ns(CLOCK_MONOTONIC);
	must(pthread_join(th, NULL), "pthread_join");
	printf("recv with 2 s timeout, data after 50 ms: %zd \"%.*s\", after the send: %s, "
	       "well before the timeout: %s\n",
	       r, r > 0 ? (int)r : 0, buf, yesno(at >= l.sent_at), yesno(at - l.sent_at < 1000 * MS));

	/* accept */
	set_timeo(lst, SO_RCVTIMEO, 200);
	t = start();
	r = accept(lst, NULL, NULL);
	expect_timeout("accept", t, r, errno, 200);

	/* UNIX socketpair */
	int sp[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0)
		die("socketpair");
	set_timeo(sp[0], SO_RCVTIMEO, 200);
	t = start();
	r = recv(sp[0], buf, sizeof buf, 0);
	expect_timeout("unix recv", t, r, errno, 200);
	close(sp[0]);
	close(sp[1]);

	/* SO_SNDTIMEO, the peer never reads */
	int small = 16384;
	setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	set_timeo(c, SO_SNDTIMEO, 200);
	size_t big = 8 << 20;
	char *junk = calloc(1, big);
	if (!junk)
		die("calloc");
	t = start();
	r = send(c, junk, big, 0);
	expect_send_timeout("send 8 MiB", t, r, errno, big, 200);
	t = start();
	r = write(c, junk, big);
	expect_send_timeout("write 8 MiB", t, r, errno, big, 200);
	free(junk);

	close(c);
	close(s);
	close(lst);
	stop = 1;
	must(pthread_join(tick, NULL), "pthread_join");
	return 0;
}

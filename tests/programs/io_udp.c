/*
 * io_udp — UDP over loopback.
 *
 *   - a thread blocks in recvfrom; main sends "ping" 50 ms later; the
 *     thread sees the sender's address and answers "pong" with sendto,
 *     which main gets with a blocking recvfrom;
 *   - a thread blocks in recvmmsg(MSG_WAITFORONE) (looping until it has
 *     all), main sends 5 datagrams of different sizes with one sendmmsg:
 *     all 5 arrive, in order, each intact;
 *   - MSG_PEEK shows a datagram without taking it; MSG_DONTWAIT on the
 *     empty queue afterwards -> EAGAIN;
 *   - truncation: a 100-byte datagram into 10 bytes: recv returns 10,
 *     recv(MSG_TRUNC) returns 100, recvmsg sets MSG_TRUNC in msg_flags;
 *   - a connected UDP socket sending to a port nobody uses: a blocking
 *     recv gets -1 ECONNREFUSED (the ICMP error; loopback is exempt from
 *     per-destination ICMP rate limits); poll with 5 s bounds the wait
 *     first, and then a blocking recv (SO_RCVTIMEO 5 s) after another
 *     send gets the same.
 * On the shim's one OS thread the blocking receives need greening.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "testutil.h"

#define NDGRAM 5

static int udp_bound(struct sockaddr_in *a)
{
	socklen_t len = sizeof *a;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(a, 0, sizeof *a);
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)a, sizeof *a) != 0 ||
	    getsockname(fd, (struct sockaddr *)a, &len) != 0)
		die("bind");
	return fd;
}

static int same_addr(const struct sockaddr_in *x, const struct sockaddr_in *y)
{
	return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

struct echo {
	int fd;
	struct sockaddr_in from;
	char got[16];
	ssize_t n;
};

static void *ponger(void *arg)
{
	struct echo *e = arg;
	socklen_t len = sizeof e->from;
	e->n = recvfrom(e->fd, e->got, sizeof e->got, 0, (struct sockaddr *)&e->from, &len);
	if (e->n < 0)
		die("recvfrom");
	if (sendto(e->fd, "pong", 4, 0, (struct sockaddr *)&e->from, len) != 4)
		die("sendto");
	return NULL;
}

static size_t dgram_size(int i)
{
	static const size_t s[NDGRAM] = { 1, 10, 1000, 8000, 60000 };
	return s[i];
}

static unsigned char dgram_byte(int i, size_t j) { return (unsigned char)(i * 37 + j * 11); }

struct mm {
	int fd, got, calls, ok;
};

static void *mm_receiver(void *arg)
{
	struct mm *m = arg;
	static unsigned char bufs[NDGRAM][65536];
	m->ok = 1;
	while (m->got < NDGRAM) {
		struct mmsghdr mh[NDGRAM];
		struct iovec iov[NDGRAM];
		int want = NDGRAM - m->got;
		memset(mh, 0, sizeof mh);
		for (int i = 0; i < want; i++) {
			iov[i] = (struct iovec){ bufs[m->got + i], sizeof bufs[0] };
			mh[i].msg_hdr.msg_iov = &iov[i];
			mh[i].msg_hdr.msg_iovlen = 1;
		}
		int r = recvmmsg(m->fd, mh, (unsigned)want, MSG_WAITFORONE, NULL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("recvmmsg");
		m->calls++;
		for (int i = 0; i < r; i++) {
			int k = m->got + i;
			if (mh[i].msg_len != dgram_size(k))
				m->ok = 0;
			for (size_t j = 0; j < mh[i].msg_len && j < dgram_size(k); j++)
				if (bufs[k][j] != dgram_byte(k, j))
					m->ok = 0;
		}
		m->got += r;
	}
	return NULL;
}

int main(void)
{
	struct sockaddr_in aa, ab;
	int a = udp_bound(&aa), b = udp_bound(&ab);
	pthread_t t;
	char buf[256];

	/* ping / pong */
	struct echo e = { .fd = b };
	must(pthread_create(&t, NULL, ponger, &e), "pthread_create");
	usleep(50 * 1000);
	if (sendto(a, "ping", 4, 0, (struct sockaddr *)&ab, sizeof ab) != 4)
		die("sendto");
	struct sockaddr_in from;
	socklen_t flen = sizeof from;
	ssize_t n = recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
	must(pthread_join(t, NULL), "pthread_join");
	printf("recvfrom in a thread: \"%.*s\", sender's address right: %s\n", (int)e.n, e.got,
	       yesno(same_addr(&e.from, &aa)));
	printf("reply: \"%.*s\", from the thread's socket: %s\n", (int)n, buf,
	       yesno(same_addr(&from, &ab)));

	/* sendmmsg / recvmmsg */
	struct mm m = { .fd = b };
	must(pthread_create(&t, NULL, mm_receiver, &m), "pthread_create");
	usleep(50 * 1000);
	static unsigned char out[NDGRAM][60000];
	struct mmsghdr mh[NDGRAM];
	struct iovec iov[NDGRAM];
	memset(mh, 0, sizeof mh);
	for (int i = 0; i < NDGRAM; i++) {
		for (size_t j = 0; j < dgram_size(i); j++)
			out[i][j] = dgram_byte(i, j);
		iov[i] = (struct iovec){ out[i], dgram_size(i) };
		mh[i].msg_hdr.msg_iov = &iov[i];
		mh[i].msg_hdr.msg_iovlen = 1;
		mh[i].msg_hdr.msg_name = &ab;
		mh[i].msg_hdr.msg_namelen = sizeof ab;
	}
	int sent = sendmmsg(a, mh, NDGRAM, 0);
	must(pthread_join(t, NULL), "pthread_join");
	printf("sendmmsg: %d; recvmmsg(MSG_WAITFORONE) got %d in order and intact: %s, "
	       "in at least one call: %s\n",
	       sent, m.got, yesno(m.ok), yesno(m.calls >= 1 && m.calls <= NDGRAM));

	/* MSG_PEEK */
	if (sendto(a, "peekaboo", 8, 0, (struct sockaddr *)&ab, sizeof ab) != 8)
		die("sendto");
	struct pollfd pf = { b, POLLIN, 0 };
	poll(&pf, 1, 5000);
	ssize_t p1 = recv(b, buf, sizeof buf, MSG_PEEK);
	ssize_t p2 = recv(b, buf + 100, sizeof buf - 100, 0);
	printf("MSG_PEEK: %zd then recv %zd, same bytes: %s", p1, p2,
	       yesno(p1 == 8 && p2 == 8 && memcmp(buf, buf + 100, 8) == 0));
	errno = 0;
	n = recv(b, buf, sizeof buf, MSG_DONTWAIT);
	printf(", then MSG_DONTWAIT: %zd %s\n", n, en(errno));

	/* truncation */
	char hundred[100];
	memset(hundred, 'h', sizeof hundred);
	for (int i = 0; i < 3; i++)
		if (sendto(a, hundred, sizeof hundred, 0, (struct sockaddr *)&ab, sizeof ab) != 100)
			die("sendto");
	n = recv(b, buf, 10, 0);
	printf("100 bytes into 10: recv %zd", n);
	n = recv(b, buf, 10, MSG_TRUNC);
	printf(", recv(MSG_TRUNC) %zd", n);
	struct iovec tv = { buf, 10 };
	struct msghdr tm = { .msg_iov = &tv, .msg_iovlen = 1 };
	n = recvmsg(b, &tm, 0);
	printf(", recvmsg %zd with MSG_TRUNC in msg_flags: %s\n", n, yesno(tm.msg_flags & MSG_TRUNC));

	/* connected socket, nobody on the other port */
	struct sockaddr_in gone;
	int g = udp_bound(&gone);
	close(g);
	int c = socket(AF_INET, SOCK_DGRAM, 0);
	if (connect(c, (struct sockaddr *)&gone, sizeof gone) != 0)
		die("connect");
	if (send(c, "anyone?", 7, 0) != 7)
		die("send");
	pf = (struct pollfd){ c, POLLIN, 0 };
	int pr = poll(&pf, 1, 5000);
	errno = 0;
	n = pr == 1 ? recv(c, buf, sizeof buf, 0) : -2;
	printf("connected UDP to an unused port: poll %d POLLERR %s, recv %zd %s\n", pr,
	       yesno(pf.revents & POLLERR), n, en(errno));

	/* and a blocking recv woken by the error (bounded by SO_RCVTIMEO) */
	struct timeval five = { 5, 0 };
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five);
	if (send(c, "anyone?", 7, 0) != 7)
		die("send");
	errno = 0;
	n = recv(c, buf, sizeof buf, 0);
	printf("  blocking recv after another send: %zd %s\n", n, en(errno));
	close(c);
	close(a);
	close(b);
	return 0;
}

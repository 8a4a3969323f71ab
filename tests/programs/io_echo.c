/*
 * io_echo — a TCP echo server with a thread per connection, and clients.
 *
 * A thread blocks in accept() and starts a thread per connection that
 * echoes with blocking read/recv and write/send until EOF.  64 client
 * threads connect at once; each has a sender thread that writes five
 * messages (1, 100, 4000 bytes, then 64 KiB+ and 70 KiB+ — 256 KiB+ for
 * every 8th client) with send, writev, sendmsg and write in turn, then
 * shuts down its write side, while the client thread itself reads the
 * echo back with recv, readv, recvmsg and read in odd sizes, checks every
 * byte against the pattern, and then EOF.  The clients' SO_SNDBUF is
 * small, so the big writes block on a full socket buffer until the echo
 * side drains it.  The same again over IPv6 (::1) with 16 clients when
 * this machine has it ("ipv6: skipped" otherwise, decided the same way in
 * every run), and 1 MiB each way through a UNIX socketpair between two
 * threads (the way back taken with a single recv(MSG_WAITALL)).
 *
 * With every thread on one OS thread (the shim), this completes only if
 * accept, connect, read/write and the send/recv families are greened.
 * Prints totals only after the joins.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "testutil.h"

#define NMSG 5
#define MAXCLIENT 64

static int family; /* AF_INET or AF_INET6 for the current round */
static struct sockaddr_storage server_addr;
static socklen_t server_len;
static int listen_fd, nclients;

static unsigned char pat(int client, size_t off)
{
	uint32_t x = (uint32_t)off * 2654435761u ^ (uint32_t)client * 40503u;
	x ^= x >> 15;
	x *= 2246822519u;
	return (unsigned char)(x >> 13);
}

static size_t msg_size(int client, int m)
{
	static const size_t base[NMSG] = { 1, 100, 4000, 65536, 70001 };
	if (m == 4 && client % 8 == 0)
		return 262144 + (size_t)client;
	return base[m] + (m >= 3 ? (size_t)client * 13 : 0);
}

static size_t stream_size(int client)
{
	size_t t = 0;
	for (int m = 0; m < NMSG; m++)
		t += msg_size(client, m);
	return t;
}

/* Writes all of iov[0..n) with the given call, across partial writes. */
static void send_all(int fd, struct iovec *iov, int n, int how)
{
	while (n > 0) {
		ssize_t k;
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		switch (how) {
		case 0: k = send(fd, iov[0].iov_base, iov[0].iov_len, 0); break;
		case 1: k = writev(fd, iov, n); break;
		case 2: k = sendmsg(fd, &mh, 0); break;
		default: k = write(fd, iov[0].iov_base, iov[0].iov_len); break;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("send");
		while (n > 0 && (size_t)k >= iov[0].iov_len) {
			k -= (ssize_t)iov[0].iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov[0].iov_base = (char *)iov[0].iov_base + k;
			iov[0].iov_len -= (size_t)k;
		}
	}
}

struct client {
	int id, fd, ok;
	size_t got;
};

static void *sender(void *arg)
{
	struct client *c = arg;
	size_t off = 0;
	for (int m = 0; m < NMSG; m++) {
		size_t len = msg_size(c->id, m);
		unsigned char *buf = malloc(len);
		if (!buf)
			die("malloc");
		for (size_t i = 0; i < len; i++)
			buf[i] = pat(c->id, off + i);
		int how = (m + c->id) % 4;
		struct iovec iov[3];
		int n = 1;
		iov[0] = (struct iovec){ buf, len };
		if (how == 1 && len >= 3) { /* writev: three pieces */
			iov[0].iov_len = len / 3;
			iov[1] = (struct iovec){ buf + len / 3, len / 3 };
			iov[2] = (struct iovec){ buf + 2 * (len / 3), len - 2 * (len / 3) };
			n = 3;
		} else if (how == 2 && len >= 2) { /* sendmsg: two pieces */
			iov[0].iov_len = len / 2;
			iov[1] = (struct iovec){ buf + len / 2, len - len / 2 };
			n = 2;
		}
		send_all(c->fd, iov, n, how);
		free(buf);
		off += len;
	}
	shutdown(c->fd, SHUT_WR);
	return NULL;
}

static void *client(void *arg)
{
	struct client *c = arg;
	static const size_t chunk[] = { 1, 999, 8192, 65536, 3 };
	size_t total = stream_size(c->id);
	unsigned char *buf = malloc(65536 + 16);
	pthread_t ts;
	int sndbuf = 8192;

	c->fd = socket(family, SOCK_STREAM, 0);
	if (c->fd < 0)
		die("socket");
	setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	if (connect(c->fd, (struct sockaddr *)&server_addr, server_len) != 0)
		die("connect");
	must(pthread_create(&ts, NULL, sender, c), "pthread_create sender");

	c->ok = 1;
	for (int i = 0;; i++) {
		size_t want = chunk[i % 5];
		ssize_t k;
		struct iovec iov[2] = { { buf, want / 2 + 1 }, { buf + want / 2 + 1, want / 2 } };
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
		switch ((i + c->id) % 4) {
		case 0: k = recv(c->fd, buf, want, 0); break;
		case 1: k = readv(c->fd, iov, 2); break;
		case 2: k = recvmsg(c->fd, &mh, 0); break;
		default: k = read(c->fd, buf, want); break;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("recv");
		if (k == 0)
			break;
		for (ssize_t j = 0; j < k; j++)
			if (buf[j] != pat(c->id, c->got + (size_t)j))
				c->ok = 0;
		c->got += (size_t)k;
	}
	c->ok &= c->got == total;
	must(pthread_join(ts, NULL), "pthread_join sender");
	close(c->fd);
	free(buf);
	return NULL;
}

/* One connection of the server: echo until EOF. */
static void *handler(void *arg)
{
	int fd = (int)(long)arg;
	size_t echoed = 0;
	char buf[7919];
	for (;;) {
		ssize_t k = fd % 2 ? read(fd, buf, sizeof buf) : recv(fd, buf, sizeof buf, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("server read");
		if (k == 0)
			break;
		struct iovec iov = { buf, (size_t)k };
		send_all(fd, &iov, 1, fd % 2 ? 3 : 0);
		echoed += (size_t)k;
	}
	close(fd);
	return (void *)echoed;
}

struct acceptor_result {
	int accepted;
	size_t echoed;
};

static void *acceptor(void *arg)
{
	struct acceptor_result *r = arg;
	pthread_t th[MAXCLIENT];
	for (int i = 0; i < nclients; i++) {
		int fd = accept(listen_fd, NULL, NULL);
		if (fd < 0)
			die("accept");
		r->accepted++;
		must(pthread_create(&th[i], NULL, handler, (void *)(long)fd), "pthread_create handler");
	}
	for (int i = 0; i < nclients; i++) {
		void *v;
		must(pthread_join(th[i], &v), "pthread_join handler");
		r->echoed += (size_t)v;
	}
	return NULL;
}

/* A listening socket on the loopback address of the family, or -1. */
static int listen_on(int fam)
{
	int fd = socket(fam, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	memset(&server_addr, 0, sizeof server_addr);
	if (fam == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&server_addr;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		server_len = sizeof *a;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&server_addr;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		server_len = sizeof *a;
	}
	if (bind(fd, (struct sockaddr *)&server_addr, server_len) != 0 ||
	    getsockname(fd, (struct sockaddr *)&server_addr, &server_len) != 0 ||
	    listen(fd, 128) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void round_of(int fam, int n, const char *name)
{
	static struct client cl[MAXCLIENT];
	pthread_t ta, tc[MAXCLIENT];
	struct acceptor_result ar = { 0, 0 };

	family = fam;
	nclients = n;
	listen_fd = listen_on(fam);
	if (listen_fd < 0) {
		if (fam == AF_INET)
			die("listen on 127.0.0.1");
		printf("%s: skipped\n", name);
		return;
	}
	must(pthread_create(&ta, NULL, acceptor, &ar), "pthread_create acceptor");
	for (int i = 0; i < n; i++) {
		cl[i] = (struct client){ .id = i };
		must(pthread_create(&tc[i], NULL, client, &cl[i]), "pthread_create client");
	}
	size_t sent = 0;
	int verified = 0;
	for (int i = 0; i < n; i++) {
		must(pthread_join(tc[i], NULL), "pthread_join client");
		sent += stream_size(i);
		verified += cl[i].ok;
	}
	must(pthread_join(ta, NULL), "pthread_join acceptor");
	close(listen_fd);
	printf("%s: %d clients, %d accepted, %zu bytes sent, %zu echoed, verified %d/%d\n", name,
	       n, ar.accepted, sent, ar.echoed, verified, n);
}

/* ---- UNIX socketpair: 1 MiB one way, then 1 MiB back ------------------ */

#define PAIR_BYTES (1 << 20)

static int pair[2];

static int pair_recv_check(int fd, int seed)
{
	unsigned char buf[5000];
	size_t got = 0;
	int ok = 1;
	while (got < PAIR_BYTES) {
		size_t want = sizeof buf < PAIR_BYTES - got ? sizeof buf : PAIR_BYTES - got;
		ssize_t k = recv(fd, buf, want, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return 0;
		for (ssize_t j = 0; j < k; j++)
			ok &= buf[j] == pat(seed, got + (size_t)j);
		got += (size_t)k;
	}
	return ok;
}

static void pair_send(int fd, int seed)
{
	unsigned char *buf = malloc(PAIR_BYTES);
	if (!buf)
		die("malloc");
	for (size_t i = 0; i < PAIR_BYTES; i++)
		buf[i] = pat(seed, i);
	for (size_t off = 0; off < PAIR_BYTES; off += 100000) {
		size_t len = PAIR_BYTES - off < 100000 ? PAIR_BYTES - off : 100000;
		struct iovec iov = { buf + off, len };
		send_all(fd, &iov, 1, off % 200000 ? 1 : 3);
	}
	free(buf);
}

/* The reply comes back with one recv(MSG_WAITALL) of the whole 1 MiB. */
static void *pair_a(void *arg)
{
	pair_send(pair[0], 1000);
	unsigned char *buf = malloc(PAIR_BYTES);
	ssize_t k;
	int ok;
	if (!buf)
		die("malloc");
	do
		k = recv(pair[0], buf, PAIR_BYTES, MSG_WAITALL);
	while (k < 0 && errno == EINTR);
	ok = k == PAIR_BYTES;
	for (size_t i = 0; ok && i < PAIR_BYTES; i++)
		ok = buf[i] == pat(2000, i);
	free(buf);
	return (void *)(long)ok;
}

static void *pair_b(void *arg)
{
	int ok = pair_recv_check(pair[1], 1000);
	pair_send(pair[1], 2000);
	return (void *)(long)ok;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	round_of(AF_INET, 64, "ipv4");
	round_of(AF_INET6, 16, "ipv6");

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0)
		die("socketpair");
	pthread_t a, b;
	void *ra, *rb;
	must(pthread_create(&a, NULL, pair_a, NULL), "pthread_create");
	must(pthread_create(&b, NULL, pair_b, NULL), "pthread_create");
	must(pthread_join(a, &ra), "pthread_join");
	must(pthread_join(b, &rb), "pthread_join");
	close(pair[0]);
	close(pair[1]);
	printf("unix socketpair: %d bytes each way, verified a->b %s, b->a (MSG_WAITALL) %s\n", PAIR_BYTES,
	       yesno(rb != NULL), yesno(ra != NULL));
	return 0;
}

/*
 * io_nonblock — a program that makes its own descriptors nonblocking gets
 * EAGAIN at once, and sees exactly the flags it set.
 *
 * Each way of asking for O_NONBLOCK is tried, and F_GETFL is printed
 * before and after (the shim may make descriptors nonblocking for itself
 * but must show the program only what the program set):
 *   - fcntl(F_SETFL, O_NONBLOCK) on a pipe's read end: read -> EAGAIN;
 *   - ioctl(FIONBIO) on and off on a socketpair end: recv -> EAGAIN;
 *   - socket(SOCK_NONBLOCK): accept on the listener -> EAGAIN;
 *   - accept4(SOCK_NONBLOCK) gives a nonblocking socket, plain accept4 a
 *     blocking one, whatever the listener's flag;
 *   - pipe2(O_NONBLOCK): read -> EAGAIN; writes of 4 KiB fill exactly
 *     F_GETPIPE_SZ bytes, then EAGAIN;
 *   - MSG_DONTWAIT on a blocking socket: recv -> EAGAIN, the socket stays
 *     blocking;
 *   - dup, dup2, dup3(O_CLOEXEC), F_DUPFD, F_DUPFD_CLOEXEC of a nonblocking
 *     descriptor are nonblocking too (one shared file description), and
 *     clearing the flag through a duplicate clears it on the original;
 * then, after O_NONBLOCK is cleared, a read in one thread (pipe, through
 * the duplicate) and a recv (socketpair, after FIONBIO off) wait until
 * another thread writes: under the shim's one OS thread that needs the
 * calls greened again once the program's flag is gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "testutil.h"

static const char *nb(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return en(errno);
	return yesno(fl & O_NONBLOCK);
}

/* The result of a call that should fail at once: "EAGAIN", or what it did. */
static const char *res(ssize_t r)
{
	static char buf[32];
	if (r < 0)
		return en(errno);
	snprintf(buf, sizeof buf, "%zd", r);
	return buf;
}

static int acc_mode_ok(int fd, int mode)
{
	return (fcntl(fd, F_GETFL) & O_ACCMODE) == mode;
}

struct delayed {
	int fd;
	const char *text;
	long long wrote_at;
};

/* Sleeps 100 ms, then writes the text. */
static void *writer(void *arg)
{
	struct delayed *d = arg;
	usleep(100 * 1000);
	d->wrote_at = now_ns(CLOCK_MONOTONIC);
	if (write(d->fd, d->text, strlen(d->text)) < 0)
		die("write");
	return NULL;
}

/* A blocking read (or recv) in this thread, while a thread writes later. */
static void blocking_read(const char *what, int rfd, int wfd, int use_recv)
{
	struct delayed d = { wfd, "some data", 0 };
	pthread_t t;
	char buf[64] = "";
	must(pthread_create(&t, NULL, writer, &d), "pthread_create");
	ssize_t k = use_recv ? recv(rfd, buf, sizeof buf - 1, 0) : read(rfd, buf, sizeof buf - 1);
	long long at = now_ns(CLOCK_MONOTONIC);
	int e = errno;
	must(pthread_join(t, NULL), "pthread_join");
	if (k < 0)
		printf("%s: %s\n", what, en(e));
	else
		printf("%s: got \"%.*s\", returned after the write: %s\n", what, (int)k, buf,
		       yesno(at >= d.wrote_at));
}

int main(void)
{
	char c;
	int p[2], sp[2];

	/* fcntl F_SETFL on a pipe */
	if (pipe(p) != 0)
		die("pipe");
	printf("pipe: nonblocking %s\n", nb(p[0]));
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	printf("after F_SETFL O_NONBLOCK: nonblocking %s, O_RDONLY kept %s, write end %s\n",
	       nb(p[0]), yesno(acc_mode_ok(p[0], O_RDONLY)), nb(p[1]));
	printf("  read: %s\n", res(read(p[0], &c, 1)));

	/* duplicates share the file description */
	int d1 = dup(p[0]);
	int d2 = dup2(p[0], 100);
	int d3 = dup3(p[0], 101, O_CLOEXEC);
	int d4 = fcntl(p[0], F_DUPFD, 200);
	int d5 = fcntl(p[0], F_DUPFD_CLOEXEC, 300);
	printf("dup %s, dup2 %s, dup3 %s, F_DUPFD %s, F_DUPFD_CLOEXEC %s: nonblocking\n", nb(d1),
	       nb(d2), nb(d3), nb(d4), nb(d5));
	printf("  numbers: dup2 100 %s, dup3 101 %s, F_DUPFD >= 200 %s, F_DUPFD_CLOEXEC >= 300 %s\n",
	       yesno(d2 == 100), yesno(d3 == 101), yesno(d4 >= 200), yesno(d5 >= 300));
	printf("  FD_CLOEXEC: dup %s, dup3 %s, F_DUPFD_CLOEXEC %s\n",
	       yesno(fcntl(d1, F_GETFD) & FD_CLOEXEC), yesno(fcntl(d3, F_GETFD) & FD_CLOEXEC),
	       yesno(fcntl(d5, F_GETFD) & FD_CLOEXEC));
	printf("  read through dup3: %s, through F_DUPFD: %s\n", res(read(d3, &c, 1)),
	       res(read(d4, &c, 1)));
	fcntl(d2, F_SETFL, fcntl(d2, F_GETFL) & ~O_NONBLOCK);
	printf("  cleared through dup2: original %s, dup %s, dup3 %s\n", nb(p[0]), nb(d1), nb(d3));
	blocking_read("  blocking read on the original, a thread writes", p[0], p[1], 0);
	blocking_read("  blocking read on the dup, a thread writes", d1, p[1], 0);
	close(d1);
	close(d2);
	close(d3);
	close(d4);
	close(d5);
	close(p[0]);
	close(p[1]);

	/* ioctl FIONBIO on a socketpair */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0)
		die("socketpair");
	int on = 1, off = 0;
	ioctl(sp[0], FIONBIO, &on);
	printf("socketpair after FIONBIO 1: nonblocking %s, O_RDWR kept %s, other end %s\n",
	       nb(sp[0]), yesno(acc_mode_ok(sp[0], O_RDWR)), nb(sp[1]));
	printf("  recv: %s, read: %s\n", res(recv(sp[0], &c, 1, 0)), res(read(sp[0], &c, 1)));
	ioctl(sp[0], FIONBIO, &off);
	printf("  after FIONBIO 0: nonblocking %s\n", nb(sp[0]));
	blocking_read("  blocking recv, a thread writes", sp[0], sp[1], 1);

	/* MSG_DONTWAIT on a blocking socket */
	printf("MSG_DONTWAIT on a blocking socket: recv %s, still blocking %s\n",
	       res(recv(sp[0], &c, 1, MSG_DONTWAIT)), yesno(*nb(sp[0]) == 'n'));
	close(sp[0]);
	close(sp[1]);

	/* SOCK_NONBLOCK at socket(), accept4 */
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int lst = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (lst < 0 || bind(lst, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(lst, (struct sockaddr *)&a, &alen) != 0 || listen(lst, 8) != 0)
		die("listen");
	printf("socket(SOCK_NONBLOCK): nonblocking %s\n", nb(lst));
	printf("  accept with nobody connecting: %s\n", res(accept(lst, NULL, NULL)));
	int c1 = socket(AF_INET, SOCK_STREAM, 0), c2 = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c1, (struct sockaddr *)&a, sizeof a) != 0 ||
	    connect(c2, (struct sockaddr *)&a, sizeof a) != 0)
		die("connect");
	int s1 = accept4(lst, NULL, NULL, SOCK_NONBLOCK);
	int s2 = accept4(lst, NULL, NULL, 0);
	if (s1 < 0 || s2 < 0)
		die("accept4");
	printf("  accept4(SOCK_NONBLOCK): nonblocking %s; accept4(0): nonblocking %s\n", nb(s1),
	       nb(s2));
	printf("  recv on the accept4(SOCK_NONBLOCK) one: %s\n", res(recv(s1, &c, 1, 0)));
	printf("  MSG_DONTWAIT recv on the accept4(0) one: %s\n",
	       res(recv(s2, &c, 1, MSG_DONTWAIT)));
	blocking_read("  blocking read on the accept4(0) one, a thread writes", s2, c2, 0);
	close(s1);
	close(s2);
	close(c1);
	close(c2);
	close(lst);

	/* pipe2(O_NONBLOCK) */
	if (pipe2(p, O_NONBLOCK) != 0)
		die("pipe2");
	printf("pipe2(O_NONBLOCK): read end %s, write end %s\n", nb(p[0]), nb(p[1]));
	printf("  read: %s\n", res(read(p[0], &c, 1)));
	static char block[4096];
	long size = fcntl(p[1], F_GETPIPE_SZ), filled = 0;
	ssize_t k;
	while ((k = write(p[1], block, sizeof block)) > 0)
		filled += k;
	printf("  filled F_GETPIPE_SZ bytes: %s, then write: %s\n", yesno(filled == size),
	       en(errno));
	close(p[0]);
	close(p[1]);

	return 0;
}

/*
 * fd_swapped_kinds — the shim's fd-kind cache must never make a call fail
 * or block that succeeds natively, even when the real-call table hands out
 * fds of another kind than the call's name says (SQLite-style fault
 * injection).  The program links libfd_swap.so (fd_swap_lib.c), whose
 * socket, socketpair, pipe, pipe2, eventfd, signalfd, timerfd_create,
 * inotify_init1, epoll_create1, memfd_create, open, openat, creat and
 * mkstemp make another kind of fd when FD_SWAP asks; the shim resolves
 * its real functions past itself, so it gets the same substitutes as the
 * program does natively.
 *
 * For each entry point the program sets FD_SWAP for that one call, then
 * uses the fd it really got as a program would: a "socket" that is a file
 * is written and read back; a "pipe" that is a socketpair with
 * SO_RCVTIMEO gives EAGAIN once the timeout passes; an "eventfd" or
 * "memfd" that is a pipe or socketpair is read in one thread and written
 * in another one made after it (under a shim that takes it for a regular
 * file, the read would block the only OS thread).  Also readv/writev,
 * poll, select and epoll on them, and the calls that must fail with the
 * error the fd's true kind gives (send on a file: ENOTSOCK).
 *
 * A hang is a named failure: SIGALRM after 15 s writes the case and its
 * step to stderr and exits 3.  Arguments, if any, name the cases to run (default: all).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* libfd_swap.so: the other end of a one-fd substitute, -1 if none. */
int fd_swap_peer(int fd);

/* ---- hangs -------------------------------------------------------------- */

/* The case running and its step, for the report of a hang. */
static const char *volatile current = "start";
static const char *volatile step = "start";

static void say(const char *s)
{
	(void)!write(2, s, strlen(s));
}

static void on_alarm(int sig)
{
	say("fd_swapped_kinds: hung in case ");
	say(current);
	say(", step: ");
	say(step);
	say("\n");
	_exit(3);
}

/* FD_SWAP for the next call only: swap(spec), the call, swap(NULL). */
static void swap(const char *spec)
{
	if (spec)
		setenv("FD_SWAP", spec, 1);
	else
		unsetenv("FD_SWAP");
}

/* ---- what an fd is ------------------------------------------------------ */

static const char *kind(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return en(errno);
	switch (st.st_mode & S_IFMT) {
	case S_IFREG: return "regular file";
	case S_IFIFO: return "pipe";
	case S_IFSOCK: return "socket";
	case S_IFCHR: return "char device";
	case 0: return "anon inode";
	default: return "other";
	}
}

static void describe(const char *what, int fd)
{
	int fdfl = fcntl(fd, F_GETFD), fl = fcntl(fd, F_GETFL);
	printf("  %s: %s, cloexec %s, nonblock %s\n", what, fd < 0 ? en(errno) : kind(fd),
	       yesno(fdfl >= 0 && (fdfl & FD_CLOEXEC)), yesno(fl >= 0 && (fl & O_NONBLOCK)));
}

/* "-1 ENAME" or the count. */
static const char *res(long r, int err)
{
	static char buf[4][48];
	static int n;
	char *b = buf[n++ & 3];
	if (r < 0)
		snprintf(b, sizeof buf[0], "-1 %s", en(err));
	else
		snprintf(b, sizeof buf[0], "%ld", r);
	return b;
}

static const char *events(short ev)
{
	static char buf[64];
	buf[0] = 0;
	if (ev & POLLIN) strcat(buf, "|POLLIN");
	if (ev & POLLOUT) strcat(buf, "|POLLOUT");
	if (ev & POLLHUP) strcat(buf, "|POLLHUP");
	if (ev & POLLERR) strcat(buf, "|POLLERR");
	if (ev & POLLNVAL) strcat(buf, "|POLLNVAL");
	return buf[0] ? buf + 1 : "0";
}

static void poll_one(const char *what, int fd, short ev, int timeout)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r = poll(&p, 1, timeout);
	printf("  poll %s: %s, revents %s\n", what, res(r, errno), events(p.revents));
}

/* ---- one call, in this thread or another -------------------------------- */

enum how { READ, READV, RECV, WRITE, WRITEV, SEND };

static ssize_t do_io(enum how how, int fd, char *buf, size_t len)
{
	struct iovec v[2] = { { buf, len / 2 }, { buf + len / 2, len - len / 2 } };
	switch (how) {
	case READ: return read(fd, buf, len);
	case READV: return readv(fd, v, 2);
	case RECV: return recv(fd, buf, len, 0);
	case WRITE: return write(fd, buf, len);
	case WRITEV: return writev(fd, v, 2);
	case SEND: return send(fd, buf, len, 0);
	}
	return -1;
}

static const char *how_name(enum how h)
{
	static const char *names[] = { "read", "readv", "recv", "write", "writev", "send" };
	return names[h];
}

/* A call made by a thread of its own; a write may wait delay_ms first. */
struct job {
	enum how how;
	int fd;
	int delay_ms;
	char data[64];
	size_t len;
	ssize_t r;
	int err;
	pthread_t t;
};

static void *job_thread(void *p)
{
	struct job *j = p;
	if (j->delay_ms)
		usleep(j->delay_ms * 1000);
	errno = 0;
	j->r = do_io(j->how, j->fd, j->data, j->len);
	j->err = errno;
	return NULL;
}

static void start(struct job *j, enum how how, int fd, const char *data, size_t len, int delay_ms)
{
	*j = (struct job){ .how = how, .fd = fd, .delay_ms = delay_ms, .len = len };
	if (data)
		memcpy(j->data, data, len);
	must(pthread_create(&j->t, NULL, job_thread, j), "pthread_create");
}

/* Joins j and prints what it got (reads: the bytes too). */
static void finish(struct job *j, const char *what)
{
	must(pthread_join(j->t, NULL), "pthread_join");
	int rd = j->how == READ || j->how == READV || j->how == RECV;
	if (rd && j->r > 0)
		printf("  %s (%s in a thread): %zd \"%.*s\"\n", what, how_name(j->how), j->r, (int)j->r,
		       j->data);
	else
		printf("  %s (%s in a thread): %s\n", what, how_name(j->how), res(j->r, j->err));
}

/* A reader thread blocks on rfd; a writer thread made after it writes msg
 * to wfd.  Natively the writer wakes the reader; a shim blocking the only
 * OS thread in the reader's call never gets to the writer. */
static void reader_then_writer(const char *what, int rfd, enum how rh, int wfd, enum how wh,
			       const char *msg)
{
	struct job r, w;
	step = what;
	start(&r, rh, rfd, NULL, strlen(msg), 0);
	start(&w, wh, wfd, msg, strlen(msg), 10);
	finish(&r, what);
	finish(&w, "  and the writer");
}

/* One call in this thread, which must fail once the socket timeout set on
 * fd (100 ms) has passed. */
static void times_out(const char *what, enum how how, int fd)
{
	char buf[16] = "late";
	step = what;
	long long t0 = now_ns(CLOCK_MONOTONIC);
	errno = 0;
	ssize_t r = do_io(how, fd, buf, how >= WRITE ? 4 : sizeof buf);
	int e = errno;
	long long ms = (now_ns(CLOCK_MONOTONIC) - t0) / MS;
	printf("  %s (%s): %s, after the timeout: %s\n", what, how_name(how), res(r, e),
	       yesno(ms >= 50 && ms < 3000));
}

static void set_timeout(int fd, int opt)
{
	struct timeval tv = { 0, 100000 };
	int r = setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof tv);
	printf("  setsockopt %s 100 ms: %s\n", opt == SO_RCVTIMEO ? "SO_RCVTIMEO" : "SO_SNDTIMEO",
	       res(r, errno));
}

/* ---- bulk ---------------------------------------------------------------- */

#define BULK (256 * 1024)
static unsigned char bulk_out[BULK], bulk_in[BULK];

struct bulk_job {
	int fd;
	enum how how;
	ssize_t done;
	int err;
	pthread_t t;
};

static void *bulk_writer(void *p)
{
	struct bulk_job *b = p;
	errno = 0;
	b->done = do_io(b->how, b->fd, (char *)bulk_out, BULK);
	b->err = errno;
	return NULL;
}

static void *bulk_reader(void *p)
{
	struct bulk_job *b = p;
	size_t got = 0;
	while (got < BULK) {
		ssize_t r = do_io(b->how, b->fd, (char *)bulk_in + got, BULK - got);
		if (r <= 0) {
			b->err = r < 0 ? errno : 0;
			break;
		}
		got += (size_t)r;
	}
	b->done = (ssize_t)got;
	return NULL;
}

/* 256 KiB, more than a pipe or a socket buffer holds: a writer thread
 * blocks until a reader thread made after it drains. */
static void bulk(const char *what, int wfd, enum how wh, int rfd, enum how rh)
{
	struct bulk_job w = { .fd = wfd, .how = wh }, r = { .fd = rfd, .how = rh };
	step = what;
	for (size_t i = 0; i < BULK; i++)
		bulk_out[i] = (unsigned char)(i * 7 + i / 251);
	memset(bulk_in, 0, BULK);
	must(pthread_create(&w.t, NULL, bulk_writer, &w), "pthread_create");
	must(pthread_create(&r.t, NULL, bulk_reader, &r), "pthread_create");
	must(pthread_join(w.t, NULL), "pthread_join");
	must(pthread_join(r.t, NULL), "pthread_join");
	printf("  %s: %s wrote %s, %s read %s, in order: %s\n", what, how_name(wh), res(w.done, w.err),
	       how_name(rh), res(r.done, r.err), yesno(memcmp(bulk_in, bulk_out, BULK) == 0));
}

/* ---- calls on this thread ----------------------------------------------- */

static void io_here(const char *what, enum how how, int fd, const char *data, size_t len)
{
	char buf[64] = "";
	step = what;
	if (data)
		memcpy(buf, data, len);
	errno = 0;
	ssize_t r = do_io(how, fd, buf, len);
	int rd = how == READ || how == READV || how == RECV;
	if (rd && r > 0)
		printf("  %s (%s): %zd \"%.*s\"\n", what, how_name(how), r, (int)r, buf);
	else
		printf("  %s (%s): %s\n", what, how_name(how), res(r, errno));
}

static void rewind_fd(int fd)
{
	off_t o = lseek(fd, 0, SEEK_SET);
	printf("  lseek 0: %s\n", res((long)o, errno));
}

static int peer_of(int fd)
{
	int p = fd_swap_peer(fd);
	printf("  the other end kept: %s\n", yesno(p >= 0));
	if (p < 0)
		exit(1);
	return p;
}

/* ---- socket() ----------------------------------------------------------- */

static void socket_as_file(void)
{
	swap("socket=file");
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	swap(NULL);
	describe("socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC)", fd);
	io_here("hello", WRITE, fd, "hello ", 6);
	io_here("world", WRITEV, fd, "world", 5);
	rewind_fd(fd);
	io_here("back", READ, fd, NULL, 6);
	io_here("back", READV, fd, NULL, 5);
	io_here("at the end", READ, fd, NULL, 8);
	poll_one("POLLIN|POLLOUT", fd, POLLIN | POLLOUT, 1000);
	io_here("a socket call", SEND, fd, "x", 1);
	io_here("a socket call", RECV, fd, NULL, 1);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	step = "socket=file: connect";
	int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	printf("  connect: %s\n", res(r, errno));
	r = listen(fd, 1);
	printf("  listen: %s\n", res(r, errno));
	step = "socket=file: accept";
	r = accept(fd, NULL, NULL);
	printf("  accept: %s\n", res(r, errno));
	describe("after them", fd);
	rewind_fd(fd);
	io_here("still there", READ, fd, NULL, 11);
	close(fd);
}

static void socket_as_pipe(void)
{
	swap("socket=pipe");
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	swap(NULL);
	describe("socket(AF_UNIX, SOCK_STREAM|SOCK_NONBLOCK)", fd);
	int peer = peer_of(fd);
	describe("its other end", peer);
	io_here("nothing yet", READ, fd, NULL, 4);
	io_here("nothing yet", READV, fd, NULL, 4);
	io_here("a socket call", RECV, fd, NULL, 4);
	poll_one("POLLIN, 0 ms", fd, POLLIN, 0);

	struct job w;
	step = "socket=pipe: poll woken by a thread";
	start(&w, WRITE, peer, "ping", 4, 20);
	poll_one("POLLIN, a thread writes", fd, POLLIN, 5000);
	finish(&w, "writer");
	io_here("ping", READ, fd, NULL, 16);

	/* An epoll instance of the program's own watching it. */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd }, out[2];
	printf("  epoll_ctl ADD: %s\n", res(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), errno));
	step = "socket=pipe: epoll_wait woken by a thread";
	start(&w, WRITEV, peer, "epol", 4, 20);
	int n = epoll_wait(ep, out, 2, 5000);
	printf("  epoll_wait, a thread writes: %s, the fd: %s\n", res(n, errno),
	       yesno(n == 1 && out[0].data.fd == fd && (out[0].events & EPOLLIN)));
	finish(&w, "writer");
	io_here("epol", READV, fd, NULL, 16);
	close(ep);

	/* Blocking from now on. */
	int fl = fcntl(fd, F_GETFL);
	printf("  O_NONBLOCK cleared: %s\n", res(fcntl(fd, F_SETFL, fl & ~O_NONBLOCK), errno));
	reader_then_writer("socket=pipe: blocking read", fd, READ, peer, WRITE, "pong");
	reader_then_writer("socket=pipe: blocking readv", fd, READV, peer, WRITEV, "pong");
	io_here("a socket call", SEND, fd, "x", 1);
	step = "socket=pipe: accept";
	int r = accept(fd, NULL, NULL);
	printf("  accept: %s\n", res(r, errno));
	close(peer);
	io_here("the other end closed", READ, fd, NULL, 4);
	close(fd);
}

static void socket_as_socketpair(void)
{
	swap("socket=socketpair");
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	swap(NULL);
	describe("socket(AF_INET6, SOCK_DGRAM)", fd);
	int peer = peer_of(fd);
	reader_then_writer("socket=socketpair: recv", fd, RECV, peer, SEND, "dgram?");
	reader_then_writer("socket=socketpair: read", peer, READ, fd, WRITEV, "stream");
	set_timeout(fd, SO_RCVTIMEO);
	times_out("socket=socketpair: read, nothing comes", READ, fd);
	close(peer);
	close(fd);
}

static void socket_errors(void)
{
	swap("socket=file");
	int fd = socket(AF_INET, 12345, 0);
	printf("  socket(AF_INET, 12345): %s\n", res(fd, errno));
	fd = socket(-1, SOCK_STREAM, 0);
	printf("  socket(-1, SOCK_STREAM): %s\n", res(fd, errno));
	swap("socketpair=pipe");
	int sv[2];
	int r = socketpair(AF_INET, SOCK_STREAM, 0, sv);
	printf("  socketpair(AF_INET): %s\n", res(r, errno));
	swap("pipe=socketpair");
	r = pipe2(sv, 0x40000000);
	printf("  pipe2(bad flag): %s\n", res(r, errno));
	swap("eventfd=socketpair");
	r = eventfd(0, 0x40000000);
	printf("  eventfd(bad flag): %s\n", res(r, errno));
	swap(NULL);
}

/* ---- socketpair() ------------------------------------------------------- */

static void socketpair_as_pipe(void)
{
	int sv[2];
	swap("socketpair=pipe");
	int r = socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	swap(NULL);
	printf("  socketpair(AF_UNIX, SOCK_STREAM): %s\n", res(r, errno));
	describe("sv[0]", sv[0]);
	describe("sv[1]", sv[1]);
	reader_then_writer("socketpair=pipe: read", sv[0], READ, sv[1], WRITE, "abcd");
	reader_then_writer("socketpair=pipe: readv", sv[0], READV, sv[1], WRITEV, "efgh");
	bulk("socketpair=pipe: 256 KiB", sv[1], WRITEV, sv[0], READ);
	bulk("socketpair=pipe: 256 KiB again", sv[1], WRITE, sv[0], READV);
	io_here("the read end", WRITE, sv[0], "x", 1);
	io_here("the write end", READ, sv[1], NULL, 1);
	io_here("a socket call", SEND, sv[1], "x", 1);
	printf("  shutdown: %s\n", res(shutdown(sv[0], SHUT_RDWR), errno));
	struct pollfd p[2] = { { sv[0], POLLIN, 0 }, { sv[1], POLLOUT, 0 } };
	step = "socketpair=pipe: poll";
	r = poll(p, 2, 1000);
	printf("  poll both: %s, revents %s / %s\n", res(r, errno), events(p[0].revents),
	       events(p[1].revents));

	struct job w;
	step = "socketpair=pipe: select woken by a thread";
	start(&w, WRITE, sv[1], "sel", 3, 20);
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(sv[0], &rs);
	struct timeval tv = { 5, 0 };
	r = select(sv[0] + 1, &rs, NULL, NULL, &tv);
	printf("  select, a thread writes: %s, readable: %s\n", res(r, errno), yesno(FD_ISSET(sv[0], &rs)));
	finish(&w, "writer");
	io_here("sel", READ, sv[0], NULL, 8);
	close(sv[1]);
	poll_one("POLLIN, the write end closed", sv[0], POLLIN, 1000);
	io_here("the write end closed", READ, sv[0], NULL, 8);
	close(sv[0]);

	swap("socketpair=pipe");
	r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
	swap(NULL);
	printf("  socketpair(AF_UNIX, SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC): %s\n", res(r, errno));
	describe("sv[0]", sv[0]);
	describe("sv[1]", sv[1]);
	io_here("nothing yet", READ, sv[0], NULL, 4);
	close(sv[0]);
	close(sv[1]);
}

/* ---- pipe(), pipe2() ------------------------------------------------------ */

static void pipe_as_socketpair_timeouts(void)
{
	int fds[2];
	swap("pipe=socketpair");
	int r = pipe(fds);
	swap(NULL);
	printf("  pipe: %s\n", res(r, errno));
	describe("fds[0]", fds[0]);
	describe("fds[1]", fds[1]);
	set_timeout(fds[0], SO_RCVTIMEO);
	times_out("pipe=socketpair: read, nothing comes", READ, fds[0]);
	times_out("pipe=socketpair: readv, nothing comes", READV, fds[0]);
	times_out("pipe=socketpair: recv, nothing comes", RECV, fds[0]);
	set_timeout(fds[1], SO_SNDTIMEO);
	static char big[1 << 20];
	step = "pipe=socketpair: write 1 MiB, nobody reads";
	long long t0 = now_ns(CLOCK_MONOTONIC);
	ssize_t w = write(fds[1], big, sizeof big);
	int e = errno;
	long long ms = (now_ns(CLOCK_MONOTONIC) - t0) / MS;
	printf("  write 1 MiB, nobody reads: part of it: %s (%s), after the timeout: %s\n",
	       yesno(w > 0 && w < (ssize_t)sizeof big), w < 0 ? en(e) : "a count",
	       yesno(ms >= 50 && ms < 3000));
	close(fds[0]);
	close(fds[1]);
}

static void pipe_as_socketpair_threads(void)
{
	int fds[2];
	swap("pipe=socketpair");
	int r = pipe2(fds, O_CLOEXEC);
	swap(NULL);
	printf("  pipe2(O_CLOEXEC): %s\n", res(r, errno));
	describe("fds[0]", fds[0]);
	describe("fds[1]", fds[1]);
	reader_then_writer("pipe=socketpair: read", fds[0], READ, fds[1], WRITE, "piped");
	reader_then_writer("pipe=socketpair: readv", fds[0], READV, fds[1], WRITEV, "vector");
	reader_then_writer("pipe=socketpair: the other way", fds[1], READ, fds[0], WRITE, "back");
	bulk("pipe=socketpair: 256 KiB", fds[1], WRITEV, fds[0], READV);
	poll_one("POLLIN, 0 ms", fds[0], POLLIN, 0);
	poll_one("POLLOUT", fds[1], POLLOUT, 1000);
	close(fds[1]);
	io_here("the other end closed", READ, fds[0], NULL, 4);
	close(fds[0]);

	swap("pipe=socketpair");
	r = pipe2(fds, O_NONBLOCK);
	swap(NULL);
	printf("  pipe2(O_NONBLOCK): %s\n", res(r, errno));
	describe("fds[0]", fds[0]);
	io_here("nothing yet", READ, fds[0], NULL, 4);
	close(fds[0]);
	close(fds[1]);
}

/* recv and send on a "pipe": sockets calls, which natively wait. */
static void pipe_as_socketpair_recv(void)
{
	int fds[2];
	swap("pipe=socketpair");
	int r = pipe(fds);
	swap(NULL);
	printf("  pipe: %s\n", res(r, errno));
	reader_then_writer("pipe=socketpair: recv", fds[0], RECV, fds[1], SEND, "sent");
	bulk("pipe=socketpair: 256 KiB by send and recv", fds[1], SEND, fds[0], RECV);
	close(fds[0]);
	close(fds[1]);
}

/* ---- eventfd() ------------------------------------------------------------ */

static void eventfd_as_socketpair(void)
{
	swap("eventfd=socketpair");
	int fd = eventfd(0, EFD_CLOEXEC);
	swap(NULL);
	describe("eventfd(0, EFD_CLOEXEC)", fd);
	int peer = peer_of(fd);
	poll_one("POLLIN, 0 ms", fd, POLLIN, 0);
	uint64_t v = 7;
	char msg[8];
	memcpy(msg, &v, 8);
	struct job rd, wr;
	step = "eventfd=socketpair: read, a thread writes";
	start(&rd, READ, fd, NULL, 8, 0);
	start(&wr, WRITE, peer, msg, 8, 10);
	must(pthread_join(rd.t, NULL), "pthread_join");
	memcpy(&v, rd.data, 8);
	printf("  read woken by a thread's write: %s, value %llu\n", res(rd.r, rd.err),
	       (unsigned long long)v);
	finish(&wr, "  and the writer");
	v = 9;
	memcpy(msg, &v, 8);
	io_here("write", WRITE, fd, msg, 8);
	char got[8] = "";
	ssize_t r = read(peer, got, 8);
	memcpy(&v, got, 8);
	printf("  the other end reads: %s, value %llu\n", res(r, errno), (unsigned long long)v);
	set_timeout(fd, SO_RCVTIMEO);
	times_out("eventfd=socketpair: read, nothing comes", READ, fd);
	close(peer);
	close(fd);

	swap("eventfd=socketpair");
	fd = eventfd(0, EFD_NONBLOCK);
	swap(NULL);
	describe("eventfd(0, EFD_NONBLOCK)", fd);
	io_here("nothing yet", READ, fd, NULL, 8);
	close(fd_swap_peer(fd));
	close(fd);
}

static void eventfd_as_file(void)
{
	swap("eventfd=file");
	int fd = eventfd(5, EFD_NONBLOCK | EFD_CLOEXEC);
	swap(NULL);
	describe("eventfd(5, EFD_NONBLOCK|EFD_CLOEXEC)", fd);
	printf("  no other end: %s\n", yesno(fd_swap_peer(fd) < 0));
	io_here("empty", READ, fd, NULL, 8);
	io_here("counter", WRITE, fd, "countr:1", 8);
	io_here("counter", WRITEV, fd, "countr:2", 8);
	io_here("at the end", READ, fd, NULL, 8);
	rewind_fd(fd);
	io_here("back", READV, fd, NULL, 8);
	io_here("back", READ, fd, NULL, 8);
	poll_one("POLLIN|POLLOUT", fd, POLLIN | POLLOUT, 1000);
	close(fd);
}

static void eventfd_as_pipe(void)
{
	swap("eventfd=pipe");
	int fd = eventfd(0, 0);
	swap(NULL);
	describe("eventfd(0, 0)", fd);
	int peer = peer_of(fd);
	reader_then_writer("eventfd=pipe: read", fd, READ, peer, WRITE, "eight by");
	reader_then_writer("eventfd=pipe: readv", fd, READV, peer, WRITEV, "tes each");
	io_here("the read end", WRITE, fd, "12345678", 8);
	close(peer);
	close(fd);
}

/* ---- signalfd(), timerfd_create(), inotify_init1(), epoll_create1() ----- */

static void signalfd_swapped(void)
{
	sigset_t m;
	sigemptyset(&m);
	sigaddset(&m, SIGUSR1);
	struct signalfd_siginfo si;
	memset(&si, 0, sizeof si);
	si.ssi_signo = SIGUSR1;

	swap("signalfd=socketpair");
	int fd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
	swap(NULL);
	describe("signalfd(-1, {SIGUSR1}, SFD_NONBLOCK|SFD_CLOEXEC)", fd);
	int peer = peer_of(fd);
	io_here("nothing yet", READ, fd, NULL, 16);
	ssize_t r = write(peer, &si, sizeof si);
	printf("  the other end writes a siginfo: %s\n", res(r, errno));
	poll_one("POLLIN", fd, POLLIN, 1000);
	struct signalfd_siginfo got;
	r = read(fd, &got, sizeof got);
	printf("  read: %s, signal %s\n", res(r, errno), got.ssi_signo == SIGUSR1 ? "SIGUSR1" : "?");
	int r2 = signalfd(fd, &m, 0);
	printf("  signalfd(it, ...): %s\n", res(r2, errno));
	close(peer);
	close(fd);

	swap("signalfd=pipe");
	fd = signalfd(-1, &m, SFD_CLOEXEC);
	swap(NULL);
	describe("signalfd(-1, {SIGUSR1}, SFD_CLOEXEC)", fd);
	peer = peer_of(fd);
	reader_then_writer("signalfd=pipe: read", fd, READ, peer, WRITEV, "a signal");
	close(peer);
	close(fd);

	swap("signalfd=file");
	fd = signalfd(-1, &m, 0);
	swap(NULL);
	describe("signalfd(-1, {SIGUSR1}, 0)", fd);
	io_here("a siginfo", WRITE, fd, "siginfo", 7);
	rewind_fd(fd);
	io_here("back", READ, fd, NULL, 16);
	close(fd);
}

static void timerfd_swapped(void)
{
	struct itimerspec its = { .it_value = { 0, 1000000 } };

	swap("timerfd=pipe");
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	swap(NULL);
	describe("timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)", fd);
	int r = timerfd_settime(fd, 0, &its, NULL);
	printf("  timerfd_settime: %s\n", res(r, errno));
	int peer = peer_of(fd);
	reader_then_writer("timerfd=pipe: read", fd, READ, peer, WRITE, "expired!");
	poll_one("POLLIN, 0 ms", fd, POLLIN, 0);
	close(peer);
	close(fd);

	swap("timerfd=socketpair");
	fd = timerfd_create(CLOCK_REALTIME, 0);
	swap(NULL);
	describe("timerfd_create(CLOCK_REALTIME, 0)", fd);
	peer = peer_of(fd);
	reader_then_writer("timerfd=socketpair: readv", fd, READV, peer, WRITE, "8 bytes!");
	set_timeout(fd, SO_RCVTIMEO);
	times_out("timerfd=socketpair: read, nothing comes", READ, fd);
	close(peer);
	close(fd);

	swap("timerfd=file");
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	swap(NULL);
	describe("timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK)", fd);
	io_here("ticks", WRITEV, fd, "ticks:42", 8);
	rewind_fd(fd);
	io_here("back", READ, fd, NULL, 8);
	close(fd);
}

static void inotify_swapped(void)
{
	swap("inotify=socketpair");
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	swap(NULL);
	describe("inotify_init1(IN_NONBLOCK|IN_CLOEXEC)", fd);
	int peer = peer_of(fd);
	int w = inotify_add_watch(fd, "/tmp", IN_CREATE);
	printf("  inotify_add_watch: %s\n", res(w, errno));
	io_here("nothing yet", READ, fd, NULL, 16);
	struct job j;
	step = "inotify=socketpair: poll woken by a thread";
	start(&j, SEND, peer, "an event", 8, 20);
	poll_one("POLLIN, a thread writes", fd, POLLIN, 5000);
	finish(&j, "writer");
	io_here("the event", READ, fd, NULL, 16);
	close(peer);
	close(fd);

	swap("inotify=pipe");
	fd = inotify_init();
	swap(NULL);
	describe("inotify_init()", fd);
	peer = peer_of(fd);
	reader_then_writer("inotify=pipe: read", fd, READ, peer, WRITE, "IN_CREATE");
	close(peer);
	close(fd);
}

static void epoll_swapped(void)
{
	struct epoll_event ev = { .events = EPOLLIN }, out[4];

	swap("epoll=socketpair");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	swap(NULL);
	describe("epoll_create1(EPOLL_CLOEXEC)", ep);
	int peer = peer_of(ep);
	int r = epoll_ctl(ep, EPOLL_CTL_ADD, peer, &ev);
	printf("  epoll_ctl: %s\n", res(r, errno));
	step = "epoll=socketpair: epoll_wait";
	long long t0 = now_ns(CLOCK_MONOTONIC);
	r = epoll_wait(ep, out, 4, 500);
	printf("  epoll_wait 500 ms: %s, at once: %s\n", res(r, errno),
	       yesno(now_ns(CLOCK_MONOTONIC) - t0 < 400 * MS));
	io_here("readable", WRITE, peer, "ready", 5);
	t0 = now_ns(CLOCK_MONOTONIC);
	r = epoll_wait(ep, out, 4, 500);
	printf("  epoll_wait 500 ms, readable: %s, at once: %s\n", res(r, errno),
	       yesno(now_ns(CLOCK_MONOTONIC) - t0 < 400 * MS));
	poll_one("POLLIN", ep, POLLIN, 1000);
	io_here("ready", READ, ep, NULL, 16);
	reader_then_writer("epoll=socketpair: read", ep, READ, peer, WRITE, "wakeup");
	close(peer);
	close(ep);

	swap("epoll=file");
	ep = epoll_create(8);
	swap(NULL);
	describe("epoll_create(8)", ep);
	step = "epoll=file: epoll_wait";
	t0 = now_ns(CLOCK_MONOTONIC);
	r = epoll_wait(ep, out, 4, 500);
	printf("  epoll_wait 500 ms: %s, at once: %s\n", res(r, errno),
	       yesno(now_ns(CLOCK_MONOTONIC) - t0 < 400 * MS));
	io_here("data", WRITE, ep, "data", 4);
	rewind_fd(ep);
	io_here("back", READV, ep, NULL, 4);
	close(ep);

	swap("epoll=pipe");
	ep = epoll_create1(0);
	swap(NULL);
	describe("epoll_create1(0)", ep);
	peer = peer_of(ep);
	step = "epoll=pipe: epoll_pwait";
	sigset_t none;
	sigemptyset(&none);
	t0 = now_ns(CLOCK_MONOTONIC);
	r = epoll_pwait(ep, out, 4, 500, &none);
	printf("  epoll_pwait 500 ms: %s, at once: %s\n", res(r, errno),
	       yesno(now_ns(CLOCK_MONOTONIC) - t0 < 400 * MS));
	reader_then_writer("epoll=pipe: read", ep, READ, peer, WRITE, "events");
	close(peer);
	close(ep);
}

/* ---- memfd_create() --------------------------------------------------- */

static void memfd_swapped(void)
{
	swap("memfd=pipe");
	int fd = memfd_create("fd_swapped_kinds", MFD_CLOEXEC);
	swap(NULL);
	describe("memfd_create(MFD_CLOEXEC)", fd);
	int peer = peer_of(fd);
	int r = ftruncate(fd, 4096);
	printf("  ftruncate: %s\n", res(r, errno));
	reader_then_writer("memfd=pipe: read", fd, READ, peer, WRITE, "memory");
	reader_then_writer("memfd=pipe: readv", fd, READV, peer, WRITEV, "vector");
	bulk("memfd=pipe: 256 KiB", peer, WRITE, fd, READ);
	poll_one("POLLIN, 0 ms", fd, POLLIN, 0);
	close(peer);
	poll_one("POLLIN, the other end closed", fd, POLLIN, 1000);
	io_here("the other end closed", READ, fd, NULL, 8);
	close(fd);

	swap("memfd=socketpair");
	fd = memfd_create("fd_swapped_kinds", 0);
	swap(NULL);
	describe("memfd_create(0)", fd);
	peer = peer_of(fd);
	reader_then_writer("memfd=socketpair: read", fd, READ, peer, WRITE, "memory");
	bulk("memfd=socketpair: 256 KiB", fd, WRITEV, peer, READ);
	set_timeout(fd, SO_RCVTIMEO);
	times_out("memfd=socketpair: read, nothing comes", READ, fd);
	close(peer);
	close(fd);

	swap("memfd=file");
	fd = memfd_create("fd_swapped_kinds", MFD_ALLOW_SEALING);
	swap(NULL);
	describe("memfd_create(MFD_ALLOW_SEALING)", fd);
	io_here("bytes", WRITE, fd, "bytes", 5);
	rewind_fd(fd);
	io_here("back", READ, fd, NULL, 8);
	close(fd);
}

/* ---- open(), openat(), creat(), mkstemp() ------------------------------- */

static void open_swapped(void)
{
	swap("open=pipe");
	int fd = open("/tmp/fd_swap.in", O_RDONLY | O_CLOEXEC);
	int other = open("/dev/null", O_RDONLY);
	swap(NULL);
	describe("open(/tmp/fd_swap.in, O_RDONLY|O_CLOEXEC)", fd);
	describe("open(/dev/null, O_RDONLY), not swapped", other);
	close(other);
	int peer = peer_of(fd);
	reader_then_writer("open=pipe: read", fd, READ, peer, WRITE, "opened");
	close(peer);
	close(fd);

	swap("open=pipe");
	fd = creat("/tmp/fd_swap.out", 0600);
	swap(NULL);
	describe("creat(/tmp/fd_swap.out)", fd);
	peer = peer_of(fd);
	bulk("creat=pipe: 256 KiB", fd, WRITEV, peer, READ);
	reader_then_writer("creat=pipe: read", peer, READV, fd, WRITE, "created");
	close(peer);
	close(fd);

	swap("open=socketpair");
	fd = openat(AT_FDCWD, "/tmp/fd_swap.sock", O_RDWR | O_NONBLOCK);
	swap(NULL);
	describe("openat(/tmp/fd_swap.sock, O_RDWR|O_NONBLOCK)", fd);
	peer = peer_of(fd);
	io_here("nothing yet", READ, fd, NULL, 8);
	int fl = fcntl(fd, F_GETFL);
	printf("  O_NONBLOCK cleared: %s\n", res(fcntl(fd, F_SETFL, fl & ~O_NONBLOCK), errno));
	reader_then_writer("openat=socketpair: read", fd, READ, peer, WRITE, "socket");
	set_timeout(fd, SO_RCVTIMEO);
	times_out("openat=socketpair: read, nothing comes", READ, fd);
	close(peer);
	close(fd);

	swap("open=file");
	fd = open("/tmp/fd_swap.file", O_WRONLY | O_CREAT | O_EXCL, 0600);
	swap(NULL);
	describe("open(/tmp/fd_swap.file, O_WRONLY|O_CREAT|O_EXCL)", fd);
	io_here("bytes", WRITE, fd, "bytes", 5);
	rewind_fd(fd);
	io_here("back", READ, fd, NULL, 8);
	close(fd);
}

static void mkstemp_swapped(void)
{
	char path[] = "/tmp/fd_swapped_kinds.XXXXXX";
	swap("mkstemp=pipe");
	int fd = mkstemp(path);
	swap(NULL);
	describe("mkstemp", fd);
	printf("  name filled in: %s, unlink: %s\n", yesno(strstr(path, "XXXXXX") == NULL),
	       res(unlink(path), errno));
	int peer = peer_of(fd);
	reader_then_writer("mkstemp=pipe: read", fd, READ, peer, WRITE, "temporary");
	bulk("mkstemp=pipe: 256 KiB", peer, WRITEV, fd, READV);
	close(peer);
	close(fd);

	char path2[] = "/tmp/fd_swapped_kinds.XXXXXX";
	swap("mkstemp=socketpair");
	fd = mkstemp(path2);
	swap(NULL);
	describe("mkstemp", fd);
	unlink(path2);
	peer = peer_of(fd);
	reader_then_writer("mkstemp=socketpair: read", fd, READ, peer, WRITE, "temporary");
	close(peer);
	close(fd);
}

/* ---- the cases ---------------------------------------------------------- */

static const struct {
	const char *name;
	void (*run)(void);
} cases[] = {
	{ "socket=file", socket_as_file },
	{ "socket=pipe", socket_as_pipe },
	{ "socket=socketpair", socket_as_socketpair },
	{ "errors", socket_errors },
	{ "socketpair=pipe", socketpair_as_pipe },
	{ "pipe=socketpair timeouts", pipe_as_socketpair_timeouts },
	{ "pipe=socketpair threads", pipe_as_socketpair_threads },
	{ "pipe=socketpair recv", pipe_as_socketpair_recv },
	{ "eventfd=socketpair", eventfd_as_socketpair },
	{ "eventfd=file", eventfd_as_file },
	{ "eventfd=pipe", eventfd_as_pipe },
	{ "signalfd", signalfd_swapped },
	{ "timerfd", timerfd_swapped },
	{ "inotify", inotify_swapped },
	{ "epoll", epoll_swapped },
	{ "memfd", memfd_swapped },
	{ "open", open_swapped },
	{ "mkstemp", mkstemp_swapped },
};

static int wanted(int argc, char **argv, const char *name)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa = { .sa_handler = on_alarm };
	sigaction(SIGALRM, &sa, NULL);
	alarm(15);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (!wanted(argc, argv, cases[i].name))
			continue;
		printf("%s:\n", cases[i].name);
		current = step = cases[i].name;
		cases[i].run();
	}
	step = "exit";
	return 0;
}

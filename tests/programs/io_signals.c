/*
 * io_signals — blocking I/O in a thread interrupted by pthread_kill.
 *
 * A worker thread blocks in a call; main waits 100 ms, sends SIGUSR1 to it
 * with pthread_kill, waits 100 ms more, then makes the call able to finish
 * (writes the data, connects, drains the pipe).  The handler notes whether
 * it ran in the worker.  As Linux does (signal(7)):
 *   without SA_RESTART: read (pipe), recv (socket), accept, write into a
 *     full pipe, poll -> -1 EINTR;
 *   with SA_RESTART: read, recv, accept and write are restarted and finish
 *     with the data / connection / room made later; poll still -> EINTR
 *     (never restarted); recv on a socket with SO_RCVTIMEO set -> EINTR
 *     (a socket timeout turns restarting off).
 * Every call finishes natively even if it were restarted wrongly, since
 * main always makes it able to finish, and each case uses fresh fds.
 * On the shim's one OS thread each call must be greened (main has to run
 * while the worker waits) and the signal must end or restart the wait.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "testutil.h"

static pthread_t worker_t;
static volatile sig_atomic_t in_worker, elsewhere;

static void handler(int sig)
{
	if (pthread_equal(pthread_self(), worker_t))
		in_worker++;
	else
		elsewhere++;
}

enum kind { K_READ, K_RECV, K_RECV_TIMEO, K_ACCEPT, K_WRITE_FULL, K_POLL };
static const char *kind_name[] = { "read (pipe)", "recv (socket)", "recv, SO_RCVTIMEO 5 s",
				   "accept", "write (full pipe)", "poll (pipe)" };

struct work {
	enum kind k;
	int fd, peer;             /* worker's fd; main's end */
	struct sockaddr_in addr;  /* K_ACCEPT: where to connect */
	ssize_t r;
	int e;
	char buf[64];
};

static void *worker(void *arg)
{
	struct work *w = arg;
	static char block[4096];
	struct pollfd pf = { w->fd, POLLIN, 0 };
	errno = 0;
	switch (w->k) {
	case K_READ: w->r = read(w->fd, w->buf, sizeof w->buf - 1); break;
	case K_RECV:
	case K_RECV_TIMEO: w->r = recv(w->fd, w->buf, sizeof w->buf - 1, 0); break;
	case K_ACCEPT: w->r = accept(w->fd, NULL, NULL); break;
	case K_WRITE_FULL: w->r = write(w->fd, block, sizeof block); break;
	case K_POLL: w->r = poll(&pf, 1, 5000); break;
	}
	w->e = errno;
	return NULL;
}

/* Fills a pipe to the brim (nonblocking for a moment), leaves it blocking. */
static void fill_pipe(int fd)
{
	static char block[4096];
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (write(fd, block, sizeof block) > 0)
		;
	while (write(fd, block, 1) > 0)
		;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
}

static void drain_pipe(int fd)
{
	static char block[65536];
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (read(fd, block, sizeof block) > 0)
		;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
}

static void run(enum kind k, int restart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	struct work w;
	memset(&w, 0, sizeof w);
	w.k = k;
	int fds[2], lst = -1;
	switch (k) {
	case K_READ:
	case K_POLL:
	case K_WRITE_FULL:
		if (pipe(fds) != 0)
			die("pipe");
		w.fd = k == K_WRITE_FULL ? fds[1] : fds[0];
		w.peer = k == K_WRITE_FULL ? fds[0] : fds[1];
		if (k == K_WRITE_FULL)
			fill_pipe(w.fd);
		break;
	case K_RECV:
	case K_RECV_TIMEO:
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
			die("socketpair");
		w.fd = fds[0];
		w.peer = fds[1];
		if (k == K_RECV_TIMEO) {
			struct timeval tv = { 5, 0 };
			setsockopt(w.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		}
		break;
	case K_ACCEPT: {
		socklen_t len = sizeof w.addr;
		w.addr.sin_family = AF_INET;
		w.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		lst = socket(AF_INET, SOCK_STREAM, 0);
		if (lst < 0 || bind(lst, (struct sockaddr *)&w.addr, sizeof w.addr) != 0 ||
		    getsockname(lst, (struct sockaddr *)&w.addr, &len) != 0 || listen(lst, 4) != 0)
			die("listen");
		w.fd = lst;
		w.peer = socket(AF_INET, SOCK_STREAM, 0);
		break;
	}
	}

	in_worker = elsewhere = 0;
	must(pthread_create(&worker_t, NULL, worker, &w), "pthread_create");
	usleep(100 * 1000);
	pthread_kill(worker_t, SIGUSR1);
	usleep(100 * 1000);
	/* now let the call finish, whatever happened to it */
	switch (k) {
	case K_READ:
	case K_RECV:
	case K_RECV_TIMEO:
	case K_POLL:
		if (write(w.peer, "later", 5) != 5)
			die("write");
		break;
	case K_WRITE_FULL: drain_pipe(w.peer); break;
	case K_ACCEPT:
		if (connect(w.peer, (struct sockaddr *)&w.addr, sizeof w.addr) != 0)
			die("connect");
		break;
	}
	must(pthread_join(worker_t, NULL), "pthread_join");

	printf("%-22s %-13s -> ", kind_name[k], restart ? "SA_RESTART" : "no SA_RESTART");
	if (w.r < 0)
		printf("-1 %s", en(w.e));
	else if (k == K_READ || k == K_RECV || k == K_RECV_TIMEO)
		printf("\"%.*s\"", (int)w.r, w.buf);
	else if (k == K_ACCEPT)
		printf("a connection");
	else
		printf("%zd", w.r);
	printf(", handler ran in the worker: %s, elsewhere: %d\n", yesno(in_worker == 1),
	       (int)elsewhere);
	if (k == K_ACCEPT && w.r >= 0)
		close((int)w.r);
	close(w.fd);
	close(w.peer);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int restart = 0; restart < 2; restart++)
		for (enum kind k = K_READ; k <= K_POLL; k++)
			run(k, restart);
	return 0;
}

/*
 * io_edges — corners a review found, each once a hang or a leak under the
 * shim (the shim's own private fds reusing a number, zero-length reads,
 * a cancelled system()):
 *   - sigtimedwait times out, then a pipe reuses its signalfd's number and
 *     a blocking read on it must wake when a child writes;
 *   - three poll(POLLIN|POLLPRI) calls in a row, each woken by a child;
 *   - read(socket, buf, 0) returns 0 at once and leaves a queued datagram;
 *   - a thread cancelled inside system() leaves SIGINT's disposition as it
 *     was.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* A child that writes one byte into fd after ms milliseconds. */
static pid_t write_later(int fd, int ms)
{
	pid_t c = fork();
	if (c == 0) {
		usleep(ms * 1000);
		if (write(fd, "x", 1) != 1)
			_exit(1);
		_exit(0);
	}
	return c;
}

static void *run_system(void *arg)
{
	return (void *)(long)system("sleep 2");
}

int main(void)
{
	alarm(20); /* a hang fails the run, not the runner's patience */
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	struct timespec ts = { 0, 10 * MS };
	int r = sigtimedwait(&s, NULL, &ts);
	printf("sigtimedwait: %d %s\n", r, en(errno));
	int p[2];
	if (pipe(p) != 0)
		die("pipe");
	pid_t c = write_later(p[1], 100);
	char b;
	long long t0 = now_ns(CLOCK_MONOTONIC);
	printf("read after it: %zd, woken by the write: %s\n", read(p[0], &b, 1),
	       yesno(now_ns(CLOCK_MONOTONIC) - t0 < 5000 * MS));
	waitpid(c, NULL, 0);

	for (int i = 0; i < 3; i++) {
		c = write_later(p[1], 50);
		struct pollfd f = { .fd = p[0], .events = POLLIN | POLLPRI };
		r = poll(&f, 1, 5000);
		printf("poll POLLIN|POLLPRI %d: %d, revents POLLIN %s\n", i, r,
		       yesno(f.revents == POLLIN));
		if (read(p[0], &b, 1) != 1)
			die("read");
		waitpid(c, NULL, 0);
	}

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0)
		die("socketpair");
	printf("read 0 bytes, nothing queued: %zd\n", read(sv[0], &b, 0));
	if (send(sv[1], "hello", 5, 0) != 5)
		die("send");
	printf("read 0 bytes, a datagram queued: %zd\n", read(sv[0], &b, 0));
	char d[16];
	printf("then recv: %zd\n", recv(sv[0], d, sizeof d, 0));

	pthread_t t;
	must(pthread_create(&t, NULL, run_system, NULL), "pthread_create");
	usleep(200 * 1000);
	must(pthread_cancel(t), "pthread_cancel");
	void *rv;
	must(pthread_join(t, &rv), "pthread_join");
	struct sigaction sa;
	sigaction(SIGINT, NULL, &sa);
	printf("system cancelled: %s, SIGINT disposition after: %s\n", yesno(rv == PTHREAD_CANCELED),
	       sa.sa_handler == SIG_IGN ? "ignored" : "default");
	return 0;
}

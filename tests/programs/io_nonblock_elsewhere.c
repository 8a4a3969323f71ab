/*
 * io_nonblock_elsewhere — O_NONBLOCK and SO_RCVTIMEO changed behind a
 * descriptor's back.
 *
 * O_NONBLOCK lives in the open file description and socket timeouts in
 * the socket, both shared by every duplicate and by other processes that
 * inherited the descriptor.  A shim that remembers per fd number "this one
 * blocks" must not keep that answer when the flag changes through another
 * fd or in another process.  Each case first makes a blocking read (or
 * recv) on fd that has to wait for another thread's write, so a shim has
 * looked at it; then the setting changes elsewhere:
 *   - O_NONBLOCK set through a dup: read on the original -> EAGAIN at once;
 *     cleared through the dup: a read waits for the writer again;
 *   - O_NONBLOCK set by a child process (fork, fcntl, _exit): EAGAIN;
 *     cleared by a child: the read waits again;
 *   - ioctl(FIONBIO) by a child on a socketpair end: recv -> EAGAIN;
 *   - SO_RCVTIMEO (200 ms) set through a dup: recv on the original ->
 *     EAGAIN after >= 200 ms; set by a child on a fresh socketpair: same.
 * A call that should fail but waits instead is rescued by a thread that
 * writes "rescued" after 1-2 s, so a wrong answer shows as that text,
 * never as a hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

static const char *nb(int fd) { return yesno(fcntl(fd, F_GETFL) & O_NONBLOCK); }

struct delayed {
	int fd;
	long long wrote_at;
};

static void *writer(void *arg)
{
	struct delayed *d = arg;
	usleep(100 * 1000);
	d->wrote_at = now_ns(CLOCK_MONOTONIC);
	if (write(d->fd, "data", 4) != 4)
		die("write");
	return NULL;
}

/* A read (recv) that must wait for another thread's write 100 ms later. */
static void waiting_read(const char *what, int rfd, int wfd, int use_recv)
{
	struct delayed d = { wfd, 0 };
	pthread_t t;
	char buf[16];
	must(pthread_create(&t, NULL, writer, &d), "pthread_create");
	ssize_t k = use_recv ? recv(rfd, buf, sizeof buf, 0) : read(rfd, buf, sizeof buf);
	int e = errno;
	long long at = now_ns(CLOCK_MONOTONIC);
	must(pthread_join(t, NULL), "pthread_join");
	if (k < 0)
		printf("%s: %s\n", what, en(e));
	else
		printf("%s: \"%.*s\", waited for the writer: %s\n", what, (int)k, buf,
		       yesno(at >= d.wrote_at));
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int returned;

struct rescue {
	int fd;
	long ms;
};

/* Writes "rescued" after r->ms unless the call came back first. */
static void *rescuer(void *arg)
{
	struct rescue *r = arg;
	struct timespec until = deadline_ms(CLOCK_REALTIME, r->ms);
	pthread_mutex_lock(&lock);
	while (!returned)
		if (pthread_cond_timedwait(&cond, &lock, &until) != 0)
			break;
	int rescue = !returned;
	pthread_mutex_unlock(&lock);
	if (rescue && write(r->fd, "rescued", 7) != 7)
		die("write");
	return NULL;
}

/* A read (recv) that should fail: after at least min_ms (0: at once). */
static void failing_read(const char *what, int rfd, int wfd, int use_recv, long min_ms,
			 long rescue_ms)
{
	struct rescue r = { wfd, rescue_ms };
	pthread_t t;
	char buf[16];
	returned = 0;
	must(pthread_create(&t, NULL, rescuer, &r), "pthread_create");
	long long t0 = now_ns(CLOCK_MONOTONIC);
	ssize_t k = use_recv ? recv(rfd, buf, sizeof buf, 0) : read(rfd, buf, sizeof buf);
	int e = errno;
	long long d = now_ns(CLOCK_MONOTONIC) - t0;
	pthread_mutex_lock(&lock);
	returned = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	must(pthread_join(t, NULL), "pthread_join");
	if (k >= 0)
		printf("%s: \"%.*s\"\n", what, (int)k, buf);
	else if (min_ms)
		printf("%s: %s, after >= %ld ms: %s\n", what, en(e), min_ms, yesno(d >= min_ms * MS));
	else
		printf("%s: %s\n", what, en(e));
}

/* Runs f(fd) in a child process that shares fd's description. */
static void in_child(void (*f)(int), int fd)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		f(fd);
		_exit(0);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		die("waitpid");
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }
static void clear_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK); }
static void fionbio_on(int fd)
{
	int on = 1;
	ioctl(fd, FIONBIO, &on);
}
static void rcvtimeo_200ms(int fd)
{
	struct timeval tv = { 0, 200000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

int main(void)
{
	int p[2], sp[2];
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* pipe: through a dup, then by a child */
	if (pipe(p) != 0)
		die("pipe");
	waiting_read("pipe, blocking read", p[0], p[1], 0);
	int d = dup(p[0]);
	set_nonblock(d);
	printf("O_NONBLOCK set through a dup: original shows %s\n", nb(p[0]));
	failing_read("  read on the original", p[0], p[1], 0, 0, 1000);
	clear_nonblock(d);
	close(d);
	waiting_read("  cleared through the dup, read", p[0], p[1], 0);

	in_child(set_nonblock, p[0]);
	printf("O_NONBLOCK set by a child process: shows %s\n", nb(p[0]));
	failing_read("  read", p[0], p[1], 0, 0, 1000);
	in_child(clear_nonblock, p[0]);
	printf("  cleared by a child process: shows %s\n", nb(p[0]));
	waiting_read("  read", p[0], p[1], 0);
	close(p[0]);
	close(p[1]);

	/* socketpair: FIONBIO by a child */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0)
		die("socketpair");
	waiting_read("socketpair, blocking recv", sp[0], sp[1], 1);
	in_child(fionbio_on, sp[0]);
	printf("FIONBIO set by a child process: shows %s\n", nb(sp[0]));
	failing_read("  recv", sp[0], sp[1], 1, 0, 1000);
	close(sp[0]);
	close(sp[1]);

	/* SO_RCVTIMEO through a dup, then by a child */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0)
		die("socketpair");
	waiting_read("socketpair, blocking recv", sp[0], sp[1], 1);
	d = dup(sp[0]);
	rcvtimeo_200ms(d);
	close(d);
	failing_read("SO_RCVTIMEO set through a dup, recv", sp[0], sp[1], 1, 200, 2000);
	close(sp[0]);
	close(sp[1]);

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0)
		die("socketpair");
	waiting_read("socketpair, blocking recv", sp[0], sp[1], 1);
	in_child(rcvtimeo_200ms, sp[0]);
	failing_read("SO_RCVTIMEO set by a child process, recv", sp[0], sp[1], 1, 200, 2000);
	close(sp[0]);
	close(sp[1]);
	return 0;
}

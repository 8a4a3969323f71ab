/*
 * cancel_cleanup_io — pthread_cancel of threads blocked in I/O.
 *
 * read(), accept() and poll() are cancellation points; under the shim they
 * are greened waits that must act on a deferred cancellation like the
 * sleeps and condvar waits of cancel.c do.  For each, a thread sets a
 * thread-specific value (the key has a destructor), pushes two cleanup
 * handlers and blocks in the call (a pipe nobody writes, a listening socket
 * nobody connects to, poll with no timeout on such a pipe); main waits
 * 50 ms, cancels it and joins.  Checked: the handlers run innermost first,
 * then the key destructor with the thread's value, the join result is
 * PTHREAD_CANCELED, the call never returned, and the fd is intact after
 * (the pipe still carries a byte, the listening socket still accepts).
 * Then a thread with cancellation disabled blocks in read(): the cancel
 * does not end the read, the byte main writes 50 ms later does; the thread
 * enables cancellation and is cancelled at pthread_testcancel.
 * Handlers log into a buffer main prints after each join.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "testutil.h"

static char logbuf[512];
static pthread_key_t key;

static void note(const char *s)
{
	strncat(logbuf, s, sizeof logbuf - strlen(logbuf) - 1);
	strncat(logbuf, " ", sizeof logbuf - strlen(logbuf) - 1);
}

static void handler(void *arg) { note((const char *)arg); }

static void destructor(void *v)
{
	char buf[64];
	snprintf(buf, sizeof buf, "key-destructor(%s)", (const char *)v);
	note(buf);
}

static int pipe_fds[2], listen_fd;

static void *in_read(void *a)
{
	char c;
	pthread_setspecific(key, "read");
	pthread_cleanup_push(handler, "read-outer");
	pthread_cleanup_push(handler, "read-inner");
	ssize_t n = read(pipe_fds[0], &c, 1);
	note(n == 1 ? "read-returned-data" : "read-returned");
	pthread_cleanup_pop(0);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *in_accept(void *a)
{
	pthread_setspecific(key, "accept");
	pthread_cleanup_push(handler, "accept-outer");
	pthread_cleanup_push(handler, "accept-inner");
	int fd = accept(listen_fd, NULL, NULL);
	note("accept-returned");
	if (fd >= 0)
		close(fd);
	pthread_cleanup_pop(0);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *in_poll(void *a)
{
	struct pollfd p = { .fd = pipe_fds[0], .events = POLLIN };
	pthread_setspecific(key, "poll");
	pthread_cleanup_push(handler, "poll-outer");
	pthread_cleanup_push(handler, "poll-inner");
	poll(&p, 1, -1);
	note("poll-returned");
	pthread_cleanup_pop(0);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *in_read_disabled(void *a)
{
	char c;
	pthread_setspecific(key, "disabled");
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_cleanup_push(handler, "disabled-handler");
	ssize_t n = read(pipe_fds[0], &c, 1);
	note(n == 1 && c == 'd' ? "read-got-the-byte" : "read-failed");
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	pthread_testcancel();
	note("not-reached");
	pthread_cleanup_pop(0);
	return NULL;
}

static const char *res(void *r)
{
	return r == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "not cancelled";
}

static void run(const char *name, void *(*fn)(void *))
{
	pthread_t t;
	void *r = NULL;
	logbuf[0] = 0;
	must(pthread_create(&t, NULL, fn, NULL), "pthread_create");
	usleep(50 * 1000);
	int rc = pthread_cancel(t);
	if (fn == in_read_disabled) {
		usleep(50 * 1000);
		note("main-writes");
		if (write(pipe_fds[1], "d", 1) != 1)
			perror("write");
	}
	must(pthread_join(t, &r), "pthread_join");
	printf("%-15s cancel=%d result=%s log: %s\n", name, rc, res(r), logbuf);
}

int main(void)
{
	must(pthread_key_create(&key, destructor), "pthread_key_create");
	if (pipe(pipe_fds) != 0) {
		perror("pipe");
		return 1;
	}
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof addr;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
	    listen(listen_fd, 8) != 0 || getsockname(listen_fd, (struct sockaddr *)&addr, &alen) != 0) {
		perror("listen");
		return 1;
	}

	run("read", in_read);
	run("accept", in_accept);
	run("poll", in_poll);

	/* the fds are intact: nothing was consumed, both still work */
	char c = 0;
	int ok = write(pipe_fds[1], "x", 1) == 1 && read(pipe_fds[0], &c, 1) == 1 && c == 'x';
	printf("pipe works after the cancels: %s\n", yesno(ok));
	int cfd = socket(AF_INET, SOCK_STREAM, 0);
	ok = cfd >= 0 && connect(cfd, (struct sockaddr *)&addr, sizeof addr) == 0;
	int afd = ok ? accept(listen_fd, NULL, NULL) : -1;
	printf("listening socket accepts after the cancel: %s\n", yesno(afd >= 0));
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);

	run("read, disabled", in_read_disabled);
	return 0;
}

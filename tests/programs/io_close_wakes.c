/*
 * io_close_wakes — closing a descriptor another thread waits on (shim only).
 *
 * Thread A blocks in read() on a pipe (then in recv() on a socketpair);
 * main waits 100 ms and closes that descriptor: with close, then with
 * dup2 of another pipe (socketpair) onto it, then with close_range.  Under
 * the shim A's call returns -1 EBADF, as gevent and Go do.  Natively Linux leaves A blocked
 * (the open file lives on inside the call), which is why the runner runs
 * this program only under the preload; to stay bounded anyway, main gives
 * A 5 s, then prints "not woken" and exits 1.
 *
 * Then the number is used again: a new pipe (or socketpair) is put on the
 * closed number (dup2 if the kernel picked another; after the dup2 case it
 * already is the new one), a thread blocks in
 * read/recv on it, main writes 50 ms later, and the thread gets exactly
 * that data: nothing left over from the old descriptor's wait may get in
 * the way.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "testutil.h"

struct waiter {
	int fd, use_recv;
	volatile int done;
	ssize_t r;
	int e;
	char buf[64];
};

static void *wait_on(void *arg)
{
	struct waiter *w = arg;
	errno = 0;
	w->r = w->use_recv ? recv(w->fd, w->buf, sizeof w->buf - 1, 0)
			   : read(w->fd, w->buf, sizeof w->buf - 1);
	w->e = errno;
	w->done = 1;
	return NULL;
}

/* Waits up to 5 s for the waiter (10 ms naps), then joins it. */
static void join_bounded(pthread_t t, struct waiter *w, const char *what)
{
	for (int i = 0; i < 500 && !w->done; i++)
		usleep(10 * 1000);
	if (!w->done) {
		printf("%s: not woken\n", what);
		fflush(stdout);
		exit(1);
	}
	must(pthread_join(t, NULL), "pthread_join");
}

static void show(const char *what, struct waiter *w)
{
	if (w->r < 0)
		printf("%s: -1 %s\n", what, en(w->e));
	else
		printf("%s: \"%.*s\"\n", what, (int)w->r, w->buf);
}

enum how { CLOSE, DUP2_ONTO, CLOSE_RANGE };

static void round_of(int use_recv, enum how how)
{
	static const char *how_name[] = { "closed by another thread",
					  "replaced by dup2 in another thread",
					  "closed by close_range in another thread" };
	int fds[2], nfds[2];
	const char *name = use_recv ? "recv on a socketpair" : "read on a pipe";
	char what[128];
	if (use_recv ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds))
		die("pipe");
	int old = fds[0];

	struct waiter w = { .fd = old, .use_recv = use_recv };
	pthread_t t;
	must(pthread_create(&t, NULL, wait_on, &w), "pthread_create");
	usleep(100 * 1000);
	if (how == DUP2_ONTO) {
		/* a new pair's read end takes the number over */
		if (use_recv ? socketpair(AF_UNIX, SOCK_STREAM, 0, nfds) : pipe(nfds))
			die("pipe");
		if (dup2(nfds[0], old) != old)
			die("dup2");
		close(nfds[0]);
		nfds[0] = old;
	} else if (how == CLOSE_RANGE) {
		if (close_range((unsigned)old, (unsigned)old, 0) != 0)
			die("close_range");
	} else {
		close(old);
	}
	snprintf(what, sizeof what, "%s, %s", name, how_name[how]);
	join_bounded(t, &w, what);
	show(what, &w);
	close(fds[1]);

	/* the number again */
	if (how != DUP2_ONTO) {
		if (use_recv ? socketpair(AF_UNIX, SOCK_STREAM, 0, nfds) : pipe(nfds))
			die("pipe");
		if (nfds[0] != old) {
			if (nfds[1] == old) { /* keep the write end elsewhere first */
				int moved = dup(nfds[1]);
				close(nfds[1]);
				nfds[1] = moved;
			}
			if (dup2(nfds[0], old) != old)
				die("dup2");
			close(nfds[0]);
			nfds[0] = old;
		}
	}
	struct waiter w2 = { .fd = old, .use_recv = use_recv };
	must(pthread_create(&t, NULL, wait_on, &w2), "pthread_create");
	usleep(50 * 1000);
	if (write(nfds[1], "fresh", 5) != 5)
		die("write");
	snprintf(what, sizeof what, "%s, same number again", name);
	join_bounded(t, &w2, what);
	show(what, &w2);
	close(nfds[0]);
	close(nfds[1]);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	round_of(0, CLOSE);
	round_of(1, CLOSE);
	round_of(0, DUP2_ONTO);
	round_of(1, DUP2_ONTO);
	round_of(0, CLOSE_RANGE);
	round_of(1, CLOSE_RANGE);
	return 0;
}

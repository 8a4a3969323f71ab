/*
 * io_connect — connect() outcomes over loopback, blocking and not.
 *
 *   - blocking connect to a port that is bound but not listening:
 *     -1 ECONNREFUSED (the port stays reserved by the bound socket);
 *   - the same with a socket the program made nonblocking (SOCK_NONBLOCK):
 *     -1 EINPROGRESS, then poll(POLLOUT) reports it ready (with POLLERR),
 *     SO_ERROR reads ECONNREFUSED once and then 0;
 *   - nonblocking connect to a listener: EINPROGRESS, poll POLLOUT,
 *     SO_ERROR 0; connect again: 0 (Linux reports the finished connection
 *     once), and once more: EISCONN;
 *   - blocking connect while another thread is already blocked in
 *     accept(): both succeed, getpeername on each side names the other's
 *     getsockname, a byte goes each way, and a second connect gives
 *     EISCONN;
 *   - AF_UNIX: connect to an abstract name nobody bound -> ECONNREFUSED,
 *     to a path that does not exist -> ENOENT.
 *
 * Under the shim with every thread on one OS thread the accept case only
 * completes if accept() is greened (main connects after the acceptor has
 * blocked).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "testutil.h"

/* A TCP socket bound to 127.0.0.1 on an ephemeral port; *a gets the address. */
static int bound(struct sockaddr_in *a, int type)
{
	socklen_t len = sizeof *a;
	int fd = socket(AF_INET, type, 0);
	if (fd < 0)
		die("socket");
	memset(a, 0, sizeof *a);
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)a, sizeof *a) != 0 ||
	    getsockname(fd, (struct sockaddr *)a, &len) != 0)
		die("bind");
	return fd;
}

static const char *connect_result(int fd, const void *a, socklen_t len)
{
	errno = 0;
	int r = connect(fd, a, len);
	return r == 0 ? "0" : en(errno);
}

static int so_error(int fd)
{
	int e = -1;
	socklen_t len = sizeof e;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
		die("getsockopt SO_ERROR");
	return e;
}

static int same_addr(const struct sockaddr_in *x, const struct sockaddr_in *y)
{
	return x->sin_family == y->sin_family && x->sin_port == y->sin_port &&
	       x->sin_addr.s_addr == y->sin_addr.s_addr;
}

struct accepted {
	int listener, fd;
	struct sockaddr_in peer, local;
	char got;
};

static void *acceptor(void *arg)
{
	struct accepted *a = arg;
	socklen_t len = sizeof a->peer;
	a->fd = accept(a->listener, (struct sockaddr *)&a->peer, &len);
	if (a->fd < 0)
		die("accept");
	len = sizeof a->local;
	getsockname(a->fd, (struct sockaddr *)&a->local, &len);
	if (read(a->fd, &a->got, 1) != 1)
		die("read");
	if (write(a->fd, "B", 1) != 1)
		die("write");
	return NULL;
}

int main(void)
{
	struct sockaddr_in closed, srv;
	int keeper = bound(&closed, SOCK_STREAM); /* bound, never listens */

	/* blocking, refused */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	printf("blocking connect to a closed port: %s\n",
	       connect_result(fd, &closed, sizeof closed));
	close(fd);

	/* nonblocking, refused */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	printf("nonblocking connect to a closed port: %s\n",
	       connect_result(fd, &closed, sizeof closed));
	struct pollfd p = { fd, POLLOUT, 0 };
	int r = poll(&p, 1, 5000);
	printf("  poll POLLOUT: %d, POLLOUT %s, POLLERR %s\n", r, yesno(p.revents & POLLOUT),
	       yesno(p.revents & POLLERR));
	int e1 = so_error(fd), e2 = so_error(fd);
	printf("  SO_ERROR: %s, then %s\n", en(e1), en(e2));
	close(fd);
	close(keeper);

	/* nonblocking, to a listener */
	int lst = bound(&srv, SOCK_STREAM);
	if (listen(lst, 16) != 0)
		die("listen");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	printf("nonblocking connect to a listener: %s\n", connect_result(fd, &srv, sizeof srv));
	p = (struct pollfd){ fd, POLLOUT, 0 };
	r = poll(&p, 1, 5000);
	printf("  poll POLLOUT: %d, revents POLLOUT only %s\n", r, yesno(p.revents == POLLOUT));
	printf("  SO_ERROR: %s\n", en(so_error(fd)));
	printf("  connect again: %s\n", connect_result(fd, &srv, sizeof srv));
	printf("  and once more: %s\n", connect_result(fd, &srv, sizeof srv));
	int afd = accept(lst, NULL, NULL);
	printf("  accepted: %s\n", yesno(afd >= 0));
	close(afd);
	close(fd);

	/* blocking, with a thread already blocked in accept() */
	struct accepted acc = { .listener = lst, .fd = -1 };
	pthread_t t;
	must(pthread_create(&t, NULL, acceptor, &acc), "pthread_create");
	usleep(50 * 1000); /* let it block in accept */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	const char *cr = connect_result(fd, &srv, sizeof srv);
	struct sockaddr_in peer, local;
	socklen_t len = sizeof peer;
	int gp = getpeername(fd, (struct sockaddr *)&peer, &len);
	len = sizeof local;
	getsockname(fd, (struct sockaddr *)&local, &len);
	char got = 0;
	if (write(fd, "A", 1) != 1 || read(fd, &got, 1) != 1)
		die("client write/read");
	must(pthread_join(t, NULL), "pthread_join");
	printf("blocking connect while a thread waits in accept: %s\n", cr);
	printf("  getpeername: %s, is the listener: %s\n", gp == 0 ? "0" : en(errno),
	       yesno(same_addr(&peer, &srv)));
	printf("  accept's peer address is the client's getsockname: %s\n",
	       yesno(same_addr(&acc.peer, &local)));
	printf("  accepted socket's getsockname is the listener's: %s\n",
	       yesno(same_addr(&acc.local, &srv)));
	printf("  bytes exchanged: %c then %c\n", acc.got, got);
	printf("  connect again: %s\n", connect_result(fd, &srv, sizeof srv));
	close(fd);
	close(acc.fd);
	close(lst);

	/* AF_UNIX */
	struct sockaddr_un un;
	memset(&un, 0, sizeof un);
	un.sun_family = AF_UNIX;
	int n = snprintf(un.sun_path + 1, sizeof un.sun_path - 1, "io_connect.%d.none",
			 (int)getpid());
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	printf("unix connect to an unbound abstract name: %s\n",
	       connect_result(fd, &un, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)));
	close(fd);
	memset(&un, 0, sizeof un);
	un.sun_family = AF_UNIX;
	snprintf(un.sun_path, sizeof un.sun_path, "/nonexistent/io_connect.%d", (int)getpid());
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	printf("unix connect to a missing path: %s\n", connect_result(fd, &un, sizeof un));
	close(fd);
	return 0;
}

/*
 * fd_stale_kind — the shim's fd-kind cache must never make a call fail
 * that succeeds natively.  A socket the shim has seen is closed behind its
 * back, and the number is reused by a regular file or a pipe; write, read,
 * writev and readv on the new fd then work as natively.  Closed through
 * syscall(SYS_close) (libuv's way: the shim routes it through its close)
 * and through a raw system call instruction no interposer can see (the
 * cache then heals itself on the ENOTSOCK of its first attempt).  send()
 * on the file still fails with ENOTSOCK, as natively.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "testutil.h"

static long raw_close(int fd)
{
#if defined(__x86_64__)
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"((long)SYS_close), "D"((long)fd) : "rcx", "r11", "memory");
	return r;
#else
	return syscall(SYS_close, fd);
#endif
}

/* A socket the shim sees used (so it caches "socket"), closed by how. */
static int used_socket_closed(const char *how)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		die("socketpair");
	char c = 'x';
	if (write(sv[0], &c, 1) != 1 || read(sv[1], &c, 1) != 1)
		die("socket i/o");
	if (!strcmp(how, "syscall(SYS_close)")) {
		syscall(SYS_close, sv[0]);
		syscall(SYS_close, sv[1]);
	} else {
		raw_close(sv[0]);
		raw_close(sv[1]);
	}
	return sv[0];
}

static void file_case(const char *how)
{
	int old = used_socket_closed(how);
	char path[] = "/tmp/fd_stale_kind.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		die("mkstemp");
	unlink(path);
	printf("%s, then a file: same number: %s\n", how, fd == old ? "yes" : "no");
	ssize_t w = write(fd, "hello ", 6);
	struct iovec v[2] = { { "wor", 3 }, { "ld", 2 } };
	ssize_t wv = writev(fd, v, 2);
	printf("  write: %zd, writev: %zd\n", w, wv);
	char buf[32] = "";
	lseek(fd, 0, SEEK_SET);
	ssize_t r = read(fd, buf, 6);
	char a[3] = "", b[3] = "";
	struct iovec rv[2] = { { a, 3 }, { b, 2 } };
	ssize_t rr = readv(fd, rv, 2);
	printf("  read: %zd \"%.6s\", readv: %zd \"%.3s%.2s\"\n", r, buf, rr, a, b);
	errno = 0;
	ssize_t s = send(fd, "x", 1, 0);
	printf("  send: %zd %s\n", s, s < 0 ? strerror(errno) : "");
	close(fd);
}

static void pipe_case(const char *how)
{
	int old = used_socket_closed(how);
	int p[2];
	if (pipe(p) != 0)
		die("pipe");
	int wfd = p[1], rfd = p[0];
	printf("%s, then a pipe: the socket's number reused: %s\n", how,
	       p[0] == old || p[1] == old ? "yes" : "no");
	ssize_t w = write(wfd, "pipe data", 9);
	char buf[16] = "";
	ssize_t r = read(rfd, buf, sizeof buf);
	printf("  write: %zd, read: %zd \"%.*s\"\n", w, r, (int)(r > 0 ? r : 0), buf);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	file_case("syscall(SYS_close)");
	file_case("raw close");
	pipe_case("syscall(SYS_close)");
	pipe_case("raw close");
	return 0;
}

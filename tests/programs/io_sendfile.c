/*
 * io_sendfile — sendfile, splice, tee and copy_file_range into a blocking
 * socket or pipe whose reader is another thread of the program: the call
 * waits for the reader without stopping it (under the shim the two are
 * green threads of one OS thread).
 *  1. sendfile of an 8 MiB file into one end of a socketpair, a thread
 *     reading the other: every byte arrives, in order;
 *  2. splice of 2 MiB from a pipe into a socket, the same way;
 *  3. tee of what is in a pipe into a second pipe, read by a thread after
 *     it fills (1 MiB through a 64 KiB pipe, in a loop);
 *  4. copy_file_range into a pipe (Linux 5.19+ allows it; else EINVAL/
 *     EXDEV as natively: the result is printed as it comes);
 *  5. sendfile into a pipe whose reader is gone raises SIGPIPE in the
 *     caller (a child, with a thread alive, dies of it).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

#define FILE_BYTES (8u << 20)
#define SPLICE_BYTES (2u << 20)

struct sink {
	int fd;
	size_t want, got;
	unsigned long sum;
};

static void *drain(void *arg)
{
	struct sink *s = arg;
	static char buf[65536];
	while (s->got < s->want) {
		ssize_t n = read(s->fd, buf, sizeof buf);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			s->sum = s->sum * 31 + (unsigned char)buf[i];
		s->got += (size_t)n;
	}
	return NULL;
}

static unsigned long expected_sum(size_t n)
{
	unsigned long sum = 0;
	for (size_t i = 0; i < n; i++)
		sum = sum * 31 + (unsigned char)(i * 7);
	return sum;
}

static int make_file(size_t n)
{
	int fd = memfd_create("payload", 0);
	if (fd < 0)
		die("memfd_create");
	char *buf = malloc(n);
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(i * 7);
	if (write(fd, buf, n) != (ssize_t)n)
		die("write");
	free(buf);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

int main(void)
{
	/* 1 */
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		die("socketpair");
	int file = make_file(FILE_BYTES);
	struct sink s = { sv[1], FILE_BYTES, 0, 0 };
	pthread_t t;
	must(pthread_create(&t, NULL, drain, &s), "pthread_create");
	size_t sent = 0;
	while (sent < FILE_BYTES) {
		ssize_t n = sendfile(sv[0], file, NULL, FILE_BYTES - sent);
		if (n <= 0)
			die("sendfile");
		sent += (size_t)n;
	}
	must(pthread_join(t, NULL), "pthread_join");
	printf("1. sendfile: %zu bytes arrived, in order: %s\n", s.got, yesno(s.sum == expected_sum(FILE_BYTES)));

	/* 2 */
	int p[2];
	if (pipe(p) != 0)
		die("pipe");
	s = (struct sink){ sv[1], SPLICE_BYTES, 0, 0 };
	must(pthread_create(&t, NULL, drain, &s), "pthread_create");
	lseek(file, 0, SEEK_SET);
	size_t moved = 0;
	static char chunk[65536];
	while (moved < SPLICE_BYTES) {
		ssize_t r = read(file, chunk, sizeof chunk);
		if (r <= 0 || write(p[1], chunk, (size_t)r) != r)
			die("fill pipe");
		for (ssize_t left = r; left > 0;) {
			ssize_t n = splice(p[0], NULL, sv[0], NULL, (size_t)left, 0);
			if (n <= 0)
				die("splice");
			left -= n;
		}
		moved += (size_t)r;
	}
	must(pthread_join(t, NULL), "pthread_join");
	printf("2. splice: %zu bytes arrived, in order: %s\n", s.got, yesno(s.sum == expected_sum(SPLICE_BYTES)));

	/* 3 */
	int q[2];
	if (pipe(q) != 0)
		die("pipe");
	s = (struct sink){ q[0], 1u << 20, 0, 0 };
	must(pthread_create(&t, NULL, drain, &s), "pthread_create");
	lseek(file, 0, SEEK_SET);
	size_t teed = 0;
	while (teed < (1u << 20)) {
		ssize_t r = read(file, chunk, 4096);
		if (r <= 0 || write(p[1], chunk, (size_t)r) != r)
			die("fill pipe");
		ssize_t n = tee(p[0], q[1], (size_t)r, 0);
		if (n != r)
			die("tee");
		char junk[4096];
		if (read(p[0], junk, (size_t)r) != r) /* consume what tee copied */
			die("read");
		teed += (size_t)n;
	}
	must(pthread_join(t, NULL), "pthread_join");
	printf("3. tee: %zu bytes arrived, in order: %s\n", s.got, yesno(s.sum == expected_sum(1u << 20)));

	/* 4 */
	lseek(file, 0, SEEK_SET);
	ssize_t c = copy_file_range(file, NULL, q[1], NULL, 4096, 0);
	printf("4. copy_file_range into a pipe: %s\n", c >= 0 ? "copied" : en(errno));

	/* 5 */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int b[2];
		if (pipe(b) != 0)
			_exit(3);
		close(b[0]);
		s = (struct sink){ sv[1], 1, 0, 0 };
		must(pthread_create(&t, NULL, drain, &s), "pthread_create"); /* a second thread */
		lseek(file, 0, SEEK_SET);
		sendfile(b[1], file, NULL, 4096);
		_exit(0);
	}
	if (write(sv[0], "x", 1) != 1) /* lets the child's thread end */
		die("write");
	int st = 0;
	waitpid(pid, &st, 0);
	printf("5. sendfile into a broken pipe: the child %s\n",
	       WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE ? "died of SIGPIPE" : "did not die of SIGPIPE");
	return 0;
}

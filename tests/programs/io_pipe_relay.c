/*
 * io_pipe_relay — 16 MiB through two pipes and three threads, and 4 MiB
 * through a named FIFO.
 *
 * Thread A writes a pseudo-random stream into pipe 1 in 1 MiB writes (each
 * blocks many times on the 64 KiB pipe); thread B reads pipe 1 in odd
 * sizes (1 byte up to 1 MiB + 1, with read and readv) and writes what it
 * got into pipe 2 (write and writev); thread C reads pipe 2 and hashes the
 * stream.  A hashes what it wrote; the hashes and byte counts must match,
 * and each reader sees EOF after its writer closes.  Then the same stream
 * (4 MiB) through a FIFO made with mkfifo in a mkdtemp directory, between
 * a writer and a reader thread; the FIFO and the directory are removed.
 * The FIFO is opened without blocking in open() (a read end with
 * O_NONBLOCK first, which is then cleared), so only read and write wait.
 *
 * Then two more things about one pipe shared by several threads:
 *   - 8 writer threads each write 200 records of PIPE_BUF bytes into one
 *     pipe (so they block on it full) while one thread reads it in odd
 *     sizes: every record arrives whole (writes of at most PIPE_BUF bytes
 *     are atomic) and each writer's records in order;
 *   - two threads block in read() on the same empty pipe; main writes one
 *     byte, waits 100 ms, writes another: each reader gets exactly one.
 *
 * On the shim's one OS thread every blocking read and write here must be
 * greened, or the relay stops at the first full or empty pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "testutil.h"

#define RELAY_BYTES (16u << 20)
#define FIFO_BYTES (4u << 20)
#define WRITE_CHUNK (1u << 20)

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}
#define FNV0 0xcbf29ce484222325ULL

static void fill(unsigned char *p, size_t n, uint64_t *state)
{
	uint64_t x = *state;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)(x >> 24);
	}
	*state = x;
}

static void write_all(int fd, const unsigned char *p, size_t n, int use_writev)
{
	while (n > 0) {
		ssize_t k;
		if (use_writev && n > 1) {
			struct iovec iov[2] = { { (void *)p, n / 2 }, { (void *)(p + n / 2), n - n / 2 } };
			k = writev(fd, iov, 2);
		} else {
			k = write(fd, p, n);
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("write");
		p += k;
		n -= (size_t)k;
	}
}

struct source {
	int fd;
	size_t bytes;
	uint64_t hash;
};

static void *source(void *arg)
{
	struct source *s = arg;
	unsigned char *buf = malloc(WRITE_CHUNK);
	uint64_t st = 88172645463325252ULL;
	s->hash = FNV0;
	for (size_t off = 0; off < s->bytes; off += WRITE_CHUNK) {
		size_t n = s->bytes - off < WRITE_CHUNK ? s->bytes - off : WRITE_CHUNK;
		fill(buf, n, &st);
		s->hash = fnv(s->hash, buf, n);
		write_all(s->fd, buf, n, 0);
	}
	close(s->fd);
	free(buf);
	return NULL;
}

struct middle {
	int in, out;
	size_t bytes;
	long reads;
};

static void *middle(void *arg)
{
	struct middle *m = arg;
	static const size_t sizes[] = { 1, 4093, 65537, 12345, (1u << 20) + 1, 77, 300000 };
	unsigned char *buf = malloc((1u << 20) + 1);
	for (long i = 0;; i++) {
		size_t want = sizes[i % 7];
		ssize_t k;
		if (i % 2) {
			struct iovec iov[2] = { { buf, want / 2 }, { buf + want / 2, want - want / 2 } };
			k = readv(m->in, iov, 2);
		} else {
			k = read(m->in, buf, want);
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("relay read");
		if (k == 0)
			break;
		m->reads++;
		m->bytes += (size_t)k;
		write_all(m->out, buf, (size_t)k, i % 3 == 0);
	}
	close(m->in);
	close(m->out);
	free(buf);
	return NULL;
}

struct sink {
	int fd;
	size_t bytes;
	uint64_t hash;
};

static void *sink(void *arg)
{
	struct sink *s = arg;
	unsigned char buf[7777];
	s->hash = FNV0;
	for (;;) {
		ssize_t k = read(s->fd, buf, sizeof buf);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("sink read");
		if (k == 0)
			break;
		s->hash = fnv(s->hash, buf, (size_t)k);
		s->bytes += (size_t)k;
	}
	close(s->fd);
	return NULL;
}

/* ---- PIPE_BUF records from several writers ----------------------------- */

#define NWRITER 8
#define NRECORD 200

static int shared_pipe[2];

static unsigned char rec_byte(int id, int seq, size_t j)
{
	return (unsigned char)(id * 31 + seq * 7 + j);
}

static void *record_writer(void *arg)
{
	int id = (int)(long)arg;
	unsigned char rec[PIPE_BUF];
	for (int seq = 0; seq < NRECORD; seq++) {
		for (size_t j = 0; j < PIPE_BUF; j++)
			rec[j] = rec_byte(id, seq, j);
		rec[0] = (unsigned char)id;
		rec[1] = (unsigned char)seq;
		rec[2] = (unsigned char)(seq >> 8);
		ssize_t k;
		do
			k = write(shared_pipe[1], rec, PIPE_BUF);
		while (k < 0 && errno == EINTR);
		if (k != PIPE_BUF)
			die("record write");
	}
	return NULL;
}

struct record_check {
	long records;
	int whole, in_order;
};

static void *record_reader(void *arg)
{
	struct record_check *c = arg;
	static unsigned char rec[PIPE_BUF];
	static const size_t sizes[] = { 1000, 4096, 13, 10000, 777 };
	unsigned char buf[10000];
	size_t have = 0;
	int next[NWRITER] = { 0 };
	c->whole = c->in_order = 1;
	for (int i = 0;; i++) {
		ssize_t k = read(shared_pipe[0], buf, sizes[i % 5]);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("record read");
		if (k == 0)
			break;
		for (ssize_t x = 0; x < k; x++) {
			rec[have++] = buf[x];
			if (have < PIPE_BUF)
				continue;
			have = 0;
			int id = rec[0], seq = rec[1] | rec[2] << 8;
			if (id >= NWRITER) {
				c->whole = 0;
				continue;
			}
			for (size_t j = 3; j < PIPE_BUF; j++)
				if (rec[j] != rec_byte(id, seq, j))
					c->whole = 0;
			if (seq != next[id])
				c->in_order = 0;
			next[id] = seq + 1;
			c->records++;
		}
	}
	c->whole &= have == 0;
	return NULL;
}

/* ---- two readers on one pipe --------------------------------------------- */

static void *one_read(void *arg)
{
	char buf[16];
	ssize_t k = read(shared_pipe[0], buf, sizeof buf);
	return (void *)(long)(k == 1 ? buf[0] : -1);
}

int main(void)
{
	int p1[2], p2[2];
	if (pipe(p1) != 0 || pipe(p2) != 0)
		die("pipe");
	struct source a = { p1[1], RELAY_BYTES, 0 };
	struct middle b = { p1[0], p2[1], 0, 0 };
	struct sink c = { p2[0], 0, 0 };
	pthread_t ta, tb, tc;
	must(pthread_create(&tc, NULL, sink, &c), "pthread_create");
	must(pthread_create(&tb, NULL, middle, &b), "pthread_create");
	must(pthread_create(&ta, NULL, source, &a), "pthread_create");
	must(pthread_join(ta, NULL), "pthread_join");
	must(pthread_join(tb, NULL), "pthread_join");
	must(pthread_join(tc, NULL), "pthread_join");
	printf("pipe relay: %zu bytes written, %zu relayed, %zu received, checksum match: %s, "
	       "relay read more than once: %s\n",
	       a.bytes, b.bytes, c.bytes, yesno(a.hash == c.hash), yesno(b.reads > 1));

	/* named FIFO */
	char dir[] = "/tmp/io_pipe_relay.XXXXXX", path[64];
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(path, sizeof path, "%s/fifo", dir);
	if (mkfifo(path, 0600) != 0)
		die("mkfifo");
	int rd = open(path, O_RDONLY | O_NONBLOCK); /* does not wait for a writer */
	int wr = open(path, O_WRONLY);               /* a reader exists: does not wait */
	if (rd < 0 || wr < 0)
		die("open fifo");
	fcntl(rd, F_SETFL, fcntl(rd, F_GETFL) & ~O_NONBLOCK);
	struct source fa = { wr, FIFO_BYTES, 0 };
	struct sink fc = { rd, 0, 0 };
	must(pthread_create(&tc, NULL, sink, &fc), "pthread_create");
	must(pthread_create(&ta, NULL, source, &fa), "pthread_create");
	must(pthread_join(ta, NULL), "pthread_join");
	must(pthread_join(tc, NULL), "pthread_join");
	int gone = unlink(path) == 0 && rmdir(dir) == 0;
	printf("fifo relay: %zu bytes written, %zu received, checksum match: %s, cleaned up: %s\n",
	       fa.bytes, fc.bytes, yesno(fa.hash == fc.hash), yesno(gone));

	/* PIPE_BUF records */
	if (pipe(shared_pipe) != 0)
		die("pipe");
	pthread_t tw[NWRITER], tr;
	struct record_check rc = { 0, 0, 0 };
	must(pthread_create(&tr, NULL, record_reader, &rc), "pthread_create");
	for (long i = 0; i < NWRITER; i++)
		must(pthread_create(&tw[i], NULL, record_writer, (void *)i), "pthread_create");
	for (int i = 0; i < NWRITER; i++)
		must(pthread_join(tw[i], NULL), "pthread_join");
	close(shared_pipe[1]);
	must(pthread_join(tr, NULL), "pthread_join");
	close(shared_pipe[0]);
	printf("%d writers x %d records of PIPE_BUF bytes: %ld arrived, all whole: %s, "
	       "each writer's in order: %s\n",
	       NWRITER, NRECORD, rc.records, yesno(rc.whole), yesno(rc.in_order));

	/* two readers */
	if (pipe(shared_pipe) != 0)
		die("pipe");
	pthread_t r1, r2;
	void *v1, *v2;
	must(pthread_create(&r1, NULL, one_read, NULL), "pthread_create");
	must(pthread_create(&r2, NULL, one_read, NULL), "pthread_create");
	usleep(100 * 1000);
	if (write(shared_pipe[1], "1", 1) != 1)
		die("write");
	usleep(100 * 1000);
	if (write(shared_pipe[1], "2", 1) != 1)
		die("write");
	must(pthread_join(r1, &v1), "pthread_join");
	must(pthread_join(r2, &v2), "pthread_join");
	close(shared_pipe[0]);
	close(shared_pipe[1]);
	printf("two readers on one pipe: one byte each, '1' and '2': %s\n",
	       yesno((long)v1 + (long)v2 == '1' + '2' && v1 != v2));
	return 0;
}

/*
 * stdio_fgets — blocking stdio reads (fgets, fread, getline, getc, fscanf)
 * on a pipe that another thread fills slowly, while a third thread ticks.
 *
 * For each variant: a pipe, a FILE made by fdopen on its read end, and a
 * writer thread that sleeps 20 ms before each write (whole lines or chunks
 * per write) and closes its end at the end.  main reads to EOF with the
 * variant's call.  A ticker thread counts (usleep 1 ms per tick) all along;
 * the first read of each variant has to wait at least 20 ms for data, and
 * the ticker must have advanced across that call.  Under the shim with
 * green threads, that read would block the one OS thread (the writer and
 * the ticker never run: deadlock) unless stdio reads are greened.
 *   fgets    12 lines, printed
 *   fread    8 freads of 100 bytes, one per write of 100, checked
 *   getc     300 characters in 6 writes, counted and checksummed
 *   fscanf   "%d %d %d %d %d%c": 5 numbers and the newline per call, one
 *            line per write, counted and summed
 *   getline  6 lines, one of 10000 bytes (more than the FILE's buffer).
 *            Built with optimisation, as here, <bits/stdio.h> inlines
 *            getline into a call of __getdelim.
 * Printed only after each variant's joins: counts, contents, yes/no.
 *
 * Every call above starts with the FILE's buffer empty and finds all it
 * needs in one write: the shim greens the wait for a buffer's first refill
 * only (preload/stdio.c); a refill inside the call goes to libc's internal
 * __read and blocks the OS thread.  STDIO_FGETS_SPANNING=1 runs instead
 * the variants whose calls span writes (=fgets, =fread, =fscanf: one), which natively work the same:
 * a fgets of a line that comes in two writes, one fread of 800 bytes over
 * the 8 writes, and fscanf("%d") one number a call (the call after a
 * line's last number skips its newline, then needs the next write).  Not
 * in the table: under the shim with green threads they deadlock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

static long ticks;
static int stop_ticker;

static long tick_count(void) { return __atomic_load_n(&ticks, __ATOMIC_SEQ_CST); }

static void *ticker(void *arg)
{
	while (!__atomic_load_n(&stop_ticker, __ATOMIC_SEQ_CST)) {
		__atomic_add_fetch(&ticks, 1, __ATOMIC_SEQ_CST);
		usleep(1000);
	}
	return NULL;
}

/* The writer: each piece in one write(), 20 ms apart (also before the
 * first), then close. */
struct pieces {
	int fd;
	int n;
	char **piece;
};

static void *writer(void *arg)
{
	struct pieces *p = arg;
	for (int i = 0; i < p->n; i++) {
		usleep(20 * 1000);
		size_t len = strlen(p->piece[i]), off = 0;
		while (off < len) {
			ssize_t k = write(p->fd, p->piece[i] + off, len - off);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				perror("write");
				exit(1);
			}
			off += (size_t)k;
		}
	}
	close(p->fd);
	return NULL;
}

struct variant {
	FILE *f;
	pthread_t w;
	struct pieces p;
};

static void start(struct variant *v, int n, char **piece)
{
	int fds[2];
	if (pipe(fds) != 0) {
		perror("pipe");
		exit(1);
	}
	v->p = (struct pieces){ fds[1], n, piece };
	v->f = fdopen(fds[0], "r");
	if (!v->f) {
		perror("fdopen");
		exit(1);
	}
	must(pthread_create(&v->w, NULL, writer, &v->p), "pthread_create");
}

static void finish(struct variant *v)
{
	fclose(v->f);
	must(pthread_join(v->w, NULL), "pthread_join");
}

static char *fmt(const char *f, int i)
{
	char *s;
	if (asprintf(&s, f, i) < 0)
		exit(1);
	return s;
}

static void v_fgets(void)
{
	char *piece[12];
	for (int i = 0; i < 12; i++)
		piece[i] = fmt("line %d of the fgets variant\n", i + 1);
	struct variant v;
	start(&v, 12, piece);
	char line[128], all[2048] = "";
	int n = 0, first = 1, ticked = 0;
	for (;;) {
		long t0 = tick_count();
		char *r = fgets(line, sizeof line, v.f);
		if (first)
			ticked = tick_count() > t0;
		first = 0;
		if (!r)
			break;
		n++;
		strncat(all, line, sizeof all - strlen(all) - 1);
	}
	int eof = feof(v.f), err = ferror(v.f);
	finish(&v);
	printf("fgets: %d lines, eof %s, error %s\n%s", n, yesno(eof), yesno(err), all);
	printf("fgets: ticker ran while main read: %s\n", yesno(ticked));
	for (int i = 0; i < 12; i++)
		free(piece[i]);
}

/* spanning: one fread of 800 bytes over the 8 writes (see the top) */
static void v_fread(int spanning)
{
	char *piece[8];
	for (int i = 0; i < 8; i++) {
		piece[i] = malloc(101);
		for (int j = 0; j < 100; j++)
			piece[i][j] = (char)('A' + (i * 100 + j) % 26);
		piece[i][100] = '\0';
	}
	struct variant v;
	start(&v, 8, piece);
	char buf[1000];
	size_t got = 0, calls = 0, r;
	int ticked = 0;
	do {
		long t0 = tick_count();
		r = fread(buf + got, 1, spanning ? 800 - got : 100, v.f);
		if (calls++ == 0)
			ticked = tick_count() > t0;
		got += r;
	} while (r > 0 && got < 800);
	size_t more = fread(buf + got, 1, sizeof buf - got, v.f);
	int right = got == 800;
	for (size_t j = 0; j < got && right; j++)
		right = buf[j] == (char)('A' + j % 26);
	int eof = feof(v.f);
	finish(&v);
	printf("fread%s: %zu bytes in %zu calls, right bytes: %s; then %zu more, eof %s\n",
	       spanning ? " (800 at once)" : "", got, calls, yesno(right), more, yesno(eof));
	printf("fread: ticker ran while main read: %s\n", yesno(ticked));
	for (int i = 0; i < 8; i++)
		free(piece[i]);
}

static void v_getline(void)
{
	char *piece[6];
	for (int i = 0; i < 6; i++)
		piece[i] = fmt("getline %d\n", i + 1);
	free(piece[3]);
	piece[3] = malloc(10002);
	for (int j = 0; j < 10000; j++)
		piece[3][j] = (char)('a' + j % 26);
	piece[3][10000] = '\n';
	piece[3][10001] = '\0';
	struct variant v;
	start(&v, 6, piece);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int first = 1, ticked = 0, n = 0;
	char lens[256] = "";
	for (;;) {
		long t0 = tick_count();
		len = getline(&line, &cap, v.f);
		if (first)
			ticked = tick_count() > t0;
		first = 0;
		if (len < 0)
			break;
		n++;
		int same = (size_t)len == strlen(piece[n - 1]) && memcmp(line, piece[n - 1], (size_t)len) == 0;
		size_t k = strlen(lens);
		snprintf(lens + k, sizeof lens - k, "%s%zd%s", n > 1 ? " " : "", len, same ? "" : "(WRONG)");
	}
	free(line);
	finish(&v);
	printf("getline: %d lines, lengths %s\n", n, lens);
	printf("getline: ticker ran while main read: %s\n", yesno(ticked));
	for (int i = 0; i < 6; i++)
		free(piece[i]);
}

static void v_getc(void)
{
	char *piece[6];
	for (int i = 0; i < 6; i++) {
		piece[i] = malloc(51);
		for (int j = 0; j < 50; j++)
			piece[i][j] = j == 49 ? '\n' : (char)('0' + (i + j) % 10);
		piece[i][50] = '\0';
	}
	struct variant v;
	start(&v, 6, piece);
	int c, first = 1, ticked = 0, n = 0, newlines = 0;
	unsigned sum = 0;
	for (;;) {
		long t0 = tick_count();
		c = getc(v.f);
		if (first)
			ticked = tick_count() > t0;
		first = 0;
		if (c == EOF)
			break;
		n++;
		newlines += c == '\n';
		sum = sum * 31 + (unsigned)c;
	}
	finish(&v);
	printf("getc: %d characters, %d newlines, checksum %08x\n", n, newlines, sum);
	printf("getc: ticker ran while main read: %s\n", yesno(ticked));
	for (int i = 0; i < 6; i++)
		free(piece[i]);
}

/* Each line "a b c d e\n" is one write.  By default one fscanf reads a
 * whole line, its %c taking the newline, so every call starts with the
 * FILE's buffer empty; spanning: one "%d" per call, so the call after a
 * line's last number skips its newline and then needs the next write. */
static void v_fscanf(int spanning)
{
	char *piece[8];
	for (int i = 0; i < 8; i++) {
		int b = i * 5;
		if (asprintf(&piece[i], "%d %d %d %d %d\n", b, b + 1, -(b + 2), b + 3, 1000 * b) < 0)
			exit(1);
	}
	struct variant v;
	start(&v, 8, piece);
	int x[5], first = 1, ticked = 0, n = 0, r;
	char nl = 0;
	long sum = 0;
	for (;;) {
		long t0 = tick_count();
		if (spanning)
			r = fscanf(v.f, "%d", &x[0]);
		else
			r = fscanf(v.f, "%d %d %d %d %d%c", &x[0], &x[1], &x[2], &x[3], &x[4], &nl);
		if (first)
			ticked = tick_count() > t0;
		first = 0;
		if (r != (spanning ? 1 : 6))
			break;
		for (int k = 0; k < (spanning ? 1 : 5); k++, n++)
			sum += x[k];
	}
	finish(&v);
	printf("fscanf%s: %d numbers, sum %ld, last result %s\n", spanning ? " (one %d a call)" : "",
	       n, sum, r == EOF ? "EOF" : "other");
	printf("fscanf: ticker ran while main read: %s\n", yesno(ticked));
	for (int i = 0; i < 8; i++)
		free(piece[i]);
}

/* spanning only: one line that arrives in two writes */
static void v_fgets_halves(void)
{
	char *piece[4] = { "first half of line 1, ", "second half of line 1\n",
			   "first half of line 2, ", "second half of line 2\n" };
	struct variant v;
	start(&v, 4, piece);
	char line[128];
	int n = 0;
	while (fgets(line, sizeof line, v.f)) {
		n++;
		printf("fgets (line in two writes): %s", line);
	}
	finish(&v);
	printf("fgets (line in two writes): %d lines\n", n);
}

int main(void)
{
	/* STDIO_FGETS_SPANNING=1: all three; =fgets, =fread or =fscanf: one */
	const char *sp = getenv("STDIO_FGETS_SPANNING");
	int all = sp && strcmp(sp, "1") == 0;
	pthread_t tk;
	must(pthread_create(&tk, NULL, ticker, NULL), "pthread_create");
	/* stdout is flushed after each variant, so a run killed at a timeout
	 * shows how far it came */
	if (sp) {
		if (all || strcmp(sp, "fgets") == 0)
			v_fgets_halves(), fflush(stdout);
		if (all || strcmp(sp, "fread") == 0)
			v_fread(1), fflush(stdout);
		if (all || strcmp(sp, "fscanf") == 0)
			v_fscanf(1), fflush(stdout);
	} else {
		v_fgets(), fflush(stdout);
		v_fread(0), fflush(stdout);
		v_getc(), fflush(stdout);
		v_fscanf(0), fflush(stdout);
		v_getline(), fflush(stdout);
	}
	__atomic_store_n(&stop_ticker, 1, __ATOMIC_SEQ_CST);
	must(pthread_join(tk, NULL), "pthread_join");
	printf("ticker stopped\n");
	return 0;
}

/* stdio reads on pipes, sockets and ttys (the os and socket subsystems).
 *
 * fgets, fread, getline and friends refill their buffer with glibc's
 * internal __read, which no interposer sees: on an empty pipe it would
 * block the OS thread, and with it every green thread.  So each reading
 * entry point first looks at the FILE: when its buffer is empty and its fd
 * is pollable, blocking from the program's point of view and not readable
 * yet, the green thread waits on the hub until it is; then the real
 * function runs and its __read returns at once.
 *
 * A call that may need more than one refill is prepared further: fgets,
 * getline and getdelim until the buffer holds the delimiter (or as much as
 * the call can take), fread until it holds the bytes asked for.  The shim
 * reads what the fd has into the free end of the FILE's own buffer
 * (moving the unread bytes to its start when the end is full), exactly as
 * glibc's underflow leaves it, so the real call then finds everything it
 * needs and never reads.  Line-buffered output is flushed first, as glibc
 * does before it reads.
 *
 * What this cannot cover (README): a line longer than the buffer (glibc
 * then refills itself), an fread larger than the buffer (glibc reads into
 * the caller's memory), fscanf and getc-style calls that need a second
 * refill (an fscanf("%d") reading past the last number of a line), wide or
 * unbuffered streams, getc_unlocked and other macros that reach __uflow
 * without a call, and writes (a printf into a full pipe blocks the OS
 * thread). */
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "filelock.h"
#include "io.h"
#include "real.h"

/* Some of these are also macros in <stdio.h> (bits/stdio.h): we define
 * the functions. */
#undef fgets_unlocked
#undef fread_unlocked
#undef getc
#undef getchar
#undef fgetc

/* Waits, without the FILE's lock, until fd is readable: 0; 1 when the
 * program made it non-blocking (the real call says EAGAIN itself); -1 when
 * a signal handler (no SA_RESTART) or a close ended the wait: the call
 * fails as its __read would have (errno set, the FILE's error flag up). */
static int wait_fd(FILE *f, int fd, int kind)
{
	struct gs_io io;
	gs_io_init(&io, fd, GS_FD_READ, kind);
	while (!gs_io_ready(fd, POLLIN)) {
		if (gs_io_wait(&io) < 0) {
			if (errno == EAGAIN)
				return 1;
			f->_flags |= _IO_ERR_SEEN;
			return -1;
		}
	}
	return 0;
}

/* One refill at most: 0 to go on with the real call, -1 as wait_fd. */
static int wait_readable(FILE *f)
{
	if (!f || f->_IO_read_ptr < f->_IO_read_end)
		return 0; /* data in the buffer: no read at all */
	int fd = fileno_unlocked(f), kind; /* our entry point waited for f */
	if (fd < 0 || !gs_io_greened(fd, &kind) || gs_io_ready(fd, POLLIN))
		return 0;
	gs_testcancel();
	return wait_fd(f, fd, kind) < 0 ? -1 : 0;
}

/* glibc's FILE flags (libio.h; part of its ABI since 2.1). */
#define F_UNBUFFERED 0x0002
#define F_NO_READS 0x0004
#define F_EOF_SEEN 0x0010
#define F_ERR_SEEN 0x0020
#define F_LINE_BUF 0x0200
#define F_IN_BACKUP 0x0100
#define F_CURRENTLY_PUTTING 0x0800
extern void _flushlbf(void);
extern int __underflow(FILE *);

/* Fills f's buffer until it holds delim (-1: none) or want bytes, the
 * buffer is full, or the fd has reached its end; 0 to go on with the real
 * call, -1 when a wait failed (errno set, the error flag up). */
static int fill(FILE *f, int delim, size_t want)
{
	int fd = fileno_unlocked(f), kind; /* our entry point waited for f */
	if (fd < 0 || !gs_io_greened(fd, &kind))
		return 0;
	if (f->_mode > 0 || (f->_flags & F_UNBUFFERED))
		return wait_readable(f); /* wide or unbuffered: one refill at most */
	gs_testcancel();
	for (;;) {
		flockfile(f);
		if (f->_flags & (F_EOF_SEEN | F_ERR_SEEN | F_NO_READS | F_IN_BACKUP | F_CURRENTLY_PUTTING))
			break; /* the real call knows what to do */
		if (!f->_IO_buf_base) { /* no buffer yet: glibc's first refill makes it */
			funlockfile(f);
			int w = wait_fd(f, fd, kind);
			if (w)
				return w < 0 ? -1 : 0;
			if (__underflow(f) == EOF)
				return 0;
			continue;
		}
		char *p = f->_IO_read_ptr, *e = f->_IO_read_end;
		size_t have = (size_t)(e - p);
		if (have >= want || (delim >= 0 && have && memchr(p, delim, have)))
			break;
		if (e == f->_IO_buf_end) {
			if (p == f->_IO_buf_base)
				break; /* longer than the buffer: glibc refills itself */
			/* the unread bytes to the start; ftell's arithmetic
			 * (offset minus unread bytes) is unchanged */
			memmove(f->_IO_buf_base, p, have);
			f->_IO_read_base = f->_IO_read_ptr = f->_IO_buf_base;
			f->_IO_read_end = f->_IO_buf_base + have;
			e = f->_IO_read_end;
		}
		if (!gs_io_ready(fd, POLLIN)) {
			funlockfile(f);
			if (f->_flags & (F_LINE_BUF | F_UNBUFFERED))
				_flushlbf(); /* the prompt shows before the wait, as natively */
			int w = wait_fd(f, fd, kind);
			if (w)
				return w < 0 ? -1 : 0;
			continue;
		}
		long r = gs__sys(SYS_read, fd, (long)e, (long)(f->_IO_buf_end - e), 0, 0, 0);
		if (r <= 0) /* the end, or an error: the real call meets it itself */
			break;
		f->_IO_read_end += r;
		if (f->_offset != -1)
			f->_offset += r;
		funlockfile(f);
	}
	funlockfile(f);
	return 0;
}

GS_EXPORT char *fgets(char *s, int n, FILE *f)
{
	gs_file_wait(f);
	if (n > 1 && fill(f, '\n', (size_t)n - 1))
		return NULL;
	return GS_REAL_TRAPPED(fgets)(s, n, f);
}

GS_EXPORT int fgetc(FILE *f)
{
	gs_file_wait(f);
	if (wait_readable(f))
		return EOF;
	return GS_REAL_TRAPPED(fgetc)(f);
}

GS_EXPORT int getc(FILE *f)
{
	gs_file_wait(f);
	if (wait_readable(f))
		return EOF;
	return GS_REAL_TRAPPED(getc)(f);
}

GS_EXPORT int getchar(void)
{
	gs_file_wait(stdin);
	if (wait_readable(stdin))
		return EOF;
	return GS_REAL_TRAPPED(getchar)();
}

/* As much as fread asks, when that fits the buffer (size * n, saturated). */
static size_t fread_want(size_t size, size_t n)
{
	return n && size > SIZE_MAX / n ? SIZE_MAX : size * n;
}

GS_EXPORT size_t fread(void *p, size_t size, size_t n, FILE *f)
{
	gs_file_wait(f);
	if (size && n && fill(f, -1, fread_want(size, n)))
		return 0;
	return GS_REAL_TRAPPED(fread)(p, size, n, f);
}

GS_EXPORT ssize_t getdelim(char **line, size_t *n, int delim, FILE *f)
{
	gs_file_wait(f);
	if (fill(f, delim & 0xff, SIZE_MAX))
		return -1;
	return GS_REAL_TRAPPED(getdelim)(line, n, delim, f);
}

/* <bits/stdio.h> turns getline into __getdelim when optimising. */
GS_EXPORT ssize_t __getdelim(char **line, size_t *n, int delim, FILE *f)
{
	gs_file_wait(f);
	if (fill(f, delim & 0xff, SIZE_MAX))
		return -1;
	return GS_REAL_TRAPPED(__getdelim)(line, n, delim, f);
}

GS_EXPORT ssize_t getline(char **line, size_t *n, FILE *f)
{
	gs_file_wait(f);
	if (fill(f, '\n', SIZE_MAX))
		return -1;
	return GS_REAL_TRAPPED(getline)(line, n, f);
}

/* _FORTIFY_SOURCE builds call these (with the buffer's size) instead. */
GS_EXPORT char *__fgets_chk(char *s, size_t size, int n, FILE *f)
{
	gs_file_wait(f);
	if (n > 1 && fill(f, '\n', (size_t)n - 1))
		return NULL;
	return GS_REAL_TRAPPED(__fgets_chk)(s, size, n, f);
}

GS_EXPORT size_t __fread_chk(void *p, size_t plen, size_t size, size_t n, FILE *f)
{
	gs_file_wait(f);
	if (size && n && fill(f, -1, fread_want(size, n)))
		return 0;
	return GS_REAL_TRAPPED(__fread_chk)(p, plen, size, n, f);
}

GS_EXPORT char *__fgets_unlocked_chk(char *s, size_t size, int n, FILE *f)
{
	if (n > 1 && fill(f, '\n', (size_t)n - 1))
		return NULL;
	return GS_REAL_TRAPPED(__fgets_unlocked_chk)(s, size, n, f);
}

GS_EXPORT size_t __fread_unlocked_chk(void *p, size_t plen, size_t size, size_t n, FILE *f)
{
	if (size && n && fill(f, -1, fread_want(size, n)))
		return 0;
	return GS_REAL_TRAPPED(__fread_unlocked_chk)(p, plen, size, n, f);
}

GS_EXPORT char *fgets_unlocked(char *s, int n, FILE *f)
{
	if (n > 1 && fill(f, '\n', (size_t)n - 1))
		return NULL;
	return GS_REAL_TRAPPED(fgets_unlocked)(s, n, f);
}

GS_EXPORT size_t fread_unlocked(void *p, size_t size, size_t n, FILE *f)
{
	if (size && n && fill(f, -1, fread_want(size, n)))
		return 0;
	return GS_REAL_TRAPPED(fread_unlocked)(p, size, n, f);
}

/* scanf: programs built for C99 and later call the __isoc99_ names;
 * <stdio.h> renames scanf & co. to those, so each function is defined
 * under a C name of its own with its symbol given explicitly. */
#define SCANF_FAMILY(tag, vsym, fsym, ssym, real_v)                                            \
	GS_EXPORT int tag##_v(FILE *f, const char *fmt, va_list ap) __asm__(vsym);              \
	GS_EXPORT int tag##_v(FILE *f, const char *fmt, va_list ap)                              \
	{                                                                                        \
		gs_file_wait(f);                                                                 \
		if (wait_readable(f))                                                            \
			return EOF;                                                              \
		return GS_REAL_TRAPPED(real_v)(f, fmt, ap);                                               \
	}                                                                                        \
	GS_EXPORT int tag##_f(FILE *f, const char *fmt, ...) __asm__(fsym);                     \
	GS_EXPORT int tag##_f(FILE *f, const char *fmt, ...)                                     \
	{                                                                                        \
		va_list ap;                                                                      \
		va_start(ap, fmt);                                                               \
		int r = tag##_v(f, fmt, ap);                                                     \
		va_end(ap);                                                                      \
		return r;                                                                        \
	}                                                                                        \
	GS_EXPORT int tag##_s(const char *fmt, ...) __asm__(ssym);                              \
	GS_EXPORT int tag##_s(const char *fmt, ...)                                              \
	{                                                                                        \
		va_list ap;                                                                      \
		va_start(ap, fmt);                                                               \
		int r = tag##_v(stdin, fmt, ap);                                                 \
		va_end(ap);                                                                      \
		return r;                                                                        \
	}
SCANF_FAMILY(legacy_scanf, "vfscanf", "fscanf", "scanf", legacy_vfscanf)
SCANF_FAMILY(c99_scanf, "__isoc99_vfscanf", "__isoc99_fscanf", "__isoc99_scanf", c99_vfscanf)

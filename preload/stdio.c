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
 * What this cannot cover (README): any call that needs a second refill
 * (a line that arrives in pieces, an fread larger than what one write
 * brought, an fscanf that reads past the data at hand, e.g. skipping the
 * newline after the last number of a line: the refill inside glibc waits
 * in __read), two green threads reading one FILE (the second may find the
 * data gone), getc_unlocked and other macros that reach __uflow without a
 * call, and writes (a printf into a full pipe blocks the OS thread). */
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/syscall.h>

#include "io.h"
#include "real.h"

/* Some of these are also macros in <stdio.h> (bits/stdio.h): we define
 * the functions. */
#undef fgets_unlocked
#undef fread_unlocked
#undef getc
#undef getchar
#undef fgetc

/* 0 to go on with the real call; -1 when a signal handler (no SA_RESTART)
 * or a close ended the wait: the call fails as its __read would have
 * (errno set, the FILE's error flag up). */
static int wait_readable(FILE *f)
{
	if (!f || f->_IO_read_ptr < f->_IO_read_end)
		return 0; /* data in the buffer: no read at all */
	int fd = fileno(f), kind;
	if (fd < 0 || !gs_io_greened(fd, &kind) || gs_io_ready(fd, POLLIN))
		return 0;
	struct gs_io io;
	gs_io_init(&io, fd, GS_FD_READ, kind);
	gs_testcancel();
	while (!gs_io_ready(fd, POLLIN)) {
		if (gs_io_wait(&io) < 0) {
			if (errno == EAGAIN)
				return 0; /* O_NONBLOCK: the real call says EAGAIN itself */
			f->_flags |= _IO_ERR_SEEN;
			return -1;
		}
	}
	return 0;
}

GS_EXPORT char *fgets(char *s, int n, FILE *f)
{
	if (wait_readable(f))
		return NULL;
	return GS_REAL(fgets)(s, n, f);
}

GS_EXPORT int fgetc(FILE *f)
{
	if (wait_readable(f))
		return EOF;
	return GS_REAL(fgetc)(f);
}

GS_EXPORT int getc(FILE *f)
{
	if (wait_readable(f))
		return EOF;
	return GS_REAL(getc)(f);
}

GS_EXPORT int getchar(void)
{
	if (wait_readable(stdin))
		return EOF;
	return GS_REAL(getchar)();
}

GS_EXPORT size_t fread(void *p, size_t size, size_t n, FILE *f)
{
	if (size && n && wait_readable(f))
		return 0;
	return GS_REAL(fread)(p, size, n, f);
}

GS_EXPORT ssize_t getdelim(char **line, size_t *n, int delim, FILE *f)
{
	if (wait_readable(f))
		return -1;
	return GS_REAL(getdelim)(line, n, delim, f);
}

/* <bits/stdio.h> turns getline into __getdelim when optimising. */
GS_EXPORT ssize_t __getdelim(char **line, size_t *n, int delim, FILE *f)
{
	if (wait_readable(f))
		return -1;
	return GS_REAL(__getdelim)(line, n, delim, f);
}

GS_EXPORT ssize_t getline(char **line, size_t *n, FILE *f)
{
	if (wait_readable(f))
		return -1;
	return GS_REAL(getline)(line, n, f);
}

GS_EXPORT char *fgets_unlocked(char *s, int n, FILE *f)
{
	if (wait_readable(f))
		return NULL;
	return GS_REAL(fgets_unlocked)(s, n, f);
}

GS_EXPORT size_t fread_unlocked(void *p, size_t size, size_t n, FILE *f)
{
	if (size && n && wait_readable(f))
		return 0;
	return GS_REAL(fread_unlocked)(p, size, n, f);
}

/* scanf: programs built for C99 and later call the __isoc99_ names;
 * <stdio.h> renames scanf & co. to those, so each function is defined
 * under a C name of its own with its symbol given explicitly. */
#define SCANF_FAMILY(tag, vsym, fsym, ssym, real_v)                                            \
	GS_EXPORT int tag##_v(FILE *f, const char *fmt, va_list ap) __asm__(vsym);              \
	GS_EXPORT int tag##_v(FILE *f, const char *fmt, va_list ap)                              \
	{                                                                                        \
		if (wait_readable(f))                                                            \
			return EOF;                                                              \
		return GS_REAL(real_v)(f, fmt, ap);                                               \
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

/* err, warn and error (BSD's <err.h>, glibc's <error.h>): they print to
 * stderr, taking its FILE lock inside libc, so like every stdio entry
 * point (filelock.c) they first wait while another green thread holds
 * stderr (or, for error, stdout, which it flushes).
 *
 * err & co. have va_list forms to hand on to; error and error_at_line do
 * not, so they are written here, to glibc's contract: stdout flushed,
 * "program: " (or error_print_progname's), the message, ": strerror" when
 * errnum is set, a newline; error_message_count counted; exit(status) when
 * status is not 0; error_at_line prints "program:file:line: " (or
 * "program: " without a file) and, with error_one_per_line, says nothing for the line it said
 * last.  (Unlike glibc's, these print with fprintf: on a wide-oriented
 * stderr the message is lost.) */
#include <err.h>
#include <errno.h>
#include <error.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "filelock.h"
#include "real.h"

GS_EXPORT void vwarn(const char *fmt, va_list ap)
{
	gs_file_wait(stderr);
	GS_REAL_TRAPPED(vwarn)(fmt, ap);
}

GS_EXPORT void vwarnx(const char *fmt, va_list ap)
{
	gs_file_wait(stderr);
	GS_REAL_TRAPPED(vwarnx)(fmt, ap);
}

GS_EXPORT void verr(int status, const char *fmt, va_list ap)
{
	gs_file_wait(stderr);
	GS_REAL_TRAPPED(verr)(status, fmt, ap);
	__builtin_unreachable();
}

GS_EXPORT void verrx(int status, const char *fmt, va_list ap)
{
	gs_file_wait(stderr);
	GS_REAL_TRAPPED(verrx)(status, fmt, ap);
	__builtin_unreachable();
}

GS_EXPORT void warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

GS_EXPORT void warnx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vwarnx(fmt, ap);
	va_end(ap);
}

GS_EXPORT void err(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verr(status, fmt, ap);
}

GS_EXPORT void errx(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verrx(status, fmt, ap);
}

/* error's body: with stderr locked, after the "program: " prefix. */
static void error_tail(int status, int errnum, const char *fmt, va_list ap)
{
	vfprintf(stderr, fmt, ap);
	++error_message_count;
	if (errnum) {
		char buf[1024];
		fprintf(stderr, ": %s", strerror_r(errnum, buf, sizeof buf));
	}
	putc('\n', stderr);
	fflush(stderr);
	funlockfile(stderr);
	if (status)
		exit(status);
}

/* error_at_line's prefix is "program:" then "file:line: ", error's
 * "program: ". */
static void error_head(int at_line)
{
	fflush(stdout);    /* ours: each waits for a FILE another thread holds */
	flockfile(stderr);
	if (error_print_progname)
		error_print_progname();
	else
		fprintf(stderr, at_line ? "%s:" : "%s: ", program_invocation_name);
}

GS_EXPORT void error(int status, int errnum, const char *fmt, ...)
{
	int saved = errno;
	error_head(0);
	errno = saved;
	va_list ap;
	va_start(ap, fmt);
	error_tail(status, errnum, fmt, ap);
	va_end(ap);
}

GS_EXPORT void error_at_line(int status, int errnum, const char *file, unsigned line,
			     const char *fmt, ...)
{
	static const char *last_file;
	static unsigned last_line;
	if (error_one_per_line) {
		if (line == last_line &&
		    (file == last_file || (file && last_file && strcmp(file, last_file) == 0)))
			return; /* said already */
		last_file = file;
		last_line = line;
	}
	int saved = errno;
	error_head(1);
	fprintf(stderr, file ? "%s:%d: " : " ", file, (int)line);
	errno = saved;
	va_list ap;
	va_start(ap, fmt);
	error_tail(status, errnum, fmt, ap);
	va_end(ap);
}

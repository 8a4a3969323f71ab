/*
 * testutil.h — helpers shared by the test programs in this directory.
 *
 * The programs are otherwise plain libc/pthreads programs (no shim
 * headers); this header uses only libc as well.  Everything here is
 * static inline, so a program that does not use a helper gets no code
 * and no unused-function warning.
 *
 *   MS                 nanoseconds per millisecond
 *   en(e)              an error number's name ("EINVAL"; "0" for 0)
 *   yesno(b)           "yes" / "no"
 *   must(e, what)      exit(1) with a message unless a pthread-style
 *                      call returned 0
 *   die(what)          exit(1) with a message naming errno
 *   ns_of(ts)          a timespec in nanoseconds
 *   now_ns(clock)      a clock's current time in nanoseconds
 *   ts_of(ns)          nanoseconds as a timespec
 *   deadline_ms(c, ms) a timespec ms milliseconds from now on clock c
 *   sleep_ms(ms)       nanosleep for ms milliseconds
 *   status_threads()   the Threads: line of /proc/self/status (-1 if
 *                      unreadable)
 *   status_threads_at(path)  the same of another /proc/PID/status
 *   recurse_forever(n) recurses with 1 KiB frames until the stack
 *                      overflows (never returns)
 *   raw_syscall(n, a..f)  system call n made by a syscall instruction of
 *                      the program's own (x86_64), not through libc: the
 *                      kernel's result, -errno on failure
 * and, when <threads.h> was included before this header:
 *   thrd_str(r)        a C11 thrd_* result's name
 *   must_thrd(r, what) exit(1) with a message unless r is thrd_success
 */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MS 1000000LL

static inline const char *en(int e)
{
	static char buf[32];
	const char *n = e ? strerrorname_np(e) : "0";
	if (n)
		return n;
	snprintf(buf, sizeof buf, "errno%d", e);
	return buf;
}

static inline const char *yesno(int b) { return b ? "yes" : "no"; }

static inline void must(int e, const char *what)
{
	if (e != 0) {
		fprintf(stderr, "%s: %s\n", what, strerror(e));
		exit(1);
	}
}

static inline void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	exit(1);
}

static inline long long ns_of(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static inline long long now_ns(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return ns_of(&t);
}

static inline struct timespec ts_of(long long ns)
{
	return (struct timespec){ ns / 1000000000LL, ns % 1000000000LL };
}

static inline struct timespec deadline_ms(clockid_t c, long long ms)
{
	return ts_of(now_ns(c) + ms * MS);
}

/* The Threads: line of a /proc/.../status file; -1 if unreadable. */
static inline long status_threads_at(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	long n = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "Threads:", 8) == 0)
			n = strtol(line + 8, NULL, 10);
	fclose(f);
	return n;
}

/* The Threads: line of /proc/self/status; -1 if unreadable. */
static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * MS };
	nanosleep(&ts, NULL);
}

static inline long status_threads(void) { return status_threads_at("/proc/self/status"); }

#if defined(__x86_64__)
static inline long raw_syscall(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#endif

/* The flag is volatile so that the compiler can neither see the end
 * coming nor turn the recursion into a loop. */
static inline int recurse_forever(int n)
{
	static volatile int forever = 1;
	volatile char pad[1024];
	pad[0] = (char)n;
	return forever ? recurse_forever(n + 1) + pad[0] : 0;
}

#ifdef ONCE_FLAG_INIT /* <threads.h> is included */
static inline const char *thrd_str(int r)
{
	switch (r) {
	case thrd_success: return "thrd_success";
	case thrd_busy: return "thrd_busy";
	case thrd_error: return "thrd_error";
	case thrd_nomem: return "thrd_nomem";
	case thrd_timedout: return "thrd_timedout";
	default: return "?";
	}
}

static inline void must_thrd(int r, const char *what)
{
	if (r != thrd_success) {
		fprintf(stderr, "%s: %s\n", what, thrd_str(r));
		exit(1);
	}
}
#endif

#endif

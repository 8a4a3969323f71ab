/* stdio's FILE locks between green threads (thread subsystem, with TLS
 * per green thread).
 *
 * glibc's FILE lock (_IO_lock_t: a futex word, a count and the owning
 * TCB) is recursive by TCB.  With a TCB per green thread, a green thread
 * that holds a FILE across a greened call (flockfile, then sleep or
 * write to a socket, then funlockfile) leaves the lock taken while others
 * run; another green thread's printf to that FILE would find it taken and
 * block the OS thread in glibc's internal futex wait: every green thread
 * stops, the holder never runs again, and the process hangs where a
 * native one would just wait its turn.
 *
 * So each stdio entry point below first waits, parked, while another
 * thread holds the FILE; then the real call takes the lock at once.  A
 * holder that is a green thread wakes the waiters from funlockfile (the
 * only way a lock held across a switch is let go); one that is another
 * OS thread lets go inside libc, unseen, so the wait also ends every
 * millisecond to look again.  With shared TLS every green thread of an
 * OS thread is the same owner to glibc and nothing waits (as before).
 *
 * Where a real call still finds the FILE taken (a FILE entry point not
 * listed here, or a lock taken between the check and the call by another
 * OS thread), it blocks as glibc does.  fflush(NULL) and fcloseall wait
 * for every FILE on glibc's list first. */
#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>
#include <wchar.h>

#include "config.h"
#include "filelock.h"
#include "real.h"

#undef putc
#undef putchar
#undef fputc
#undef getwc
#undef putwc
#undef feof
#undef ferror

/* glibc's _IO_lock_t (sysdeps/nptl/stdio-lock.h) and _IO_USER_LOCK. */
struct io_lock {
	_Atomic int lock;
	int cnt;
	void *owner;
};
#define F_USER_LOCK 0x8000

static inline struct io_lock *lock_of(FILE *f)
{
	if (!f || (f->_flags & F_USER_LOCK) || !f->_lock)
		return NULL;
	return (struct io_lock *)f->_lock;
}

/* The TCB glibc records as a FILE's owner: THREAD_SELF, header.self. */
static inline void *tcb_self(void)
{
#if defined(__x86_64__)
	void *self;
	__asm__("movq %%fs:16, %0" : "=r"(self));
	return self;
#else
	return __builtin_thread_pointer();
#endif
}

/* One wait at most while another thread holds f's lock: 1 if it parked
 * (then f is not looked at again: its holder may have closed it). */
static int wait_once(FILE *f)
{
	struct io_lock *lk = lock_of(f);
	if (!lk || !gs_tls_per_thread() || !gs_thread_on())
		return 0;
	int v = atomic_load_explicit(&lk->lock, memory_order_acquire);
	if (v == 0 || lk->owner == tcb_self() || !gs_can_park())
		return 0;
	struct gs_deadline d;
	gs_deadline_in(&d, &(struct timespec){ .tv_nsec = 1000000 });
	gs_futex_wait(&lk->lock, v, ~0u, &d, GS_INTR_NEVER);
	return 1;
}

/* The caller's f stays valid (it is about to use it): wait until free. */
void gs_file_wait(FILE *f)
{
	gs_safe_point(); /* a call that never waits yields a spent slice */
	while (wait_once(f))
		;
}

/* flockfile & co. also count the locks the thread holds: it is not
 * preempted while it holds one (scheduler/preempt.c). */
GS_EXPORT void flockfile(FILE *f)
{
	gs_file_wait(f);
	GS_REAL_TRAPPED(flockfile)(f);
	gs_preempt_hold(1);
}

GS_EXPORT int ftrylockfile(FILE *f)
{
	int rc = GS_REAL_TRAPPED(ftrylockfile)(f);
	if (rc == 0)
		gs_preempt_hold(1);
	return rc;
}

GS_EXPORT void funlockfile(FILE *f)
{
	gs_preempt_hold(-1);
	GS_REAL_TRAPPED(funlockfile)(f);
	struct io_lock *lk = lock_of(f);
	if (lk && gs_tls_per_thread() && atomic_load_explicit(&lk->lock, memory_order_relaxed) == 0)
		gs_futex_wake(&lk->lock, 1 << 30, ~0u);
	gs_safe_point(); /* a preemption held off by the lock happens here */
}

/* Output: each waits for the FILE, then is the real call. */
GS_EXPORT int vfprintf(FILE *f, const char *fmt, va_list ap)
{
	gs_file_wait(f);
	return GS_REAL_TRAPPED(vfprintf)(f, fmt, ap);
}

GS_EXPORT int vprintf(const char *fmt, va_list ap)
{
	return vfprintf(stdout, fmt, ap);
}

GS_EXPORT int fprintf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfprintf(f, fmt, ap);
	va_end(ap);
	return r;
}

GS_EXPORT int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfprintf(stdout, fmt, ap);
	va_end(ap);
	return r;
}

/* _FORTIFY_SOURCE builds call these instead. */
GS_EXPORT int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap)
{
	gs_file_wait(f);
	return GS_REAL_TRAPPED(__vfprintf_chk)(f, flag, fmt, ap);
}

GS_EXPORT int __vprintf_chk(int flag, const char *fmt, va_list ap)
{
	return __vfprintf_chk(stdout, flag, fmt, ap);
}

GS_EXPORT int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = __vfprintf_chk(f, flag, fmt, ap);
	va_end(ap);
	return r;
}

GS_EXPORT int __printf_chk(int flag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = __vfprintf_chk(stdout, flag, fmt, ap);
	va_end(ap);
	return r;
}

GS_EXPORT int fputs(const char *s, FILE *f)
{
	gs_file_wait(f);
	return GS_REAL_TRAPPED(fputs)(s, f);
}

GS_EXPORT int puts(const char *s)
{
	gs_file_wait(stdout);
	return GS_REAL_TRAPPED(puts)(s);
}

GS_EXPORT int fputc(int c, FILE *f)
{
	gs_file_wait(f);
	return GS_REAL_TRAPPED(fputc)(c, f);
}

GS_EXPORT int putc(int c, FILE *f)
{
	gs_file_wait(f);
	return GS_REAL_TRAPPED(putc)(c, f);
}

GS_EXPORT int putchar(int c)
{
	gs_file_wait(stdout);
	return GS_REAL_TRAPPED(putchar)(c);
}

GS_EXPORT size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{
	gs_file_wait(f);
	return GS_REAL_TRAPPED(fwrite)(p, size, n, f);
}

/* glibc's list of every FILE (libio.h: _IO_list_all, linked by _chain). */
extern FILE *_IO_list_all;

/* fflush(NULL) locks every FILE in turn: wait for each held one first.
 * While parked, its holder may have closed it (and any other): the walk
 * starts again from the list's head after every wait, never touching a
 * FILE it waited for again. */
static void wait_all_files(void)
{
again:
	for (FILE *f = _IO_list_all; f; f = f->_chain)
		if (wait_once(f))
			goto again;
}

GS_EXPORT int fflush(FILE *f)
{
	if (f)
		gs_file_wait(f);
	else
		wait_all_files();
	return GS_REAL_TRAPPED(fflush)(f);
}

GS_EXPORT int fcloseall(void)
{
	wait_all_files();
	return GS_REAL_TRAPPED(fcloseall)();
}

/* Every other FILE entry point that takes the lock: wait, then the real
 * call.  (feof, ferror, clearerr and fileno lock once the process has a
 * second real thread.) */
#define WAITS(ret, name, params, f, ...)                                                        \
	GS_EXPORT ret name params                                                                \
	{                                                                                        \
		gs_file_wait(f);                                                                 \
		return GS_REAL_TRAPPED(name)(__VA_ARGS__);                                               \
	}
WAITS(long, ftell, (FILE *f), f, f)
WAITS(off_t, ftello, (FILE *f), f, f)
WAITS(off64_t, ftello64, (FILE *f), f, f)
WAITS(int, fseek, (FILE *f, long o, int w), f, f, o, w)
WAITS(int, fseeko, (FILE *f, off_t o, int w), f, f, o, w)
WAITS(int, fseeko64, (FILE *f, off64_t o, int w), f, f, o, w)
WAITS(int, fgetpos, (FILE *f, fpos_t *p), f, f, p)
WAITS(int, fsetpos, (FILE *f, const fpos_t *p), f, f, p)
WAITS(int, fgetpos64, (FILE *f, fpos64_t *p), f, f, p)
WAITS(int, fsetpos64, (FILE *f, const fpos64_t *p), f, f, p)
WAITS(int, setvbuf, (FILE *f, char *b, int m, size_t n), f, f, b, m, n)
WAITS(int, ungetc, (int c, FILE *f), f, c, f)
WAITS(int, feof, (FILE *f), f, f)
WAITS(int, ferror, (FILE *f), f, f)
WAITS(int, fileno, (FILE *f), f, f)
WAITS(wint_t, fgetwc, (FILE *f), f, f)
WAITS(wint_t, getwc, (FILE *f), f, f)
WAITS(wint_t, fputwc, (wchar_t c, FILE *f), f, c, f)
WAITS(wint_t, putwc, (wchar_t c, FILE *f), f, c, f)
WAITS(wint_t, ungetwc, (wint_t c, FILE *f), f, c, f)
WAITS(wchar_t *, fgetws, (wchar_t *s, int n, FILE *f), f, s, n, f)
WAITS(int, fputws, (const wchar_t *s, FILE *f), f, s, f)
WAITS(int, fwide, (FILE *f, int m), f, f, m)
WAITS(int, vfwprintf, (FILE *f, const wchar_t *fmt, va_list ap), f, f, fmt, ap)

#define WAITS_VOID(name, params, f, ...)                                                        \
	GS_EXPORT void name params                                                               \
	{                                                                                        \
		gs_file_wait(f);                                                                 \
		GS_REAL_TRAPPED(name)(__VA_ARGS__);                                                      \
	}
WAITS_VOID(rewind, (FILE *f), f, f)
WAITS_VOID(clearerr, (FILE *f), f, f)
WAITS_VOID(setbuf, (FILE *f, char *b), f, f, b)
WAITS_VOID(setbuffer, (FILE *f, char *b, size_t n), f, f, b, n)
WAITS_VOID(setlinebuf, (FILE *f), f, f)
WAITS_VOID(perror, (const char *s), stderr, s)
WAITS_VOID(psignal, (int sig, const char *s), stderr, sig, s)
WAITS(int, putw, (int w, FILE *f), f, w, f)
WAITS(int, getw, (FILE *f), f, f)
WAITS(wchar_t *, __fgetws_chk, (wchar_t *s, size_t size, int n, FILE *f), f, s, size, n, f)
WAITS(int, __vfwprintf_chk, (FILE *f, int flag, const wchar_t *fmt, va_list ap), f, f, flag, fmt, ap)

GS_EXPORT int __fwprintf_chk(FILE *f, int flag, const wchar_t *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = __vfwprintf_chk(f, flag, fmt, ap);
	va_end(ap);
	return r;
}

GS_EXPORT int __wprintf_chk(int flag, const wchar_t *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = __vfwprintf_chk(stdout, flag, fmt, ap);
	va_end(ap);
	return r;
}

GS_EXPORT int __vwprintf_chk(int flag, const wchar_t *fmt, va_list ap)
{
	return __vfwprintf_chk(stdout, flag, fmt, ap);
}

GS_EXPORT wint_t getwchar(void)
{
	gs_file_wait(stdin);
	return GS_REAL_TRAPPED(getwchar)();
}

GS_EXPORT wint_t putwchar(wchar_t c)
{
	gs_file_wait(stdout);
	return GS_REAL_TRAPPED(putwchar)(c);
}

GS_EXPORT int fwprintf(FILE *f, const wchar_t *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfwprintf(f, fmt, ap);
	va_end(ap);
	return r;
}

GS_EXPORT int wprintf(const wchar_t *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfwprintf(stdout, fmt, ap);
	va_end(ap);
	return r;
}

GS_EXPORT int vwprintf(const wchar_t *fmt, va_list ap)
{
	return vfwprintf(stdout, fmt, ap);
}

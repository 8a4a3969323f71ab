/* Waiting for signals (the thread subsystem): sigwait, sigwaitinfo,
 * sigtimedwait, sigsuspend and pause park the green thread, not the hub.
 *
 * sigwait & co. take a blocked signal when it is pending: one sent to this
 * green thread (pthread_kill: the shim keeps it on the thread), or one
 * pending for the OS thread or the process (the real sigtimedwait with a
 * zero timeout takes it).  In between, the thread waits on a signalfd for
 * the set, which becomes readable when such a signal arrives, and a
 * pthread_kill of it ends the wait directly.  A handler running for
 * another signal ends sigwaitinfo/sigtimedwait with EINTR; sigwait goes on.
 *
 * sigsuspend and pause wait until a handler runs (sigsuspend with the
 * caller's mask installed), and always fail with EINTR. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io.h"
#include "real.h"

#define INTERNAL_SIGNALS ((1ULL << 31) | (1ULL << 32)) /* SIGCANCEL, SIGSETXID */

static int greened(void)
{
	return gs_thread_on() && gs_can_park();
}

/* A NULL set is EFAULT natively (the kernel says so): the real call gets
 * it.  glibc declares the pointers non-null, so it is looked at through an
 * opaque copy the compiler cannot reason away. */
static int missing(const void *p)
{
	__asm__("" : "+r"(p));
	return p == NULL;
}

static uint64_t bits_of(const sigset_t *set)
{
	uint64_t b;
	memcpy(&b, set, sizeof b);
	return b & ~INTERNAL_SIGNALS;
}

#define CANCELED (-2) /* taken(): the wait ended for a cancellation */

static int taken(const sigset_t *set, uint64_t want, siginfo_t *info, const struct gs_deadline *d);

/* While it waits, the set is blocked for the thread: a signal of the set
 * that arrives is taken by the wait, never given to a handler, even if
 * the caller did not block it (the kernel's sigtimedwait does the same). */
static int waited_for(const sigset_t *set, siginfo_t *info, const struct gs_deadline *d)
{
	uint64_t want = bits_of(set), old;
	gs_testcancel();
	gs_sigmask(SIG_BLOCK, &want, &old);
	int r = taken(set, want, info, d);
	int e = errno;
	gs_sigmask(SIG_SETMASK, &old, NULL); /* before a cancellation unwinds */
	if (r == CANCELED)
		gs_testcancel();
	errno = e;
	return r;
}

static int taken(const sigset_t *set, uint64_t want, siginfo_t *info, const struct gs_deadline *d)
{
	struct timespec zero = { 0, 0 };
	for (;;) {
		int sig = gs_sigtake(want);
		if (sig) { /* sent to this green thread by pthread_kill */
			if (info) {
				memset(info, 0, sizeof *info);
				info->si_signo = sig;
				info->si_code = SI_USER; /* glibc turns SI_TKILL into SI_USER */
				info->si_pid = getpid();
				info->si_uid = getuid();
			}
			return sig;
		}
		int r = GS_REAL(sigtimedwait)(set, info, &zero);
		if (r > 0 || errno != EAGAIN)
			return r;
		if (d) {
			struct timespec left;
			gs_deadline_left(d, &left);
			if (!left.tv_sec && !left.tv_nsec) {
				errno = EAGAIN;
				return -1;
			}
		}
		int sfd = (int)gs__sys(SYS_signalfd4, -1, (long)set, 8, SFD_NONBLOCK | SFD_CLOEXEC, 0, 0);
		if (sfd < 0) { /* no signalfd (EMFILE, say): the real wait, for the time left */
			struct timespec left;
			if (d)
				gs_deadline_left(d, &left);
			return GS_REAL(sigtimedwait)(set, info, d ? &left : NULL);
		}
		gs_sigwait_set(want);
		int how = gs_fd_wait(sfd, GS_FD_READ, d, GS_INTR_ALWAYS | GS_WAIT_CANCELLABLE, NULL);
		gs_sigwait_set(0);
		gs_fd_closing(sfd); /* the number's next file is another one */
		GS_REAL(close)(sfd);
		if (how == GS_CANCELED)
			return CANCELED;
		if (how == GS_INTERRUPTED) {
			errno = EINTR;
			return -1;
		}
	}
}

GS_EXPORT int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *timeout)
{
	if (!greened() || missing(set) ||
	    (timeout && (!gs_timespec_valid(timeout) || timeout->tv_sec < 0 ||
			 (timeout->tv_sec == 0 && timeout->tv_nsec == 0))))
		return GS_REAL(sigtimedwait)(set, info, timeout);
	struct gs_deadline d;
	if (timeout)
		gs_deadline_in(&d, timeout);
	return waited_for(set, info, timeout ? &d : NULL);
}

GS_EXPORT int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
	if (!greened() || missing(set))
		return GS_REAL(sigwaitinfo)(set, info);
	return waited_for(set, info, NULL);
}

/* sigwait returns the error number and is never interrupted. */
GS_EXPORT int sigwait(const sigset_t *set, int *sig)
{
	if (!greened() || missing(set))
		return GS_REAL(sigwait)(set, sig);
	int saved = errno, r;
	while ((r = waited_for(set, NULL, NULL)) < 0 && errno == EINTR)
		;
	int e = r < 0 ? errno : 0;
	if (r > 0)
		*sig = r;
	errno = saved;
	return e;
}

/* Until a handler runs: always -1 with EINTR. */
static int until_a_handler(void)
{
	gs_testcancel();
	int how;
	do
		how = gs_fds_wait(NULL, 0, NULL, GS_INTR_ALWAYS | GS_WAIT_CANCELLABLE, NULL);
	while (how == GS_WOKEN || how == GS_TIMEDOUT);
	if (how == GS_CANCELED)
		gs_testcancel();
	errno = EINTR;
	return -1;
}

GS_EXPORT int sigsuspend(const sigset_t *mask)
{
	if (!greened() || missing(mask))
		return GS_REAL(sigsuspend)(mask);
	uint64_t old = 0;
	if (gs__wait_mask_begin(mask, &old)) { /* delivered at once */
		gs__wait_mask_end(old);
		errno = EINTR;
		return -1;
	}
	int r = until_a_handler();
	gs__wait_mask_end(old);
	errno = EINTR;
	return r;
}

GS_EXPORT int pause(void)
{
	if (!greened())
		return GS_REAL(pause)();
	return until_a_handler();
}

/* syscall(2): each system call number that has a greened or tracked libc
 * wrapper takes that wrapper's path, with syscall(2)'s contract (-1 and
 * errno, the kernel's own semantics where they differ from the wrapper's);
 * every other number goes to the kernel untouched.
 *
 *   futex                      the parking lot (futex.c)
 *   gettid, tgkill, tkill, kill, rt_tgsigqueueinfo, sched_*, *priority
 *                              a green thread's virtual id (tid.c)
 *   read, write, readv, writev, accept, accept4, connect, sendto,
 *   recvfrom, sendmsg, recvmsg, sendmmsg, recvmmsg, poll, ppoll, select,
 *   pselect6, epoll_wait, epoll_pwait, epoll_pwait2, nanosleep,
 *   clock_nanosleep, wait4, waitid
 *                              the greened calls (os.c, socket.c, select.c,
 *                              time.c, wait.c)
 *   close, dup2, dup3, close_range, fcntl
 *                              our close & co. (os.c): the fd's waiters and
 *                              its cached kind go with it (libuv closes fds
 *                              this way)
 *   socket, socketpair, pipe, pipe2, eventfd, eventfd2, open, openat,
 *   openat2, creat, dup, memfd_create, timerfd_create, signalfd(4),
 *   epoll_create(1), inotify_init(1), fanotify_init, pidfd_open,
 *   pidfd_getfd, userfaultfd, perf_event_open, open_by_handle_at
 *                              made by the kernel as asked, then the new fd
 *                              is recorded (fdmake.c)
 *
 * syscall(2) is no cancellation point, while the wrappers it reaches are:
 * cancellation is held off for the call.  Where the system call differs
 * from libc's wrapper, the kernel's way is kept: ppoll, pselect6 and
 * select write the time not slept back into the caller's timeout;
 * clock_nanosleep fails with -1 and errno (the wrapper returns the error);
 * ppoll, pselect6, epoll_pwait and epoll_pwait2 take a kernel sigset (8
 * bytes) and its size, EINVAL when the size is not 8; waitid takes an
 * rusage.  pread64 has no greened wrapper and goes to the kernel. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fdkind.h"
#include "real.h"
#include "syscalls.h"
#include "tid.h"

#define KERNEL_SIGSET 8 /* bytes of the kernel's sigset_t */

static long fail(int err)
{
	errno = err;
	return -1;
}

/* The kernel's sigset (u, of size) as libc's, in *out: NULL when u is.
 * 0, or EINVAL for a size the kernel refuses. */
static int user_sigset(long u, long size, sigset_t *out, const sigset_t **set)
{
	*set = NULL;
	if (!u)
		return 0;
	if (size != KERNEL_SIGSET)
		return EINVAL;
	sigemptyset(out);
	memcpy(out, (const void *)u, KERNEL_SIGSET);
	*set = out;
	return 0;
}

/* ---- timeouts written back ------------------------------------------------ */

/* ppoll and pselect6 leave in *ts what was not slept of it, as the kernel
 * does (glibc's wrappers pass a copy and hide it). */
struct rel_timeout {
	struct timespec *ts;
	struct timespec end; /* CLOCK_MONOTONIC */
};

static void timeout_start(struct rel_timeout *t, struct timespec *ts)
{
	t->ts = ts;
	if (!ts || ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)
		return; /* none, or the wrapper's EINVAL */
	clock_gettime(CLOCK_MONOTONIC, &t->end);
	t->end.tv_sec += ts->tv_sec;
	t->end.tv_nsec += ts->tv_nsec;
	if (t->end.tv_nsec >= 1000000000L) {
		t->end.tv_sec++;
		t->end.tv_nsec -= 1000000000L;
	}
}

static long timeout_end(struct rel_timeout *t, long r)
{
	if (!t->ts || t->ts->tv_sec < 0 || t->ts->tv_nsec < 0 || t->ts->tv_nsec >= 1000000000L)
		return r;
	int saved = errno;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long sec = t->end.tv_sec - now.tv_sec, nsec = t->end.tv_nsec - now.tv_nsec;
	if (nsec < 0) {
		sec--;
		nsec += 1000000000L;
	}
	if (sec < 0)
		sec = nsec = 0;
	t->ts->tv_sec = sec;
	t->ts->tv_nsec = nsec;
	errno = saved;
	return r;
}

static long do_ppoll(long *a)
{
	sigset_t m;
	const sigset_t *mask;
	int e = user_sigset(a[3], a[4], &m, &mask);
	if (e)
		return fail(e);
	struct rel_timeout t;
	timeout_start(&t, (struct timespec *)a[2]);
	return timeout_end(&t, ppoll((struct pollfd *)a[0], (nfds_t)a[1], t.ts, mask));
}

static long do_pselect6(long *a)
{
	/* The sixth argument: { const kernel sigset *, size_t }. */
	const long *data = (const long *)a[5];
	sigset_t m;
	const sigset_t *mask = NULL;
	if (data) {
		int e = user_sigset(data[0], data[1], &m, &mask);
		if (e)
			return fail(e);
	}
	struct rel_timeout t;
	timeout_start(&t, (struct timespec *)a[4]);
	return timeout_end(&t, pselect((int)a[0], (fd_set *)a[1], (fd_set *)a[2], (fd_set *)a[3], t.ts,
				       mask));
}

static long do_epoll_pwait(long *a, int two)
{
	sigset_t m;
	const sigset_t *mask;
	int e = user_sigset(a[4], a[5], &m, &mask);
	if (e)
		return fail(e);
	if (two)
		return epoll_pwait2((int)a[0], (struct epoll_event *)a[1], (int)a[2],
				    (const struct timespec *)a[3], mask);
	return epoll_pwait((int)a[0], (struct epoll_event *)a[1], (int)a[2], (int)a[3], mask);
}

static long do_clock_nanosleep(long *a)
{
	int e = clock_nanosleep((clockid_t)a[0], (int)a[1], (const struct timespec *)a[2],
				(struct timespec *)a[3]);
	return e ? fail(e) : 0;
}

/* ---- the greened numbers ------------------------------------------------- */

/* The greened wrapper's result for nr, *handled set; 0 and *handled clear
 * for a number that is not greened. */
static long greened_call(long nr, long *a, int *handled)
{
	*handled = 1;
	switch (nr) {
	case SYS_read:
		return read((int)a[0], (void *)a[1], (size_t)a[2]);
	case SYS_write:
		return write((int)a[0], (const void *)a[1], (size_t)a[2]);
	case SYS_readv:
		return readv((int)a[0], (const struct iovec *)a[1], (int)a[2]);
	case SYS_writev:
		return writev((int)a[0], (const struct iovec *)a[1], (int)a[2]);
	case SYS_accept:
		return accept((int)a[0], (struct sockaddr *)a[1], (socklen_t *)a[2]);
	case SYS_accept4:
		return accept4((int)a[0], (struct sockaddr *)a[1], (socklen_t *)a[2], (int)a[3]);
	case SYS_connect:
		return connect((int)a[0], (const struct sockaddr *)a[1], (socklen_t)a[2]);
	case SYS_sendto:
		return sendto((int)a[0], (const void *)a[1], (size_t)a[2], (int)a[3],
			      (const struct sockaddr *)a[4], (socklen_t)a[5]);
	case SYS_recvfrom:
		return recvfrom((int)a[0], (void *)a[1], (size_t)a[2], (int)a[3], (struct sockaddr *)a[4],
				(socklen_t *)a[5]);
	case SYS_sendmsg:
		return sendmsg((int)a[0], (const struct msghdr *)a[1], (int)a[2]);
	case SYS_recvmsg:
		return recvmsg((int)a[0], (struct msghdr *)a[1], (int)a[2]);
	case SYS_sendmmsg:
		return sendmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned)a[2], (int)a[3]);
	case SYS_recvmmsg:
		return recvmmsg((int)a[0], (struct mmsghdr *)a[1], (unsigned)a[2], (int)a[3],
				(struct timespec *)a[4]);
	case SYS_poll:
		return poll((struct pollfd *)a[0], (nfds_t)a[1], (int)a[2]);
	case SYS_ppoll:
		return do_ppoll(a);
	case SYS_select:
		return select((int)a[0], (fd_set *)a[1], (fd_set *)a[2], (fd_set *)a[3],
			      (struct timeval *)a[4]);
	case SYS_pselect6:
		return do_pselect6(a);
	case SYS_epoll_wait:
		return epoll_wait((int)a[0], (struct epoll_event *)a[1], (int)a[2], (int)a[3]);
	case SYS_epoll_pwait:
		return do_epoll_pwait(a, 0);
	case SYS_epoll_pwait2:
		return do_epoll_pwait(a, 1);
	case SYS_nanosleep:
		return nanosleep((const struct timespec *)a[0], (struct timespec *)a[1]);
	case SYS_clock_nanosleep:
		return do_clock_nanosleep(a);
	case SYS_wait4:
		return wait4((pid_t)a[0], (int *)a[1], (int)a[2], (struct rusage *)a[3]);
	case SYS_waitid:
		return gs_waitid((idtype_t)a[0], (id_t)a[1], (siginfo_t *)a[2], (int)a[3],
				 (struct rusage *)a[4]);
	case SYS_close:
		return close((int)a[0]);
	case SYS_dup2:
		return dup2((int)a[0], (int)a[1]);
	case SYS_dup3:
		return dup3((int)a[0], (int)a[1], (int)a[2]);
	case SYS_close_range:
		return close_range((unsigned)a[0], (unsigned)a[1], (int)a[2]);
	case SYS_fcntl:
		return fcntl((int)a[0], (int)a[1], a[2]);
	}
	*handled = 0;
	return 0;
}

/* ---- fd-making numbers --------------------------------------------------- */

/* How nr's result is recorded when it makes an fd: 0 not at all. */
enum made_how { MADE_NOT, MADE_ONE, MADE_SOCKET, MADE_PAIR, MADE_SOCKET_PAIR, MADE_DUP };

static enum made_how making(long nr, const long *a)
{
	switch (nr) {
	case SYS_socket:
		return MADE_SOCKET;
	case SYS_socketpair:
		return MADE_SOCKET_PAIR;
	case SYS_pipe:
	case SYS_pipe2:
		return MADE_PAIR;
	case SYS_dup:
		return MADE_DUP;
	case SYS_signalfd:
	case SYS_signalfd4:
		return a[0] == -1 ? MADE_ONE : MADE_NOT; /* else it changes the fd's mask */
	case SYS_eventfd:
	case SYS_eventfd2:
	case SYS_open:
	case SYS_openat:
	case SYS_openat2:
	case SYS_creat:
	case SYS_memfd_create:
	case SYS_timerfd_create:
	case SYS_epoll_create:
	case SYS_epoll_create1:
	case SYS_inotify_init:
	case SYS_inotify_init1:
	case SYS_fanotify_init:
	case SYS_pidfd_open:
	case SYS_pidfd_getfd:
	case SYS_userfaultfd:
	case SYS_perf_event_open:
	case SYS_open_by_handle_at:
		return MADE_ONE;
	}
	return MADE_NOT;
}

static void record_made(enum made_how how, const long *a, long r)
{
	int *pair = (int *)(how == MADE_SOCKET_PAIR ? a[3] : a[0]);
	switch (how) {
	case MADE_NOT:
		break;
	case MADE_ONE:
		gs_fd_created((int)r, GS_FDK_UNKNOWN);
		break;
	case MADE_SOCKET:
		gs_fd_created((int)r, GS_FDK_SOCKET);
		break;
	case MADE_DUP:
		gs_fd_duplicated((int)a[0], (int)r);
		break;
	case MADE_PAIR:
	case MADE_SOCKET_PAIR: {
		int kind = how == MADE_PAIR ? GS_FDK_UNKNOWN : GS_FDK_SOCKET;
		gs_fd_created(pair[0], kind);
		gs_fd_created(pair[1], kind);
		break;
	}
	}
}

GS_EXPORT long syscall(long nr, ...)
{
	long a[6];
	va_list ap;
	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	int handled = 0;
	long r = 0;
	if (nr == SYS_futex && gs_thread_on())
		r = gs_futex_syscall(a, &handled);
	else
		r = gs_tid_syscall(nr, a, &handled);
	if (handled)
		return r;
	int old;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	r = greened_call(nr, a, &handled);
	if (!handled) {
		r = GS_REAL(syscall)(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		if (r >= 0)
			record_made(making(nr, a), a, r);
	}
	int saved = errno;
	pthread_setcancelstate(old, NULL);
	errno = saved;
	return r;
}

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
 *   clock_nanosleep, wait4, waitid, sched_yield, io_uring_enter (one
 *   completion)
 *                              the greened calls (os.c, socket.c, select.c,
 *                              time.c, wait.c, thread.c)
 *   close, dup2, dup3, close_range
 *                              our close & co. (os.c): the fd's waiters and
 *                              its cached kind go with it (libuv closes fds
 *                              this way)
 *   fcntl                      the kernel's, with what our fcntl records
 *   rt_sigaction, rt_sigprocmask, rt_sigpending, rt_sigsuspend,
 *   rt_sigtimedwait, pause     the shim's signal state (signal.c, sigwait.c)
 *   mmap, munmap, mremap, shmat, shmdt, remap_file_pages
 *                              the kernel's, and cached answers about
 *                              mappings are dropped (mappings.c)
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
 * rusage.  What the shim must read of the caller's memory before any
 * system call (timeouts, sigsets) is read safely: a bad pointer is
 * EFAULT, as from the kernel (usermem.h).  A zero timeout never waits and
 * goes to the kernel as it is.  pread64 has no greened wrapper and goes
 * to the kernel. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <linux/io_uring.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <sched.h>
#include <unistd.h>

#include "config.h"
#include "fdkind.h"
#include "usermem.h"
#include "rawsys.h"
#include "real.h"
#include "syscalls.h"
#include "tid.h"

#define KERNEL_SIGSET 8 /* bytes of the kernel's sigset_t */

static long fail(int err)
{
	errno = err;
	return -1;
}

static long kernel(long nr, const long *a)
{
	return GS_REAL(syscall)(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* The kernel's sigset at u (of size bytes) as libc's, in *out; *set NULL
 * when u is.  0, EINVAL for a size the kernel refuses, EFAULT. */
static int user_sigset(long u, long size, sigset_t *out, const sigset_t **set)
{
	*set = NULL;
	if (!u)
		return 0;
	if (size != KERNEL_SIGSET)
		return EINVAL;
	sigemptyset(out);
	if (gs_copy_in(out, (const void *)u, KERNEL_SIGSET))
		return EFAULT;
	*set = out;
	return 0;
}

/* ---- timeouts written back ------------------------------------------------ */

/* ppoll, pselect6 and select leave in the caller's timeout what was not
 * slept of it, as the kernel does (glibc's wrappers hide it).  The
 * caller's timeout is read once, safely (EFAULT as the kernel says), and
 * written back the way the kernel does: not for a zero timeout, and a
 * fault ignored (a timeout in read-only memory). */
struct rel_timeout {
	void *user;          /* the caller's timespec or timeval; NULL: none */
	int usec;            /* a timeval (select) */
	struct timespec ts;  /* its value */
	struct timespec end; /* CLOCK_MONOTONIC */
};

/* 0, or EFAULT; *zero set for a zero timeout (the call never waits: the
 * kernel can take it as it is). */
static int timeout_start(struct rel_timeout *t, long user, int usec, int *zero)
{
	t->user = (void *)user;
	t->usec = usec;
	*zero = 0;
	if (!user)
		return 0;
	if (usec) {
		struct timeval tv;
		if (gs_copy_in(&tv, t->user, sizeof tv))
			return EFAULT;
		t->ts.tv_sec = tv.tv_sec;
		t->ts.tv_nsec = tv.tv_usec >= 0 && tv.tv_usec < 1000000 ? tv.tv_usec * 1000L : -1;
	} else if (gs_copy_in(&t->ts, t->user, sizeof t->ts)) {
		return EFAULT;
	}
	*zero = t->ts.tv_sec == 0 && t->ts.tv_nsec == 0;
	clock_gettime(CLOCK_MONOTONIC, &t->end);
	t->end.tv_sec += t->ts.tv_sec;
	t->end.tv_nsec += t->ts.tv_nsec;
	if (t->end.tv_nsec >= 1000000000L) {
		t->end.tv_sec++;
		t->end.tv_nsec -= 1000000000L;
	}
	return 0;
}

static int timeout_valid(const struct rel_timeout *t)
{
	return t->ts.tv_sec >= 0 && t->ts.tv_nsec >= 0 && t->ts.tv_nsec < 1000000000L;
}

static long timeout_end(struct rel_timeout *t, long r)
{
	if (!t->user || !timeout_valid(t))
		return r; /* none, or the wrapper's EINVAL */
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
	if (t->usec) {
		struct timeval tv = { sec, nsec / 1000 };
		gs_copy_out(t->user, &tv, sizeof tv);
	} else {
		struct timespec ts = { sec, nsec };
		gs_copy_out(t->user, &ts, sizeof ts);
	}
	errno = saved;
	return r;
}

/* The timeout as the wrapper takes it: NULL for none. */
static struct timespec *wrapper_ts(struct rel_timeout *t)
{
	return t->user ? &t->ts : NULL;
}

static long do_ppoll(long nr, long *a)
{
	struct rel_timeout t;
	int zero, e = timeout_start(&t, a[2], 0, &zero);
	if (e)
		return fail(e);
	if (zero)
		return kernel(nr, a);
	sigset_t m;
	const sigset_t *mask;
	if ((e = user_sigset(a[3], a[4], &m, &mask)))
		return fail(e);
	return timeout_end(&t, ppoll((struct pollfd *)a[0], (nfds_t)(unsigned)a[1], wrapper_ts(&t), mask));
}

static long do_pselect6(long nr, long *a)
{
	struct rel_timeout t;
	int zero, e = timeout_start(&t, a[4], 0, &zero);
	if (e)
		return fail(e);
	if (zero)
		return kernel(nr, a);
	/* The sixth argument: { const kernel sigset *, size_t }. */
	long data[2] = { 0, 0 };
	if (a[5] && gs_copy_in(data, (const void *)a[5], sizeof data))
		return fail(EFAULT);
	sigset_t m;
	const sigset_t *mask;
	if ((e = user_sigset(data[0], data[1], &m, &mask)))
		return fail(e);
	return timeout_end(&t, pselect((int)a[0], (fd_set *)a[1], (fd_set *)a[2], (fd_set *)a[3],
				       wrapper_ts(&t), mask));
}

static long do_select(long nr, long *a)
{
	struct rel_timeout t;
	int zero, e = timeout_start(&t, a[4], 1, &zero);
	if (e)
		return fail(e);
	if (zero || (t.user && !timeout_valid(&t)))
		return kernel(nr, a); /* never waits, or the kernel's EINVAL */
	struct timeval tv = { t.ts.tv_sec, t.ts.tv_nsec / 1000 };
	return timeout_end(&t, select((int)a[0], (fd_set *)a[1], (fd_set *)a[2], (fd_set *)a[3],
				      t.user ? &tv : NULL));
}

static long do_epoll_pwait(long *a, int two)
{
	sigset_t m;
	const sigset_t *mask;
	int e = user_sigset(a[4], a[5], &m, &mask);
	if (e)
		return fail(e);
	if (two) {
		struct timespec ts;
		if (a[3] && gs_copy_in(&ts, (const void *)a[3], sizeof ts))
			return fail(EFAULT);
		return epoll_pwait2((int)a[0], (struct epoll_event *)a[1], (int)a[2], a[3] ? &ts : NULL,
				    mask);
	}
	return epoll_pwait((int)a[0], (struct epoll_event *)a[1], (int)a[2], (int)a[3], mask);
}

/* A sleep's request read safely: EFAULT as the kernel says. */
static long do_nanosleep(long *a)
{
	struct timespec req;
	if (gs_copy_in(&req, (const void *)a[0], sizeof req))
		return fail(EFAULT);
	return nanosleep(&req, (struct timespec *)a[1]);
}

static long do_clock_nanosleep(long nr, long *a)
{
	if (!gs_clock_supported((clockid_t)a[0]))
		return kernel(nr, a); /* the kernel's errors (EOPNOTSUPP for CPU clocks) */
	struct timespec req;
	if (gs_copy_in(&req, (const void *)a[2], sizeof req))
		return fail(EFAULT);
	int e = clock_nanosleep((clockid_t)a[0], (int)a[1], &req, (struct timespec *)a[3]);
	return e ? fail(e) : 0;
}

/* fcntl's kernel contract (glibc's wrapper emulates F_GETOWN with
 * F_GETOWN_EX): the kernel's answer, with what our fcntl records. */
static long do_fcntl(long nr, long *a)
{
	int cmd = (int)a[1];
	if (cmd == F_SETFL)
		gs_fd_flags_changed();
	long r = kernel(nr, a);
	if (cmd == F_SETFL)
		gs_fd_flags_changed();
	if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && r >= 0)
		gs_fd_duplicated((int)a[0], (int)r);
	return r;
}

/* ---- signals --------------------------------------------------------------- */

/* The kernel's struct sigaction (x86_64). */
struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

static long do_rt_sigaction(long *a)
{
	if (a[3] != KERNEL_SIGSET)
		return fail(EINVAL);
	struct kernel_sigaction k;
	struct sigaction act, old;
	memset(&act, 0, sizeof act);
	if (a[1]) {
		if (gs_copy_in(&k, (const void *)a[1], sizeof k))
			return fail(EFAULT);
		act.sa_handler = (__sighandler_t)k.handler;
		act.sa_flags = (int)(k.flags & ~0x04000000UL); /* glibc adds its own SA_RESTORER */
		memcpy(&act.sa_mask, &k.mask, sizeof k.mask);
	}
	if (sigaction((int)a[0], a[1] ? &act : NULL, a[2] ? &old : NULL) < 0)
		return -1;
	if (a[2]) {
		memset(&k, 0, sizeof k);
		k.handler = (void *)old.sa_handler;
		k.flags = (unsigned long)(unsigned)old.sa_flags;
		k.restorer = old.sa_restorer;
		memcpy(&k.mask, &old.sa_mask, sizeof k.mask);
		gs_copy_out((void *)a[2], &k, sizeof k);
	}
	return 0;
}

static long do_rt_sigprocmask(long *a)
{
	sigset_t m, old;
	const sigset_t *set;
	if (a[3] != KERNEL_SIGSET)
		return fail(EINVAL);
	int e = user_sigset(a[1], a[3], &m, &set);
	if (e)
		return fail(e);
	long r = gs__rt_sigprocmask((int)a[0], set, &old);
	if (r < 0)
		return fail((int)-r);
	if (a[2])
		gs_copy_out((void *)a[2], &old, KERNEL_SIGSET);
	return 0;
}

static long do_rt_sigpending(long *a)
{
	if ((unsigned long)a[1] > KERNEL_SIGSET)
		return fail(EINVAL);
	sigset_t s;
	if (sigpending(&s) < 0)
		return -1;
	gs_copy_out((void *)a[0], &s, (size_t)a[1]);
	return 0;
}

static long do_rt_sigsuspend(long *a)
{
	sigset_t m;
	const sigset_t *set;
	int e = user_sigset(a[0], a[1], &m, &set);
	if (e || !set)
		return fail(e ? e : EFAULT);
	return sigsuspend(set);
}

static long do_rt_sigtimedwait(long *a)
{
	sigset_t m;
	const sigset_t *set;
	int e = user_sigset(a[0], a[3], &m, &set);
	if (e || !set)
		return fail(e ? e : EFAULT);
	struct timespec ts;
	if (a[2] && gs_copy_in(&ts, (const void *)a[2], sizeof ts))
		return fail(EFAULT);
	return sigtimedwait(set, (siginfo_t *)a[1], a[2] ? &ts : NULL);
}

/* io_uring_enter waiting for one completion (GETEVENTS, min_complete 1:
 * liburing's io_uring_submit_and_wait and wait_cqe with its own inline
 * system calls, MariaDB's InnoDB): submits and reaps without waiting,
 * then, while no completion is there, parks until the ring's fd polls
 * readable (the kernel's POLLIN: the completion ring holds an entry).
 * The result is the submission's, as the kernel's (the number submitted;
 * -EINTR when a handler ended a wait that submitted nothing).  Waits for
 * more than one completion, with a signal mask, an extended argument (a
 * timeout) or a registered ring's index go to the kernel. */
static long do_io_uring_enter(long nr, long *a)
{
	unsigned flags = (unsigned)a[3];
	if (!(flags & IORING_ENTER_GETEVENTS) || (unsigned)a[2] != 1 || a[4] ||
	    (flags & (IORING_ENTER_EXT_ARG | IORING_ENTER_REGISTERED_RING)) || !gs_os_on() ||
	    !gs_can_park())
		return kernel(nr, a);
	long now[6] = { a[0], a[1], 0, a[3], 0, a[5] };
	long r = kernel(nr, now);
	if (r < 0)
		return r;
	int how = gs_fd_wait((int)a[0], GS_FD_READ, NULL, GS_INTR_ALWAYS, NULL);
	if (how < 0) { /* no hub to park on: the kernel waits, nothing more to submit */
		long w = kernel(nr, (long[6]){ a[0], 0, a[2], a[3], 0, a[5] });
		return r ? r : w;
	}
	if (how == GS_INTERRUPTED && r == 0)
		return fail(EINTR);
	if (how == GS_CLOSED && r == 0)
		return fail(EBADF);
	return r;
}

/* Each green thread's own (scheduler/altstack.c); the caller's stack
 * pointer is the trapped code's for a trapped call. */
__thread uintptr_t gs_trap_user_sp;

static long do_sigaltstack(long *a)
{
	stack_t ss, old;
	if (a[0] && gs_copy_in(&ss, (const void *)a[0], sizeof ss))
		return fail(EFAULT);
	uintptr_t sp = gs_trap_user_sp ? gs_trap_user_sp : (uintptr_t)__builtin_frame_address(0);
	int r = gs_sigaltstack(a[0] ? &ss : NULL, a[1] ? &old : NULL, sp);
	if (r < 0)
		return fail(-r);
	if (a[1])
		gs_copy_out((void *)a[1], &old, sizeof old);
	return 0;
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
	case SYS_preadv2: /* (fd, iov, n, offset low, offset high, flags) */
		if (a[3] == -1 && a[5] == 0)
			return readv((int)a[0], (const struct iovec *)a[1], (int)a[2]);
		break;
	case SYS_pwritev2:
		if (a[3] == -1 && a[5] == 0)
			return writev((int)a[0], (const struct iovec *)a[1], (int)a[2]);
		break;
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
		return poll((struct pollfd *)a[0], (nfds_t)(unsigned)a[1], (int)a[2]); /* the kernel's
		* nfds is an unsigned int: upper bits ignored */
	case SYS_ppoll:
		return do_ppoll(nr, a);
	case SYS_select:
		return do_select(nr, a);
	case SYS_pselect6:
		return do_pselect6(nr, a);
	case SYS_epoll_wait:
		return epoll_wait((int)a[0], (struct epoll_event *)a[1], (int)a[2], (int)a[3]);
	case SYS_epoll_pwait:
		return do_epoll_pwait(a, 0);
	case SYS_epoll_pwait2:
		return do_epoll_pwait(a, 1);
	case SYS_nanosleep:
		return do_nanosleep(a);
	case SYS_clock_nanosleep:
		return do_clock_nanosleep(nr, a);
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
		return do_fcntl(nr, a);
	case SYS_rt_sigaction:
		return do_rt_sigaction(a);
	case SYS_rt_sigprocmask:
		return do_rt_sigprocmask(a);
	case SYS_rt_sigpending:
		return do_rt_sigpending(a);
	case SYS_rt_sigsuspend:
		return do_rt_sigsuspend(a);
	case SYS_rt_sigtimedwait:
		return do_rt_sigtimedwait(a);
	case SYS_pause:
		return pause();
	case SYS_sched_yield: /* Go's osyield: others run, as natively */
		return sched_yield();
	case SYS_sigaltstack:
		return do_sigaltstack(a);
	case SYS_io_uring_enter:
		return do_io_uring_enter(nr, a);
	case SYS_mmap:
	case SYS_munmap:
	case SYS_mremap:
	case SYS_shmat:
	case SYS_shmdt:
	case SYS_remap_file_pages: {
		gs_mappings_changing();
		long r = kernel(nr, a);
		gs_mappings_changing();
		return r;
	}
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

/* What the shim does with nr (the futex parking lot, virtual thread ids,
 * a greened wrapper), as syscall(2) returns it, *handled set; nothing and
 * *handled clear for a number that goes to the kernel as it is.  recheck:
 * a trapped futex wait (gs_futex_syscall).  syscall(2) is no cancellation
 * point, while the wrappers it reaches are: cancellation is held off. */
static long shim_call(long nr, long *a, int recheck, int *handled)
{
	long r;
	if (nr == SYS_futex && gs_thread_on())
		r = gs_futex_syscall(a, handled, recheck);
	else
		r = gs_tid_syscall(nr, a, handled);
	if (*handled)
		return r;
	int old;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	r = greened_call(nr, a, handled);
	int saved = errno;
	pthread_setcancelstate(old, NULL);
	errno = saved;
	return r;
}

long gs_trapped_syscall(long nr, long *a)
{
	int handled = 0;
	long r = shim_call(nr, a, 1, &handled);
	if (handled)
		return r == -1 ? -errno : r;
	r = gs__sys(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (r >= 0)
		record_made(making(nr, a), a, r);
	return r;
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
	long r = shim_call(nr, a, 0, &handled);
	if (handled)
		return r;
	r = GS_REAL(syscall)(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (r >= 0)
		record_made(making(nr, a), a, r);
	return r;
}

/* The select subsystem (GREENSHIM_SELECT): poll, ppoll, select, pselect,
 * epoll_wait, epoll_pwait, epoll_pwait2 park the green thread until one of
 * the fds is ready, the timeout passes, or a signal handler runs.
 *
 * The answer always comes from the real call made with a zero timeout, so
 * revents, the fd sets, error numbers (EBADF, EINVAL, EFAULT) and the
 * number returned are exactly the kernel's.  Between two such calls the
 * thread waits on the hub for the fds in the directions asked (POLLIN and
 * friends: readable; POLLOUT: writable); an epoll instance is itself
 * readable when it has events.  POLLPRI cannot be asked of libev, so a
 * poll that wants it waits on a private epoll instance holding exactly the
 * events asked.  Errors and hang-ups wake every waiter of an fd. */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io.h"
#include "usermem.h"
#include "real.h"

static int greened(void)
{
	return gs_select_on() && gs_can_park();
}

static int passed(const struct gs_deadline *d)
{
	struct timespec left;
	if (!d)
		return 0;
	gs_deadline_left(d, &left);
	return !left.tv_sec && !left.tv_nsec;
}

/* Milliseconds left, rounded up, for a native fallback (-1: no deadline). */
static int ms_left(const struct gs_deadline *d)
{
	struct timespec left;
	if (!d)
		return -1;
	gs_deadline_left(d, &left);
	long long ms = left.tv_sec * 1000LL + (left.tv_nsec + 999999) / 1000000;
	return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

/* How one hub wait ended, as the call's result: 0 to look again, -1 with
 * errno set (EINTR), or 1 when no hub wait is possible (-ENOMEM, no hub):
 * the caller then makes the real call with the time left. */
static int after_wait(int how)
{
	switch (how) {
	case GS_WOKEN:
	case GS_TIMEDOUT:
	case GS_CLOSED:
		return 0;
	case GS_INTERRUPTED:
		errno = EINTR;
		return -1;
	case GS_CANCELED:
		gs_testcancel();
		errno = EINTR;
		return -1;
	default:
		return 1;
	}
}

#define WAIT_INTR (GS_INTR_ALWAYS | GS_WAIT_CANCELLABLE)

/* The arguments of one waiting call, for masked(). */
struct call {
	struct pollfd *fds;
	nfds_t n;
	int nfds, max;
	fd_set *r, *w, *e;
	struct epoll_event *ev;
	const struct gs_deadline *d;
};

/* ppoll, pselect, epoll_pwait: wait(c) with the caller's signal mask
 * installed for its length; EINTR at once when the mask lets a pending
 * handled signal through (it is delivered first). */
static int masked(const sigset_t *mask, int (*wait)(const struct call *), const struct call *c)
{
	uint64_t old = 0;
	if (mask && gs__wait_mask_begin(mask, &old)) {
		gs__wait_mask_end(old);
		errno = EINTR;
		return -1;
	}
	int r = wait(c);
	if (mask) {
		int e = errno;
		gs__wait_mask_end(old);
		errno = e;
	}
	return r;
}

/* ---- poll ---------------------------------------------------------------- */

#define POLL_READ (POLLIN | POLLRDNORM | POLLRDBAND | POLLRDHUP)
#define POLL_WRITE (POLLOUT | POLLWRNORM | POLLWRBAND)

/* A private epoll instance holding exactly what fds ask (for POLLPRI). */
static int exact_epoll(const struct pollfd *fds, nfds_t n)
{
	int ep = (int)gs__sys(SYS_epoll_create1, EPOLL_CLOEXEC, 0, 0, 0, 0, 0);
	if (ep < 0)
		return -1;
	for (nfds_t i = 0; i < n; i++) {
		if (fds[i].fd < 0)
			continue;
		struct epoll_event e = { .events = (unsigned short)fds[i].events };
		/* the same fd twice: its events together */
		if (gs__sys(SYS_epoll_ctl, ep, EPOLL_CTL_ADD, fds[i].fd, (long)&e, 0, 0) == -EEXIST) {
			for (nfds_t j = 0; j < i; j++)
				if (fds[j].fd == fds[i].fd)
					e.events |= (unsigned short)fds[j].events;
			gs__sys(SYS_epoll_ctl, ep, EPOLL_CTL_MOD, fds[i].fd, (long)&e, 0, 0);
		}
		/* EPERM: a regular file, always ready: the zero-timeout poll
		 * already answered for it. */
	}
	return ep;
}

static int poll_wait(struct pollfd *fds, nfds_t n, const struct gs_deadline *d)
{
	/* First the kernel's look, which also checks fds and n (EFAULT,
	 * EINVAL) before we read them. */
	int r = GS_REAL(poll)(fds, n, 0);
	if (r != 0 || passed(d))
		return r;
	struct gs_fd_interest small[16], *want = small;
	int exotic = 0;
	for (nfds_t i = 0; i < n; i++)
		if (fds[i].fd >= 0 && (fds[i].events & POLLPRI))
			exotic = 1;
	if (!exotic && n > 16 && !(want = malloc(n * sizeof *want)))
		return GS_REAL(poll)(fds, n, ms_left(d));
	for (int first = 1;; first = 0) {
		if (!first) {
			r = GS_REAL(poll)(fds, n, 0);
			if (r != 0 || passed(d))
				break;
		}
		int how;
		if (exotic) {
			int ep = exact_epoll(fds, n);
			if (ep < 0) {
				r = GS_REAL(poll)(fds, n, ms_left(d));
				break;
			}
			how = gs_fd_wait(ep, GS_FD_READ, d, WAIT_INTR, NULL);
			gs_fd_closing(ep); /* the number's next file is another one */
			GS_REAL(close)(ep);
		} else {
			unsigned m = 0;
			for (nfds_t i = 0; i < n; i++) {
				if (fds[i].fd < 0)
					continue;
				want[m].fd = fds[i].fd;
				want[m].events = ((fds[i].events & POLL_READ) ? GS_FD_READ : 0) |
						 ((fds[i].events & POLL_WRITE) ? GS_FD_WRITE : 0);
				m++;
			}
			how = gs_fds_wait(want, m, d, WAIT_INTR, NULL);
		}
		int next = after_wait(how);
		if (next < 0) {
			r = -1;
			break;
		}
		if (next > 0) {
			r = GS_REAL(poll)(fds, n, ms_left(d));
			break;
		}
	}
	if (want != small)
		free(want);
	return r;
}

static int poll_call(const struct call *c)
{
	return poll_wait(c->fds, c->n, c->d);
}

GS_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	if (timeout == 0 || !greened())
		return GS_REAL(poll)(fds, n, timeout);
	gs_testcancel();
	struct gs_deadline d;
	if (timeout > 0) {
		struct timespec rel = { .tv_sec = timeout / 1000, .tv_nsec = (timeout % 1000) * 1000000L };
		gs_deadline_in(&d, &rel);
	}
	return poll_wait(fds, n, timeout > 0 ? &d : NULL);
}

/* A relative timespec the kernel accepts: 0 <= tv_nsec < 1e9, tv_sec >= 0. */
static int valid_rel(const struct timespec *t)
{
	return !t || (t->tv_sec >= 0 && gs_timespec_valid(t));
}

static int zero_ts(const struct timespec *t)
{
	return t && t->tv_sec == 0 && t->tv_nsec == 0;
}

GS_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	if (!greened() || zero_ts(ts) || !valid_rel(ts))
		return GS_REAL(ppoll)(fds, n, ts, mask);
	gs_testcancel();
	struct gs_deadline d;
	if (ts)
		gs_deadline_in(&d, ts);
	struct call c = { .fds = fds, .n = n, .d = ts ? &d : NULL };
	return masked(mask, poll_call, &c);
}

/* _FORTIFY_SOURCE's poll and ppoll when the array's size is known
 * (mariadbd calls these). */
GS_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	if (fdslen / sizeof *fds < n)
		__chk_fail();
	return poll(fds, n, timeout);
}

GS_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
			  const sigset_t *mask, size_t fdslen)
{
	if (fdslen / sizeof *fds < n)
		__chk_fail();
	return ppoll(fds, n, ts, mask);
}

/* ---- select ------------------------------------------------------------ */

/* The bytes of an fd set holding nfds bits, as the kernel reads them. */
static size_t set_bytes(int nfds)
{
	return ((size_t)nfds + 63) / 64 * 8;
}

static int in_set(const fd_set *s, int fd)
{
	return s && (((const unsigned long *)s)[fd / 64] >> (fd % 64)) & 1;
}

/* The answer of a zero-timeout select on copies of the program's sets. */
static int select_now(int nfds, fd_set *r, fd_set *w, fd_set *e, const fd_set *r0, const fd_set *w0,
		      const fd_set *e0)
{
	size_t b = set_bytes(nfds);
	if (r)
		memcpy(r, r0, b);
	if (w)
		memcpy(w, w0, b);
	if (e)
		memcpy(e, e0, b);
	struct timeval zero = { 0, 0 };
	return GS_REAL(select)(nfds, r, w, e, &zero);
}

static int select_wait(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct gs_deadline *d)
{
	size_t b = set_bytes(nfds);
	/* The program's sets are outputs too: keep what it asked. */
	char *saved = malloc(3 * b + 1);
	if (!saved) {
		errno = ENOMEM;
		return -1;
	}
	fd_set *r0 = (fd_set *)saved, *w0 = (fd_set *)(saved + b), *e0 = (fd_set *)(saved + 2 * b);
	/* Read safely: a bad set is the kernel's EFAULT, never our fault. */
	if ((r && gs_copy_in(r0, r, b)) || (w && gs_copy_in(w0, w, b)) || (e && gs_copy_in(e0, e, b))) {
		free(saved);
		errno = EFAULT;
		return -1;
	}
	struct gs_fd_interest small[16], *want = small;
	unsigned cap = 16;
	int res;
	for (;;) {
		res = select_now(nfds, r, w, e, r0, w0, e0);
		if (res != 0 || passed(d))
			break;
		unsigned m = 0;
		for (int fd = 0; fd < nfds; fd++) {
			/* Exceptional conditions only (a set bit in e alone) are
			 * not waited for: they show up when something else wakes
			 * the call, or at its timeout (README). */
			int ev = (in_set(r ? r0 : NULL, fd) ? GS_FD_READ : 0) |
				 (in_set(w ? w0 : NULL, fd) ? GS_FD_WRITE : 0);
			if (!ev)
				continue;
			if (m == cap) {
				struct gs_fd_interest *bigger = malloc(2 * cap * sizeof *bigger);
				if (!bigger)
					break;
				memcpy(bigger, want, m * sizeof *want);
				if (want != small)
					free(want);
				want = bigger;
				cap *= 2;
			}
			want[m].fd = fd;
			want[m].events = ev;
			m++;
		}
		int next = after_wait(gs_fds_wait(want, m, d, WAIT_INTR, NULL));
		if (next < 0) {
			res = -1;
			break;
		}
		if (next > 0) { /* no hub: the real call, for the time left */
			int ms = ms_left(d);
			struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
			select_now(nfds, r, w, e, r0, w0, e0);
			res = GS_REAL(select)(nfds, r, w, e, d ? &tv : NULL);
			break;
		}
	}
	if (want != small)
		free(want);
	free(saved);
	return res;
}

static int select_call(const struct call *c)
{
	return select_wait(c->nfds, c->r, c->w, c->e, c->d);
}

/* Linux writes the time not slept back into the timeval. */
GS_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	if (!greened() || nfds < 0 || nfds > 1024 * 1024 ||
	    (tv && (tv->tv_sec < 0 || tv->tv_usec < 0 || (tv->tv_sec == 0 && tv->tv_usec == 0))))
		return GS_REAL(select)(nfds, r, w, e, tv);
	gs_testcancel();
	struct gs_deadline d;
	if (tv) {
		struct timespec rel = { .tv_sec = tv->tv_sec + tv->tv_usec / 1000000,
					.tv_nsec = (tv->tv_usec % 1000000) * 1000L };
		gs_deadline_in(&d, &rel);
	}
	int res = select_wait(nfds, r, w, e, tv ? &d : NULL);
	if (tv) {
		struct timespec left;
		gs_deadline_left(&d, &left);
		tv->tv_sec = left.tv_sec;
		tv->tv_usec = left.tv_nsec / 1000;
	}
	return res;
}

GS_EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts,
		      const sigset_t *mask)
{
	if (!greened() || nfds < 0 || nfds > 1024 * 1024 || zero_ts(ts) || !valid_rel(ts))
		return GS_REAL(pselect)(nfds, r, w, e, ts, mask);
	gs_testcancel();
	struct gs_deadline d;
	if (ts)
		gs_deadline_in(&d, ts);
	struct call c = { .nfds = nfds, .r = r, .w = w, .e = e, .d = ts ? &d : NULL };
	return masked(mask, select_call, &c);
}

/* ---- epoll ------------------------------------------------------------- */

static int epoll_wait_green(int ep, struct epoll_event *ev, int max, const struct gs_deadline *d)
{
	for (;;) {
		int r = GS_REAL(epoll_wait)(ep, ev, max, 0);
		if (r != 0 || passed(d))
			return r;
		int next = after_wait(gs_fd_wait(ep, GS_FD_READ, d, WAIT_INTR, NULL));
		if (next < 0)
			return -1;
		if (next > 0)
			return GS_REAL(epoll_wait)(ep, ev, max, ms_left(d));
	}
}

static int epoll_call(const struct call *c)
{
	return epoll_wait_green(c->nfds, c->ev, c->max, c->d);
}

static int epoll_common(int ep, struct epoll_event *ev, int max, const struct timespec *rel,
			const sigset_t *mask)
{
	gs_testcancel();
	struct gs_deadline d;
	if (rel)
		gs_deadline_in(&d, rel);
	struct call c = { .nfds = ep, .ev = ev, .max = max, .d = rel ? &d : NULL };
	return masked(mask, epoll_call, &c);
}

static struct timespec *ms_rel(int ms, struct timespec *out)
{
	if (ms < 0)
		return NULL;
	out->tv_sec = ms / 1000;
	out->tv_nsec = (ms % 1000) * 1000000L;
	return out;
}

GS_EXPORT int epoll_wait(int ep, struct epoll_event *ev, int max, int timeout)
{
	if (timeout == 0 || !greened())
		return GS_REAL(epoll_wait)(ep, ev, max, timeout);
	struct timespec rel;
	return epoll_common(ep, ev, max, ms_rel(timeout, &rel), NULL);
}

GS_EXPORT int epoll_pwait(int ep, struct epoll_event *ev, int max, int timeout, const sigset_t *mask)
{
	if (timeout == 0 || !greened())
		return GS_REAL(epoll_pwait)(ep, ev, max, timeout, mask);
	struct timespec rel;
	return epoll_common(ep, ev, max, ms_rel(timeout, &rel), mask);
}

GS_EXPORT int epoll_pwait2(int ep, struct epoll_event *ev, int max, const struct timespec *ts,
			   const sigset_t *mask)
{
	if (!greened() || zero_ts(ts) || !valid_rel(ts))
		return GS_REAL(epoll_pwait2)(ep, ev, max, ts, mask);
	return epoll_common(ep, ev, max, ts, mask);
}

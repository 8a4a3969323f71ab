/* The time subsystem (GREENSHIM_TIME): sleep, usleep, nanosleep,
 * clock_nanosleep, thrd_sleep.
 *
 * A greened sleep parks the calling green thread on its hub's timer and
 * never ends before its deadline (the scheduler re-reads the clock).  A
 * sleep of zero yields to the other ready green threads: programs spin on
 * usleep(0) expecting the others to make progress.  Contracts kept:
 * EINVAL for a bad timespec; EINTR, with the time left, when a signal
 * handler ran; clock_nanosleep returns its error instead of setting errno.
 * Clocks the hub does not wait on (CPU-time clocks, MONOTONIC_RAW, ...) go
 * to the real call, which gives their native result. */
#include <errno.h>
#include <unistd.h>

#include "config.h"
#include "real.h"

static int greened(void)
{
	return gs_time_on() && gs_can_park();
}

/* 0, or EINTR with *left written (when left is non-NULL). */
static int sleep_relative(const struct timespec *req, struct timespec *left)
{
	if (req->tv_sec == 0 && req->tv_nsec == 0) {
		gs_yield();
		return 0;
	}
	struct gs_deadline d;
	gs_deadline_in(&d, req);
	int r = gs_sleep_until(&d);
	if (r == -EAGAIN) /* no hub could be made: sleep for real */
		return GS_REAL(clock_nanosleep)(CLOCK_MONOTONIC, 0, req, left);
	if (r == -EINTR) {
		if (left)
			gs_deadline_left(&d, left);
		return EINTR;
	}
	return 0;
}

GS_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
	if (!greened() || !req)
		return GS_REAL(nanosleep)(req, rem);
	if (!gs_timespec_valid(req) || req->tv_sec < 0) {
		errno = EINVAL;
		return -1;
	}
	int r = sleep_relative(req, rem);
	if (r) {
		errno = r;
		return -1;
	}
	return 0;
}

GS_EXPORT int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req,
			      struct timespec *rem)
{
	if (!greened() || !req || !gs_clock_supported(clock))
		return GS_REAL(clock_nanosleep)(clock, flags, req, rem);
	if (!gs_timespec_valid(req) || req->tv_sec < 0)
		return EINVAL;
	if (!(flags & TIMER_ABSTIME))
		return sleep_relative(req, rem);
	struct gs_deadline d = { .clock = clock, .at = *req };
	int r = gs_sleep_until(&d);
	if (r == -EAGAIN)
		return GS_REAL(clock_nanosleep)(clock, flags, req, rem);
	return r == -EINTR ? EINTR : 0; /* an absolute sleep leaves rem alone */
}

/* glibc: sleeps in steps, returns the whole seconds left when interrupted
 * (errno stays EINTR), and otherwise leaves errno as it was. */
GS_EXPORT unsigned sleep(unsigned seconds)
{
	if (!greened())
		return GS_REAL(sleep)(seconds);
	int saved = errno;
	struct timespec ts = { .tv_sec = seconds, .tv_nsec = 0 };
	if (sleep_relative(&ts, &ts) == EINTR) {
		errno = EINTR;
		return (unsigned)ts.tv_sec;
	}
	errno = saved;
	return 0;
}

GS_EXPORT int usleep(useconds_t usec)
{
	if (!greened())
		return GS_REAL(usleep)(usec);
	struct timespec ts = { .tv_sec = usec / 1000000, .tv_nsec = (long)(usec % 1000000) * 1000 };
	int r = sleep_relative(&ts, NULL);
	if (r) {
		errno = r;
		return -1;
	}
	return 0;
}

/* C11: 0 slept, -1 interrupted, other negative on error; glibc sleeps on
 * CLOCK_REALTIME relative, which Linux measures like MONOTONIC. */
GS_EXPORT int thrd_sleep(const struct timespec *req, struct timespec *rem)
{
	if (!greened() || !req)
		return GS_REAL(thrd_sleep)(req, rem);
	if (!gs_timespec_valid(req) || req->tv_sec < 0)
		return -2;
	int r = sleep_relative(req, rem);
	return r == 0 ? 0 : r == EINTR ? -1 : -2;
}

/* Waking the hub on time.
 *
 * libev's epoll backend waits in whole milliseconds, rounded up, so a
 * 100 us sleep would take over a millisecond and a 1.5 ms one two.  Each
 * hub therefore keeps a timerfd in its epoll set, armed (absolute, on
 * CLOCK_MONOTONIC) at the earliest deadline any of its threads waits for:
 * epoll_wait returns on time and libev, whose timer is then due, fires it.
 *
 * Deadlines sit in a binary min-heap.  A wait that ends early leaves its
 * entry behind; when it comes up the timerfd fires for nothing and is
 * re-armed for the next entry, which costs one spurious wake-up. */
#include <math.h>
#include <stdlib.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "internal.h"

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void set_timer(struct gs_hub *h, double at)
{
	struct itimerspec its = { 0 };
	if (at != INFINITY) {
		its.it_value.tv_sec = (time_t)at;
		its.it_value.tv_nsec = (long)((at - (double)(time_t)at) * 1e9);
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1; /* zero would disarm */
	}
	timerfd_settime(h->tfd, TFD_TIMER_ABSTIME, &its, NULL);
	h->tfd_at = at;
}

static void heap_push(struct gs_hub *h, double at)
{
	if (h->heap_n == h->heap_cap) {
		unsigned cap = h->heap_cap ? h->heap_cap * 2 : 64;
		double *p = realloc(h->heap, cap * sizeof *p);
		if (!p)
			return; /* the deadline is still kept by libev, only less precisely */
		h->heap = p;
		h->heap_cap = cap;
	}
	unsigned i = h->heap_n++;
	while (i && h->heap[(i - 1) / 2] > at) {
		h->heap[i] = h->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->heap[i] = at;
}

static void heap_pop(struct gs_hub *h)
{
	double last = h->heap[--h->heap_n];
	unsigned i = 0;
	for (;;) {
		unsigned c = 2 * i + 1;
		if (c >= h->heap_n)
			break;
		if (c + 1 < h->heap_n && h->heap[c + 1] < h->heap[c])
			c++;
		if (h->heap[c] >= last)
			break;
		h->heap[i] = h->heap[c];
		i = c;
	}
	if (h->heap_n)
		h->heap[i] = last;
}

static void fired(struct ev_loop *loop, ev_io *w, int revents)
{
	struct gs_hub *h = ev_userdata(loop);
	uint64_t n;
	if (read(h->tfd, &n, sizeof n) < 0) {
		/* EAGAIN: re-armed meanwhile; nothing to read */
	}
	double now = mono_now();
	while (h->heap_n && h->heap[0] <= now)
		heap_pop(h);
	set_timer(h, h->heap_n ? h->heap[0] : INFINITY);
}

void gs__precise_arm(struct gs_hub *h, double left)
{
	if (h->tfd == GS_TFD_UNAVAILABLE)
		return; /* no timerfd: libev's millisecond precision */
	if (h->tfd == GS_TFD_NOT_MADE) {
		int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (fd < 0) {
			h->tfd = GS_TFD_UNAVAILABLE;
			return;
		}
		h->tfd = fd;
		h->tfd_at = INFINITY;
		ev_io_init(&h->tfd_watcher, fired, fd, EV_READ);
		ev_io_start(h->loop, &h->tfd_watcher);
	}
	double at = mono_now() + left;
	heap_push(h, at);
	if (at < h->tfd_at)
		set_timer(h, at);
}

void gs__precise_free(struct gs_hub *h)
{
	if (h->tfd >= 0) {
		ev_io_stop(h->loop, &h->tfd_watcher);
		close(h->tfd);
	}
	free(h->heap);
}

void gs__precise_after_fork(struct gs_hub *h)
{
	if (h->tfd >= 0) {
		ev_io_stop(h->loop, &h->tfd_watcher);
		close(h->tfd); /* our reference only: the parent keeps its own */
	}
	h->tfd = GS_TFD_NOT_MADE; /* made anew on first use */
	h->tfd_at = INFINITY;
	h->heap_n = 0;
}

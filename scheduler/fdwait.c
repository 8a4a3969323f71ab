/* Waiting for file descriptors: a green thread parks until an fd is ready.
 *
 * A wait is one gs_waiter and one libev ev_io per fd of interest, all on
 * the waiter's own stack.  Whichever comes first ends it, exactly once
 * (the waiter's state moves out of GS_WAITING by compare-and-swap): an fd
 * becoming ready (the watcher's callback, in the hub), the deadline, a
 * signal or a cancellation (waitq.c, signals.c), or a close() of one of
 * the fds (gs_fd_closing, from any thread).  The caller then retries its
 * non-blocking call: readiness is only a hint, as with epoll itself.
 *
 * Every watch is also listed under its fd in a process-wide registry, so
 * that close() can find the waiters of an fd on any hub.  Invariants:
 * - A watch is in the registry exactly while its wait is in progress; the
 *   waiter unlinks it (under the fd's spinlock) before gs_fds_wait returns,
 *   so gs_fd_closing never touches a watch whose stack frame is gone.
 * - Only the hub's own OS thread starts or stops a watcher of its loop.
 *   gs_fd_closing on that OS thread stops the watchers at once, so the
 *   loop holds none for the old fd when the real close runs; watchers of
 *   other hubs are stopped by their waiters as soon as they run.
 * - fds at or above GS_FD_REGISTRY_MAX are waited for but not registered:
 *   closing one does not wake its waiters (the kernel limit here is 20000).
 * - A thread in the kernel on an fd (direct.c) is listed too, with a
 *   watch that has no watcher (fw->direct): a close kicks it out.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

#define CHUNK_BITS 10
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define CHUNKS 1024
#define GS_FD_REGISTRY_MAX (CHUNK_SIZE * CHUNKS)

struct fd_slot {
	_Atomic int lock;
	_Atomic unsigned gen;    /* bumped by each gs_fd_closing */
	struct gs_fdwatch *head; /* watches of this fd, any hub */
};

static struct fd_slot *_Atomic chunks[CHUNKS];

/* The fd's slot, allocated on first use; NULL when out of range or memory. */
static struct fd_slot *slot_of(int fd, int create)
{
	if (fd < 0 || (unsigned)fd >= GS_FD_REGISTRY_MAX)
		return NULL;
	struct fd_slot *c = atomic_load_explicit(&chunks[fd >> CHUNK_BITS], memory_order_acquire);
	if (!c) {
		if (!create)
			return NULL;
		struct fd_slot *fresh = calloc(CHUNK_SIZE, sizeof *fresh);
		if (!fresh)
			return NULL;
		if (atomic_compare_exchange_strong(&chunks[fd >> CHUNK_BITS], &c, fresh))
			c = fresh;
		else
			free(fresh); /* another thread made it first: c is theirs */
	}
	return &c[fd & (CHUNK_SIZE - 1)];
}

static void io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct gs_fdwatch *fw = (struct gs_fdwatch *)io;
	ev_io_stop(loop, io); /* level-triggered: once is enough */
	gs__end_wait(fw->waiter, GS_WOKEN);
}

static void registry_add(struct gs_fdwatch *fw)
{
	struct fd_slot *s = slot_of(fw->io.fd, 1);
	fw->slot = s;
	if (!s)
		return;
	gs_spin_lock(&s->lock);
	fw->prev = NULL;
	fw->next = s->head;
	if (s->head)
		s->head->prev = fw;
	s->head = fw;
	gs_spin_unlock(&s->lock);
}

static void registry_remove(struct gs_fdwatch *fw)
{
	struct fd_slot *s = fw->slot;
	if (!s)
		return;
	gs_spin_lock(&s->lock);
	if (fw->prev)
		fw->prev->next = fw->next;
	else if (s->head == fw)
		s->head = fw->next;
	if (fw->next)
		fw->next->prev = fw->prev;
	gs_spin_unlock(&s->lock);
	fw->slot = NULL;
}

void gs__fd_register(struct gs_fdwatch *fw)
{
	registry_add(fw);
}

void gs__fd_unregister(struct gs_fdwatch *fw)
{
	registry_remove(fw);
}

/* Small waits keep their watches on the stack; poll() on many fds
 * allocates them. */
#define STACK_WATCHES 8

/* What the inspector shows: the thread's own note (gs_wait_note), or the
 * direction of a single fd, or a poll of several (by its first fd). */
static void describe(struct gs_waiter *w, int fd, int events, unsigned n)
{
	struct gs_thread *t = w->thread;
	if (t->note_kind) {
		gs_waiter_describe(w, t->note_kind, NULL, t->note_arg);
		t->note_kind = GS_PW_NONE;
		return;
	}
	unsigned kind = n == 0 ? GS_PW_SLEEP : n > 1 || !events ? GS_PW_POLL :
			(events & GS_FD_WRITE) ? GS_PW_WRITE : GS_PW_READ;
	gs_waiter_describe(w, kind, NULL, fd);
}

void gs_wait_note(unsigned kind, int arg)
{
	struct gs_thread *t = gs_self();
	t->note_kind = kind;
	t->note_arg = arg;
}

/* The wait itself, once the watches v[0..n) are set up (io initialised):
 * start, park, stop, unlink. */
static int wait_on(struct gs_hub *h, struct gs_waiter *w, struct gs_fdwatch *v, unsigned n,
		   const struct gs_deadline *d, int interruptible, int *restart)
{
	struct gs_thread *self = w->thread;
	for (unsigned i = 0; i < n; i++) {
		v[i].waiter = w;
		v[i].hub = h;
		registry_add(&v[i]);
		if (v[i].io.events)
			ev_io_start(h->loop, &v[i].io);
	}
	self->fdw = v;
	self->fdw_n = n;
	h->fd_waits++;
	int how = gs_wait(w, d, interruptible);
	h->fd_waits--;
	self->fdw = NULL;
	self->fdw_n = 0;
	for (unsigned i = 0; i < n; i++) {
		ev_io_stop(h->loop, &v[i].io);
		registry_remove(&v[i]);
	}
	if (gs_unlikely(atomic_load_explicit(&self->sigpending, memory_order_relaxed) & ~self->sigmask))
		gs__deliver_pending(self); /* held back while the watchers were armed */
	if (restart)
		*restart = how == GS_INTERRUPTED && w->interrupted == 2;
	return how;
}

int gs_fds_wait(const struct gs_fd_interest *want, unsigned n, const struct gs_deadline *d,
		int interruptible, int *restart)
{
	struct gs_hub *h = gs__hub();
	if (!h)
		return -EAGAIN;
	struct gs_fdwatch local[STACK_WATCHES], *v = local;
	if (n > STACK_WATCHES && !(v = malloc(n * sizeof *v)))
		return -ENOMEM;
	struct gs_waiter w;
	gs_waiter_init(&w);
	describe(&w, n ? want[0].fd : -1, n == 1 ? want[0].events : 0, n);
	for (unsigned i = 0; i < n; i++)
		ev_io_init(&v[i].io, io_cb, want[i].fd, want[i].events & (GS_FD_READ | GS_FD_WRITE));
	int how = wait_on(h, &w, v, n, d, interruptible, restart);
	if (v != local)
		free(v);
	return how;
}

/* A thread that waits on one fd keeps its watcher between waits: set up
 * anew (ev_io_set), libev re-registers the fd with the kernel each time
 * (one failing epoll_ctl per wait); started again unchanged, it costs no
 * system call.  It is reused only for the same fd number, direction and
 * hub, while the fd's close generation is unchanged (after a close
 * through us the number may name a new file, which libev must be told of),
 * and only when the caller knows the fd was made and would be closed
 * through us (GS_FD_SAME_FILE): an fd libc closes and reopens inside
 * itself would otherwise keep a watcher for a file that is gone. */
int gs_fd_wait(int fd, int events, const struct gs_deadline *d, int interruptible, int *restart)
{
	struct gs_hub *h = gs__hub();
	if (!h)
		return -EAGAIN;
	struct gs_thread *self = gs_self();
	struct gs_fdwatch *fw = &self->fd_cached;
	struct fd_slot *s = slot_of(fd, 1);
	unsigned gen = s ? atomic_load_explicit(&s->gen, memory_order_acquire) : 0;
	int same_file = events & GS_FD_SAME_FILE;
	events &= GS_FD_READ | GS_FD_WRITE;
	if (!s || !same_file || fw->hub != h || fw->io.fd != fd || fw->events != events ||
	    fw->gen != gen) {
		ev_io_init(&fw->io, io_cb, fd, events);
		fw->events = events;
		fw->gen = s ? gen : gen - 1; /* no slot: never reused */
	}
	struct gs_waiter w;
	gs_waiter_init(&w);
	describe(&w, fd, events, 1);
	return wait_on(h, &w, fw, 1, d, interruptible, restart);
}

void gs_fd_closing(int fd)
{
	struct fd_slot *s = slot_of(fd, 0);
	if (!s)
		return;
	atomic_fetch_add_explicit(&s->gen, 1, memory_order_acq_rel);
	if (!s->head)
		return;
	struct gs_hub *mine = gs__os.hub;
	gs_spin_lock(&s->lock);
	for (struct gs_fdwatch *fw = s->head; fw; fw = fw->next) {
		if (fw->direct) { /* in the kernel on it (direct.c): kicked out */
			gs__direct_closing(fw->direct);
			continue;
		}
		if (gs_waiter_ghost(fw->waiter))
			continue; /* a thread of our parent process: it never runs here */
		if (fw->hub == mine)
			ev_io_stop(mine->loop, &fw->io);
		gs__end_wait(fw->waiter, GS_CLOSED);
	}
	gs_spin_unlock(&s->lock);
}

/* In a fork child: the watches of every other thread are gone with them. */
void gs__fdwait_after_fork(struct gs_hub *h, struct gs_thread *t)
{
	for (unsigned i = 0; i < t->fdw_n; i++) {
		ev_io_stop(h->loop, &t->fdw[i].io);
		registry_remove(&t->fdw[i]);
	}
	t->fdw_n = 0;
	t->fdw = NULL;
	t->fd_cached.hub = NULL; /* the child's loop is new: set up afresh */
}

/* close_range, closefrom: every registered fd in [lo, hi]. */
void gs_fd_closing_range(unsigned lo, unsigned hi)
{
	if (hi >= GS_FD_REGISTRY_MAX)
		hi = GS_FD_REGISTRY_MAX - 1;
	for (unsigned fd = lo; fd <= hi; fd++) {
		if (!atomic_load_explicit(&chunks[fd >> CHUNK_BITS], memory_order_relaxed)) {
			fd |= CHUNK_SIZE - 1; /* an absent chunk has no waiters */
			continue;
		}
		gs_fd_closing((int)fd);
	}
}

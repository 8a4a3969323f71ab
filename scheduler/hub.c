/* The hub: one libev loop per OS thread, its ready queue, and switching.
 *
 * Every OS thread that parks something gets a hub.  Its original context
 * becomes the root green thread; the hub's own context ("sched", on a
 * stack of its own) runs the libev loop whenever no green thread is ready,
 * and at least every POLL_EVERY direct switches, so that timers and I/O are
 * served even while threads keep each other busy.
 *
 * Invariants:
 * - Only the hub's own OS thread touches its ready queue, `dead_*` and
 *   the libev loop.  Other OS threads reach a hub only through `remote`
 *   (a lock-free LIFO) and the ev_async that wakes the loop.
 * - A green thread runs only on its hub's OS thread, so the TLS of gs__os
 *   is the same before and after every switch.
 * - errno belongs to the running green thread: it is saved on switch-out
 *   and restored when the thread is switched back in.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "rawsys.h"

/* Direct switches between two polls of the loop: often enough that timers
 * and I/O wait at most some tens of microseconds behind busy threads, rare
 * enough that the epoll_wait costs a switch about 1 ns. */
#define POLL_EVERY 1024
#define HUB_STACK_SIZE (1024 * 1024)  /* runs libev and signal handlers */

__thread struct gs_os gs__os __attribute__((tls_model("initial-exec")));
__thread struct gs_thread *gs__os_current __attribute__((tls_model("initial-exec")));

static _Atomic int next_id = 1;

int gs__next_id(void)
{
	int id;
	do
		id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed) & 0x3fffffff;
	while (id == 0);
	return id;
}

void gs_warn(const char *fmt, ...)
{
	char buf[512];
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof buf - 2)
		n = sizeof buf - 2;
	buf[n++] = '\n';
	/* A raw system call: never a greened write, never stdio's lock. */
	gs__sys(SYS_write, 2, (long)buf, n, 0, 0, 0);
	errno = saved;
}

/* ---- thread records -------------------------------------------------- */

extern int __cxa_thread_atexit_impl(void (*dtor)(void *), void *obj, void *dso);
extern void *__dso_handle;

static void hub_destroy(struct gs_hub *h);
static void record_free(struct gs_thread *t);

/* Runs when an adopted OS thread (not main) ends: its keys' destructors,
 * then its hub and record go. */
static void os_thread_gone(void *arg)
{
	struct gs_thread *t = arg;
	struct gs_hub *h = gs__os.hub;
	if (h && h->live > 1 && t->state != GS_T_ZOMBIE) {
		/* Green threads made on this OS thread still run: natively they
		 * would be threads of their own and go on.  Run them here, then
		 * let the OS thread end. */
		h->live--;
		gs__hub_remove(h, t);
		h->draining = t;
		while (h->live > 0) {
			t->state = GS_T_PARKED;
			gs__park();
		}
		h->draining = NULL;
	}
	gs__tsd_run_destructors(t);
	gs__tsd_free(t);
	gs__direct_gone(t);
	if (gs__os.hub)
		hub_destroy(gs__os.hub);
	gs__os.hub = NULL;
	gs__os_current = NULL;
	gs__current_id = 0;
	gs__pub_thread_release(t);
	record_free(t);
}

/* An OS thread's record is mapped, not malloc'ed: the first pthread call
 * of a thread adopts it, and that call may come from inside the program's
 * malloc (jemalloc and tcmalloc lock pthread mutexes), which must not be
 * entered again.  Zeroed by the kernel. */
#define RECORD_BYTES ((sizeof(struct gs_thread) + 4095) & ~(size_t)4095)

static struct gs_thread *record_alloc(void)
{
	long p = gs__sys(SYS_mmap, 0, RECORD_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	return p < 0 && p > -4096 ? NULL : (struct gs_thread *)p;
}

static void record_free(struct gs_thread *t)
{
	gs__sys(SYS_munmap, (long)t, RECORD_BYTES, 0, 0, 0, 0);
}

struct gs_thread *gs__adopt(void)
{
	struct gs_thread *t = record_alloc();
	if (!t) {
		gs_warn("greenshim: out of memory for a thread record");
		abort();
	}
	t->magic = GS_THREAD_MAGIC;
	t->flags = GS_TF_ROOT;
	t->id = gs__next_id();
	t->pub_id = t->id;
	t->fork_gen = gs__fork_gen;
	t->state = GS_T_RUNNING;
	t->sigmask = gs__get_os_mask();
	gs__pub_thread_new(t, 0); /* published once it has a hub */
	gs__os_current = t;
	gs__current_id = t->id;
	if (getpid() == (pid_t)gs__sys(SYS_gettid, 0, 0, 0, 0, 0, 0))
		t->flags |= GS_TF_MAIN;
	else
		__cxa_thread_atexit_impl(os_thread_gone, t, &__dso_handle);
	return t;
}

struct gs_thread *gs__self_slow(void)
{
	return gs__adopt();
}

__thread int gs__current_id __attribute__((tls_model("initial-exec")));

int gs_can_park(void)
{
	struct gs_thread *t = gs__os_current;
	return !t || !(t->flags & GS_TF_HUB);
}

int gs_thread_id(const struct gs_thread *t)
{
	return t->id;
}

/* ---- ready queue and switching --------------------------------------- */

/* A thread is READY exactly while it is in the queue: a second wake (a
 * signal's nudge, then the hand-over of what it waits for) changes
 * nothing. */
static void insert_ready(struct gs_hub *h, struct gs_thread *t, int front);

/* A thread made ready with a higher priority than the one running takes
 * the CPU at the running one's next safe point (the interposers that wake
 * call one as they return), as a real-time thread preempts at once. */
static inline void note_priority(struct gs_hub *h, struct gs_thread *t)
{
	struct gs_thread *cur = gs__os_current;
	if (cur && cur != &h->sched && cur->hub == h && t->prio > cur->prio) {
		h->preempt_wanted = 1;
		h->prio_wanted = 1;
		gs__preempt_pending = 1;
	}
}

static inline void push_ready(struct gs_hub *h, struct gs_thread *t)
{
	if (gs_unlikely(t->state == GS_T_READY))
		return;
	t->state = GS_T_READY;
	t->next_ready = NULL;
	if (gs_unlikely(h->rt_threads)) { /* a real-time thread on the hub: by priority */
		insert_ready(h, t, 0);
		note_priority(h, t);
		return;
	}
	if (h->ready_tail)
		h->ready_tail->next_ready = t;
	else
		h->ready_head = t;
	h->ready_tail = t;
}

/* Into the queue by priority: behind every thread of its priority (front:
 * ahead of them, where a preempted SCHED_FIFO thread goes). */
static void insert_ready(struct gs_hub *h, struct gs_thread *t, int front)
{
	struct gs_thread *prev = NULL, *q = h->ready_head;
	while (q && (front ? q->prio > t->prio : q->prio >= t->prio)) {
		prev = q;
		q = q->next_ready;
	}
	t->next_ready = q;
	if (prev)
		prev->next_ready = t;
	else
		h->ready_head = t;
	if (!q)
		h->ready_tail = t;
}

static void unlink_ready(struct gs_hub *h, struct gs_thread *t)
{
	struct gs_thread *prev = NULL, *q = h->ready_head;
	while (q && q != t) {
		prev = q;
		q = q->next_ready;
	}
	if (!q)
		return;
	if (prev)
		prev->next_ready = t->next_ready;
	else
		h->ready_head = t->next_ready;
	if (h->ready_tail == t)
		h->ready_tail = prev;
	t->next_ready = NULL;
}

void gs_thread_set_sched(struct gs_thread *t, int prio)
{
	struct gs_hub *h = t->hub;
	int was = t->prio;
	if (prio == was)
		return;
	t->prio = prio;
	if (h && t->state != GS_T_ZOMBIE)
		h->rt_threads += (prio > 0) - (was > 0);
	if (!h || h != gs__os.hub)
		return; /* another OS thread's: takes effect at its next queueing */
	if (t->state == GS_T_READY) { /* to the back of its new priority */
		unlink_ready(h, t);
		insert_ready(h, t, 0);
		note_priority(h, t);
	} else if (t == gs__os_current && prio < was && h->ready_head && h->ready_head->prio > prio) {
		h->preempt_wanted = 1; /* lowered below a ready thread: give way */
		h->prio_wanted = 1;
		gs__preempt_pending = 1;
	}
}

static inline struct gs_thread *pop_ready(struct gs_hub *h)
{
	struct gs_thread *t = h->ready_head;
	if (t) {
		h->ready_head = t->next_ready;
		if (!h->ready_head)
			h->ready_tail = NULL;
	}
	return t;
}

/* What an exited thread leaves for the next context to release: it
 * cannot unmap the stack it is running on.  Called by every context right
 * after it is switched to. */
void gs__release_dead_slow(struct gs_hub *h)
{
	struct gs_thread *d = h->dead;
	h->dead = NULL;
	gs__stack_free(&d->stack);
	if (d->trap_area) {
		gs__sys(SYS_munmap, (long)d->trap_area, GS_TRAP_AREA, 0, 0, 0, 0);
		d->trap_area = NULL;
	}
	gs__tls_release(d->tcb);
	d->tcb = NULL;
	gs_spin_lock(&d->exit_lock);
	int detached = d->flags & GS_TF_DETACHED;
	d->released = 1; /* joiners wait for this before freeing d */
	gs_spin_unlock(&d->exit_lock);
	if (detached) {
		gs__pub_thread_release(d);
		gs__thread_record_retire(d);
	}
}

static inline void check_stack(struct gs_thread *t)
{
	/* Below its stack, but near: the guard page and what a frame may
	 * skip.  Farther away the thread runs on a stack of the program's
	 * (a goroutine's, a makecontext one) or on its trap area. */
	char *sp = __builtin_frame_address(0), *lo = t->stack.lo;
	if (gs_unlikely(t->stack.kind != GS_STACK_NONE && sp < lo && sp > lo - (256 << 10)) &&
	    !(t->trap_area && sp >= (char *)t->trap_area && sp < (char *)t->trap_area + GS_TRAP_AREA)) {
		gs_warn("greenshim: stack overflow in green thread %d (start routine %p, "
			"stack %zu bytes)", t->id, (void *)t->start, t->stack.size);
		abort();
	}
}

/* Saves the running context into *from and resumes next's.  With a TCB
 * per context, next's TCB is installed on the way (tls.h's invariant: a
 * context always resumes on its own TCB). */
static inline void ctx_switch(struct gs_ctx *from, struct gs_thread *next)
{
	if (gs__tls_on) {
#if defined(__x86_64__) && !defined(GS_CTX_UCONTEXT)
		if (gs_likely(gs__tls_fsgsbase)) {
			gs__ctx_switch_fs(from, &next->ctx, next->tcb);
			return;
		}
#endif
		gs__tp_set(next->tcb);
	}
	gs__ctx_switch(from, &next->ctx);
}

/* With shared TLS, the per-OS-thread "current" names the incoming
 * context; with a TCB per context each TCB names its own for good. */
static inline void set_current(struct gs_thread *next)
{
	if (!gs__tls_on) {
		gs__os_current = next;
		gs__current_id = next->id;
	}
}

static GS_INLINE_HOT void switch_why(struct gs_thread *prev, struct gs_thread *next, unsigned why)
{
	struct gs_hub *h = prev->hub;
	if (gs_unlikely(h->tls_dlopened))
		gs__tls_dlopened(h); /* before any other thread runs */
	h->switches++;
	h->preempt_wanted = 0; /* a mark for the run that ends here */
	gs__pub_switch(h, prev, next, why);
	int *errno_p = prev->hub->errno_p;
	int shared = !gs__tls_on; /* errno is the OS thread's: keep each thread's */
	if (shared)
		prev->saved_errno = *errno_p;
	if (gs_unlikely(gs_block_warn_ns))
		gs__block_check(prev);
	set_current(next);
	next->state = GS_T_RUNNING;
	if (gs_unlikely(prev->sigmask != next->sigmask))
		gs__set_os_mask(next->sigmask);
	prev->sud_sel = h->sud_sel;
	h->sud_sel = next->sud_sel;
	gs__altstack_switch(h, next);
	ctx_switch(&prev->ctx, next);
	/* Resumed: we are prev again. */
	gs__release_dead(prev->hub);
	if (shared)
		*errno_p = prev->saved_errno;
	/* Pending signals are sent now, but not to a thread preempted by the
	 * tick: gs_preempt_tick sends them once the handler's mask is back,
	 * so that they arrive where the thread was interrupted (Go's
	 * preemption signal acts only at an instruction of Go's); nor inside
	 * a wait, whose watchers and timer are still armed (a handler that
	 * waits itself would reuse them): the wait sends them as it ends. */
	if (gs_unlikely(atomic_load_explicit(&prev->sigpending, memory_order_relaxed) & ~prev->sigmask) &&
	    !prev->preempting && !prev->waiting)
		gs__deliver_pending(prev);
}

static GS_INLINE_HOT void switch_to(struct gs_thread *prev, struct gs_thread *next)
{
	switch_why(prev, next, prev->state == GS_T_READY ? GS_PW_YIELD : GS_PW_NONE);
}

GS_INLINE_HOT void gs__ready(struct gs_thread *t)
{
	struct gs_hub *h = t->hub;
	struct gs_thread *cur = gs__os_current;
	/* From a signal handler (a sem_post in it, say) the ready queue may be
	 * half updated by the code the handler interrupted: such a wake takes
	 * the cross-thread path, whose stack and ev_async_send are safe in a
	 * handler.  So does one for the thread running the handler, inside a
	 * lock wait (waitq.c): its wait sees the hand-over when it resumes. */
	if (gs_likely(h == gs__os.hub) && gs_likely(!cur || !cur->handler_sp)) {
		push_ready(h, t);
		return;
	}
	/* Another OS thread, or a handler: queue t only once it is committed
	 * to park (see the park token in internal.h). */
	if (atomic_exchange_explicit(&t->park_token, GS_PARK_NOTIFIED, memory_order_acq_rel) !=
	    GS_PARK_PARKED)
		return;
	struct gs_thread *old = atomic_load_explicit(&h->remote, memory_order_relaxed);
	do
		atomic_store_explicit(&t->next_remote, old, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(&h->remote, &old, t,
						      memory_order_release, memory_order_relaxed));
	ev_async_send(h->loop, &h->remote_wake);
}

static struct gs_thread *pick_next(struct gs_hub *h)
{
	if (h->ready_head && h->since_poll < POLL_EVERY) {
		h->since_poll++;
		return pop_ready(h);
	}
	return &h->sched;
}

GS_INLINE_HOT void gs__park(void)
{
	struct gs_thread *self = gs__os_current;
	struct gs_hub *h = self->hub;
	check_stack(self);
	struct gs_thread *next = pick_next(h);
	if (next == self) {
		self->state = GS_T_RUNNING;
		return;
	}
	switch_to(self, next);
}

_Noreturn void gs__exit_switch(struct gs_thread *self)
{
	struct gs_hub *h = self->hub;
	gs__direct_gone(self);
	static __thread struct gs_ctx scratch; /* where the dead context "saves" */
	if (gs_unlikely(gs_block_warn_ns))
		gs__block_check(self);
	h->dead = self;
	h->switches++;
	if (gs_unlikely(h->tls_dlopened))
		gs__tls_dlopened(h);
	struct gs_thread *next = pick_next(h);
	gs__pub_switch(h, self, next, GS_PW_EXIT);
	set_current(next);
	next->state = GS_T_RUNNING;
	if (self->sigmask != next->sigmask)
		gs__set_os_mask(next->sigmask);
	h->sud_sel = next->sud_sel;
	gs__altstack_switch(h, next);
	ctx_switch(&scratch, next);
	__builtin_unreachable();
}

/* Switches to t now, leaving self first in line to run next. */
void gs__run_now(struct gs_thread *self, struct gs_thread *t)
{
	struct gs_hub *h = self->hub;
	self->state = GS_T_READY;
	insert_ready(h, self, 1);
	check_stack(self);
	switch_to(self, t);
}

void gs__preempt_now(struct gs_thread *self)
{
	struct gs_hub *h = self->hub;
	atomic_fetch_add_explicit(&self->pub->preemptions, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->pub->preemptions, 1, memory_order_relaxed);
	self->state = GS_T_READY;
	self->next_ready = NULL;
	if (gs_unlikely(h->prio_wanted)) {
		/* Passed by a higher priority: first of its own, as POSIX puts
		 * a preempted thread, and no poll is due. */
		h->prio_wanted = 0;
		insert_ready(h, self, 1);
	} else {
		/* Its slice is spent: behind every other (gs_thread_set_sched),
		 * after the hub has polled. */
		h->preempt_poll = 1;
		if (h->ready_tail)
			h->ready_tail->next_ready = self;
		else
			h->ready_head = self;
		h->ready_tail = self;
	}
	check_stack(self);
	switch_why(self, &h->sched, GS_PW_PREEMPT);
}

int (*gs_trap_arm_hook)(volatile unsigned char *sel);

volatile unsigned char *gs_trap_selector(void)
{
	struct gs_hub *h = gs__os.hub;
	return h && h->sud_on == GS_SUD_ON ? &h->sud_sel : NULL;
}

void *gs_thread_trap_area(void)
{
	struct gs_thread *t = gs__os_current;
	if (!t || (t->flags & GS_TF_HUB))
		return NULL;
	if (!t->trap_area) {
		long p = gs__sys(SYS_mmap, 0, GS_TRAP_AREA, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p < 0 && p > -4096)
			return NULL;
		gs__sys(SYS_mprotect, p, 4096, PROT_NONE, 0, 0, 0); /* the guard */
		t->trap_area = (void *)p;
	}
	return t->trap_area;
}

void gs_thread_in_trap(int on)
{
	struct gs_thread *t = gs__os_current;
	if (!t || !t->pub)
		return;
	if (on)
		atomic_fetch_or_explicit(&t->pub->flags, GS_PUBT_SYSCALL, memory_order_relaxed);
	else
		atomic_fetch_and_explicit(&t->pub->flags, ~(uint32_t)GS_PUBT_SYSCALL, memory_order_relaxed);
}

int gs_others_ready(void)
{
	struct gs_hub *h = gs__os.hub;
	return h && (h->ready_head || atomic_load_explicit(&h->remote, memory_order_relaxed));
}

void gs_yield(void)
{
	struct gs_thread *self = gs_self();
	struct gs_hub *h = gs__hub();
	if (!h)
		return;
	push_ready(h, self);
	gs__park();
	gs__async_cancel_point(self);
}

/* ---- the list of a hub's threads -------------------------------------- */

void gs__hub_add(struct gs_hub *h, struct gs_thread *t)
{
	t->hub_prev = NULL;
	t->hub_next = h->threads;
	if (h->threads)
		h->threads->hub_prev = t;
	h->threads = t;
}

void gs__hub_remove(struct gs_hub *h, struct gs_thread *t)
{
	if (t->hub_prev)
		t->hub_prev->hub_next = t->hub_next;
	else if (h->threads == t)
		h->threads = t->hub_next;
	if (t->hub_next)
		t->hub_next->hub_prev = t->hub_prev;
	t->hub_next = t->hub_prev = NULL;
}

unsigned gs__fork_gen;

/* fork() in a process with green threads: the child keeps only the thread
 * that forked (POSIX) and must not share the parent's epoll instance,
 * eventfd or timerfd (shared file descriptions: the child's waits would
 * steal or re-arm the parent's wake-ups).  So the other threads' timers
 * go, their records and stacks are left as they are (unreachable, as the
 * threads of a forked native process), libev makes new kernel objects, and
 * the forking thread becomes the root of a hub with one thread. */
static void after_fork_in_child(void)
{
	struct gs_hub *h = gs__os.hub;
	struct gs_thread *self = gs__os_current;
	if (!h || !self)
		return;
	for (struct gs_thread *t = h->threads; t; t = t->hub_next) {
		if (t == self)
			continue;
		ev_timer_stop(h->loop, &t->timer);
		ev_periodic_stop(h->loop, &t->periodic);
		gs__fdwait_after_fork(h, t);
	}
	/* Their waiters stay in the queues of mutexes, condvars, ...: a new
	 * generation makes the queues drop them (gs_waitq_pop). */
	gs__pub_after_fork(h);
	for (struct gs_thread *t = h->threads; t; t = t->hub_next)
		if (t != self)
			gs__pub_thread_release(t);
	gs__fork_gen++;
	self->fork_gen = gs__fork_gen;
	self->fd_cached.hub = NULL; /* libev's kernel state is new */
	h->threads = NULL;
	gs__hub_add(h, self);
	h->armed = 0;
	h->fd_waits = 0; /* the forking thread is not waiting */
	h->deadlock_reported = 0;
	h->signal_seen = atomic_load(&h->signal_gen);
	h->ready_head = h->ready_tail = NULL;
	atomic_store(&h->remote, NULL);
	h->dead = NULL;
	h->live = 1;
	if (self != h->root) {
		/* The forking thread is the child's only thread now, and to glibc
		 * its TCB is the process's thread descriptor (fork set its tid,
		 * robust list and list links): it becomes the root, whose stack
		 * and TCB are never pooled, and the template of new TCBs. */
		self->flags |= GS_TF_ROOT;
		if (self->tcb)
			h->root_tcb_ours = 1;
	}
	h->root = self;
	h->sched.sigmask = self->sigmask;
	h->preempt_poll = 0;
	h->prio_wanted = 0;
	h->rt_threads = self->prio > 0; /* the only thread left */
	gs__preempt_after_fork(h);
	/* Syscall User Dispatch is not inherited: armed again at the child's
	 * second thread. */
	h->sud_on = GS_SUD_UNTRIED;
	h->sud_sel = GS_SUD_ALLOW;
	gs__precise_after_fork(h);
	ev_loop_fork(h->loop);
}

/* ---- the hub's own context ------------------------------------------- */

static void drain_remote(struct gs_hub *h)
{
	struct gs_thread *t = atomic_exchange_explicit(&h->remote, NULL, memory_order_acquire);
	struct gs_thread *fifo = NULL;
	while (t) { /* reverse the LIFO */
		struct gs_thread *n = atomic_load_explicit(&t->next_remote, memory_order_relaxed);
		atomic_store_explicit(&t->next_remote, fifo, memory_order_relaxed);
		fifo = t;
		t = n;
	}
	while (fifo) {
		struct gs_thread *n = atomic_load_explicit(&fifo->next_remote, memory_order_relaxed);
		push_ready(h, fifo);
		fifo = n;
	}
}

static void remote_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	drain_remote(ev_userdata(loop));
	gs__drain_pokes(ev_userdata(loop));
}


static void hub_main(void *arg)
{
	struct gs_hub *h = arg;
	gs__tls_context_start();
	for (;;) {
		gs__release_dead(h);
		/* After a preemption, what this poll wakes runs before the threads
		 * that were ready already (the preempted one last), as a kernel
		 * favours a sleeper over threads that used their slice. */
		struct gs_thread *had_head = NULL, *had_tail = NULL;
		int preempted = h->preempt_poll;
		if (preempted) {
			h->preempt_poll = 0;
			had_head = h->ready_head;
			had_tail = h->ready_tail;
			h->ready_head = h->ready_tail = NULL;
		}
		gs__pub_hub_poll(h);
		gs__tls_check_threads(h);
		h->since_poll = 0;
		gs__trace_poll(h);
		gs__deliver_signals(h);
		if (!h->ready_head && !preempted)
			gs__check_deadlock(h);
		ev_run(h->loop, h->ready_head || preempted ? EVRUN_NOWAIT : EVRUN_ONCE);
		drain_remote(h);
		gs__deliver_signals(h);
		if (had_head && gs_unlikely(h->rt_threads)) {
			/* By priority, each behind its equals that the poll woke;
			 * the preempted one (last) behind everything. */
			while (had_head != had_tail) {
				struct gs_thread *t = had_head;
				had_head = t->next_ready;
				insert_ready(h, t, 0);
			}
			had_tail->next_ready = NULL;
			if (h->ready_tail)
				h->ready_tail->next_ready = had_tail;
			else
				h->ready_head = had_tail;
			h->ready_tail = had_tail;
		} else if (had_head) {
			if (h->ready_tail)
				h->ready_tail->next_ready = had_head;
			else
				h->ready_head = had_head;
			h->ready_tail = had_tail;
		}
		struct gs_thread *next = pop_ready(h);
		if (next)
			switch_to(&h->sched, next);
	}
}

static struct gs_hub *hub_create(void);

struct gs_hub *gs__hub(void)
{
	struct gs_hub *h = gs__os.hub;
	if (gs_likely(h))
		return h;
	int saved = errno; /* creating the loop probes, and may leave errno set */
	h = hub_create();
	errno = saved;
	return h;
}

static struct gs_hub *hub_create(void)
{
	struct gs_hub *h;
	struct gs_thread *root = gs_self();
	if (root->flags & GS_TF_HUB)
		return NULL;
	h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	unsigned flags = EVFLAG_NOENV | EVFLAG_NOSIGMASK;
	h->loop = ev_loop_new(EVBACKEND_EPOLL | flags);
	if (!h->loop)
		h->loop = ev_loop_new(EVFLAG_AUTO | flags);
	if (!h->loop || gs__stack_alloc(&h->sched.stack, HUB_STACK_SIZE, 4096) != 0) {
		if (h->loop)
			ev_loop_destroy(h->loop);
		free(h);
		gs_warn("greenshim: cannot create a hub (event loop) for this thread: %s",
			strerror(errno));
		return NULL;
	}
	ev_set_userdata(h->loop, h);
	h->errno_p = &errno;
	h->tfd = GS_TFD_NOT_MADE; /* 0 is a valid descriptor */
	h->pre_timer = -1;
	ev_async_init(&h->remote_wake, remote_cb);
	ev_async_start(h->loop, &h->remote_wake);
	h->sched.magic = GS_THREAD_MAGIC;
	h->sched.flags = GS_TF_HUB;
	h->sched.hub = h;
	h->sched.id = gs__next_id();
	h->sched.pub_id = 0; /* the hub itself, in published records */
	h->sched.pub = &gs__pub_nobody;
	h->sched.sigmask = root->sigmask; /* the hub polls with main's mask */
	/* Its frames start below the stack's room, as a thread's do: the slot
	 * may have held a detached thread's record, which a stale handle of
	 * the program's still reads (and writes: its lock). */
	char *top = gs__stack_room(&h->sched.stack);
	if (!top)
		top = (char *)h->sched.stack.lo + h->sched.stack.size;
	gs__ctx_make(&h->sched.ctx, top, (size_t)(top - (char *)h->sched.stack.lo), hub_main, h);
	root->hub = h;
	h->root = root;
	gs__tls_init();
	if (gs__tls_on) {
		/* The root keeps the OS thread's TCB; the hub's context gets
		 * one of its own (libev's errno, signal handlers run there). */
		root->tcb = gs__tp_get();
		h->sched.tcb = gs__tls_new(&h->sched, h);
		if (!h->sched.tcb) {
			gs_warn("greenshim: no memory for a hub's thread control block");
			abort();
		}
	}
	gs__pub_hub_new(h);
	gs__trace_hub_new(h); /* a trace on: recorded from its first switch */
	gs__pub_thread_release(root); /* a dummy until now */
	gs__pub_thread_new(root, 1);
	h->live = 1;
	gs__hub_add(h, root);
	gs__os.hub = h;
	gs__altstack();
	gs__altstack_adopt(h, root);
	static _Atomic int atfork_registered;
	if (!atomic_exchange(&atfork_registered, 1))
		pthread_atfork(NULL, NULL, after_fork_in_child);
	return h;
}

static void hub_destroy(struct gs_hub *h)
{
	/* On its own OS thread (an ending one): the kernel must stop reading
	 * the selector before it is freed, and the thread's last system
	 * calls are libc's. */
	if (h->sud_on == GS_SUD_ON) {
		gs__sys(SYS_prctl, 59 /* PR_SET_SYSCALL_USER_DISPATCH */, 0 /* OFF */, 0, 0, 0, 0);
		h->sud_on = GS_SUD_FAILED;
		h->sud_sel = GS_SUD_ALLOW;
	}
	gs__pub_hub_gone(h);
	gs__preempt_free(h);
	gs__precise_free(h);
	ev_async_stop(h->loop, &h->remote_wake);
	ev_loop_destroy(h->loop);
	gs__stack_free(&h->sched.stack);
	gs__tls_release_hub(h->sched.tcb, h->root->tcb);
	free(h);
}

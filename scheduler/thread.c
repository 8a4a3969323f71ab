/* Green thread life: create, exit, join, detach.
 *
 * A thread is created on the calling OS thread's hub and queued behind the
 * threads already ready; the creator keeps running.  At exit it runs its
 * key destructors on its own stack, becomes a zombie (or, detached, is
 * freed) and switches away for good; the next context releases its stack.
 *
 * exit_lock orders exit, detach and join, which may come from different OS
 * threads: whoever sees the thread's state under the lock acts on it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void thread_entry(void *arg)
{
	struct gs_thread *t = arg;
	jmp_buf end; /* where unwinding ends (unwind.c) */
	gs__release_dead(t->hub); /* first run: like a resume */
	/* Its first wait starts from a spent token, as after any wake-up. */
	atomic_store_explicit(&t->park_token, GS_PARK_NONE, memory_order_relaxed);
	gs__tls_context_start();
	errno = 0;
	t->exit_jb = &end;
	if (setjmp(end) == 0) {
		void *r = t->start(t->arg);
		if (t->flags & GS_TF_C11)
			r = (void *)(intptr_t)(int)(intptr_t)r;
		t->retval = r;
	}
	t->cleanup = NULL;
	gs_thread_exit(t->retval); /* a green thread never comes back */
}

_Noreturn void gs__exit_os_thread(void *retval)
{
	void (*real_exit)(void *) = (void (*)(void *))dlsym(RTLD_NEXT, "pthread_exit");
	/* glibc ends the OS thread through its own TCB (the unwind buffer its
	 * thread start set, the kernel's tid word): a green thread that is the
	 * last one goes back to it first.  The unwinding then walks the green
	 * stack, as it always did, up to the trampoline's end of stack. */
	struct gs_hub *h = gs__os.hub;
	if (gs__tls_on && h && h->root_tcb_ours) {
		/* A fork child whose only thread was a green one: no TCB of
		 * glibc's to end on, and this is the process's last thread,
		 * which natively ends the process as exit(0) does. */
		exit(0);
	}
	gs_tls_os_tcb_enter(); /* for good */
	real_exit(retval);
	abort();
}

/* ---- thread records ---------------------------------------------------
 *
 * A green thread's record lives at the top of its stack, in the room every
 * pooled stack keeps for it (stack.h), like glibc's descriptor: it shares
 * the page the thread's first frames touch, and its stack is held until
 * the record is retired (joined, or ended detached), as glibc holds a
 * joinable thread's stack.  A thread on a stack without room (the
 * program's, or one of a rare size) has a record from malloc.
 *
 * Neither kind is ever given back: an ended record stays where it is (its
 * stack back in its chunk's free list) or goes to a pool, still saying
 * "exited, detached", and a later create takes it.  So a pthread_join or
 * pthread_detach of a detached thread that has already ended (undefined,
 * but glibc answers EINVAL: its descriptor lives on in its stack cache)
 * reads a record, not freed memory, and gets EINVAL too.  As with glibc, a
 * handle whose record was taken again names the new thread.  (One case
 * differs: when a chunk of idle stacks gives its memory back (stack.c),
 * the records in it read as zeroes, and such a handle is no thread at all:
 * ESRCH.  glibc, past its stack cache, unmaps the descriptor.) */
_Static_assert(sizeof(struct gs_thread) <= GS_STACK_ROOM, "a thread record must fit in its stack's room");

static _Atomic int pool_lock;
static struct gs_thread *pool; /* records without a stack's room, linked through hub_next */

/* A zeroed record for a thread that will run on st (whose description it
 * takes), or NULL. */
static struct gs_thread *record_take(const struct gs_stack *st)
{
	struct gs_thread *t = gs__stack_room(st);
	if (t) {
		gs_zero(t, sizeof *t);
		t->stack = *st;
		t->stack.hosts_record = 1;
		return t;
	}
	gs_spin_lock(&pool_lock);
	t = pool;
	if (t)
		pool = t->hub_next;
	gs_spin_unlock(&pool_lock);
	if (!t)
		t = calloc(1, sizeof *t);
	else
		gs_zero(t, sizeof *t);
	if (t)
		t->stack = *st;
	return t;
}

/* The caller's last use of t: a record in its stack's room may be taken
 * again by the next create at once. */
void gs__thread_record_retire(struct gs_thread *t)
{
	t->state = GS_T_ZOMBIE;
	t->flags = GS_TF_DETACHED;
	t->joined = 1;
	if (t->stack.hosts_record) {
		gs__stack_free_hosting(&t->stack);
		return;
	}
	gs_spin_lock(&pool_lock);
	t->hub_next = pool;
	pool = t;
	gs_spin_unlock(&pool_lock);
}

_Atomic int gs_threads_made;

int gs_thread_create(struct gs_thread **out, const struct gs_thread_attr *a,
		     void *(*fn)(void *), void *arg)
{
	struct gs_hub *h = gs__hub();
	if (!h)
		return -EAGAIN;
	struct gs_stack st;
	if (a->stackaddr)
		gs__stack_adopt(&st, a->stackaddr, a->stacksize);
	else if (gs__stack_alloc(&st, a->stacksize, a->guardsize) != 0)
		return -EAGAIN;
	struct gs_thread *t = record_take(&st);
	if (!t) {
		gs__stack_free(&st);
		return -EAGAIN;
	}
	t->magic = GS_THREAD_MAGIC;
	t->fork_gen = gs__fork_gen;
	t->hub = h;
	t->id = gs__next_id();
	t->pub_id = t->id;
	if (gs__tls_on && !(t->tcb = gs__tls_new(t, h))) {
		gs__stack_free(&t->stack);
		gs__thread_record_retire(t);
		return -EAGAIN;
	}
	t->start = fn;
	t->arg = arg;
	t->flags = (a->detached ? GS_TF_DETACHED : 0) | (a->c11 ? GS_TF_C11 : 0);
	t->sigmask = gs_self()->sigmask; /* a new thread inherits its creator's mask */
	/* The thread's frames start below its record, if that is on its stack. */
	char *top = t->stack.hosts_record ? (char *)t : (char *)t->stack.lo + t->stack.size;
	gs__ctx_make(&t->ctx, top, (size_t)(top - (char *)t->stack.lo), thread_entry, t);
	gs__pub_thread_new(t, 1);
	h->live++;
	gs__hub_add(h, t);
	if (gs_unlikely(!h->pre_armed) && h == gs__os.hub)
		gs__preempt_arm(h);
	if (gs_unlikely(h->sud_on == GS_SUD_UNTRIED) && gs_trap_arm_hook && h == gs__os.hub &&
	    !(gs_self()->flags & GS_TF_HUB))
		h->sud_on = gs_trap_arm_hook(&h->sud_sel) ? GS_SUD_ON : GS_SUD_FAILED;
	t->sud_sel = h->sud_on == GS_SUD_ON ? GS_SUD_BLOCK : GS_SUD_ALLOW;
	if (gs_unlikely(!atomic_load_explicit(&gs_threads_made, memory_order_relaxed)))
		atomic_store(&gs_threads_made, 1);
	*out = t;
	return 0;
}

/* The new thread runs at once, as a native one would start running, and
 * its creator continues as soon as it blocks (the creator goes to the head
 * of the ready queue).  Started from the hub's own context or an OS thread
 * record elsewhere, it just queues. */
void gs_thread_start(struct gs_thread *t)
{
	struct gs_thread *self = gs_self();
	struct gs_hub *h = t->hub;
	/* ...unless its priority is lower, or real-time and the same: then it
	 * waits for the CPU behind its creator. */
	if (self->hub != h || (self->flags & GS_TF_HUB) || t->prio < self->prio ||
	    (t->prio && t->prio == self->prio) || self->handler_sp) {
		/* A new thread waits to start as a parked one waits to be woken:
		 * from a signal handler (one that interrupted the hub's poll, or
		 * a green thread) gs__ready queues only a thread committed to
		 * park, and would drop one that never was. */
		atomic_store_explicit(&t->park_token, GS_PARK_PARKED, memory_order_relaxed);
		gs__ready(t);
		return;
	}
	gs__run_now(self, t);
}

_Noreturn void gs_thread_exit(void *retval)
{
	struct gs_thread *self = gs_self();
	self->retval = retval;
	gs__tls_thread_exit(self); /* thread_local destructors first, as glibc */
	gs__tsd_run_destructors(self);
	gs__tsd_free(self);

	struct gs_hub *h = self->hub;

	atomic_fetch_or_explicit(&self->pub->flags, GS_PUBT_EXITED, memory_order_relaxed);
	gs_spin_lock(&self->exit_lock);
	self->state = GS_T_ZOMBIE;
	if (self->flags & GS_TF_ROOT)
		self->released = 1; /* a root's record outlives it; nothing to release */
	struct gs_waiter *w = gs_waitq_pop(&self->joinq);
	if (w)
		gs_waiter_wake(w, GS_WOKEN);
	gs_spin_unlock(&self->exit_lock);

	/* The last green thread of this OS thread ends the OS thread through
	 * glibc's pthread_exit: glibc counts its real threads and ends the
	 * process (exit(0)) with the last one, as natively; other OS threads
	 * go on. */
	if (!h)
		gs__exit_os_thread(retval);
	gs__hub_remove(h, self);
	if (self->prio > 0)
		h->rt_threads--;
	if (--h->live == 0) {
		if (h->draining) { /* the OS thread's own ending waits for us */
			gs__ready(h->draining);
			gs__exit_switch(self);
		}
		gs__exit_os_thread(retval);
	}
	if (self->flags & GS_TF_ROOT) {
		/* A root's stack is the OS thread's own: it cannot be freed or
		 * left, so the root stays parked while the others run. */
		for (;;) {
			self->state = GS_T_ZOMBIE;
			gs__park();
		}
	}
	gs__exit_switch(self);
}

/* t has exited and is claimed by us: wait until its hub has moved off its
 * stack (gs__release_dead), then take its value and free it. */
static void reap(struct gs_thread *t, void **ret)
{
	while (!atomic_load_explicit(&t->released, memory_order_acquire))
		gs_yield();
	if (ret)
		*ret = t->retval;
	if (!(t->flags & GS_TF_ROOT)) {
		gs__pub_thread_release(t);
		gs__thread_record_retire(t);
	}
}

int gs_thread_join(struct gs_thread *t, void **ret, int try, const struct gs_deadline *d)
{
	struct gs_thread *self = gs_self();
	if (t == self)
		return -EDEADLK;
	gs_spin_lock(&t->exit_lock);
	if (try && t->state != GS_T_ZOMBIE) { /* glibc: "still running" comes first */
		gs_spin_unlock(&t->exit_lock);
		return -EBUSY;
	}
	if ((t->flags & GS_TF_DETACHED) || t->joined) {
		gs_spin_unlock(&t->exit_lock);
		return -EINVAL;
	}
	if (t->state == GS_T_ZOMBIE && t->released) {
		t->joined = 1;
		gs_spin_unlock(&t->exit_lock);
		reap(t, ret);
		return 0;
	}
	if (try) {
		gs_spin_unlock(&t->exit_lock);
		return -EBUSY;
	}
	gs_spin_unlock(&t->exit_lock);
	gs_testcancel(); /* a cancellation point */
	gs_spin_lock(&t->exit_lock);
	if (t->joined) {
		gs_spin_unlock(&t->exit_lock);
		return -EINVAL;
	}
	struct gs_waiter w;
	gs_waiter_init(&w);
	gs_waiter_describe(&w, GS_PW_JOIN, t, t->id);
	t->joined = 1;
	if (t->state == GS_T_ZOMBIE) {
		/* Exited, but its stack is not released yet: that happens as
		 * soon as its hub runs the next context, so let it. */
		gs_spin_unlock(&t->exit_lock);
		reap(t, ret);
		return 0;
	}
	gs_waitq_push(&t->joinq, &t->exit_lock, &w);
	gs_spin_unlock(&t->exit_lock);
	int how = gs_wait(&w, d, GS_WAIT_CANCELLABLE);
	if (how == GS_TIMEDOUT || how == GS_CANCELED) {
		gs_spin_lock(&t->exit_lock);
		t->joined = 0; /* a cancelled joiner leaves the thread joinable */
		gs_spin_unlock(&t->exit_lock);
		if (how == GS_CANCELED)
			gs_testcancel();
		return -ETIMEDOUT;
	}
	reap(t, ret);
	return 0;
}

int gs_thread_detach(struct gs_thread *t)
{
	gs_spin_lock(&t->exit_lock);
	if (t->flags & GS_TF_DETACHED) {
		gs_spin_unlock(&t->exit_lock);
		return -EINVAL;
	}
	if (t->state == GS_T_ZOMBIE && !t->joined) {
		/* Already exited: whoever releases its stack frees it too. */
		t->flags |= GS_TF_DETACHED;
		int released = t->released;
		gs_spin_unlock(&t->exit_lock);
		if (released && !(t->flags & GS_TF_ROOT)) {
			gs__pub_thread_release(t);
			gs__thread_record_retire(t);
		}
		return 0;
	}
	t->flags |= GS_TF_DETACHED;
	gs_spin_unlock(&t->exit_lock);
	return 0;
}

struct gs_thread *gs_hub_thread_by_id(int id)
{
	struct gs_hub *h = gs__os.hub;
	for (struct gs_thread *t = h ? h->threads : NULL; t; t = t->hub_next)
		if (t->id == id && t->state != GS_T_ZOMBIE)
			return t;
	return NULL;
}

int gs_is_thread(const void *p)
{
	return p && ((const struct gs_thread *)p)->magic == GS_THREAD_MAGIC;
}

void gs_thread_info(const struct gs_thread *t, struct gs_thread_info *out)
{
	out->stack_lo = t->stack.lo;
	out->stack_size = t->stack.size;
	out->guard_size = t->stack.guard;
	out->detached = !!(t->flags & GS_TF_DETACHED);
	out->exited = t->state == GS_T_ZOMBIE;
	out->is_root = !!(t->flags & GS_TF_ROOT);
}

void *gs_thread_extra(struct gs_thread *t)
{
	return t->extra;
}

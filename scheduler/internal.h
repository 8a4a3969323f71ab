/* Private to scheduler/: the thread record, the hub, per-OS-thread state. */
#ifndef GS_INTERNAL_H
#define GS_INTERNAL_H

#include <ev.h>
#include <unwind.h>

#include "ctx.h"
#include "gs.h"
#include "stack.h"
#include "tls.h"

#define GS_THREAD_MAGIC 0x6d6968736e656572ULL /* "reenshim" */

enum gs_run_state {
	GS_T_RUNNING, /* on the CPU (or the OS thread record of a hub-less thread) */
	GS_T_READY,   /* in its hub's ready queue */
	GS_T_PARKED,  /* waiting: timer, object, or join */
	GS_T_ZOMBIE,  /* exited, not yet joined */
};

enum gs_thread_flags {
	GS_TF_ROOT = 1,     /* an OS thread's original context (main, or adopted) */
	GS_TF_HUB = 2,      /* a hub's scheduler context */
	GS_TF_DETACHED = 4, /* nobody will join: freed at exit */
	GS_TF_C11 = 8,      /* start routine returns int */
	GS_TF_MAIN = 16,    /* the process's main thread */
};

struct gs_tsd_block; /* tsd.c */

/* One fd a green thread waits on (fdwait.c): its libev watcher (first, so
 * the callback can cast back) and its place in the fd registry. */
struct gs_fdwatch {
	ev_io io;
	struct gs_waiter *waiter;
	struct gs_hub *hub;            /* whose loop the watcher is on */
	struct fd_slot *slot;          /* registry entry, NULL if none */
	struct gs_fdwatch *next, *prev; /* other watches of the same fd */
	int events;                    /* a thread's cached watch (fd_cached): */
	unsigned gen;                  /* what it was set up for */
	struct gs_thread *direct;      /* not a watch: this thread is in the kernel on
					* the fd (direct.c); a close kicks it out */
};

/* A thread's park token.  A waiter sets PARKED before it switches out; a
 * waker on another OS thread swaps in NOTIFIED and queues the thread only
 * if it found PARKED.  Otherwise the waiter is still running, sees
 * NOTIFIED, and does not park: it is never queued while not parked. */
enum { GS_PARK_NONE = 0, GS_PARK_PARKED = 1, GS_PARK_NOTIFIED = 2 };

#define GS_TFD_NOT_MADE (-2)    /* the hub's timerfd is made on first use */
#define GS_TFD_UNAVAILABLE (-1) /* timerfd_create failed: libev's precision */

/* A green thread.  First field: the magic that tells our pthread_t from
 * glibc's (glibc's struct pthread starts with a pointer to itself). */
struct gs_thread {
	uint64_t magic;
	struct gs_ctx ctx;             /* saved context while not running */
	struct gs_hub *hub;            /* the hub it runs on; NULL: hub-less OS thread */
	struct gs_thread *next_ready;  /* hub ready queue link */
	struct gs_thread *hub_next, *hub_prev; /* the hub's list of its living threads */
	struct gs_thread *_Atomic next_remote; /* link in a hub's cross-thread wake stack */
	struct gs_thread *_Atomic next_poke;   /* link in a hub's poke stack */
	_Atomic int poked;             /* on its hub's poke stack */
	int state;                     /* enum gs_run_state */
	int prio;                      /* real-time priority: 1..99 under SCHED_FIFO or
					* SCHED_RR, else 0.  The ready queue and every
					* wait queue keep higher first, arrival order
					* among equals (gs_thread_set_sched); a thread
					* whose slice is spent goes to the very back */
	_Atomic int park_token;        /* GS_PARK_*: see gs__ready and wait_green */
	unsigned fork_gen;             /* gs__fork_gen when it was made: older ones
					* exist only in a parent process */
	unsigned flags;                /* enum gs_thread_flags */
	int id;                        /* owner id, see gs_thread_id */
	int pub_id;                    /* id as published: 0 for a hub's own context */
	struct gs_pub_thread *pub;     /* its published slot (publish.c); never NULL once made */
	int saved_errno;               /* errno while switched out (shared TLS only) */
	void *tcb;                     /* its thread control block (tls.c); NULL while
					* the contexts of an OS thread share one */
	struct gs_stack stack;         /* its stack (empty for roots) */
	unsigned char sud_sel;         /* the selector it resumes with (trap.c):
					* ALLOW for the hub's own context */
	void *trap_area;               /* where its trapped calls run (gs_thread_trap_area) */
	stack_t alt;                   /* its own sigaltstack, if alt_set (altstack.c) */
	int alt_set;
	void *(*start)(void *);        /* start routine and its argument */
	void *arg;
	void *retval;                  /* pthread_exit value, for join */

	/* Join: exit_lock orders exit, detach and join on any OS thread. */
	_Atomic int exit_lock;
	int joined;                    /* a joiner has claimed it */
	_Atomic int released;          /* exited and off its stack: may be freed */
	struct gs_waitq joinq;         /* the joiner, while it waits */

	/* The wait in progress (one at most). */
	struct gs_waiter *waiting;     /* NULL when not waiting */
	const struct gs_deadline *deadline;
	int interruptible;
	ev_timer timer;                /* relative deadlines */
	ev_periodic periodic;          /* CLOCK_REALTIME deadlines */
	struct gs_fdwatch *fdw;        /* the fds it waits on (fdwait.c) */
	unsigned fdw_n;
	struct gs_fdwatch fd_cached;   /* its single-fd watch, kept between waits */
	unsigned note_kind;            /* gs_wait_note: how its next fd wait is shown */
	int note_arg;

	uint64_t sigmask;              /* blocked signals, kernel format (bit sig-1) */
	uint64_t sigwaiting;           /* sigwait & co.: signals whose arrival ends its wait */
	_Atomic uint64_t sigpending;   /* sent to this thread, not yet delivered */

	/* Exit and cancellation (unwind.c). */
	void *cleanup;                 /* innermost registered cleanup buffer */
	void *exit_jb;                 /* thread_entry's jump buffer: the end of unwinding */
	int cancel_disabled;           /* PTHREAD_CANCEL_DISABLE (or exiting) */
	int cancel_async;              /* PTHREAD_CANCEL_ASYNCHRONOUS */
	_Atomic int cancel_pending;    /* pthread_cancel was called */
	struct _Unwind_Exception exc;  /* the forced unwind in progress */

	struct gs_tsd_block **tsd;     /* pthread keys, allocated on first set */
	int preempt_holds;             /* FILE locks held and signal handlers running:
					* never preempted meanwhile (preempt.c) */
	int preempting;                /* inside the tick handler's switch */
	/* A blocking call made in the kernel by a thread alone on its hub
	 * (direct.c): the OS thread's id while it is in one (0: not), the
	 * kick that ends it, and why: its fd was closed through us; while it
	 * delivers the signals that kicked it, whether a handler without
	 * SA_RESTART ran (then the call fails with EINTR); its entry in the
	 * fd registry, here and not on the stack (a handler's siglongjmp may
	 * leave the call: gs_direct_possible), and the call's frame. */
	_Atomic int direct_tid;
	_Atomic int direct_kick;
	_Atomic int direct_closed;
	int direct_delivering;
	int direct_eintr;
	struct gs_fdwatch direct_reg;
	uintptr_t direct_sp;
	uintptr_t handler_sp;          /* the outermost running signal handler's
					* frame (0: none; stale after a longjmp out
					* of it, see preempt.c) */
	unsigned char extra[GS_THREAD_EXTRA_SIZE] __attribute__((aligned(8))); /* preload/'s */
};

/* One scheduler per OS thread that needs one. */
struct gs_hub {
	/* The syscall trap's selector byte for this OS thread (trap.c): first,
	 * as trap_x86_64.S reads it at offset 0.  GS_SUD_ALLOW (the kernel's
	 * SYSCALL_DISPATCH_FILTER_ALLOW) or GS_SUD_BLOCK; always the running
	 * context's own (each saves and loads its value at a switch). */
	volatile unsigned char sud_sel;
	unsigned char sud_on;          /* GS_SUD_UNTRIED, _ON (armed on this OS
					* thread) or _FAILED */
	stack_t altstack;              /* the alternate signal stack the hub made
					* (gs__altstack); ss_sp NULL: none */
	void *alt_installed;           /* the kernel's for this OS thread (altstack.c) */
	size_t alt_installed_size;
	int alt_installed_flags;
	int alt_not_hubs;              /* 1 unless alt_installed* is altstack (altstack.c) */
	struct ev_loop *loop;
	struct gs_pub_hub *pub;        /* its published record (never NULL) */
	int pub_index;                 /* index in the published hubs, -1: none */
	unsigned watched;              /* an inspector or a trace wants every switch
					* measured (from the header, at each poll) */
	struct gs_thread sched;        /* the hub's own context: runs the loop */
	struct gs_thread *root;        /* the OS thread's original context */
	struct gs_thread *threads;     /* every thread of this hub not yet exited */
	struct gs_thread *draining;    /* an ending OS thread's record, waiting for its
					* green threads to finish (os_thread_gone) */
	struct gs_thread *ready_head, *ready_tail; /* FIFO of runnable threads */
	unsigned since_poll;           /* direct switches since the loop last ran */
	unsigned switches;             /* every switch, counted for preempt.c's ticks */
	/* preempt.c: the CPU-time timer (kernel id, -1: none), whether it is
	 * armed, the switch count the last tick saw and for how many ticks,
	 * a preemption left for the next safe point, and "the last switch
	 * was a preemption: woken threads go first" (hub_main). */
	int pre_timer;
	int pre_armed;
	unsigned pre_seen;
	int pre_stale;
	int preempt_wanted;
	int prio_wanted;               /* a thread of higher priority than the running
					* one was made ready (note_priority) */
	unsigned rt_threads;           /* its threads with a priority above 0 */
	int preempt_poll;
	unsigned live;                 /* green threads not yet exited, root included */
	struct gs_thread *dead;        /* exited thread whose stack is freed by the next context */
	ev_async remote_wake;          /* kicks the loop when another OS thread wakes ours */
	struct gs_thread *_Atomic remote; /* LIFO of threads woken from other OS threads */
	struct gs_thread *_Atomic poke;   /* LIFO of threads another OS thread cancelled or signalled */
	_Atomic unsigned signal_gen;   /* bumped by gs_signal_ran */
	unsigned signal_seen;          /* the hub's view of signal_gen */
	_Atomic int signal_restart;    /* the last handler had SA_RESTART */
	int *errno_p;                  /* this OS thread's errno (a call to find) */
	unsigned armed;                /* threads waiting with a deadline */
	unsigned fd_waits;             /* threads waiting for an fd */
	int deadlock_reported;         /* the report is printed once */
	int tls_multi;                 /* its TCBs say "multiple threads" (tls.c) */
	int tls_dlopened;              /* a thread called dlopen: new static TLS blocks
					* to initialise in the other TCBs (tls.c) */
	void *tls_listed;              /* its TCB, on glibc's thread list meanwhile */
	int root_tcb_ours;             /* a fork child's root is a green thread on a TCB
					* of ours, not glibc's (gs__exit_os_thread) */
	uint64_t ran_since;            /* GREENSHIM_BLOCK_WARN_MS: when the running
					* context was switched in (ns, monotonic) */
	/* precise.c: a timerfd armed at the earliest deadline (or one of the
	 * GS_TFD_ values), and the heap of deadlines (CLOCK_MONOTONIC). */
	int tfd;
	double tfd_at;
	ev_io tfd_watcher;
	double *heap;
	unsigned heap_n, heap_cap;
};

enum { GS_SUD_UNTRIED = 0, GS_SUD_ON = 1, GS_SUD_FAILED = 2 };

/* Per OS thread.
 * The running context is gs__os_current (gs.h), NULL before first use. */
struct gs_os {
	struct gs_hub *hub;            /* NULL until something parks here */
};
extern __thread struct gs_os gs__os __attribute__((tls_model("initial-exec")));

/* hub.c */
struct gs_hub *gs__hub(void);               /* this OS thread's hub, created on demand */
void gs__ready(struct gs_thread *t);        /* make t runnable (any OS thread) */
void gs__park(void);                        /* switch away until gs__ready(current) */
void gs__run_now(struct gs_thread *self, struct gs_thread *t); /* t now, self next */
_Noreturn void gs__exit_switch(struct gs_thread *self); /* leave for good */
void gs__release_dead_slow(struct gs_hub *h);
/* Acts on a pending cancellation if t's type is asynchronous (unwind.c). */
void gs__async_cancel_point(struct gs_thread *t);
/* An ended green thread's record goes back to the pool (thread.c). */
void gs__thread_record_retire(struct gs_thread *t);
static inline void gs__release_dead(struct gs_hub *h) /* free what an exited thread left */
{
	if (gs_unlikely(h->dead != NULL))
		gs__release_dead_slow(h);
}
struct gs_thread *gs__adopt(void);          /* record for this OS thread */
void gs__hub_add(struct gs_hub *h, struct gs_thread *t);    /* into h->threads */
void gs__hub_remove(struct gs_hub *h, struct gs_thread *t);
int gs__next_id(void);

/* hub.c: bumped in a fork child; threads of older generations are gone. */
extern unsigned gs__fork_gen;

/* libgcc.c: libgcc_s.so.1, loaded on first use (the shim does not link
 * it); NULL if it or one of these is missing. */
typedef _Unwind_Reason_Code (*gs__forced_unwind_fn)(struct _Unwind_Exception *, _Unwind_Stop_Fn,
						    void *);
typedef _Unwind_Word (*gs__get_cfa_fn)(struct _Unwind_Context *);
struct gs__libgcc {
	gs__forced_unwind_fn forced_unwind; /* _Unwind_ForcedUnwind */
	gs__get_cfa_fn get_cfa;             /* _Unwind_GetCFA */
	void *raise_exception;              /* _Unwind_RaiseException: a point in its text */
};
const struct gs__libgcc *gs__libgcc(void);

/* signals.c */
void gs__poke(struct gs_thread *t);          /* from another OS thread: look at t's requests */
void gs__drain_pokes(struct gs_hub *h);      /* on t's hub */
void gs__act_on_requests(struct gs_thread *t); /* on t's hub: cancel/signal end its wait */
void gs__set_os_mask(uint64_t mask);
uint64_t gs__get_os_mask(void);
void gs__deliver_pending(struct gs_thread *t);
void gs__deliver_signals(struct gs_hub *h);

/* thread.c: ends the OS thread through glibc's own pthread_exit. */
_Noreturn void gs__exit_os_thread(void *retval);

/* preempt.c */
void gs__preempt_arm(struct gs_hub *h);      /* a second thread: start the ticks */
void gs__preempt_text_loaded(const void *in_it); /* no switch in the object holding in_it either */
/* Where the named allocator function (malloc, free) the program calls has
 * its code.  A non-PIE executable that takes the function's address
 * (python3.11 does) has a canonical PLT entry for it: an undefined symbol
 * with a value, which is what dlsym finds.  That stub is not the
 * allocator: the definition is the next one after the executable and the
 * shim. */
void *gs__allocator_entry(const char *name);
/* Whether address a lies in one of the loaded segments of the object
 * dl_iterate_phdr describes with info. */
struct dl_phdr_info;
int gs__object_holds(const struct dl_phdr_info *info, uintptr_t a);
void gs__preempt_free(struct gs_hub *h);
void gs__preempt_after_fork(struct gs_hub *h);
/* hub.c: self to the back of the queue, the hub polls, woken threads first. */
void gs__preempt_now(struct gs_thread *self);

/* precise.c: wake the hub left seconds from now, to the microsecond. */
void gs__precise_arm(struct gs_hub *h, double left);
void gs__precise_free(struct gs_hub *h);
void gs__precise_after_fork(struct gs_hub *h); /* the timerfd is the parent's */

/* reports.c: called by the hub when nothing is ready, before it blocks;
 * the alternate signal stack for overflow reports. */
void gs__check_deadlock(struct gs_hub *h);
/* GREENSHIM_BLOCK_WARN_MS: prev is being switched out. */
void gs__block_check(struct gs_thread *prev);
void gs__altstack(void);
/* altstack.c: the OS thread's alternate stack becomes next's (or the
 * hub's); the one there when the hub was made is its root's. */
void gs__altstack_switch_slow(struct gs_hub *h, struct gs_thread *next);
static inline void gs__altstack_switch(struct gs_hub *h, struct gs_thread *next)
{
	/* Neither thread has its own: the hub's stays installed. */
	if (gs_likely(!(next->alt_set | h->alt_not_hubs)))
		return;
	gs__altstack_switch_slow(h, next);
}
void gs__altstack_adopt(struct gs_hub *h, struct gs_thread *root);

/* fdwait.c: a fork child drops another thread's fd watches. */
void gs__fdwait_after_fork(struct gs_hub *h, struct gs_thread *t);
/* fdwait.c: fw (fw->direct set) in the fd registry while its thread is
 * in the kernel on the fd, so that gs_fd_closing finds it. */
void gs__fd_register(struct gs_fdwatch *fw);
void gs__fd_unregister(struct gs_fdwatch *fw);

/* direct.c: t may be in the kernel (a request was just made of it): kick
 * it out, before anything was transferred, to act on the request; and t's
 * fd is being closed. */
void gs__direct_kick(struct gs_thread *t);
void gs__direct_closing(struct gs_thread *t);
/* direct.c: a program's handler ran (restart: it had SA_RESTART). */
void gs__direct_handler_ran(int restart);
/* direct.c: t ends (its record goes) while a call of its in the kernel was
 * left by a siglongjmp: its fd registry entry goes first. */
void gs__direct_gone(struct gs_thread *t);

/* CLOCK_MONOTONIC in nanoseconds (published times, block warnings, traces). */
static inline uint64_t gs__mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* publish.c */
extern struct gs_pub_header *gs__pub;        /* NULL: nothing published */
extern struct gs_pub_thread gs__pub_nobody;  /* the slot of the unpublished */
void gs__pub_thread_new(struct gs_thread *t, int create); /* create: make the file if needed */
void gs__pub_thread_release(struct gs_thread *t);
void gs__pub_hub_new(struct gs_hub *h);
void gs__pub_hub_gone(struct gs_hub *h);
void gs__pub_hub_poll(struct gs_hub *h);
void gs__pub_after_fork(struct gs_hub *mine);
/* The wait w of t begins / ends: what it waits on, for the inspector.
 * Built with -DGS_NO_PUBLISH, the shim publishes nothing (make bench
 * measures what publishing costs a switch against that build). */
void gs__pub_deadline(struct gs_thread *t, const struct gs_deadline *d);
static inline void gs__pub_wait_begin(struct gs_thread *t, const struct gs_waiter *w,
				      const struct gs_deadline *d)
{
#ifndef GS_NO_PUBLISH
	struct gs_pub_thread *p = t->pub;
	if (d)
		gs__pub_deadline(t, d);
	atomic_store_explicit(&p->wait_obj, (uint64_t)(uintptr_t)w->object, memory_order_relaxed);
	atomic_store_explicit(&p->wait_arg, w->holder, memory_order_relaxed);
	atomic_store_explicit(&p->wait_kind, w->kind ? w->kind : GS_PW_FUTEX, memory_order_relaxed);
#endif
}
static inline void gs__pub_wait_end(struct gs_thread *t, const struct gs_deadline *d)
{
#ifndef GS_NO_PUBLISH
	if (d)
		atomic_store_explicit(&t->pub->wait_until_ns, 0, memory_order_relaxed);
	atomic_store_explicit(&t->pub->wait_kind, GS_PW_NONE, memory_order_relaxed);
#endif
}
/* direct.c's call in the kernel: shown as a wait on fd (kind: GS_PW_READ
 * or GS_PW_WRITE) with the hub running nobody, as for a parked thread. */
static inline void gs__pub_direct_begin(struct gs_thread *t, struct gs_hub *h, int fd,
					unsigned kind)
{
#ifndef GS_NO_PUBLISH
	atomic_store_explicit(&t->pub->wait_obj, 0, memory_order_relaxed);
	atomic_store_explicit(&t->pub->wait_arg, fd, memory_order_relaxed);
	atomic_store_explicit(&t->pub->wait_kind, kind, memory_order_relaxed);
	if (h)
		atomic_store_explicit(&h->pub->running, 0, memory_order_relaxed);
#endif
}
static inline void gs__pub_direct_end(struct gs_thread *t, struct gs_hub *h)
{
#ifndef GS_NO_PUBLISH
	atomic_store_explicit(&t->pub->wait_kind, GS_PW_NONE, memory_order_relaxed);
	if (h)
		atomic_store_explicit(&h->pub->running, t->pub_id, memory_order_relaxed);
#endif
}
/* trace.c: a switch while the hub is watched (measure, record). */
void gs__pub_switch_watched(struct gs_hub *h, struct gs_thread *prev, struct gs_thread *next,
			    unsigned reason);
/* Every switch: who runs now (one store: ps shows it even when the hub is
 * stuck); the hub counts its switches itself (since_poll) and publishes
 * the sum when it polls. */
static inline void gs__pub_switch(struct gs_hub *h, struct gs_thread *prev, struct gs_thread *next,
				  unsigned reason)
{
#ifndef GS_NO_PUBLISH
	atomic_store_explicit(&h->pub->running, next->pub_id, memory_order_relaxed);
	if (gs_unlikely(h->watched))
		gs__pub_switch_watched(h, prev, next, reason);
#endif
}
void gs__trace_poll(struct gs_hub *h);       /* the process drains its own trace */
void gs__trace_hub_new(struct gs_hub *h);    /* a new hub, while a trace is on */
void gs__trace_start(void);                  /* GREENSHIM_TRACE, once the file exists */
void gs__trace_finish(void);                 /* ... and at exit: write the JSON */
void gs__trace_after_fork(void);             /* a fork child records a part of its own */
void gs__trace_thread_gone(struct gs_thread *t); /* keep its label for the trace */
extern int gs__trace_wakes;                  /* tracing: wake-ups are recorded ... */
void gs__trace_ready(struct gs_thread *woken); /* ... by this gs__ready */

/* tsd.c */
void gs__tsd_run_destructors(struct gs_thread *t);
void gs__tsd_free(struct gs_thread *t);

/* waitq.c: ends w's wait with how unless a waker got there first. */
void gs__end_wait(struct gs_waiter *w, int how);

/* Futex helpers (waitq.c). */
int gs__futex_wait(_Atomic int *addr, int val, const struct gs_deadline *d);
void gs__futex_wake(_Atomic int *addr, int n);

#endif

/* The scheduler's interface to preload/: green threads, parking, waking.
 *
 * Conventions (STYLE.md): non-static names gs_ (this interface) or gs__
 * (shared between files of scheduler/ only); functions return 0 or a
 * negative errno unless they say otherwise; preload/ turns that into the
 * exact contract of the libc call it replaces. */
#ifndef GS_H
#define GS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "published.h"

#define GS_EXPORT __attribute__((visibility("default")))
#define gs_likely(x) __builtin_expect(!!(x), 1)
#define gs_unlikely(x) __builtin_expect(!!(x), 0)
/* On a function of the hand-off path (queue, wake, park) that other files
 * call: the link-time optimiser inlines it into the condvar, mutex and
 * semaphore paths, which saves ~90 instructions of calls and register
 * saves a condvar round trip (bench/pingpong).  The file still exports it
 * for everyone else. */
#define GS_INLINE_HOT __attribute__((always_inline)) inline
/* On a function that every start, fork or exec of a greened process runs
 * (the constructors and gs_init, the first real-function lookups, the
 * fork handlers, a shell's sigaction, sigprocmask and execve, the GS_REAL
 * stubs): GCC puts it in .text.hot, which the linker lays out with the
 * constructors (.text.startup) just after .init, so these share a few
 * pages instead of being spread over the library's 200 KiB of text.  A
 * fork child faults in again every text page it runs (the kernel does not
 * copy the parent's file-backed mappings), each fault mapping 64 KiB
 * around it: a shell's fork-exec faulted four such windows of the shim,
 * now one (the exec'd program: three, now two). */
#define GS_STARTUP __attribute__((hot))

struct gs_thread;
struct gs_hub;

/* ---- deadlines ------------------------------------------------------ */

/* An absolute point on a clock.  clock is CLOCK_MONOTONIC, CLOCK_REALTIME,
 * CLOCK_BOOTTIME or CLOCK_TAI; the scheduler re-checks the clock itself
 * after every timer, so a wait never ends before its deadline. */
struct gs_deadline {
	clockid_t clock;
	struct timespec at;
};

/* Deadline rel from now on CLOCK_MONOTONIC; rel must be valid. */
void gs_deadline_in(struct gs_deadline *d, const struct timespec *rel);
/* Time left until d (zero when passed). */
void gs_deadline_left(const struct gs_deadline *d, struct timespec *left);
int gs_timespec_valid(const struct timespec *ts);
/* 1 if clock can be waited on by the hub. */
int gs_clock_supported(clockid_t clock);

/* ---- green threads -------------------------------------------------- */

struct gs_thread_attr {
	size_t stacksize;  /* usable bytes of stack */
	size_t guardsize;  /* bytes of PROT_NONE guard below it (0: none) */
	void *stackaddr;   /* lowest address of a stack the caller owns, or NULL */
	int detached;      /* start detached */
	int c11;           /* start routine returns int (thrd_create) */
};

/* The calling context's thread: a green thread, or the record of this OS
 * thread (created on first use).  Never NULL.  The first field of the
 * per-OS-thread state (scheduler/internal.h) is the running thread. */
extern __thread struct gs_thread *gs__os_current __attribute__((tls_model("initial-exec")));
struct gs_thread *gs__self_slow(void);
static inline struct gs_thread *gs_self(void)
{
	struct gs_thread *t = gs__os_current;
	return gs_likely(t != NULL) ? t : gs__self_slow();
}
/* gs_thread_id(gs_self()), or 0 before this OS thread has a record. */
extern __thread int gs__current_id __attribute__((tls_model("initial-exec")));
/* 1 when the caller may park: it is not the hub's own context. */
int gs_can_park(void);
/* 1 when the caller is the only thread of the process that could run: one
 * OS thread, and no other living green thread on its hub, nothing ready,
 * timed or waited on (direct.c, which asks the same of its hub for a lone
 * thread's read or write, where other OS threads can kick).  A blocking call
 * may then block in the kernel as it would natively (no hub needed): there
 * is nobody to switch to, and the kernel's own EINTR, SA_RESTART and
 * timeout rules apply as they are.  A thread a signal handler creates
 * meanwhile runs once the call returns. */
int gs_alone(void);
/* Owner id of a thread: unique, never 0, stable for its life. */
int gs_thread_id(const struct gs_thread *t);
/* The living (not exited) thread with owner id `id` on the calling OS
 * thread's hub, or NULL. */
struct gs_thread *gs_hub_thread_by_id(int id);
/* 1 if p points to a live or zombie gs_thread (a pthread_t we handed out). */
int gs_is_thread(const void *p);
/* A thread's real-time priority (1..99 for SCHED_FIFO and SCHED_RR, 0 for
 * every other policy): higher runs first, and gets a released lock,
 * condvar or semaphore first.  Lowered on the running thread, it gives
 * way at once to a higher one that is ready.  A thread that spends a
 * whole slice goes behind every other, whatever the priorities: one OS
 * thread runs them all, and strict priority would let a computing
 * real-time thread starve the rest, which natively the other CPUs and
 * the kernel's real-time throttling prevent. */
void gs_thread_set_sched(struct gs_thread *t, int prio);

/* Makes a thread that has not run yet; gs_thread_start lets it run. */
int gs_thread_create(struct gs_thread **out, const struct gs_thread_attr *a,
		     void *(*fn)(void *), void *arg);
void gs_thread_start(struct gs_thread *t);
/* Ends the calling thread (key destructors, join, release). */
_Noreturn void gs_thread_exit(void *retval);
/* Join t: blocks unless try; d may be NULL.  0, -EINVAL (detached or
 * already joined by another), -EDEADLK (self), -EBUSY (try, running),
 * -ETIMEDOUT. */
int gs_thread_join(struct gs_thread *t, void **ret, int try, const struct gs_deadline *d);
int gs_thread_detach(struct gs_thread *t);
/* Set once the process has made a green thread: natively it would no
 * longer be single-threaded (glibc clears __libc_single_threaded at the
 * first pthread_create, for good), though all its threads may run on one
 * OS thread here. */
extern _Atomic int gs_threads_made;

/* Lets every other ready green thread run once, then returns. */
void gs_yield(void);
/* 1 if another thread of the caller's hub is ready to run. */
int gs_others_ready(void);

/* Thread facts for preload/ (getattr_np, names, ...). */
struct gs_thread_info {
	void *stack_lo;
	size_t stack_size, guard_size;
	int detached, exited, is_root;
};
void gs_thread_info(const struct gs_thread *t, struct gs_thread_info *out);
/* The name the inspector shows for t (pthread_setname_np): the 16 bytes
 * at name, a NUL-terminated string padded to 16 bytes (thread names are
 * at most 15 characters). */
void gs_thread_publish_name(struct gs_thread *t, const char name[16]);
/* A small per-thread area that preload/ owns (names, sched params). */
void *gs_thread_extra(struct gs_thread *t);
#define GS_THREAD_EXTRA_SIZE 192

/* ---- parking -------------------------------------------------------- */

/* Outcome of a wait. */
enum { GS_WAITING = 0, GS_WOKEN = 1, GS_TIMEDOUT = 2, GS_INTERRUPTED = 3, GS_CANCELED = 4,
       GS_CLOSED = 5 /* an fd waited on was closed (fdwait.c) */ };

/* One waiting thread, on the waiter's own stack.  A waiter is queued and
 * unqueued only with the queue's spinlock held, and its state leaves
 * GS_WAITING exactly once: whoever moves it (a waker, the timer, a signal)
 * also unlinks it, under that lock, so a woken thread is never woken twice
 * and a timed-out one is never handed an object. */
struct gs_waiter {
	struct gs_waiter *next, *prev; /* links in the wait queue */
	struct gs_thread *thread;      /* who waits */
	_Atomic int *qlock;            /* the queue's spinlock (for timeouts) */
	struct gs_waitq *q;            /* the queue it sits in, NULL once out */
	_Atomic int state;             /* GS_WAITING until woken/timed out */
	int native;                    /* 1: an OS thread with no hub, sleeps on state */
	uintptr_t data;                /* the primitive's own use (rwlock: writer?) */
	int interrupted;               /* a signal handler ran for this wait (2: an
					* SA_RESTART one: an untimed wait goes on) */
	/* What is waited for, for people (deadlock report, inspector): */
	unsigned kind;                 /* enum gs_pub_wait; GS_PW_NONE: not described */
	const void *object;            /* its address */
	int holder;                    /* thread id holding it, 0 if none/unknown */
};

/* Describes w's wait (after gs_waiter_init). */
static inline void gs_waiter_describe(struct gs_waiter *w, unsigned kind, const void *object,
				      int holder)
{
	w->kind = kind;
	w->object = object;
	w->holder = holder;
}
/* Words for a kind: "mutex", "condition variable", "read", ... */
extern const char *const gs_wait_names[GS_PW_COUNT];

/* How a wait reacts to a signal handler running for its thread (the
 * `interruptible` argument of gs_wait), as the Linux calls they stand for:
 * nanosleep and timed waits always end with EINTR; an untimed sem_wait is
 * restarted when the handler has SA_RESTART. */
enum { GS_INTR_NEVER = 0, GS_INTR_ALWAYS = 1, GS_INTR_UNLESS_RESTART = 2 };
/* Or'ed into the same argument: the wait is a cancellation point, and a
 * pthread_cancel ends it with GS_CANCELED (the caller then tidies up, e.g.
 * relocks a condvar's mutex, and calls gs_testcancel). */
#define GS_WAIT_CANCELLABLE 4
#define GS_INTR_MODE(flags) ((flags) & 3)

struct gs_waitq {
	struct gs_waiter *head, *tail; /* FIFO */
};

/* One OS thread in the process (glibc's own flag, cleared for good by the
 * first real pthread_create, before that thread runs): nothing can race
 * with us, so read-modify-write operations need no lock prefix.  With the
 * thread subsystem on, green threads never clear it.  Spinlocks are never
 * held across a park or a thread creation, so every one is free at the
 * moment the flag changes. */
extern char __libc_single_threaded;
static inline int gs_single(void)
{
	return __libc_single_threaded;
}

void gs__spin_lock_contended(_Atomic int *l);
static inline void gs_spin_lock(_Atomic int *l)
{
	if (gs_likely(gs_single()))
		atomic_store_explicit(l, 1, memory_order_relaxed);
	else if (atomic_exchange_explicit(l, 1, memory_order_acquire))
		gs__spin_lock_contended(l);
}
static inline void gs_spin_unlock(_Atomic int *l)
{
	atomic_store_explicit(l, 0, memory_order_release);
}

/* memset(p, 0, n) by libc's memset, for what every create zeroes (the
 * thread record, its published slot, the resolver state): gcc expands a
 * memset of constant size inline, as `rep stos` above a few hundred
 * bytes, whose start-up costs more than libc's vector stores up to a few
 * KiB.  Hiding the size from gcc makes it a call. */
static inline void gs_zero(void *p, size_t n)
{
	__asm__("" : "+r"(n));
	memset(p, 0, n);
}

/* compare-and-swap of an int, cheap when the process is single-threaded. */
static inline int gs_cas(_Atomic int *p, int expected, int desired)
{
	if (gs_likely(gs_single())) {
		if (atomic_load_explicit(p, memory_order_relaxed) != expected)
			return 0;
		atomic_store_explicit(p, desired, memory_order_relaxed);
		return 1;
	}
	return atomic_compare_exchange_strong_explicit(p, &expected, desired, memory_order_acq_rel,
						       memory_order_relaxed);
}
static inline int gs_xchg(_Atomic int *p, int v)
{
	if (gs_likely(gs_single())) {
		int old = atomic_load_explicit(p, memory_order_relaxed);
		atomic_store_explicit(p, v, memory_order_relaxed);
		return old;
	}
	return atomic_exchange_explicit(p, v, memory_order_acq_rel);
}

/* All with the queue's lock held. */
void gs_waitq_push(struct gs_waitq *q, _Atomic int *qlock, struct gs_waiter *w);
struct gs_waiter *gs_waitq_pop(struct gs_waitq *q);
/* The oldest waiter, left queued.  Both drop waiters of threads that only
 * exist in the parent of a fork. */
struct gs_waiter *gs_waitq_first(struct gs_waitq *q);
int gs_waiter_ghost(const struct gs_waiter *w);
void gs_waitq_remove(struct gs_waitq *q, struct gs_waiter *w);
/* Moves an unlinked waiter out of GS_WAITING (with how) and makes its
 * thread runnable.  The waiter's memory may be gone as soon as this
 * returns. */
int gs_waiter_wake(struct gs_waiter *w, int how); /* 1: it ended the wait; 0: it had ended */

/* Prepares w for the calling thread. */
void gs_waiter_init(struct gs_waiter *w);
/* Sleeps until w leaves GS_WAITING; w must be queued (lock released) or,
 * with q NULL, stand alone (a plain sleep).  Returns the final state.
 * interruptible (GS_INTR_*) says whether a signal handler running for this
 * thread ends the wait with GS_INTERRUPTED; a waker may have won the race,
 * then the state is GS_WOKEN and w->interrupted is set. */
int gs_wait(struct gs_waiter *w, const struct gs_deadline *d, int interruptible);

/* Sleeps until d: 0, or -EINTR when a signal handler ran. */
int gs_sleep_until(const struct gs_deadline *d);

/* ---- file descriptors (fdwait.c) ------------------------------------ */

/* Directions, as libev's EV_READ and EV_WRITE; GS_FD_SAME_FILE (gs_fd_wait
 * only) says the caller saw the fd made and would see it closed, so the
 * thread's watcher from its last wait on that number may be kept. */
enum { GS_FD_READ = 1, GS_FD_WRITE = 2, GS_FD_SAME_FILE = 4 };
struct gs_fd_interest {
	int fd;
	int events; /* GS_FD_READ | GS_FD_WRITE; 0: only a close ends it */
};
/* Parks the caller until one of the fds is ready (level: ready now counts),
 * the deadline d (may be NULL) passes, a signal or cancellation ends the
 * wait (interruptible: GS_INTR_* | GS_WAIT_CANCELLABLE, as gs_wait), or
 * one of the fds is closed (GS_CLOSED).  Returns the GS_* outcome, with
 * *restart (may be NULL) set when it was an SA_RESTART handler that an
 * untimed call would restart after; -EAGAIN when no hub can be made,
 * -ENOMEM.  Readiness is a hint: the caller retries its call. */
int gs_fds_wait(const struct gs_fd_interest *v, unsigned n, const struct gs_deadline *d,
		int interruptible, int *restart);
int gs_fd_wait(int fd, int events, const struct gs_deadline *d, int interruptible, int *restart);
/* The next fd wait of the calling thread is shown to the inspector as
 * kind (enum gs_pub_wait) with arg (a pid for GS_PW_CHILD, an fd, ...)
 * rather than as the fds it watches. */
void gs_wait_note(unsigned kind, int arg);
/* Before fd is closed or replaced (close, dup2 onto it, ...), from any
 * thread: every wait on it ends with GS_CLOSED, and this hub's watchers of
 * it are stopped, so that a new fd with the same number is never confused
 * with it. */
void gs_fd_closing(int fd);
void gs_fd_closing_range(unsigned lo, unsigned hi);

/* ---- a lone thread blocks in the kernel (direct.c) -------------------- */

/* Whether the calling green thread could make its blocking call in the
 * kernel: nobody else on its OS thread would get the CPU meanwhile. */
int gs_direct_possible(void);
/* System call nr(a, b, c), a blocking call on fd shown as wait kind
 * (GS_PW_READ, GS_PW_WRITE), made in the kernel while gs_direct_possible
 * holds: the kernel's result (-errno), or -EBADF when the fd was closed
 * through us meanwhile, or GS_DIRECT_NOT_ALONE when someone else on the OS
 * thread must run first (the call then was not made: park instead).  A
 * cancellation that comes meanwhile acts (never returns).  A signal
 * delivered meanwhile runs its handler; the call fails with -EINTR unless
 * the handler had SA_RESTART, as the kernel decides. */
#define GS_DIRECT_KICKED (-5000)
#define GS_DIRECT_NOT_ALONE (-5001)
long gs_direct_call(long nr, long a, long b, long c, int fd, unsigned kind);
/* From a signal handler of the shim's or a program's handler's wrapper,
 * as it returns (uc: its ucontext): a thread kicked, or with a request,
 * inside its direct call leaves it.  Async-signal-safe. */
void gs_direct_interrupted(void *uc);
/* The SIGURG handler's question: is this signal a kick (then the program
 * never sees it). */
int gs_direct_is_kick(const void *siginfo);

/* ---- signals -------------------------------------------------------- */

/* Called by the handler wrapper after a program's handler ran on this OS
 * thread: thread_directed (tgkill/raise), restart (it had SA_RESTART).
 * Async-signal-safe. */
void gs_signal_ran(int thread_directed, int restart);
/* pthread_sigmask for the calling thread; sets are in the kernel's 64-bit
 * format.  0 or -EINVAL. */
int gs_sigmask(int how, const uint64_t *set, uint64_t *old);
/* pthread_kill of a green thread of this hub: the signal is delivered in
 * t's own context when t runs with it unblocked; an interruptible greened
 * wait of t ends with EINTR.  Returns 1 when t is on another OS thread's
 * hub, which is asked to do that on its own thread. */
int gs_signal_thread(struct gs_thread *t, int sig, int disposition);
/* disposition: what the program set for sig. */
enum { GS_SIG_NO_HANDLER = 0, GS_SIG_HANDLER = 1, GS_SIG_HANDLER_RESTART = 2 };
/* sigwait & co.: while set is non-zero, a signal in it sent to the calling
 * green thread (pthread_kill) ends its wait instead of waiting to be
 * unblocked; gs_sigtake removes one such signal from its own pending set
 * (0: none). */
void gs_sigwait_set(uint64_t set);
int gs_sigtake(uint64_t set);
/* sigpending for the calling thread: the OS thread's and its own. */
uint64_t gs_sigpending(void);

/* ---- futex words (parking.c) ------------------------------------------ */

/* FUTEX_WAIT(_BITSET) for a thread that can park: 0 when woken, -EAGAIN
 * when *addr != val, -ETIMEDOUT, -EINTR (interruptible: GS_INTR_*). */
int gs_futex_wait(const _Atomic int *addr, int val, unsigned bitset, const struct gs_deadline *d,
		  int interruptible);
/* FUTEX_WAKE(_BITSET): wakes up to n parked waiters of addr; how many. */
int gs_futex_wake(const void *addr, int n, unsigned bitset);

/* ---- exit and cancellation (unwind.c) ------------------------------- */

#define GS_CANCELED_VALUE ((void *)-1) /* PTHREAD_CANCELED */
/* pthread_exit: cleanup handlers, C++ unwinding, key destructors, exit. */
_Noreturn void gs_thread_exit_unwinding(void *retval);
/* __pthread_register_cancel, __pthread_unregister_cancel,
 * __pthread_unwind_next for the calling green thread. */
void gs_cleanup_register(void *buf);
void gs_cleanup_unregister(void *buf);
_Noreturn void gs_cleanup_next(void *buf);
/* Deferred cancellation: gs_cancel marks t and ends its cancellable wait;
 * gs_testcancel acts on a pending request (never returns then). */
int gs_cancel(struct gs_thread *t);
/* Nonzero once any thread of the process was cancelled: until then a
 * cancellation point costs one load. */
extern _Atomic int gs__cancel_requested;
void gs__testcancel(void);
/* Every cancellation point of a greened call is a preemption safe point
 * too (gs_safe_point, below). */
static inline void gs_safe_point(void);
static inline void gs_testcancel(void)
{
	if (gs_unlikely(atomic_load_explicit(&gs__cancel_requested, memory_order_relaxed)))
		gs__testcancel();
	gs_safe_point();
}
int gs_setcancelstate(int disable, int *old_disabled);

/* ---- preemption (preempt.c) ---------------------------------------------- */

/* GREENSHIM_PREEMPT_MS in nanoseconds (0: off); set before the first hub. */
extern uint64_t gs_preempt_ns;
/* Finds the code and the loader locks a thread is never interrupted in;
 * once, at start, when preemption is on. */
void gs_preempt_setup(void);
/* Nonzero when a tick could not preempt at once: the next safe point does. */
extern int gs__preempt_pending;
void gs__safe_point_slow(void);
/* A safe point: every greened call that does not wait passes one, so a
 * thread that keeps making calls that never block still yields once its
 * slice is spent.  One load while nothing is marked. */
static inline void gs_safe_point(void)
{
	if (gs_unlikely(__atomic_load_n(&gs__preempt_pending, __ATOMIC_RELAXED)))
		gs__safe_point_slow();
}
/* The calling thread takes (+1) or lets go of (-1) something during which
 * it must not be preempted: a FILE lock, a signal handler's run. */
void gs_preempt_hold(int delta);
/* Around a program's signal handler (preload/signal.c): frame is the
 * wrapper's; leave gets enter's result back. */
uintptr_t gs_preempt_handler_enter(void *frame);
void gs_preempt_handler_leave(uintptr_t prev);
/* The SIGURG handler's questions: is this signal a tick of this OS thread's
 * hub, and the tick itself (with the handler's ucontext). */
int gs_preempt_is_tick(const void *siginfo);
void gs_preempt_tick(void *ucontext);
/* The kernel mask never blocks sig from now on (preemption's SIGURG). */
void gs_sig_keep_open(int sig);
/* The running context's own signal mask (kernel format). */
uint64_t gs_sig_current_mask(void);
/* A handler of the program's starts (extra: what its sa_mask and the
 * signal itself add to the thread's mask, as the kernel adds them;
 * interrupted: the mask of the code it interrupted, the ucontext's) and
 * ends (the thread's mask as before it, which the kernel's sigreturn puts
 * back too).  A longjmp out of the handler skips the end: the mask stays
 * with extra in it, as natively (siglongjmp sets its own). */
uint64_t gs_sig_handler_enter(uint64_t extra, uint64_t interrupted);
void gs_sig_handler_leave(uint64_t saved);
/* In a handler: if the running thread blocks sig, mark it pending on the
 * thread (delivered when it unblocks) and return 1. */
int gs_sig_defer_if_blocked(int sig);
/* Around exec: no tick may be left pending for the new program. */
void gs_preempt_exec_begin(void);
void gs_preempt_exec_failed(void);
int gs_setcanceltype(int async, int *old_async);

/* ---- thread-specific data (pthread keys) ---------------------------- */

#define GS_KEYS_MAX 1024
int gs_key_create(unsigned *key, void (*dtor)(void *));
int gs_key_delete(unsigned key);
void *gs_key_get(unsigned key);
int gs_key_set(unsigned key, const void *value);

/* 1 (the preload's default, GREENSHIM_TLS): green threads get
 * thread-local storage and a thread control block of their own, when the
 * first hub is made; 0 (the scheduler's default): the contexts of an OS
 * thread share its TLS.  Read once. */
extern int gs_tls_request;
/* 1 when green threads have TLS of their own (decided with the first hub). */
int gs_tls_per_thread(void);
/* For a glibc call that must run as the OS thread itself (the setxid
 * family: glibc signals every other thread it knows, the OS thread's own
 * TCB among them, and waits until each has changed its ids): installs the
 * OS thread's TCB and returns what to give back to gs_tls_os_tcb_leave
 * (NULL: nothing changed).  Nothing may switch in between. */
void *gs_tls_os_tcb_enter(void);
void gs_tls_os_tcb_leave(void *saved);
/* The calling thread is about to dlopen (see tls.h, gs__tls_dlopened). */
void gs_tls_dlopen_coming(void);
/* The shim is about to make a real thread with glibc's pthread_create:
 * the green TCBs must say "multiple threads" before it runs (glibc's x86
 * atomics skip the lock prefix when the running TCB says otherwise). */
void gs_tls_real_thread_coming(void);
/* A robust mutex glibc has just locked for the running green thread (or
 * handed over with EOWNERDEAD) is moved from its own TCB's robust list to
 * the one the kernel knows, its OS thread's: so the process's death marks
 * it OWNER_DIED for the other processes, as natively. */
void gs_tls_robust_adopt(void *mutex);

/* ---- the syscall trap (preload/trap.c) ------------------------------ */

/* A hub's selector byte, as Syscall User Dispatch reads it. */
enum { GS_SUD_ALLOW = 0, GS_SUD_BLOCK = 1 };
/* Set by the preload when GREENSHIM_SYSCALLS=trap: called on a hub's OS
 * thread, from a green thread, when the hub gets its second thread; arms
 * the trap there with sel as its selector and returns 1, or 0 (not
 * possible: never asked again for that hub). */
extern int (*gs_trap_arm_hook)(volatile unsigned char *sel);
/* This OS thread's selector while the trap is armed on it, else NULL. */
volatile unsigned char *gs_trap_selector(void);
/* The running green thread's trap area: GS_TRAP_AREA bytes, the lowest
 * page a guard, mapped on first use and unmapped with the thread's record;
 * NULL with no green thread running or no memory. */
#define GS_TRAP_AREA (256u << 10)
void *gs_thread_trap_area(void);
/* sigaltstack for the running green thread (its own, altstack.c); sp is
 * the caller's stack pointer (SS_ONSTACK, EPERM).  0 or -errno. */
#include <signal.h>
int gs_sigaltstack(const stack_t *ss, stack_t *old, uintptr_t sp);
/* The running green thread enters (1) or leaves (0) a trapped system call:
 * published, so the inspector shows its wait "via syscall". */
void gs_thread_in_trap(int on);

/* ---- diagnostics ---------------------------------------------------- */

/* GREENSHIM_DEADLOCK: what the hub does when no thread can ever wake. */
enum { GS_DEADLOCK_REPORT = 0, GS_DEADLOCK_ABORT = 1 };
extern int gs_deadlock_action;
/* GREENSHIM_BLOCK_WARN_MS in nanoseconds (0: off): a green thread that
 * runs longer than this without yielding (so the hub and every other green
 * thread of its OS thread wait) is named on stderr with the duration. */
extern uint64_t gs_block_warn_ns;
/* _exit/_Exit and exec: what atexit would have done (the trace written, the
 * published file removed).  Nothing in a vfork child (not the file's pid). */
void gs_process_ending(void);
/* GREENSHIM_TRACE: the file every switch is recorded to (JSON, at exit). */
extern const char *gs_trace_path;
/* Whether a SIGSEGV at addr hit the running green thread's guard page. */
int gs_stack_guard_hit(const void *addr);
/* A SIGSEGV at addr hit the running green thread's guard page: the report
 * is written to stderr and 1 returned. */
int gs_stack_overflow_report(const void *addr);

void gs_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

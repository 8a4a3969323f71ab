/* C++ function-local statics: __cxa_guard_acquire, _release, _abort
 * (thread subsystem).
 *
 * libstdc++ (GCC 11 and later) takes a single-threaded path while glibc's
 * __libc_single_threaded says the process has one thread: a guard found
 * "initialisation in progress" can only be a recursive initialisation,
 * and it throws __gnu_cxx::recursive_init_error.  Under the shim that flag
 * stays set while every green thread runs on one OS thread, so a second
 * thread reaching a static whose initialiser blocks (a sleep, a lock, I/O)
 * or was preempted made the program abort, where natively it waits for the
 * first one to finish.
 *
 * So once the process has made a thread (natively glibc would have cleared
 * the flag for good), acquiring takes libstdc++'s multi-threaded protocol,
 * with the same bits in the guard's first int (GCC's guard.cc, little
 * endian): 1 initialised, 0x100 in progress, 0x10000 someone waits; a
 * waiter sleeps on the word with FUTEX_WAIT, which parks the green thread.
 * Before any thread, acquiring is libstdc++'s own (its recursion check
 * included, as natively).  Releasing and aborting are always the
 * multi-threaded ones (an exchange, and FUTEX_WAKE if someone waits), which
 * are right in either case: libstdc++'s calls to these, its own included,
 * all go through its PLT to the shim. */
#include <dlfcn.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"

#if defined(__x86_64__)

#define GUARD_DONE 0x1
#define GUARD_PENDING 0x100
#define GUARD_WAITING 0x10000

typedef int (*acquire_fn)(int64_t *);

static int real_acquire(int64_t *g)
{
	static acquire_fn real;
	acquire_fn fn = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
	if (!fn) {
		fn = (acquire_fn)dlsym(RTLD_NEXT, "__cxa_guard_acquire");
		if (!fn)
			return -1; /* no libstdc++ behind us: the protocol below */
		__atomic_store_n(&real, fn, __ATOMIC_RELEASE);
	}
	return fn(g);
}

static void wait_while(_Atomic int *word, int value)
{
	syscall(SYS_futex, word, FUTEX_WAIT, value, NULL, NULL, 0); /* greened: parks */
}

GS_EXPORT int __cxa_guard_acquire(int64_t *g)
{
	_Atomic int *word = (_Atomic int *)(void *)g;
	if (atomic_load_explicit((_Atomic unsigned char *)(void *)g, memory_order_acquire) & GUARD_DONE)
		return 0;
	if (!gs_thread_on() || !atomic_load_explicit(&gs_threads_made, memory_order_relaxed)) {
		int r = real_acquire(g);
		if (r >= 0)
			return r;
	}
	for (;;) {
		int seen = 0;
		if (atomic_compare_exchange_strong_explicit(word, &seen, GUARD_PENDING, memory_order_acq_rel,
							    memory_order_acquire))
			return 1; /* this thread initialises */
		if (seen == GUARD_DONE)
			return 0;
		if (seen == GUARD_PENDING) {
			int waiting = GUARD_PENDING | GUARD_WAITING;
			if (!atomic_compare_exchange_strong_explicit(word, &seen, waiting, memory_order_acq_rel,
								     memory_order_acquire)) {
				if (seen == GUARD_DONE)
					return 0;
				if (seen == 0)
					continue; /* aborted meanwhile: try to take it */
			}
			seen = waiting;
		}
		wait_while(word, seen);
	}
}

static void finish(int64_t *g, int value)
{
	_Atomic int *word = (_Atomic int *)(void *)g;
	int old = atomic_exchange_explicit(word, value, memory_order_acq_rel);
	if (old & GUARD_WAITING)
		syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

GS_EXPORT void __cxa_guard_release(int64_t *g)
{
	finish(g, GUARD_DONE);
}

GS_EXPORT void __cxa_guard_abort(int64_t *g)
{
	finish(g, 0);
}

#endif

/* glibc's process-shared objects, greened (pshared.c, shared_wait.c). */
#ifndef GS_PSHARED_H
#define GS_PSHARED_H

#include <pthread.h>
#include <semaphore.h>

#include "gs.h"

/* Parks the calling green thread until a FUTEX_WAKE on addr (from any
 * process), *addr != val, the deadline, or a signal or cancellation as
 * interruptible says (GS_INTR_* | GS_WAIT_CANCELLABLE, as gs_wait).
 * Returns how the wait ended (GS_WOKEN: look again), with the waiter's
 * interrupted mark in *interrupted; -1 when no watcher thread could be
 * had (the caller then waits in the kernel: gs_shared_wait_os). */
int gs_shared_wait(const void *addr, unsigned val, int private, const struct gs_deadline *d,
		   int interruptible, int *interrupted);
/* The kernel's FUTEX_WAIT_BITSET, blocking the OS thread: 0, or the
 * error number (ETIMEDOUT, EINTR, EAGAIN). */
int gs_shared_wait_os(const void *addr, unsigned val, int private, const struct gs_deadline *d);
void gs_shared_wake(const void *addr, int n, int private);

/* A blocking glibc call made on a helper OS thread while the green
 * thread parks (helper_call.c).  Embed it first in the call's arguments. */
struct helper_call {
	void (*fn)(struct helper_call *); /* runs on the helper */
	void (*undo)(struct helper_call *); /* on the helper, NULL or: fn's result
					     * is nobody's (the caller had left) */
	struct gs_waiter w;               /* the caller parks on it */
	_Atomic int abandoned;            /* the caller left: fn gives back what it got */
	_Atomic int done;                 /* set by the helper if the caller left first */
};
/* 0 once fn has run; GS_CANCELED or GS_INTERRUPTED when a cancellation
 * or a signal ended the wait first (fn has returned all the same, and saw
 * `abandoned`; c->w.interrupted is the waiter's mark); -1 when no helper
 * could be started (the caller makes the call itself).  interruptible: as
 * gs_wait's (GS_INTR_* | GS_WAIT_CANCELLABLE). */
int gs_helper_call(struct helper_call *c, int interruptible, unsigned describe_kind, const void *object);

/* 1 when pshared.c runs this process-shared mutex for a green thread:
 * shared, not robust, not a priority protocol, caller able to park. */
int gs_pshared_mutex(pthread_mutex_t *m);
/* pthread_mutex_lock/trylock/timedlock (d: the deadline, NULL: none). */
int gs_pshared_mutex_lock(pthread_mutex_t *m, const struct gs_deadline *d, int try);
int gs_pshared_mutex_unlock(pthread_mutex_t *m);
/* Around glibc's own wait on a process-shared condvar: the owner glibc
 * checks and writes is the kernel tid; ours is the green thread's. */
void gs_pshared_mutex_to_glibc(pthread_mutex_t *m);
void gs_pshared_mutex_from_glibc(pthread_mutex_t *m);

/* sem_wait & co. on a process-shared semaphore (sem_open's included):
 * 0, or -1 with errno. */
int gs_pshared_sem_wait(sem_t *s, const struct gs_deadline *d);
/* pthread_barrier_wait on a process-shared barrier. */
int gs_pshared_barrier_wait(pthread_barrier_t *b);
/* pthread_cond_*wait on a process-shared condvar with a mutex of ours
 * (gs_pshared_mutex); d: the deadline on the clock the call uses. */
int gs_pshared_cond_wait(pthread_cond_t *cv, pthread_mutex_t *m, const struct gs_deadline *d);
/* pthread_rwlock_* on a process-shared rwlock. */
int gs_pshared_rwlock_lock(pthread_rwlock_t *rw, int write, int try, const struct gs_deadline *d);
int gs_pshared_rwlock_unlock(pthread_rwlock_t *rw);

#endif

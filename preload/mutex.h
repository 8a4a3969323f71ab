/* Green mutexes in the memory of a pthread_mutex_t (used by cond.c too). */
#ifndef GS_MUTEX_H
#define GS_MUTEX_H

#include <pthread.h>

#include "gs.h"

/* Our layout inside the 40 bytes of a pthread_mutex_t.  `kind` stays where
 * glibc keeps __kind, because the static initialisers
 * (PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP, ...) write the type there; all
 * zeroes is an unlocked default mutex, as in glibc.  A process-shared
 * mutex (PSHARED bit in kind) stays in glibc's format and goes to glibc. */
struct gs_mutex {
	_Atomic int word;           /* 0 free, 1 locked, 2 locked and maybe waited for */
	unsigned count;             /* recursive: extra lock depth */
	_Atomic int owner;          /* owner's gs_thread_id, 0 when free */
	_Atomic int qlock;          /* spinlock over waiters */
	int kind;                   /* glibc's __kind: type | flag bits */
	int pad;
	struct gs_waitq waiters;    /* FIFO; the head is handed the lock */
};

#define GS_MUTEX_KIND_MASK 3        /* PTHREAD_MUTEX_KIND_MASK_NP */
#define GS_MUTEX_ROBUST 16          /* PTHREAD_MUTEX_ROBUST_NORMAL_NP */
#define GS_MUTEX_PRIO_INHERIT 32
#define GS_MUTEX_PRIO_PROTECT 64
#define GS_MUTEX_PSHARED 128        /* PTHREAD_MUTEX_PSHARED_BIT */
#define GS_MUTEX_DESTROYED (-1)     /* glibc marks a destroyed mutex so */

int gs__mutex_lock(struct gs_mutex *m, const struct gs_deadline *d);
int gs__mutex_unlock(struct gs_mutex *m);
/* Any mutex past the fast paths: ours, a process-shared one pshared.c
 * runs, or glibc's (a robust one then goes on the kernel's robust list). */
int gs__mutex_lock_any(pthread_mutex_t *m);
int gs__mutex_unlock_any(pthread_mutex_t *m);

/* Fast paths first (STYLE.md): a default private mutex, free, taken by a
 * thread that already has a record; released with nobody waiting.  1 when
 * done, 0 when the caller must take the general path. */
static inline int gs__mutex_lock_fast(struct gs_mutex *m)
{
	int self = gs__current_id;
	if (gs_likely(m->kind == 0 && self && gs_cas(&m->word, 0, 1))) {
		atomic_store_explicit(&m->owner, self, memory_order_relaxed);
		return 1;
	}
	return 0;
}

static inline int gs__mutex_unlock_fast(struct gs_mutex *m)
{
	if (gs_likely(m->kind == 0)) {
		atomic_store_explicit(&m->owner, 0, memory_order_relaxed);
		return gs_likely(gs_cas(&m->word, 1, 0));
	}
	return 0;
}

#endif

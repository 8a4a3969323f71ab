/* pthread_once, call_once and pthread keys / C11 tss (thread subsystem).
 *
 * Once: the word goes 0 -> IN_PROGRESS (the thread that runs init) ->
 * DONE.  Threads arriving meanwhile wait on one process-wide queue, woken
 * all together when any once completes (completions are rare). */
#include <errno.h>

#include "config.h"
#include "real.h"

#define IN_PROGRESS 1
#define DONE 2

static _Atomic int once_qlock;
static struct gs_waitq once_waiters;

/* Sets the word and wakes every waiter (they re-check their own word). */
static void publish(_Atomic int *word, int value)
{
	gs_spin_lock(&once_qlock);
	atomic_store_explicit(word, value, memory_order_release);
	struct gs_waiter *w;
	while ((w = gs_waitq_pop(&once_waiters)))
		gs_waiter_wake(w, GS_WOKEN);
	gs_spin_unlock(&once_qlock);
}

/* If init is cancelled, calls pthread_exit or throws, the once goes back
 * to "not done" and the next caller runs init (POSIX, glibc).  This file
 * is compiled with -fexceptions so that the cleanup runs while unwinding. */
struct once_guard {
	_Atomic int *word;
	int done;
};

static void once_abandoned(struct once_guard *g)
{
	if (!g->done)
		publish(g->word, 0);
}

static int once(_Atomic int *word, void (*init)(void))
{
	for (;;) {
		int v = atomic_load_explicit(word, memory_order_acquire);
		if (v == DONE)
			return 0;
		if (v == 0 && atomic_compare_exchange_strong(word, &v, IN_PROGRESS)) {
			struct once_guard guard __attribute__((cleanup(once_abandoned))) = { word, 0 };
			init();
			guard.done = 1;
			publish(word, DONE);
			return 0;
		}
		struct gs_waiter w;
		gs_waiter_init(&w);
		gs_waiter_describe(&w, GS_PW_ONCE, word, 0);
		gs_spin_lock(&once_qlock);
		if (atomic_load_explicit(word, memory_order_acquire) != IN_PROGRESS) {
			gs_spin_unlock(&once_qlock);
			continue;
		}
		gs_waitq_push(&once_waiters, &once_qlock, &w);
		gs_spin_unlock(&once_qlock);
		gs_wait(&w, NULL, 0);
	}
}

GS_EXPORT int pthread_once(pthread_once_t *o, void (*init)(void))
{
	if (!gs_thread_on())
		return GS_REAL(pthread_once)(o, init);
	return once((_Atomic int *)o, init);
}

GS_EXPORT void call_once(once_flag *o, void (*init)(void))
{
	if (!gs_thread_on()) {
		GS_REAL(call_once)(o, init);
		return;
	}
	once((_Atomic int *)&o->__data, init);
}

/* ---- keys ------------------------------------------------------------ */

GS_EXPORT int pthread_key_create(pthread_key_t *key, void (*dtor)(void *))
{
	if (!gs_thread_on())
		return GS_REAL(pthread_key_create)(key, dtor);
	unsigned k;
	int rc = gs_key_create(&k, dtor);
	if (rc)
		return -rc;
	*key = k;
	return 0;
}

GS_EXPORT int pthread_key_delete(pthread_key_t key)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_key_delete)(key);
	return -gs_key_delete(key);
}

GS_EXPORT void *pthread_getspecific(pthread_key_t key)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_getspecific)(key);
	return gs_key_get(key);
}

GS_EXPORT int pthread_setspecific(pthread_key_t key, const void *value)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_setspecific)(key, value);
	return -gs_key_set(key, value);
}

GS_EXPORT int tss_create(tss_t *key, tss_dtor_t dtor)
{
	if (!gs_thread_on())
		return GS_REAL(tss_create)(key, dtor);
	unsigned k;
	if (gs_key_create(&k, dtor))
		return thrd_error;
	*key = k;
	return thrd_success;
}

GS_EXPORT void *tss_get(tss_t key)
{
	if (!gs_thread_on())
		return GS_REAL(tss_get)(key);
	return gs_key_get(key);
}

GS_EXPORT int tss_set(tss_t key, void *value)
{
	if (!gs_thread_on())
		return GS_REAL(tss_set)(key, value);
	return gs_key_set(key, value) ? thrd_error : thrd_success;
}

GS_EXPORT void tss_delete(tss_t key)
{
	if (!gs_thread_on()) {
		GS_REAL(tss_delete)(key);
		return;
	}
	gs_key_delete(key);
}

/* C11 threads (thread subsystem).  glibc implements thrd_*, mtx_* and
 * cnd_* by calling its pthread functions directly, past any interposer, so
 * each C11 entry point is interposed on its own and mapped onto ours with
 * glibc's error mapping (thrd_err_map). */
#include <errno.h>
#include <stdint.h>

#include "config.h"
#include "real.h"

int gs__create(pthread_t *out, const pthread_attr_t *attr, void *(*fn)(void *), void *arg, int c11);

static int err_map(int e)
{
	switch (e) {
	case 0:
		return thrd_success;
	case ENOMEM:
		return thrd_nomem;
	case ETIMEDOUT:
		return thrd_timedout;
	case EBUSY:
		return thrd_busy;
	default:
		return thrd_error;
	}
}

GS_EXPORT int thrd_create(thrd_t *thr, thrd_start_t fn, void *arg)
{
	if (!gs_thread_on())
		return GS_REAL(thrd_create)(thr, fn, arg);
	return err_map(gs__create((pthread_t *)thr, NULL, (void *(*)(void *))(void (*)(void))fn, arg, 1));
}

GS_EXPORT int thrd_join(thrd_t thr, int *res)
{
	if (!gs_thread_on())
		return GS_REAL(thrd_join)(thr, res);
	void *r;
	int e = pthread_join((pthread_t)thr, &r);
	if (e == 0 && res)
		*res = (int)(intptr_t)r;
	return err_map(e);
}

GS_EXPORT _Noreturn void thrd_exit(int res)
{
	if (!gs_thread_on())
		GS_REAL(thrd_exit)(res);
	pthread_exit((void *)(intptr_t)res);
}

GS_EXPORT int thrd_detach(thrd_t thr)
{
	if (!gs_thread_on())
		return GS_REAL(thrd_detach)(thr);
	return err_map(pthread_detach((pthread_t)thr));
}

GS_EXPORT thrd_t thrd_current(void)
{
	if (!gs_thread_on())
		return GS_REAL(thrd_current)();
	return (thrd_t)pthread_self();
}

GS_EXPORT int thrd_equal(thrd_t a, thrd_t b)
{
	return a == b;
}

GS_EXPORT void thrd_yield(void)
{
	sched_yield();
}

GS_EXPORT int mtx_init(mtx_t *m, int type)
{
	if (!gs_thread_on())
		return GS_REAL(mtx_init)(m, type);
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	switch (type) {
	case mtx_plain | mtx_recursive:
	case mtx_timed | mtx_recursive:
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
		break;
	case mtx_plain:
	case mtx_timed:
		break;
	default:
		return thrd_error;
	}
	int e = pthread_mutex_init((pthread_mutex_t *)m, &a);
	pthread_mutexattr_destroy(&a);
	return err_map(e);
}

GS_EXPORT int mtx_lock(mtx_t *m)
{
	if (!gs_thread_on())
		return GS_REAL(mtx_lock)(m);
	return err_map(pthread_mutex_lock((pthread_mutex_t *)m));
}

GS_EXPORT int mtx_timedlock(mtx_t *__restrict m, const struct timespec *__restrict t)
{
	if (!gs_thread_on())
		return GS_REAL(mtx_timedlock)(m, t);
	return err_map(pthread_mutex_timedlock((pthread_mutex_t *)m, t));
}

GS_EXPORT int mtx_trylock(mtx_t *m)
{
	if (!gs_thread_on())
		return GS_REAL(mtx_trylock)(m);
	return err_map(pthread_mutex_trylock((pthread_mutex_t *)m));
}

GS_EXPORT int mtx_unlock(mtx_t *m)
{
	if (!gs_thread_on())
		return GS_REAL(mtx_unlock)(m);
	return err_map(pthread_mutex_unlock((pthread_mutex_t *)m));
}

GS_EXPORT void mtx_destroy(mtx_t *m)
{
	if (!gs_thread_on()) {
		GS_REAL(mtx_destroy)(m);
		return;
	}
	pthread_mutex_destroy((pthread_mutex_t *)m);
}

GS_EXPORT int cnd_init(cnd_t *c)
{
	if (!gs_thread_on())
		return GS_REAL(cnd_init)(c);
	return err_map(pthread_cond_init((pthread_cond_t *)c, NULL));
}

GS_EXPORT int cnd_signal(cnd_t *c)
{
	if (!gs_thread_on())
		return GS_REAL(cnd_signal)(c);
	return err_map(pthread_cond_signal((pthread_cond_t *)c));
}

GS_EXPORT int cnd_broadcast(cnd_t *c)
{
	if (!gs_thread_on())
		return GS_REAL(cnd_broadcast)(c);
	return err_map(pthread_cond_broadcast((pthread_cond_t *)c));
}

GS_EXPORT int cnd_wait(cnd_t *c, mtx_t *m)
{
	if (!gs_thread_on())
		return GS_REAL(cnd_wait)(c, m);
	return err_map(pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m));
}

GS_EXPORT int cnd_timedwait(cnd_t *__restrict c, mtx_t *__restrict m, const struct timespec *__restrict t)
{
	if (!gs_thread_on())
		return GS_REAL(cnd_timedwait)(c, m, t);
	return err_map(pthread_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, t));
}

GS_EXPORT void cnd_destroy(cnd_t *c)
{
	if (!gs_thread_on()) {
		GS_REAL(cnd_destroy)(c);
		return;
	}
	pthread_cond_destroy((pthread_cond_t *)c);
}

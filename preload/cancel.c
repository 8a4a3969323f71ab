/* Cancellation of green threads (thread subsystem): pthread_cancel,
 * pthread_testcancel, pthread_setcancelstate/type, and the entry points
 * glibc's pthread_cleanup_push/pop macros call.  Deferred cancellation
 * acts at the greened cancellation points: the sleeps, pthread_join,
 * pthread_cond_*wait, sem_*wait, pthread_testcancel. */
#include <errno.h>

#include "config.h"
#include "real.h"

GS_EXPORT int pthread_cancel(pthread_t th)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_cancel)(th);
	struct gs_thread *t = (struct gs_thread *)th;
	if (!gs_is_thread(t))
		return ESRCH;
	struct gs_thread_info i;
	gs_thread_info(t, &i);
	if (i.exited)
		return 0; /* glibc 2.34+: nothing to do, and no error */
	return gs_cancel(t);
}

GS_EXPORT void pthread_testcancel(void)
{
	if (!gs_thread_on()) {
		GS_REAL(pthread_testcancel)();
		return;
	}
	gs_testcancel();
}

GS_EXPORT int pthread_setcancelstate(int state, int *old)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_setcancelstate)(state, old);
	if (state != PTHREAD_CANCEL_ENABLE && state != PTHREAD_CANCEL_DISABLE)
		return EINVAL;
	int was;
	gs_setcancelstate(state == PTHREAD_CANCEL_DISABLE, &was);
	if (old)
		*old = was ? PTHREAD_CANCEL_DISABLE : PTHREAD_CANCEL_ENABLE;
	return 0;
}

GS_EXPORT int pthread_setcanceltype(int type, int *old)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_setcanceltype)(type, old);
	if (type != PTHREAD_CANCEL_DEFERRED && type != PTHREAD_CANCEL_ASYNCHRONOUS)
		return EINVAL;
	int was;
	gs_setcanceltype(type == PTHREAD_CANCEL_ASYNCHRONOUS, &was);
	if (old)
		*old = was ? PTHREAD_CANCEL_ASYNCHRONOUS : PTHREAD_CANCEL_DEFERRED;
	return 0;
}

GS_EXPORT void __pthread_register_cancel(__pthread_unwind_buf_t *buf)
{
	if (!gs_thread_on()) {
		GS_REAL(__pthread_register_cancel)(buf);
		return;
	}
	gs_cleanup_register(buf);
}

GS_EXPORT void __pthread_unregister_cancel(__pthread_unwind_buf_t *buf)
{
	if (!gs_thread_on()) {
		GS_REAL(__pthread_unregister_cancel)(buf);
		return;
	}
	gs_cleanup_unregister(buf);
}

GS_EXPORT _Noreturn void __pthread_unwind_next(__pthread_unwind_buf_t *buf)
{
	if (!gs_thread_on())
		GS_REAL(__pthread_unwind_next)(buf);
	gs_cleanup_next(buf);
}

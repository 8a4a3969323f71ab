/* The shim's own real OS threads (DNS workers, shared-word watchers, the
 * helpers of blocking glibc calls) and the fork handlers that forget them.
 *
 * Each is started with glibc's pthread_create (ours would make a green
 * thread), detached, with every signal blocked so that the program's
 * handlers keep running on its own threads, and after the green TCBs were
 * told that a real thread is coming (gs_tls_real_thread_coming). */
#include <pthread.h>
#include <signal.h>

#include "config.h"
#include "real.h"
#include "real_thread.h"

int gs_start_real_thread(void *(*fn)(void *), void *arg, size_t stack_size)
{
	pthread_attr_t a;
	sigset_t all;
	pthread_t t;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (stack_size)
		pthread_attr_setstacksize(&a, stack_size);
	sigfillset(&all);
	pthread_attr_setsigmask_np(&a, &all);
	gs_tls_real_thread_coming();
	int e = GS_REAL(pthread_create)(&t, &a, fn, arg);
	pthread_attr_destroy(&a);
	return e;
}

void gs_atfork_child_once(_Atomic int *registered, void (*child)(void))
{
	if (!atomic_load_explicit(registered, memory_order_relaxed) && gs_cas(registered, 0, 1))
		pthread_atfork(NULL, NULL, child);
}

/* The shim's own real OS threads (real_thread.c). */
#ifndef GS_REAL_THREAD_H
#define GS_REAL_THREAD_H

#include <stddef.h>

/* Starts fn(arg) on a detached real thread that blocks every signal;
 * stack_size 0: glibc's default.  0, or pthread_create's error number. */
int gs_start_real_thread(void *(*fn)(void *), void *arg, size_t stack_size);
/* Registers child as a pthread_atfork child handler, the first time only
 * (*registered says whether it was). */
void gs_atfork_child_once(_Atomic int *registered, void (*child)(void));

#endif

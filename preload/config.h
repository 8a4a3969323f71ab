/* Which subsystems are greened (GREENSHIM_* environment), and first-use
 * initialisation of the preload. */
#ifndef GS_CONFIG_H
#define GS_CONFIG_H

#include "gs.h"

/* -1 until gs_init() ran, then 0 (opted out) or 1. */
struct gs_config {
	int time, socket, os, select, thread;
	int tls; /* GREENSHIM_TLS: each green thread its own TLS (scheduler/tls.c) */
};
extern struct gs_config gs_cfg;

/* Resolves the real functions and reads the environment, once. */
void gs_init(void);

/* Set in a vfork child, which borrows this thread's memory (vfork.c):
 * the shim stays out of its way. */
extern __thread int gs__vforked __attribute__((tls_model("initial-exec")));

/* The hot path: two loads and predictable branches. */
static inline int gs_flag(const int *flag)
{
	int v = *flag;
	if (gs_likely(v > 0))
		return !gs_unlikely(gs__vforked);
	if (v < 0) {
		gs_init();
		v = *flag;
	}
	return v > 0;
}

static inline int gs_thread_on(void) { return gs_flag(&gs_cfg.thread); }
static inline int gs_time_on(void) { return gs_flag(&gs_cfg.time); }
static inline int gs_socket_on(void) { return gs_flag(&gs_cfg.socket); }
static inline int gs_os_on(void) { return gs_flag(&gs_cfg.os); }
static inline int gs_select_on(void) { return gs_flag(&gs_cfg.select); }

/* GREENSHIM_TPOOL: real worker threads for calls that cannot be greened
 * (DNS); 0 until read: dns.c uses GS_TPOOL_DEFAULT then. */
#define GS_TPOOL_DEFAULT 4
#define GS_TPOOL_MAX 256
extern int gs_tpool_threads;

/* GREENSHIM_SYSCALLS (trap.c): trap the system calls interposers do not
 * see (trap), or not (off). */
enum { GS_TRAP_OFF = 0, GS_TRAP_ON = 1 };
#define GS_TRAP_DEFAULT GS_TRAP_ON
extern int gs_trap_mode;
extern int gs_trap_asked; /* GREENSHIM_SYSCALLS was given */
/* Arms the trap's hook (after the environment is read). */
void gs_trap_setup(void);

/* signal.c, for the trap: the kernel's SIGSYS handler is the trap's from
 * now on; what was installed before (handler, flags, mask as the kernel
 * had them) is the program's.  And a signal that the shim's handler took
 * but is the program's, delivered as if the program's handler were
 * installed itself (its default action when none is). */
#include <signal.h>
#include <stdint.h>
void gs_sig_trap_installed(void *handler, int flags, uint64_t mask);
void gs_sig_to_program(int sig, siginfo_t *si, void *uc);
/* signal.c: the shim's SIGURG handler (preemption ticks, and the kicks
 * that end a lone thread's call in the kernel), installed once. */
void gs__urg_install(void);
/* signal.c: the rt_sigprocmask system call (syscall(2), or trapped): the
 * set as given, glibc's two internal signals too, which only libc's
 * wrappers leave out; 0 or -errno. */
long gs__rt_sigprocmask(int how, const sigset_t *set, sigset_t *old);

#endif

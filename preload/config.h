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

/* The hot path: one load and a predictable branch. */
static inline int gs_flag(const int *flag)
{
	int v = *flag;
	if (gs_likely(v > 0))
		return 1;
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

#endif

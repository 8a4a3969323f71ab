/* A snapshot of a published process for ps and top: each green thread
 * and hub in words and figures, the figures measured over a window
 * between two reads of the counters, and the warnings a person should
 * see first (a thread that does not yield, a hub that does not poll). */
#ifndef GS_SNAPSHOT_H
#define GS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "inspect.h"
#include "symbols.h"

/* The counters that only grow, read at one moment: the window's figures
 * are the differences of two reads. */
struct gs_counters {
	uint64_t t_ns;
	unsigned nslots;
	struct gs_slot_count {
		int32_t id;            /* the slot's thread then (0: free) */
		uint64_t switches, cpu_ns;
	} *slots;
	int32_t hub_tid[GS_PUB_MAX_HUBS];
	uint64_t hub_switches[GS_PUB_MAX_HUBS];
};
int gs_counters_read(struct gs_inspect *in, struct gs_counters *c); /* 0 or -1 (memory) */
void gs_counters_free(struct gs_counters *c);

enum gs_thread_state { GS_TS_RUNNING, GS_TS_READY, GS_TS_WAITING, GS_TS_EXITED };
extern const char *const gs_thread_state_names[];

struct gs_snap_thread {
	int32_t id;
	int32_t hub;                   /* index in the hubs */
	uint32_t flags;                /* GS_PUBT_* */
	enum gs_thread_state state;
	char name[16];                 /* "-" when it has none */
	char wait[144];                /* "read fd 5 (pipe)", "sleep 0.8s left", "-" */
	const char *routine;           /* "worker", "main", "(OS thread)" (symbols' memory) */
	uint64_t switches, cpu_ns;     /* in the window */
	uint64_t preemptions;          /* runs ended by a spent slice, since it started */
	uint64_t stack_size;           /* 0: an OS thread's own stack */
	int64_t stack_used;            /* touched bytes; -1: cannot tell */
};

struct gs_snap_hub {
	unsigned index;
	int32_t tid, running;
	uint64_t switches;             /* in the window */
	uint32_t ready, timers, fds, live;
	uint64_t preemptions;          /* runs it ended by a spent slice, since it started */
	uint64_t since_poll_ns;        /* now - last_poll_ns; UINT64_MAX: never polled */
	uint64_t longest_run_ns;
	int32_t longest_run_id;
};

struct gs_snap {
	int pid;
	char exe[256];
	uint64_t window_ns;            /* between the two counter reads */
	struct gs_snap_thread *threads; /* by id */
	size_t nthreads;
	struct gs_snap_hub hubs[GS_PUB_MAX_HUBS];
	unsigned nhubs;
	char (*warnings)[256];
	size_t nwarnings;
};

/* Builds the snapshot from the live file and two counter reads (before,
 * then after, the window).  pagemap_fd: gs_pagemap_open's, or -1. */
int gs_snap_build(struct gs_inspect *in, struct gs_symbols *syms, int pagemap_fd,
		  const struct gs_counters *before, const struct gs_counters *after,
		  struct gs_snap *out);
void gs_snap_free(struct gs_snap *s);

/* What a thread waits on, in words: "mutex 0x55d0c0 held by 12", "read fd
 * 5 (pipe)", "sleep 0.8s left", ...; a deadline adds the time left. */
char *gs_wait_words(int pid, const struct gs_pub_thread *t, uint64_t now_ns, char *buf,
		    size_t size);

/* A thread's label in warnings and traces: its name, else its routine. */
const char *gs_snap_label(const struct gs_snap_thread *t);

#define GS_WARN_RUN_NS 100000000ULL    /* a run without yielding worth a warning */
#define GS_WARN_POLL_NS 100000000ULL   /* a hub not polling its loop, likewise */

#endif

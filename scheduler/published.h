/* What a process running the shim publishes for `greenshim ps/top/trace`.
 *
 * One file per process, /dev/shm/greenshim-<uid>-<pid>, mode 0600 (only
 * the process's own user reads it or switches its tracing), mapped shared
 * by the process and by the inspector.  The process writes it as it runs,
 * with no help from its hub, so an inspector can read it while the hub is
 * stuck.  Readers see fields change under them: every field is a naturally
 * aligned word written in one store, and a snapshot may mix two moments
 * (good enough for a person reading ps or top).  Created at the first hub,
 * unlinked at exit; a file whose pid no longer runs is a crash's leftover
 * and is removed by the next process or inspector of the same user.
 *
 * Layout: header (GS_PUB_HEADER_SIZE bytes, with the hub records in it),
 * then max_hubs event rings, then thread slots up to threads_cap (the file
 * grows as threads are made; a reader maps what the file size covers).
 * This header is shared by the shim (scheduler/) and the tool (tools/);
 * a version change means an incompatible layout. */
#ifndef GS_PUBLISHED_H
#define GS_PUBLISHED_H

#include <stdatomic.h>
#include <stdint.h>

#define GS_PUB_MAGIC 0x314d49484e535247ULL /* "GRSNHIM1", little-endian */
#define GS_PUB_VERSION 1
#define GS_PUB_HEADER_SIZE 16384
#define GS_PUB_MAX_HUBS 32
#define GS_PUB_RING_EVENTS 65536 /* per hub; a power of two */
#define GS_PUB_PATH_FMT "/dev/shm/greenshim-%u-%d" /* uid, pid */

/* What a waiting thread waits on (gs_pub_thread.wait_kind, and the reason
 * a run ended in a trace event).  Names: gs_pub_wait_names in the shim,
 * the same table in the tool (published.c). */
enum gs_pub_wait {
	GS_PW_NONE = 0,  /* not waiting (running or ready) */
	GS_PW_YIELD,     /* sched_yield, or the hub's turn after many switches */
	GS_PW_SLEEP,     /* nanosleep and friends: deadline */
	GS_PW_MUTEX,     /* obj, holder */
	GS_PW_COND,      /* obj */
	GS_PW_RWLOCK,    /* obj, holder (a writer) */
	GS_PW_SEM,       /* obj */
	GS_PW_BARRIER,   /* obj */
	GS_PW_ONCE,      /* obj */
	GS_PW_JOIN,      /* holder: the thread joined */
	GS_PW_FUTEX,     /* obj */
	GS_PW_READ,      /* fd: read, recv*, accept */
	GS_PW_WRITE,     /* fd: write, send*, connect */
	GS_PW_POLL,      /* fd: the first of the fds (poll, select, epoll) */
	GS_PW_CHILD,     /* holder: the pid waited for (-1 any) */
	GS_PW_EXIT,      /* the thread exited */
	GS_PW_OFFLOAD,   /* a call running on a worker OS thread (DNS); obj: the function */
	GS_PW_PREEMPT,   /* a trace's reason only: its slice was spent (preempt.c) */
	GS_PW_COUNT
};

/* One per hub (an OS thread that runs green threads), inside the header. */
struct gs_pub_hub {
	_Atomic int32_t tid;             /* its OS thread id; 0: slot unused */
	_Atomic int32_t running;         /* id of the green thread on the CPU; 0: the hub */
	_Atomic uint64_t switches;       /* context switches so far */
	_Atomic uint32_t ready;          /* threads in its ready queue */
	_Atomic uint32_t timers;         /* waits with a deadline */
	_Atomic uint32_t fds;            /* threads waiting for fds */
	_Atomic uint32_t live;           /* its green threads, root included */
	_Atomic uint64_t last_poll_ns;   /* CLOCK_MONOTONIC when it last polled its loop */
	_Atomic uint64_t running_since_ns; /* when `running` got the CPU (while inspected/traced) */
	_Atomic uint64_t longest_run_ns; /* longest run without yielding seen (while inspected/traced) */
	_Atomic int32_t longest_run_id;  /* ... and by whom */
	int32_t pad;
	_Atomic uint64_t ring_head;      /* events ever written to its ring */
	_Atomic uint64_t ring_tail;      /* events the drainer has consumed */
	_Atomic uint64_t preemptions;    /* runs it ended because a slice was spent */
	uint64_t reserved[5];
};

/* A trace event: a context switch on a hub.  `from` stopped running
 * because of `reason` (enum gs_pub_wait, with obj/arg as in gs_pub_thread)
 * and `to` got the CPU, at t_ns (CLOCK_MONOTONIC).  Id 0 is the hub's own
 * context (polling the loop). */
struct gs_pub_event {
	uint64_t t_ns;
	int32_t from, to;
	uint32_t reason;
	int32_t arg;                     /* fd, holder or pid, per reason */
	uint64_t obj;                    /* object address, per reason */
};

/* One per green thread (and per OS thread's original context). */
struct gs_pub_thread {
	_Atomic int32_t id;              /* 0: free slot */
	_Atomic int32_t hub;             /* index in hubs[] */
	_Atomic uint32_t wait_kind;      /* enum gs_pub_wait; NONE: running or ready */
	_Atomic int32_t wait_arg;        /* fd, holder thread id, or pid */
	_Atomic uint64_t wait_obj;       /* object address */
	_Atomic uint64_t wait_until_ns;  /* deadline, CLOCK_MONOTONIC ns; 0: none */
	uint64_t start_routine;          /* address in the process (0: an OS thread's own) */
	_Atomic uint64_t switches;       /* times it got the CPU (while inspected/traced) */
	_Atomic uint64_t cpu_ns;         /* time on the CPU (while inspected/traced) */
	uint64_t stack_lo, stack_size;   /* its stack (0: an OS thread's own) */
	_Atomic uint32_t flags;          /* GS_PUBT_* */
	int32_t pad;
	char name[16];                   /* pthread_setname_np; NUL-terminated */
	_Atomic uint64_t preemptions;    /* times its run was ended because its slice
					  * was spent (always counted) */
	uint64_t reserved[2];
};
/* GS_PUBT_SYSCALL: inside a system call the syscall trap took (its wait,
 * if any, is shown "via syscall"). */
enum { GS_PUBT_ROOT = 1, GS_PUBT_MAIN = 2, GS_PUBT_EXITED = 4, GS_PUBT_DETACHED = 8,
       GS_PUBT_SYSCALL = 16 };

struct gs_pub_header {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;            /* GS_PUB_HEADER_SIZE */
	int32_t pid;
	uint32_t hub_size, event_size, thread_size; /* sizeof the structs above */
	uint32_t max_hubs, ring_events;
	uint64_t rings_offset;           /* from the start of the file */
	uint64_t threads_offset;
	_Atomic uint32_t threads_used;   /* slots ever used (high-water mark) */
	_Atomic uint32_t threads_cap;    /* slots the file holds now */
	_Atomic uint32_t hubs_used;
	_Atomic uint32_t inspectors;     /* > 0: an inspector is attached: CPU time,
					  * switch counts and run lengths are measured */
	_Atomic uint32_t trace;          /* 1: every switch is recorded in the rings */
	_Atomic uint32_t trace_drainer;  /* 0: none; 1: the process (GREENSHIM_TRACE);
					  * 2: an inspector (greenshim trace PID) */
	_Atomic uint64_t inspector_heartbeat_ns; /* an attached inspector's last sign of
					  * life: if it stops for 2 s, the process
					  * forgets it (a killed inspector) */
	uint64_t started_ns;             /* CLOCK_MONOTONIC at creation */
	char exe[256];                   /* /proc/self/exe at creation */
	_Atomic uint64_t tracer_heartbeat_ns; /* the draining inspector's (trace_drainer 2)
					  * own sign of life: 2 s without one and
					  * the process stops tracing */
	uint64_t reserved[15];
	struct gs_pub_hub hubs[GS_PUB_MAX_HUBS];
};

#endif

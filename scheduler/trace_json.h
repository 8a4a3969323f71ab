/* Trace events (scheduler/published.h) as a Chrome trace-event JSON file,
 * which Perfetto (ui.perfetto.dev), chrome://tracing and speedscope show
 * as a timeline: one track per green thread and per hub, one slice per
 * run, each ending with the reason it stopped running, and an arrow from
 * the slice of a thread that woke another to the woken thread's next run.
 *
 * Self-contained so the shim can write the same file for GREENSHIM_TRACE:
 * no stdio (numbers are formatted by hand, output goes out with write(2)
 * from a buffer inside the writer), only malloc for the set of tracks.
 * One process's part, exactly:
 *
 *   {"traceEvents":[                                                    (a new file)
 *   {"ph":"M","name":"process_name","pid":P,"tid":P,"args":{"name":"CMDLINE"}},
 *   {"ph":"M","name":"thread_name","pid":P,"tid":T,"args":{"name":"LABEL"}},
 *   {"ph":"B","pid":P,"tid":T,"ts":US,"name":"run"},
 *   {"ph":"s","pid":P,"tid":T,"ts":US,"name":"mutex","cat":"wake","id":N},
 *   {"ph":"f","pid":P,"tid":T2,"ts":US,"name":"mutex","cat":"wake","id":N},
 *   {"ph":"E","pid":P,"tid":T,"ts":US,"name":"run","args":{"reason":"read","fd":5}},
 *   ...
 *   ],"displayTimeUnit":"ns","otherData":{"greenshim_trace":1,"pid":P...}}   (end)
 *
 * Appended to a file that already holds parts (a process tree, see
 * scheduler/trace.c), a part starts with ",\n" and the process_name
 * event instead of the file's head; end() writes the file's tail once,
 * after the last part.
 *
 * - Slices: each switch closes FROM's slice ("E", skipped if FROM has none
 *   open, as at the start of a trace) with the reason and, as it fits the
 *   reason, "obj" (hex string), "fd", "holder" (a thread id: a mutex or
 *   rwlock's holder, the thread joined) or "pid" (waitpid's argument);
 *   then opens TO's ("B").  A green thread's slices are named "run", a
 *   hub's "hub": the hub's own work (timers, I/O callbacks, scheduling).
 *   An idle period of a hub (it blocks in epoll_wait with nothing ready)
 *   closes its "hub" slice with reason "idle" and opens the next one when
 *   the wait ends: idle time is a gap on the hub's track.  A switch to a
 *   track whose slice is still open (events were lost) closes that slice
 *   first, so "B" and "E" always pair, and "E" always carries the name of
 *   its "B" (speedscope pairs them by name).  end() closes every open
 *   slice at the last timestamp.
 * - Wake-ups: a green thread that ends another's wait (a mutex handed
 *   over, a condvar signalled, a semaphore posted, a join ended by an
 *   exit, ...) is a flow: "s" on the waker's track inside its slice
 *   (a slice is opened there if the trace had none yet: the waker runs),
 *   "f" on the woken thread's track at the same time, bound (no "bp") to
 *   its next slice: the run the wake-up led to.  Both are named after what
 *   the woken thread waited on ("mutex", "cond", "sem", "join", ...), in
 *   category "wake", with an id unique in the file.
 * - Tids: each track gets GS_TRACE_TID_BASE + n, n counting up from
 *   w->next_tid across the whole file (a process tree's parts continue
 *   the count): above any kernel pid or tid (PID_MAX_LIMIT), and unique
 *   across the processes of a file, as Perfetto needs (it names threads
 *   by tid alone).  The labels say which green thread a track is:
 *   "NAME (ID)", "ROUTINE (ID)", "main (ID)", "hub", "hub N".
 * - ts: microseconds with 3 decimals since the first event (w->absolute
 *   0), or of CLOCK_MONOTONIC itself (w->absolute 1: every process of a
 *   tree on one time line).  Never backwards on a track, in file order
 *   (chrome://tracing rejects that): an event that would be is written
 *   at the track's latest time. */
#ifndef GS_TRACE_JSON_H
#define GS_TRACE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "published.h"

/* Events besides switches, in gs_pub_event.reason (beyond enum
 * gs_pub_wait, so an older reader calls them "unknown"): */
enum {
	/* from woke to: to's wait (kind arg, object obj) ended */
	GS_TRACE_EV_WAKE = 0x100,
	/* the hub (from = to = 0) sat in epoll_wait from t_ns to obj (ns) */
	GS_TRACE_EV_IDLE = 0x101,
};

#define GS_TRACE_TID_BASE 4194304 /* PID_MAX_LIMIT: no kernel task has such an id */

struct gs_trace_track {                /* open addressing by key */
	int64_t key;                   /* green id (> 0), or -(hub + 1) */
	uint32_t tid;                  /* in the file */
	uint8_t used, open;            /* open: a "B" without its "E" yet */
	uint64_t last_ns;              /* the latest time written on it */
};

/* Labels of green threads, asked for when a thread's track is made:
 * writes "NAME (ID)" or the like into buf and returns buf, or NULL for
 * "thread (ID)". */
typedef const char *gs_trace_label_fn(void *ctx, unsigned hub, int32_t id, char *buf, size_t size);

struct gs_trace_json {
	int fd, pid;
	int err;                       /* errno of the first failure; then nothing more is written */
	/* Set between init and begin (init's defaults in brackets): */
	int append;                    /* [0] the file holds parts already: no head */
	int absolute;                  /* [0] ts on CLOCK_MONOTONIC, not since the first event */
	uint32_t next_tid;             /* [0] tids GS_TRACE_TID_BASE + next_tid + 1, ... */
	uint64_t next_flow;            /* [0] flow ids next_flow + 1, ... */
	gs_trace_label_fn *label;      /* [NULL: "thread (ID)"] */
	void *label_ctx;
	int tail_pid;                  /* [0: pid] otherData.pid in the tail */
	/* Counts, for the caller's messages: */
	uint64_t switches, wakes;
	int have_base;                 /* base_ns is the first event's time */
	uint64_t base_ns, last_ns;     /* last_ns: the latest event's time */
	struct gs_trace_track *tracks;
	size_t tracks_cap, tracks_n;
	size_t len;                    /* bytes waiting in buf */
	char buf[65536];
};

/* Each returns 0, or -1 with errno (the first failure sticks: later calls
 * do nothing and fail alike).  end frees the writer's memory and, when
 * `tail` is not 0, writes the file's tail with `other` ("" or members
 * ",\"k\":v" to add to otherData after "pid"); the caller closes fd.
 * After end, next_tid and next_flow say where a following part goes on. */
void gs_trace_json_init(struct gs_trace_json *w, int fd, int pid);
int gs_trace_json_begin(struct gs_trace_json *w, const char *process_name);
int gs_trace_json_event(struct gs_trace_json *w, unsigned hub, const struct gs_pub_event *ev);
int gs_trace_json_end(struct gs_trace_json *w, int tail, const char *other);

/* The word for a reason (enum gs_pub_wait): "read", "mutex", "cond",
 * "waitpid", ...; "unknown" past the table.  ps uses the same words. */
const char *gs_trace_reason_name(unsigned reason);

#endif

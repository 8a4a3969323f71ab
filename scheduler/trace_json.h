/* Trace events (scheduler/published.h) as a Chrome trace-event JSON file,
 * which Perfetto (ui.perfetto.dev) and chrome://tracing show as a
 * timeline: one track per green thread, one slice per run, each ending
 * with the reason it stopped running.
 *
 * Self-contained so the shim can write the same file for GREENSHIM_TRACE:
 * no stdio (numbers are formatted by hand, output goes out with write(2)
 * from a buffer inside the writer), only malloc for the set of open
 * slices.  The file, exactly:
 *
 *   {"traceEvents":[
 *   {"ph":"M","name":"process_name","pid":P,"tid":0,"args":{"name":"greenshim PID P"}},
 *   {"ph":"M","name":"thread_name","pid":P,"tid":ID,"args":{"name":"LABEL"}},   (thread_meta)
 *   {"ph":"E","pid":P,"tid":FROM,"ts":US,"args":{"reason":"read","fd":5}},     (event)
 *   {"ph":"B","pid":P,"tid":TO,"ts":US,"name":"run"},
 *   ...
 *   ],"displayTimeUnit":"ns","otherData":{"greenshim_trace":1,"pid":P}}
 *
 * ts: microseconds with 3 decimals since the first event given.  Each
 * switch closes FROM's run ("E", skipped if FROM has no run open, as at
 * the start of a trace) with the reason and, as it fits the reason, "obj"
 * (hex string), "fd", "holder" (a thread id: a mutex or rwlock's holder,
 * the thread joined) or "pid" (waitpid's argument); then opens TO's ("B").
 * A switch to a thread whose run is still open (events were lost) closes
 * that run first, so "B" and "E" always pair.  The end closes every open
 * run at the last timestamp.
 *
 * Tids: green thread ids as published; a hub's own context (id 0 in the
 * events) is tid 0 for hub 0 (label "hub"), -N for hub N. */
#ifndef GS_TRACE_JSON_H
#define GS_TRACE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "published.h"

struct gs_trace_json {
	int fd, pid;
	int err;                       /* errno of the first failure; then nothing more is written */
	int have_base;                 /* base_ns is the first event's time */
	uint64_t base_ns, last_ns;     /* last_ns: the latest event's time */
	struct gs_trace_tid {          /* tids seen, open addressing by tid */
		int32_t tid;
		uint8_t used, open;    /* open: a "B" without its "E" yet */
	} *tids;
	size_t tids_cap, tids_n;
	size_t len;                    /* bytes waiting in buf */
	char buf[65536];
};

/* Each returns 0, or -1 with errno (the first failure sticks: later calls
 * do nothing and fail alike).  end frees the writer's memory; the caller
 * closes fd. */
int gs_trace_json_begin(struct gs_trace_json *w, int fd, int pid);
int gs_trace_json_thread_meta(struct gs_trace_json *w, int32_t tid, const char *label);
int gs_trace_json_event(struct gs_trace_json *w, unsigned hub, const struct gs_pub_event *ev);
int gs_trace_json_end(struct gs_trace_json *w);

/* The tid of hub N's own context: 0, -1, -2, ... */
static inline int32_t gs_trace_hub_tid(unsigned hub)
{
	return -(int32_t)hub;
}

/* The word for a reason (enum gs_pub_wait): "read", "mutex", "cond",
 * "waitpid", ...; "unknown" past the table.  ps uses the same words. */
const char *gs_trace_reason_name(unsigned reason);

#endif

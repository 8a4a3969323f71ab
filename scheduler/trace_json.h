/* Writing switch events (published.h) as a Chrome trace-event JSON file,
 * which Perfetto and chrome://tracing open as a timeline: one track per
 * green thread (tid = its id, 0 = the hub's own context), a slice "run"
 * per time on the CPU, ended with the reason it stopped:
 *
 *   {"traceEvents":[
 *   {"ph":"M","name":"process_name","pid":P,"tid":0,"args":{"name":"greenshim PID P"}},
 *   {"ph":"M","name":"thread_name","pid":P,"tid":ID,"args":{"name":"LABEL"}},
 *   {"ph":"E","pid":P,"tid":FROM,"ts":US,"args":{"reason":"read","fd":5}},
 *   {"ph":"B","pid":P,"tid":TO,"ts":US,"name":"run"},
 *   ...],"displayTimeUnit":"ns","otherData":{"greenshim_trace":1,"pid":P}}
 *
 * ts: microseconds with 3 decimals from the first event.  An "E" is only
 * written for a thread with an open "B"; every open slice is closed at the
 * end.  Output goes through write(2) on a raw system call (the shim's own
 * write is interposed). */
#ifndef GS_TRACE_JSON_H
#define GS_TRACE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "published.h"

struct gs_trace_json {
	int fd, pid, err, any;
	uint64_t t0, last;
	int *open;              /* hash set of tids with an open "B" (0 = empty, ids are > 0) */
	size_t open_cap, open_n;
	int hub_open;           /* tid 0 (the hub) has an open "B" */
	size_t n;
	char buf[1 << 16];
};

void gs_trace_json_begin(struct gs_trace_json *j, int fd, int pid);
void gs_trace_json_label(struct gs_trace_json *j, int id, const char *label);
void gs_trace_json_event(struct gs_trace_json *j, const struct gs_pub_event *e);
/* 0, or -errno of the first failed write. */
int gs_trace_json_end(struct gs_trace_json *j);
/* Words for a reason (enum gs_pub_wait). */
const char *gs_trace_reason_name(unsigned reason);

#endif

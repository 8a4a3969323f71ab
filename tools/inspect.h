/* The inspector's side of a published process (scheduler/published.h):
 * finding /dev/shm/greenshim-<uid>-<pid> (from the target's maps and uid,
 * not ours: root inspects every user's processes), checking its layout, mapping it,
 * and attaching (header.inspectors, heartbeat) so the process measures
 * CPU time, switch counts and run lengths while we look.
 *
 * The file is written by the process as we read it: every accessor here
 * returns pointers into the live mapping, and a reader copies what it
 * needs with relaxed atomic loads (a snapshot may mix two moments). */
#ifndef GS_INSPECT_H
#define GS_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "published.h"

struct gs_inspect {
	int pid;
	int fd;                        /* the published file, read-write */
	char path[64];
	struct gs_pub_header *hdr;     /* mapping of the whole file ... */
	size_t mapped;                 /* ... as long as it was at the last refresh */
	int attached;                  /* we hold one count of hdr->inspectors */
};

/* Opens and maps the file pid publishes (whatever uid its name carries)
 * after removing stale files (this user's; every user's for root).
 * GS_EXIT_OK, or after one line on stderr GS_EXIT_FAIL (no such process,
 * it does not run the shim, its file was written by an incompatible
 * greenshim) or GS_EXIT_DENIED (the process or its file belongs to
 * another user and we are not root). */
int gs_inspect_open(struct gs_inspect *in, int pid);
/* Detaches if attached, unmaps, closes. */
void gs_inspect_close(struct gs_inspect *in);
/* Maps what the file covers now (it grows as threads are made). */
void gs_inspect_refresh(struct gs_inspect *in);

/* inspectors++ with a fresh heartbeat; the process measures from its next
 * poll on.  The heartbeat must be renewed well within 2 s (the process
 * forgets an inspector that stopped beating); gs_inspect_heartbeat also
 * counts us in again if the process forgot us meanwhile. */
void gs_inspect_attach(struct gs_inspect *in);
void gs_inspect_heartbeat(struct gs_inspect *in);
void gs_inspect_detach(struct gs_inspect *in);
/* Sleeps ns, beating at least every 250 ms; -1 if the tool is stopping. */
int gs_inspect_sleep(struct gs_inspect *in, uint64_t ns);

/* Hub records in use may be anywhere below this bound (tid 0: unused). */
unsigned gs_inspect_hub_bound(const struct gs_inspect *in);
static inline struct gs_pub_hub *gs_inspect_hub(const struct gs_inspect *in, unsigned i)
{
	return &in->hdr->hubs[i];
}
/* Thread slots that may be in use and lie inside the mapping (id 0: free). */
unsigned gs_inspect_slot_bound(const struct gs_inspect *in);
static inline struct gs_pub_thread *gs_inspect_slot(const struct gs_inspect *in, unsigned i)
{
	return (struct gs_pub_thread *)((char *)in->hdr + in->hdr->threads_offset) + i;
}
static inline struct gs_pub_event *gs_inspect_ring(const struct gs_inspect *in, unsigned hub)
{
	return (struct gs_pub_event *)((char *)in->hdr + in->hdr->rings_offset) +
	       (size_t)hub * in->hdr->ring_events;
}

/* Unlinks this user's files (every user's, for root) whose process no
 * longer exists. */
void gs_inspect_remove_stale(void);
/* Pids of this user's published processes (every user's, for root),
 * ascending, each once (after removing stale files); *pids is malloc'ed;
 * the count, or -1. */
int gs_inspect_list(int **pids);

/* CLOCK_MONOTONIC in ns: the clock of every time in the file. */
uint64_t gs_now_ns(void);

#endif

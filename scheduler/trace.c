/* Measuring and recording switches while someone watches (published.h).
 *
 * A hub is "watched" while an inspector is attached or a trace is on (it
 * reads the header at each poll).  Then every switch reads the clock,
 * charges the time to the thread leaving the CPU, counts the one getting
 * it, and, with tracing on, appends an event to the hub's ring.  The ring
 * is drained by whoever the header names: an inspector (greenshim trace
 * PID), or the process itself when GREENSHIM_TRACE names a file, into a
 * temporary file that becomes the JSON trace at exit.  Unwatched, a switch
 * pays one store, one add and one branch.
 *
 * The ring's writer never waits: if the drainer falls behind by more than
 * the ring's size, the oldest events are overwritten and the drainer
 * counts them as lost. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"
#include "rawsys.h"
#include "trace_json.h"

static struct gs_pub_event *ring_of(struct gs_hub *h)
{
	return (struct gs_pub_event *)((char *)gs__pub + gs__pub->rings_offset) +
	       (size_t)h->pub_index * GS_PUB_RING_EVENTS;
}

void gs__pub_switch_watched(struct gs_hub *h, struct gs_thread *prev, struct gs_thread *next,
			    unsigned reason)
{
	struct gs_pub_hub *p = h->pub;
	uint64_t now = gs__mono_ns();
	uint64_t since = atomic_load_explicit(&p->running_since_ns, memory_order_relaxed);
	if (since && now > since) {
		uint64_t ran = now - since;
		struct gs_pub_thread *s = prev->pub;
		atomic_store_explicit(&s->cpu_ns, atomic_load_explicit(&s->cpu_ns, memory_order_relaxed) + ran,
				      memory_order_relaxed);
		if (prev->pub_id && ran > atomic_load_explicit(&p->longest_run_ns, memory_order_relaxed)) {
			atomic_store_explicit(&p->longest_run_ns, ran, memory_order_relaxed);
			atomic_store_explicit(&p->longest_run_id, prev->pub_id, memory_order_relaxed);
		}
	}
	struct gs_pub_thread *n = next->pub;
	atomic_store_explicit(&n->switches, atomic_load_explicit(&n->switches, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&p->running_since_ns, now, memory_order_relaxed);
	if (!gs__pub || h->pub_index < 0 || !atomic_load_explicit(&gs__pub->trace, memory_order_relaxed))
		return;
	/* The reason prev stopped: the wait it is in, else what the caller
	 * says (a yield, an exit). */
	struct gs_pub_thread *ps = prev->pub;
	unsigned kind = atomic_load_explicit(&ps->wait_kind, memory_order_relaxed);
	uint64_t head = atomic_load_explicit(&p->ring_head, memory_order_relaxed);
	struct gs_pub_event *e = &ring_of(h)[head & (GS_PUB_RING_EVENTS - 1)];
	e->t_ns = now;
	e->from = prev->pub_id;
	e->to = next->pub_id;
	if (reason == GS_PW_EXIT || kind == GS_PW_NONE) {
		e->reason = reason != GS_PW_NONE ? reason : prev->pub_id ? GS_PW_YIELD : GS_PW_NONE;
		e->arg = 0;
		e->obj = 0;
	} else {
		e->reason = kind;
		e->arg = atomic_load_explicit(&ps->wait_arg, memory_order_relaxed);
		e->obj = atomic_load_explicit(&ps->wait_obj, memory_order_relaxed);
	}
	atomic_store_explicit(&p->ring_head, head + 1, memory_order_release);
}

/* ---- GREENSHIM_TRACE: the process records itself ------------------------- */

const char *gs_trace_path;
static int tmp_fd = -1;                 /* drained events, O_APPEND */
static uint64_t lost;                   /* events overwritten before drained */
static _Atomic int label_lock;
static struct label {
	int id;
	uint64_t start;
	char name[16];
} *labels;                              /* threads gone while tracing */
static size_t labels_n, labels_cap;

struct chunk {
	uint32_t hub, n;
};

/* Moves h's undrained events to the temporary file. */
static void drain(struct gs_hub *h)
{
	struct gs_pub_hub *p = h->pub;
	uint64_t head = atomic_load_explicit(&p->ring_head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&p->ring_tail, memory_order_relaxed);
	if (head - tail > GS_PUB_RING_EVENTS) {
		lost += head - tail - GS_PUB_RING_EVENTS;
		tail = head - GS_PUB_RING_EVENTS;
	}
	struct gs_pub_event *ring = ring_of(h);
	while (tail < head) {
		uint64_t at = tail & (GS_PUB_RING_EVENTS - 1);
		uint64_t n = head - tail;
		if (n > GS_PUB_RING_EVENTS - at)
			n = GS_PUB_RING_EVENTS - at;
		/* A chunk: which hub, how many events, the events (one write,
		 * O_APPEND: hubs on other OS threads never split it). */
		struct chunk c = { .hub = (uint32_t)h->pub_index, .n = (uint32_t)n };
		struct iovec v[2] = { { &c, sizeof c }, { &ring[at], n * sizeof *ring } };
		gs__sys(SYS_writev, tmp_fd, (long)v, 2, 0, 0, 0);
		tail += n;
	}
	atomic_store_explicit(&p->ring_tail, tail, memory_order_release);
}

void gs__trace_poll(struct gs_hub *h)
{
	if (gs_likely(tmp_fd < 0) || h->pub_index < 0)
		return;
	struct gs_pub_hub *p = h->pub;
	if (atomic_load_explicit(&p->ring_head, memory_order_relaxed) -
		    atomic_load_explicit(&p->ring_tail, memory_order_relaxed) >= GS_PUB_RING_EVENTS / 4)
		drain(h);
}

void gs__trace_thread_gone(struct gs_thread *t)
{
	if (tmp_fd < 0 || !t->pub_id)
		return;
	gs_spin_lock(&label_lock);
	if (labels_n == labels_cap) {
		size_t cap = labels_cap ? labels_cap * 2 : 256;
		struct label *bigger = realloc(labels, cap * sizeof *bigger);
		if (!bigger) {
			gs_spin_unlock(&label_lock);
			return;
		}
		labels = bigger;
		labels_cap = cap;
	}
	struct label *l = &labels[labels_n++];
	l->id = t->pub_id;
	l->start = t->pub->start_routine;
	memcpy(l->name, t->pub->name, sizeof l->name);
	gs_spin_unlock(&label_lock);
}

static char main_name[16]; /* a name only inherited from main says nothing */

/* "NAME (ID)", or the start routine when it is an exported symbol
 * (dladdr sees no static ones: then "file+0xoffset"). */
static void write_label(struct gs_trace_json *j, int id, uint64_t start, const char *name, int main)
{
	char label[200];
	Dl_info info;
	if (!main && name[0] && !strncmp(name, main_name, sizeof main_name))
		name = "";
	if (name[0] || main) {
		snprintf(label, sizeof label, "%s (%d)", name[0] ? name : "main", id);
	} else if (start && dladdr((void *)(uintptr_t)start, &info)) {
		if (info.dli_sname && info.dli_saddr == (void *)(uintptr_t)start) {
			snprintf(label, sizeof label, "%s (%d)", info.dli_sname, id);
		} else {
			const char *file = info.dli_fname ? strrchr(info.dli_fname, '/') : NULL;
			snprintf(label, sizeof label, "%s+%#lx (%d)",
				 file ? file + 1 : info.dli_fname ? info.dli_fname : "?",
				 (unsigned long)(start - (uintptr_t)info.dli_fbase), id);
		}
	} else {
		snprintf(label, sizeof label, "thread %d", id);
	}
	gs_trace_json_thread_meta(j, id, label);
}

/* GREENSHIM_TRACE with each "%p" replaced by the pid: child processes
 * inherit the variable, and would otherwise overwrite one another's file. */
static void expand_path(char *out, size_t size)
{
	size_t n = 0;
	for (const char *c = gs_trace_path; *c && n + 24 < size; c++) {
		if (c[0] == '%' && c[1] == 'p') {
			n += (size_t)snprintf(out + n, size - n, "%d", (int)getpid());
			c++;
		} else {
			out[n++] = *c;
		}
	}
	out[n] = 0;
}

/* A fork child does not record: the temporary file is its parent's. */
void gs__trace_after_fork(void)
{
	if (tmp_fd >= 0)
		close(tmp_fd);
	tmp_fd = -1;
}

/* At exit: the last events, then the JSON file from the temporary one. */
void gs__trace_finish(void)
{
	struct gs_pub_header *hd = gs__pub;
	if (tmp_fd < 0 || !hd || hd->pid != getpid())
		return;
	atomic_store(&hd->trace, 0);
	for (unsigned i = 0; i < hd->hubs_used; i++) {
		struct gs_hub fake = { .pub = &hd->hubs[i], .pub_index = (int)i };
		drain(&fake);
	}
	char path[4096];
	expand_path(path, sizeof path);
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (out < 0) {
		gs_warn("greenshim: GREENSHIM_TRACE=%s: cannot write the trace: %s", gs_trace_path,
			strerror(errno));
		close(tmp_fd);
		tmp_fd = -1;
		return;
	}
	struct gs_trace_json *j = malloc(sizeof *j);
	if (!j) {
		close(out);
		return;
	}
	gs_trace_json_begin(j, out, hd->pid);
	gs_trace_json_thread_meta(j, 0, "hub");
	struct gs_pub_thread *slots = (struct gs_pub_thread *)((char *)hd + hd->threads_offset);
	/* the kernel's name of the process: what threads inherit */
	extern char *program_invocation_short_name;
	snprintf(main_name, sizeof main_name, "%s", program_invocation_short_name);
	for (uint32_t i = 0; i < hd->threads_used; i++)
		if (slots[i].id)
			write_label(j, slots[i].id, slots[i].start_routine, slots[i].name,
				    slots[i].flags & GS_PUBT_MAIN);
	for (size_t i = 0; i < labels_n; i++)
		write_label(j, labels[i].id, labels[i].start, labels[i].name, 0);
	for (unsigned i = 1; i < hd->hubs_used; i++) {
		char hub[32];
		snprintf(hub, sizeof hub, "hub %u", i);
		gs_trace_json_thread_meta(j, gs_trace_hub_tid(i), hub);
	}
	lseek(tmp_fd, 0, SEEK_SET);
	struct chunk c;
	static struct gs_pub_event buf[4096];
	while (gs__sys(SYS_read, tmp_fd, (long)&c, sizeof c, 0, 0, 0) == sizeof c) {
		for (uint32_t k = 0; k < c.n;) {
			uint32_t want = c.n - k < 4096 ? c.n - k : 4096;
			long got = gs__sys(SYS_read, tmp_fd, (long)buf, want * sizeof *buf, 0, 0, 0);
			if (got != (long)(want * sizeof *buf))
				goto done; /* a short file: what was read is written */
			for (uint32_t e = 0; e < want; e++)
				gs_trace_json_event(j, c.hub, &buf[e]);
			k += want;
		}
	}
done:;
	int err = gs_trace_json_end(j) ? j->err : 0;
	free(j);
	close(out);
	close(tmp_fd);
	tmp_fd = -1;
	if (err)
		gs_warn("greenshim: GREENSHIM_TRACE=%s: writing the trace failed: %s", gs_trace_path,
			strerror(err));
	if (lost)
		gs_warn("greenshim: GREENSHIM_TRACE=%s: %llu switches were not recorded (the ring "
			"overflowed)", gs_trace_path, (unsigned long long)lost);
}

/* When the published file exists: start recording if GREENSHIM_TRACE asks. */
void gs__trace_start(void)
{
	if (!gs_trace_path || tmp_fd >= 0)
		return;
	int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		gs_warn("greenshim: GREENSHIM_TRACE: cannot make a temporary file in /tmp: %s",
			strerror(errno));
		return;
	}
	tmp_fd = fd;
	atomic_store(&gs__pub->trace_drainer, 1);
	atomic_store(&gs__pub->trace, 1);
	atexit(gs__trace_finish);
}

/* `greenshim trace PID -o FILE [--seconds S]`: records every context
 * switch of PID for S seconds (default 5) into FILE, a Chrome trace-event
 * JSON timeline (trace_json.h); `greenshim trace --summary FILE` sums one
 * up (trace_summary.c).
 *
 * The protocol with the process (published.h):
 * - attach (inspectors++), then claim the drainer role: trace_drainer
 *   0 -> 2 by compare-and-swap.  1 means the process drains its own trace
 *   (GREENSHIM_TRACE): refuse.  2 means another inspector traces; if the
 *   heartbeat was older than 2 s before we attached, that inspector is dead
 *   and we take its place.
 * - every ring's tail jumps to its head (old events are not ours), then
 *   trace = 1: from the hubs' next switch on, every switch is an event.
 * - drain every ~1 ms: the events between ring_tail and ring_head (index n
 *   % ring_events); ring_tail is written back as they are consumed.  The
 *   writer never waits for us: when it is more than ring_events ahead,
 *   the oldest were overwritten: counted as lost, skipped, reported at the
 *   end.  An event read while the writer may have been rewriting its slot
 *   is dropped and counted likewise.  Every hub's events are merged by
 *   time; those later than the moment the drain began are kept for the
 *   next one: a hub that publishes its ring's head after we read it then
 *   cannot have events older than what was written (a wake-up is
 *   published before the woken thread can run, so the arrow's end is
 *   always in the file before the run it points to).
 * - the heartbeat is renewed at every drain (the process forgets an
 *   inspector after 2 s without one; if it forgot us, we claim again).
 * - at the end: trace = 0, a last drain, trace_drainer = 0, inspectors--. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inspect.h"
#include "procinfo.h"
#include "symbols.h"
#include "tool.h"
#include "trace_json.h"

#define DEFAULT_SECONDS 5.0
#define DRAIN_NS 1000000ULL            /* a ring of 65536 lasts ~3 ms at full tilt */
#define STALE_BEAT_NS 2000000000ULL    /* as the process judges a dead inspector */

struct hub_batch {
	struct gs_pub_event *ev;       /* undrained events of one hub, in order */
	size_t n, at, cap;             /* [at, n) are still to be written */
};

struct tracer {
	struct gs_inspect in;
	struct gs_symbols *syms;
	struct gs_trace_json *json;
	const char *out_path;
	uint64_t lost;                 /* events overwritten before we read them */
	struct hub_batch batch[GS_PUB_MAX_HUBS];
	/* Labels of the green threads seen: open addressing by id, 0 = empty. */
	struct name {
		int32_t id;
		char *label;
	} *names;
	size_t names_cap, names_n;
	int32_t *wanted;               /* this drain's ids still without a label */
	size_t wanted_n, wanted_cap;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: greenshim trace PID -o FILE.json [--seconds SECONDS]\n"
		   "       greenshim trace --summary FILE.json\n");
}

/* --- labels: "NAME (ID)" or "ROUTINE (ID)", looked up while the thread lives --- */

static struct name *name_slot(struct tracer *t, int32_t id)
{
	size_t j = ((uint32_t)id * 2654435761u) & (t->names_cap - 1);
	while (t->names[j].id && t->names[j].id != id)
		j = (j + 1) & (t->names_cap - 1);
	return &t->names[j];
}

/* The entry for id, made (without a label) if new; NULL without memory. */
static struct name *name_of(struct tracer *t, int32_t id, int insert)
{
	if (insert && 2 * (t->names_n + 1) > t->names_cap) {
		size_t cap = t->names_cap ? 2 * t->names_cap : 1024;
		struct name *old = t->names;
		size_t old_cap = t->names_cap;
		t->names = calloc(cap, sizeof *t->names);
		if (!t->names) {
			t->names = old;
			return NULL;
		}
		t->names_cap = cap;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].id)
				*name_slot(t, old[i].id) = old[i];
		free(old);
	}
	if (!t->names_cap)
		return NULL;
	struct name *n = name_slot(t, id);
	if (!n->id && insert) {
		n->id = id;
		t->names_n++;
	}
	return n->id ? n : NULL;
}

/* The writer's label callback: what write_wanted_labels found. */
static const char *label_of(void *ctx, unsigned hub, int32_t id, char *buf, size_t size)
{
	struct name *n = name_of(ctx, id, 0);
	return n ? n->label : NULL;
}

static void want_label(struct tracer *t, int32_t id)
{
	if (id == 0 || name_of(t, id, 0))
		return; /* a hub, already named, or wanted already this drain */
	if (t->wanted_n == t->wanted_cap) {
		size_t cap = t->wanted_cap ? 2 * t->wanted_cap : 256;
		int32_t *w = realloc(t->wanted, cap * sizeof *w);
		if (!w)
			return;
		t->wanted = w;
		t->wanted_cap = cap;
	}
	name_of(t, id, 1);
	t->wanted[t->wanted_n++] = id;
}

static char *make_label(struct tracer *t, const struct gs_pub_thread *slot, int32_t id)
{
	char label[200], name[16];
	memcpy(name, slot->name, sizeof name);
	name[sizeof name - 1] = 0;
	uint32_t flags = atomic_load_explicit(&slot->flags, memory_order_relaxed);
	const char *what = name[0] ? name
			   : (flags & GS_PUBT_ROOT) ? (flags & GS_PUBT_MAIN ? "main" : "OS thread")
			   : gs_symbols_name(t->syms, slot->start_routine);
	snprintf(label, sizeof label, "%s (%d)", what, id);
	return strdup(label);
}

static int by_tid(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* Labels the ids wanted this drain: one pass over the slots; a thread
 * already gone (its slot freed) keeps "thread (ID)". */
static void write_wanted_labels(struct tracer *t)
{
	if (!t->wanted_n)
		return;
	qsort(t->wanted, t->wanted_n, sizeof *t->wanted, by_tid);
	gs_inspect_refresh(&t->in);
	unsigned n = gs_inspect_slot_bound(&t->in);
	for (unsigned i = 0; i < n; i++) {
		const struct gs_pub_thread *slot = gs_inspect_slot(&t->in, i);
		int32_t id = atomic_load_explicit(&slot->id, memory_order_acquire);
		if (id && bsearch(&id, t->wanted, t->wanted_n, sizeof id, by_tid)) {
			struct name *e = name_of(t, id, 0);
			if (e && !e->label)
				e->label = make_label(t, slot, id);
		}
	}
	t->wanted_n = 0;
}

/* The process's command line, its arguments joined by spaces ("" if it
 * cannot be read). */
static void command_line(int pid, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 0)
		n = 0;
	while (n > 0 && buf[n - 1] == 0)
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == 0)
			buf[i] = ' ';
	buf[n] = 0;
}

/* --- draining the rings --- */

/* Appends hub h's new events to its batch and consumes them. */
static void take_events(struct tracer *t, unsigned h)
{
	struct gs_pub_hub *hub = gs_inspect_hub(&t->in, h);
	struct hub_batch *b = &t->batch[h];
	const uint64_t size = t->in.hdr->ring_events;
	const struct gs_pub_event *ring = gs_inspect_ring(&t->in, h);
	if (b->at) { /* what an earlier drain kept, to the front */
		memmove(b->ev, b->ev + b->at, (b->n - b->at) * sizeof *b->ev);
		b->n -= b->at;
		b->at = 0;
	}
	uint64_t head = atomic_load_explicit(&hub->ring_head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&hub->ring_tail, memory_order_relaxed);
	if (tail > head) /* the record was made anew (a new hub in the slot) */
		tail = head;
	if (head - tail > size) { /* overwritten before we came */
		t->lost += head - tail - size;
		tail = head - size;
	}
	if (head == tail)
		return;
	if (b->cap < b->n + size) {
		struct gs_pub_event *ev = realloc(b->ev, (b->n + size) * sizeof *ev);
		if (!ev)
			return;
		b->ev = ev;
		b->cap = b->n + size;
	}
	struct gs_pub_event *to = b->ev + b->n;
	for (uint64_t i = tail; i < head; i++)
		to[i - tail] = ring[i & (size - 1)];
	/* The writer fills slot head % size before it publishes head + 1: an
	 * event whose slot it may have been refilling as we copied is dropped. */
	atomic_thread_fence(memory_order_acquire);
	uint64_t head2 = atomic_load_explicit(&hub->ring_head, memory_order_relaxed);
	uint64_t valid_from = head2 + 1 > size ? head2 + 1 - size : 0;
	uint64_t skip = valid_from > tail ? (valid_from < head ? valid_from : head) - tail : 0;
	t->lost += skip;
	if (skip)
		memmove(to, to + skip, (size_t)(head - tail - skip) * sizeof *to);
	b->n += (size_t)(head - tail - skip);
	atomic_store_explicit(&hub->ring_tail, head, memory_order_release);
}

/* One drain: every hub's new events, merged by time, into the file, up to
 * the moment the drain began (all of them when `all`). */
static size_t drain(struct tracer *t, int all)
{
	uint64_t until = all ? UINT64_MAX : gs_now_ns();
	unsigned hubs = gs_inspect_hub_bound(&t->in);
	size_t total = 0;
	for (unsigned h = 0; h < hubs; h++) {
		size_t before = t->batch[h].n;
		take_events(t, h);
		total += t->batch[h].n - before;
		for (size_t i = before; i < t->batch[h].n; i++) {
			want_label(t, t->batch[h].ev[i].from);
			want_label(t, t->batch[h].ev[i].to);
		}
	}
	write_wanted_labels(t);
	for (;;) { /* merge: a handful of hubs, a linear pick is enough */
		struct hub_batch *best = NULL;
		for (unsigned h = 0; h < hubs; h++) {
			struct hub_batch *b = &t->batch[h];
			if (b->at < b->n && b->ev[b->at].t_ns <= until &&
			    (!best || b->ev[b->at].t_ns < best->ev[best->at].t_ns))
				best = b;
		}
		if (!best)
			break;
		gs_trace_json_event(t->json, (unsigned)(best - t->batch), &best->ev[best->at++]);
	}
	return total;
}

/* --- the session --- */

/* trace_drainer 0 -> 2, or 2 -> 2 over a dead inspector.  0, or 1 after
 * saying why not. */
static int claim(struct tracer *t, int other_dead)
{
	struct gs_pub_header *hd = t->in.hdr;
	uint32_t was = 0;
	atomic_store(&hd->tracer_heartbeat_ns, gs_now_ns()); /* before the process can look */
	if (!atomic_compare_exchange_strong(&hd->trace_drainer, &was, 2) && !(was == 2 && other_dead)) {
		if (was == 1)
			gs_tool_error("process %d records its own trace (GREENSHIM_TRACE is set): it "
				      "cannot also be traced from outside", t->in.pid);
		else
			gs_tool_error("process %d is being traced by another greenshim trace",
				      t->in.pid);
		return 1;
	}
	unsigned hubs = gs_inspect_hub_bound(&t->in);
	for (unsigned h = 0; h < hubs; h++) { /* what the rings hold is not ours */
		struct gs_pub_hub *hub = gs_inspect_hub(&t->in, h);
		atomic_store(&hub->ring_tail, atomic_load(&hub->ring_head));
	}
	atomic_store(&hd->trace, 1);
	return 0;
}

static void release(struct tracer *t)
{
	struct gs_pub_header *hd = t->in.hdr;
	uint32_t mine = 2;
	atomic_store(&hd->trace, 0);
	drain(t, 1);
	atomic_compare_exchange_strong(&hd->trace_drainer, &mine, 0);
}

/* Attaches and claims the drainer role; 0, or 1 after saying why not. */
static int start(struct tracer *t)
{
	struct gs_pub_header *hd = t->in.hdr;
	uint64_t beat = atomic_load(&hd->tracer_heartbeat_ns), now = gs_now_ns();
	int other_dead = now > beat && now - beat > STALE_BEAT_NS;
	gs_inspect_attach(&t->in);
	return claim(t, other_dead);
}

/* Drains for `seconds` (or until a signal, or the process is gone). */
static void record(struct tracer *t, double seconds)
{
	struct gs_pub_header *hd = t->in.hdr;
	uint64_t start = gs_now_ns(), end = start + (uint64_t)(seconds * 1e9);
	int gone = 0;
	while (!gs_tool_stopping && gs_now_ns() < end) {
		gs_inspect_heartbeat(&t->in);
		atomic_store(&hd->tracer_heartbeat_ns, gs_now_ns());
		if (atomic_load(&hd->trace_drainer) == 0) { /* forgotten after a stall: again */
			uint32_t zero = 0;
			if (atomic_compare_exchange_strong(&hd->trace_drainer, &zero, 2))
				atomic_store(&hd->trace, 1);
		}
		size_t n = drain(t, 0);
		if (gs_process_gone(t->in.pid)) {
			gone = 1;
			break;
		}
		if (n < hd->ring_events / 4)
			gs_tool_sleep(DRAIN_NS);
	}
	release(t);
	if (gone)
		fprintf(stderr, "greenshim: process %d exited after %.1f s\n", t->in.pid,
			(double)(gs_now_ns() - start) / 1e9);
}

static int cmd_record(int pid, const char *out, double seconds)
{
	struct tracer t = { .out_path = out };
	static struct gs_trace_json json; /* 64 KiB of buffer: not on the stack */
	t.json = &json;
	int opened = gs_inspect_open(&t.in, pid);
	if (opened != 0)
		return opened; /* 3 for another user's process, as ps and top */
	/* Claim the process before touching the output: a refusal leaves an
	 * earlier file of that name alone. */
	if (start(&t) != 0) {
		gs_inspect_close(&t.in);
		return 1;
	}
	gs_tool_catch_signals();
	t.syms = gs_symbols_new(pid);
	int fd = !strcmp(out, "-") ? STDOUT_FILENO
				   : open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || !t.syms) {
		gs_tool_error("%s: %s", out, fd < 0 ? strerror(errno) : "out of memory");
		uint32_t mine = 2;
		atomic_store(&t.in.hdr->trace, 0);
		atomic_compare_exchange_strong(&t.in.hdr->trace_drainer, &mine, 0);
		gs_symbols_free(t.syms);
		gs_inspect_close(&t.in);
		if (fd >= 0 && fd != STDOUT_FILENO)
			close(fd);
		return 1;
	}
	char cmd[512];
	command_line(pid, cmd, sizeof cmd);
	gs_trace_json_init(&json, fd, pid);
	json.label = label_of;
	json.label_ctx = &t;
	gs_trace_json_begin(&json, cmd);
	record(&t, seconds);
	gs_inspect_close(&t.in); /* detaches */
	int status = 0, werr = gs_trace_json_end(&json, 1, "") ? errno : 0;
	if (fd != STDOUT_FILENO && close(fd) != 0 && !werr)
		werr = errno;
	if (werr) {
		gs_tool_error("%s: %s", out, strerror(werr));
		status = 1;
	} else {
		if (t.lost)
			fprintf(stderr, "greenshim: %llu events were lost (the process switched faster "
					"than they could be written)\n",
				(unsigned long long)t.lost);
		fprintf(stderr, "greenshim: %llu switches written to %s, with %llu wake-ups (open it "
				"in ui.perfetto.dev, chrome://tracing or speedscope)\n",
			(unsigned long long)json.switches, out, (unsigned long long)json.wakes);
	}
	for (unsigned h = 0; h < GS_PUB_MAX_HUBS; h++)
		free(t.batch[h].ev);
	for (size_t i = 0; i < t.names_cap; i++)
		free(t.names[i].label);
	free(t.names);
	free(t.wanted);
	gs_symbols_free(t.syms);
	return status;
}

int gs_cmd_trace(int argc, char **argv)
{
	const char *out = NULL, *summary = NULL;
	double seconds = DEFAULT_SECONDS;
	int pid = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--summary")) {
			if (i + 1 >= argc) {
				gs_tool_error("%s needs a file", a);
				return 2;
			}
			*(!strcmp(a, "--summary") ? &summary : &out) = argv[++i];
		} else {
			int r = gs_tool_arg(argc, argv, &i, "--seconds", "5", &seconds, &pid, usage);
			if (r >= 0)
				return r;
		}
	}
	if (summary) {
		if (pid || out) {
			gs_tool_error("--summary reads a file: no PID, no -o");
			return 2;
		}
		return gs_trace_summary(summary);
	}
	if (!pid || !out) {
		gs_tool_error(!pid ? "trace needs a PID" : "trace needs -o FILE.json");
		usage(stderr);
		return 2;
	}
	return cmd_record(pid, out, seconds);
}

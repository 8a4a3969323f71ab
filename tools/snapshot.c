/* A snapshot of a published process: see snapshot.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "procinfo.h"
#include "snapshot.h"
#include "trace_json.h"

const char *const gs_thread_state_names[] = {
	[GS_TS_RUNNING] = "running", [GS_TS_READY] = "ready",
	[GS_TS_WAITING] = "waiting", [GS_TS_EXITED] = "exited",
};

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

int gs_counters_read(struct gs_inspect *in, struct gs_counters *c)
{
	gs_inspect_refresh(in);
	unsigned n = gs_inspect_slot_bound(in);
	struct gs_slot_count *slots = realloc(c->slots, (n ? n : 1) * sizeof *slots);
	if (!slots)
		return -1;
	c->slots = slots;
	c->nslots = n;
	c->t_ns = gs_now_ns();
	for (unsigned i = 0; i < n; i++) {
		struct gs_pub_thread *t = gs_inspect_slot(in, i);
		slots[i].id = LOAD(t->id);
		slots[i].switches = LOAD(t->switches);
		slots[i].cpu_ns = LOAD(t->cpu_ns);
	}
	unsigned hubs = gs_inspect_hub_bound(in);
	for (unsigned i = 0; i < GS_PUB_MAX_HUBS; i++) {
		struct gs_pub_hub *h = i < hubs ? gs_inspect_hub(in, i) : NULL;
		c->hub_tid[i] = h ? LOAD(h->tid) : 0;
		c->hub_switches[i] = h ? LOAD(h->switches) : 0;
	}
	return 0;
}

void gs_counters_free(struct gs_counters *c)
{
	free(c->slots);
	c->slots = NULL;
	c->nslots = 0;
}

char *gs_wait_words(int pid, const struct gs_pub_thread *t, uint64_t now_ns, char *buf, size_t size)
{
	unsigned kind = LOAD(t->wait_kind);
	int32_t arg = LOAD(t->wait_arg);
	unsigned long long obj = LOAD(t->wait_obj);
	uint64_t until = LOAD(t->wait_until_ns);
	const char *what = gs_trace_reason_name(kind);
	/* A wait inside a system call the trap took, not an interposed call. */
	const char *via = (LOAD(t->flags) & GS_PUBT_SYSCALL) ? ", via syscall" : "";
	char fdkind[112], left[32] = "";
	if (until) {
		char d[24];
		if (until > now_ns)
			snprintf(left, sizeof left, "%s left",
				 gs_fmt_duration(until - now_ns, d, sizeof d));
		else
			snprintf(left, sizeof left, "due");
	}
	int n = 0;
	switch (kind) {
	case GS_PW_NONE:
	case GS_PW_EXIT:
		return strcpy(buf, "-");
	case GS_PW_YIELD:
		n = snprintf(buf, size, "yield");
		break;
	case GS_PW_PREEMPT: /* a trace's reason; as a wait: back in the ready queue */
		n = snprintf(buf, size, "preempted");
		break;
	case GS_PW_SLEEP: /* the deadline is the whole story */
		snprintf(buf, size, "sleep%s%s%s", until ? " " : "", left, via);
		return buf;
	case GS_PW_MUTEX:
	case GS_PW_RWLOCK:
		if (arg)
			n = snprintf(buf, size, "%s 0x%llx held by %d", what, obj, arg);
		else
			n = snprintf(buf, size, "%s 0x%llx", what, obj);
		break;
	case GS_PW_COND:
	case GS_PW_SEM:
	case GS_PW_BARRIER:
	case GS_PW_ONCE:
	case GS_PW_FUTEX:
		n = snprintf(buf, size, "%s 0x%llx", what, obj);
		break;
	case GS_PW_JOIN:
		n = snprintf(buf, size, "join %d", arg);
		break;
	case GS_PW_OFFLOAD: /* obj: the function running on a worker */
		n = snprintf(buf, size, "offloaded call 0x%llx", obj);
		break;
	case GS_PW_READ:
	case GS_PW_WRITE:
	case GS_PW_POLL:
		n = snprintf(buf, size, "%s fd %d (%s%s)", what, arg,
			     gs_fd_describe(pid, arg, fdkind, sizeof fdkind), via);
		via = "";
		break;
	case GS_PW_CHILD: /* waitpid's pid argument */
		if (arg == -1)
			n = snprintf(buf, size, "waitpid any");
		else if (arg == 0)
			n = snprintf(buf, size, "waitpid any of its group");
		else if (arg < -1)
			n = snprintf(buf, size, "waitpid group %d", -arg);
		else
			n = snprintf(buf, size, "waitpid %d", arg);
		break;
	default:
		n = snprintf(buf, size, "wait kind %u", kind);
		break;
	}
	if (*via && n > 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, "%s", via);
	if (until && n > 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, ", %s", left);
	return buf;
}

const char *gs_snap_label(const struct gs_snap_thread *t)
{
	if (strcmp(t->name, "-"))
		return t->name;
	return (t->flags & GS_PUBT_ROOT) && !(t->flags & GS_PUBT_MAIN) ? "OS thread" : t->routine;
}

static enum gs_thread_state state_of(const struct gs_pub_thread *t, int32_t id, int32_t running)
{
	if ((LOAD(t->flags) & GS_PUBT_EXITED) || LOAD(t->wait_kind) == GS_PW_EXIT)
		return GS_TS_EXITED;
	if (running == id)
		return GS_TS_RUNNING;
	unsigned kind = LOAD(t->wait_kind);
	/* A yield or a preemption leaves the thread in the ready queue. */
	return kind != GS_PW_NONE && kind != GS_PW_YIELD && kind != GS_PW_PREEMPT ? GS_TS_WAITING
										   : GS_TS_READY;
}

static const char *routine_of(struct gs_symbols *syms, const struct gs_pub_thread *t,
			      uint32_t flags)
{
	if (flags & GS_PUBT_ROOT)
		return flags & GS_PUBT_MAIN ? "main" : "(OS thread)";
	return t->start_routine ? gs_symbols_name(syms, t->start_routine) : "?";
}

/* The counter delta of slot i over the window: the slot's thread must be
 * the same at both reads; a thread made in the window counted from 0. */
static void window_figures(const struct gs_counters *before, const struct gs_counters *after,
			   unsigned i, struct gs_snap_thread *out)
{
	const struct gs_slot_count *b = i < before->nslots ? &before->slots[i] : NULL;
	const struct gs_slot_count *a = &after->slots[i];
	if (b && b->id == a->id && a->switches >= b->switches && a->cpu_ns >= b->cpu_ns) {
		out->switches = a->switches - b->switches;
		out->cpu_ns = a->cpu_ns - b->cpu_ns;
	} else {
		out->switches = a->switches;
		out->cpu_ns = a->cpu_ns;
	}
}

static int by_id(const void *x, const void *y)
{
	const struct gs_snap_thread *a = x, *b = y;
	return (a->id > b->id) - (a->id < b->id);
}

static const struct gs_snap_thread *find_thread(const struct gs_snap *s, int32_t id)
{
	struct gs_snap_thread key = { .id = id };
	return bsearch(&key, s->threads, s->nthreads, sizeof key, by_id);
}

static void warn(struct gs_snap *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct gs_snap *s, const char *fmt, ...)
{
	char (*w)[256] = realloc(s->warnings, (s->nwarnings + 1) * sizeof *w);
	if (!w)
		return;
	s->warnings = w;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(w[s->nwarnings++], sizeof *w, fmt, ap);
	va_end(ap);
}

/* tokio-console's warnings: a green thread keeping its hub's CPU, and a
 * hub that has not polled its loop (so its timers and fds are not served).
 * A hub with one live thread has nobody to starve: no warning. */
static void add_warnings(struct gs_snap *s, struct gs_inspect *in, uint64_t now)
{
	for (unsigned i = 0; i < s->nhubs; i++) {
		const struct gs_snap_hub *h = &s->hubs[i];
		if (!h->running || h->live <= 1)
			continue;
		const struct gs_snap_thread *t = find_thread(s, h->running);
		const char *label = t ? gs_snap_label(t) : "?";
		/* running_since_ns is kept only while watched and may be from an
		 * earlier watch: the run began after the last poll, at the latest. */
		const struct gs_pub_hub *p = gs_inspect_hub(in, h->index);
		uint64_t since = LOAD(p->running_since_ns), poll = LOAD(p->last_poll_ns);
		if (poll > since)
			since = poll;
		if (since && now > since && now - since > GS_WARN_RUN_NS)
			warn(s, "thread %d (%s) has run %llu ms without yielding", h->running, label,
			     (unsigned long long)((now - since) / 1000000));
		if (h->since_poll_ns != UINT64_MAX && h->since_poll_ns > GS_WARN_POLL_NS)
			warn(s, "hub of OS thread %d blocked for %.1f s: thread %d is in a call the "
				"shim does not green, or computing",
			     h->tid, (double)h->since_poll_ns / 1e9, h->running);
	}
}

int gs_snap_build(struct gs_inspect *in, struct gs_symbols *syms, int pagemap_fd,
		  const struct gs_counters *before, const struct gs_counters *after,
		  struct gs_snap *out)
{
	memset(out, 0, sizeof *out);
	const struct gs_pub_header *hd = in->hdr;
	out->pid = in->pid;
	snprintf(out->exe, sizeof out->exe, "%.*s", (int)sizeof hd->exe, hd->exe);
	out->window_ns = after->t_ns - before->t_ns;
	uint64_t now = gs_now_ns();

	unsigned nhubs = gs_inspect_hub_bound(in);
	int32_t running[GS_PUB_MAX_HUBS] = { 0 };
	for (unsigned i = 0; i < nhubs; i++) {
		struct gs_pub_hub *p = gs_inspect_hub(in, i);
		int32_t tid = LOAD(p->tid);
		if (!tid)
			continue;
		running[i] = LOAD(p->running);
		uint64_t poll = LOAD(p->last_poll_ns);
		struct gs_snap_hub *h = &out->hubs[out->nhubs++];
		*h = (struct gs_snap_hub){
			.index = i, .tid = tid, .running = running[i],
			.switches = before->hub_tid[i] == tid
					    ? after->hub_switches[i] - before->hub_switches[i] : 0,
			.ready = LOAD(p->ready), .timers = LOAD(p->timers),
			.fds = LOAD(p->fds), .live = LOAD(p->live),
			.preemptions = LOAD(p->preemptions),
			.since_poll_ns = !poll ? UINT64_MAX : now > poll ? now - poll : 0,
			.longest_run_ns = LOAD(p->longest_run_ns),
			.longest_run_id = LOAD(p->longest_run_id),
		};
	}

	unsigned n = gs_inspect_slot_bound(in);
	if (after->nslots < n)
		n = after->nslots;
	out->threads = calloc(n ? n : 1, sizeof *out->threads);
	if (!out->threads)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		const struct gs_pub_thread *t = gs_inspect_slot(in, i);
		int32_t id = LOAD(t->id);
		if (!id || id != after->slots[i].id)
			continue; /* free, or changed hands since the counters */
		struct gs_snap_thread *o = &out->threads[out->nthreads++];
		int32_t hub = LOAD(t->hub);
		uint32_t flags = LOAD(t->flags);
		o->id = id;
		o->hub = hub;
		o->flags = flags;
		o->state = state_of(t, id, hub >= 0 && hub < GS_PUB_MAX_HUBS ? running[hub] : 0);
		memcpy(o->name, t->name, sizeof o->name);
		o->name[sizeof o->name - 1] = 0;
		for (char *c = o->name; *c; c++) /* a name is any bytes: keep the terminal sane */
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		if (!o->name[0])
			strcpy(o->name, "-");
		if (o->state == GS_TS_EXITED)
			strcpy(o->wait, "-");
		else
			gs_wait_words(in->pid, t, now, o->wait, sizeof o->wait);
		o->routine = routine_of(syms, t, flags);
		window_figures(before, after, i, o);
		o->preemptions = LOAD(t->preemptions); /* counted always: the total */
		o->stack_size = (flags & GS_PUBT_ROOT) ? 0 : t->stack_size;
		o->stack_used = o->stack_size
					? gs_stack_touched(pagemap_fd, t->stack_lo, t->stack_size) : -1;
	}
	qsort(out->threads, out->nthreads, sizeof *out->threads, by_id);
	add_warnings(out, in, now);
	return 0;
}

void gs_snap_free(struct gs_snap *s)
{
	free(s->threads);
	free(s->warnings);
	s->threads = NULL;
	s->warnings = NULL;
}

/* Measuring and recording switches while someone watches (published.h).
 *
 * A hub is "watched" while an inspector is attached or a trace is on (it
 * reads the header at each poll).  Then every switch reads the clock,
 * charges the time to the thread leaving the CPU, counts the one getting
 * it, and, with tracing on, appends an event to the hub's ring; so do a
 * wake-up one green thread gives another (gs__trace_ready) and an idle
 * period of the hub in epoll_wait (libev's release/acquire callbacks,
 * installed only while tracing).  Unwatched, a switch pays one store, one
 * add and one branch, a wake-up one branch.
 *
 * Who drains the rings is named by the header: an inspector (greenshim
 * trace PID) reads the published rings; a process that records itself
 * (GREENSHIM_TRACE=FILE) writes into rings of its own memory instead (a
 * fork child's published state is rebuilt when it publishes: its own
 * rings survive that) and drains them into a temporary file, which
 * becomes its part of FILE at exit.  The ring's writer never waits: if
 * the drainer falls behind by more than the ring's size, the oldest
 * events are overwritten and counted as lost.
 *
 * ---- GREENSHIM_TRACE=FILE for a process tree ----
 * Every process that inherits the variable and records anything (a
 * thread, a switch: a process that never did adds nothing and leaves FILE
 * alone) adds its part to FILE when it ends (exit, _exit, exec), each part
 * a process of its own in the viewer (its pid, its command line).  The
 * merge: under an flock of FILE.lock, the process reads the tail of FILE;
 * if FILE is a trace of the same tree, it copies FILE's events into
 * FILE.tmp.PID, appends its own and the tail, and renames that over FILE;
 * otherwise (no FILE, an older run's, not ours) its part starts a new
 * FILE the same way.  So FILE is at every moment a complete trace of the
 * parts written so far, a process killed halfway leaves it as it was, and
 * parts that end concurrently, in any order, each land whole.  (Rejected:
 * part files merged by the last process to leave: a daemon that outlives
 * its tree, or a process killed before it leaves, would keep FILE from
 * ever being written.)  The lock file is removed by each holder, safely:
 * a waiter that got the lock of a removed file tries again.
 *
 * The tree: the topmost of the process's ancestors, itself included,
 * that was started with the same GREENSHIM_TRACE in its environment
 * (/proc/PID/environ), named by its pid and start time; found when the
 * shim is loaded (before the parent can be gone), inherited by fork
 * children, and found the same again after an exec (same pid, same
 * ancestors).  `timeout`, `sh -c`, `make`, `env`, `nohup`, `time` and the
 * programs they start are one tree; two runs of a command are two trees,
 * and the second replaces the first's FILE.  The tail says which tree a
 * FILE holds and where tids and flow ids go on (trace_json.h).  With "%p"
 * in the name each process has a file of its own (the images of a pid
 * before and after exec share it).  FILE that is not a regular file
 * (/dev/stderr, a FIFO) is written in place, one part. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"
#include "rawsys.h"
#include "trace_json.h"

#define RING_MASK (GS_PUB_RING_EVENTS - 1)

static struct gs_pub_event *ring_of(struct gs_hub *h)
{
	return (struct gs_pub_event *)((char *)gs__pub + gs__pub->rings_offset) +
	       (size_t)h->pub_index * GS_PUB_RING_EVENTS;
}

/* The rings of a process that records itself, by hub index. */
static struct self_ring {
	_Atomic uint64_t head;         /* events ever written (by the hub's OS thread) */
	uint64_t tail;                 /* events drained (under drain_lock) */
	struct gs_pub_event *ev;       /* GS_PUB_RING_EVENTS, mapped on first use */
} rings[GS_PUB_MAX_HUBS];
static _Atomic int self_trace;          /* 1: events go to `rings` */
int gs__trace_wakes;                    /* the header's trace flag, as hubs last saw it */
static uint64_t idle_since[GS_PUB_MAX_HUBS]; /* by hub index: when its blocking poll began */
static struct ev_loop *hooked[GS_PUB_MAX_HUBS]; /* the loop whose idle callbacks are ours */

/* The slot for hub h's next event, and the head to publish once it is
 * filled (slot_done); NULL: nowhere to record. */
static inline struct gs_pub_event *slot_take(struct gs_hub *h, _Atomic uint64_t **headp,
					     uint64_t *head)
{
	struct gs_pub_event *ring;
	if (atomic_load_explicit(&self_trace, memory_order_relaxed)) {
		struct self_ring *r = &rings[h->pub_index];
		if (!(ring = r->ev))
			return NULL;
		*headp = &r->head;
	} else {
		ring = ring_of(h);
		*headp = &h->pub->ring_head;
	}
	*head = atomic_load_explicit(*headp, memory_order_relaxed);
	return &ring[*head & RING_MASK];
}

static inline void slot_done(_Atomic uint64_t *headp, uint64_t head)
{
	atomic_store_explicit(headp, head + 1, memory_order_release);
}

static inline int tracing(const struct gs_hub *h)
{
	return gs__pub && h->pub_index >= 0 &&
	       atomic_load_explicit(&gs__pub->trace, memory_order_relaxed);
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
	if (!tracing(h))
		return;
	_Atomic uint64_t *headp;
	uint64_t head;
	struct gs_pub_event *e = slot_take(h, &headp, &head);
	if (!e)
		return;
	/* The reason prev stopped: the wait it is in, else what the caller
	 * says (a yield, an exit). */
	struct gs_pub_thread *ps = prev->pub;
	unsigned kind = atomic_load_explicit(&ps->wait_kind, memory_order_relaxed);
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
	slot_done(headp, head);
}

/* gs__ready(t) for a waker ending t's wait while a trace is on (waitq.c),
 * the wake-up recorded first on this OS thread's hub, if it has one and
 * the waker is a green thread (a timer or an fd the hub saw ready is no
 * one's wake-up).  Recorded before t can run: its next run is later. */
__attribute__((cold, noinline)) void gs__trace_ready(struct gs_thread *t)
{
	struct gs_hub *h = gs__os.hub;
	struct gs_thread *self = gs__os_current;
	_Atomic uint64_t *headp;
	uint64_t head;
	struct gs_pub_event *e;
	if (h && self && self->pub_id && t->pub_id && h->watched && tracing(h) &&
	    (e = slot_take(h, &headp, &head))) {
		e->t_ns = gs__mono_ns();
		e->from = self->pub_id;
		e->to = t->pub_id;
		e->reason = GS_TRACE_EV_WAKE;
		e->arg = (int32_t)atomic_load_explicit(&t->pub->wait_kind, memory_order_relaxed);
		e->obj = atomic_load_explicit(&t->pub->wait_obj, memory_order_relaxed);
		slot_done(headp, head);
	}
	gs__ready(t);
}

/* libev calls these around its blocking poll: a poll made with nothing
 * ready (EVRUN_ONCE) is the hub's idle time. */
static void idle_begin(struct ev_loop *loop)
{
	struct gs_hub *h = ev_userdata(loop);
	if (h->pub_index >= 0)
		idle_since[h->pub_index] = h->ready_head ? 0 : gs__mono_ns();
}

static void idle_end(struct ev_loop *loop)
{
	struct gs_hub *h = ev_userdata(loop);
	if (h->pub_index < 0 || !idle_since[h->pub_index])
		return;
	uint64_t since = idle_since[h->pub_index];
	idle_since[h->pub_index] = 0;
	if (!h->watched || !tracing(h))
		return;
	_Atomic uint64_t *headp;
	uint64_t head;
	struct gs_pub_event *e = slot_take(h, &headp, &head);
	if (!e)
		return;
	e->t_ns = since;
	e->from = e->to = 0;
	e->reason = GS_TRACE_EV_IDLE;
	e->arg = 0;
	e->obj = gs__mono_ns();
	slot_done(headp, head);
}

/* ---- GREENSHIM_TRACE: the process records itself ------------------------- */

const char *gs_trace_path;
static int tmp_fd = -1;                 /* drained events, O_APPEND */
static dev_t tmp_dev;                   /* ... the file it must still be */
static ino_t tmp_ino;
static _Atomic int drain_lock;          /* the rings' tails, tmp_fd */
static _Atomic uint64_t lost;           /* events overwritten before drained */
static _Atomic uint64_t drained;        /* events in the temporary file */
static int restart_pending;             /* a fork child of a recording process */
static char tree[64];                   /* "PID.START" of the tree's root */
static char trace_file[4096];           /* GREENSHIM_TRACE, made absolute at start */
static _Atomic int label_lock;
static struct label {
	int id;
	uint32_t flags;
	uint64_t start;
	char name[16];
} *labels;                              /* threads gone while tracing */
static size_t labels_n, labels_cap;

struct chunk {
	uint32_t hub, n;
};

/* The temporary file is still ours: a program that closes every fd it
 * did not open, then opens one of its own, must not get our events. */
static int tmp_ok(void)
{
	struct stat st;
	if (tmp_fd >= 0 && gs__sys(SYS_fstat, tmp_fd, (long)&st, 0, 0, 0, 0) == 0 &&
	    st.st_dev == tmp_dev && st.st_ino == tmp_ino)
		return 1;
	if (tmp_fd >= 0) {
		gs_warn("greenshim: GREENSHIM_TRACE=%s: the program closed the trace's temporary "
			"file: recording stops", trace_file);
		atomic_store(&self_trace, 0);
		if (gs__pub)
			atomic_store(&gs__pub->trace, 0);
	}
	tmp_fd = -1;
	return 0;
}

/* Moves hub index i's undrained events to the temporary file. */
static void drain(unsigned i)
{
	struct self_ring *r = &rings[i];
	if (!r->ev)
		return;
	gs_spin_lock(&drain_lock);
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t tail = r->tail;
	if (head - tail > GS_PUB_RING_EVENTS) {
		atomic_fetch_add(&lost, head - tail - GS_PUB_RING_EVENTS);
		tail = head - GS_PUB_RING_EVENTS;
	}
	if (tail < head && tmp_ok()) {
		while (tail < head) {
			uint64_t at = tail & RING_MASK;
			uint64_t n = head - tail;
			if (n > GS_PUB_RING_EVENTS - at)
				n = GS_PUB_RING_EVENTS - at;
			/* A chunk: which hub, how many events, the events (one
			 * write, O_APPEND: never split by another's). */
			struct chunk c = { .hub = i, .n = (uint32_t)n };
			struct iovec v[2] = { { &c, sizeof c }, { &r->ev[at], n * sizeof *r->ev } };
			gs__sys(SYS_writev, tmp_fd, (long)v, 2, 0, 0, 0);
			atomic_fetch_add(&drained, n);
			tail += n;
		}
	}
	r->tail = head;
	gs_spin_unlock(&drain_lock);
}

static struct gs_pub_event *ring_alloc(void)
{
	long p = gs__sys(SYS_mmap, 0, GS_PUB_RING_EVENTS * sizeof(struct gs_pub_event),
			 PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p < 0 && p > -4096 ? NULL : (struct gs_pub_event *)p;
}

static void start_self(void);
static void restart(struct gs_hub *h);
static void child_restart(void);

/* The idle callbacks and the wake-up flag follow the header's trace flag;
 * a process recording itself has a ring for the hub.  1: tracing. */
static int follow(struct gs_hub *h)
{
	int on = tracing(h);
	if (gs_unlikely(gs__trace_wakes != on)) /* a store only on a change: hubs share it */
		gs__trace_wakes = on;
	if (on) {
		ev_set_loop_release_cb(h->loop, idle_begin, idle_end);
		hooked[h->pub_index] = h->loop;
	} else if (gs_unlikely(hooked[h->pub_index] == h->loop)) {
		ev_set_loop_release_cb(h->loop, NULL, NULL);
		hooked[h->pub_index] = NULL;
		idle_since[h->pub_index] = 0;
	}
	struct self_ring *r = &rings[h->pub_index];
	if (on && atomic_load_explicit(&self_trace, memory_order_relaxed) && gs_unlikely(!r->ev))
		r->ev = ring_alloc();
	return on;
}

/* At every turn of a hub's loop: follow, and a process recording itself
 * drains the ring once it is a quarter full. */
void gs__trace_poll(struct gs_hub *h)
{
	static int late_handler; /* at a hub's first turn: after hub.c's own */
	if (gs_unlikely(!late_handler) && gs_trace_path) {
		late_handler = 1;
		pthread_atfork(NULL, NULL, child_restart);
	}
	if (gs_unlikely(restart_pending))
		restart(h);
	if (h->pub_index < 0 || !follow(h) || !atomic_load_explicit(&self_trace, memory_order_relaxed))
		return;
	struct self_ring *r = &rings[h->pub_index];
	if (r->ev && atomic_load_explicit(&r->head, memory_order_relaxed) - r->tail >= GS_PUB_RING_EVENTS / 4)
		drain((unsigned)h->pub_index);
}

/* A hub made while a trace is on records from its first switch on, not
 * from its loop's first turn (which may be a thousand switches later). */
void gs__trace_hub_new(struct gs_hub *h)
{
	if (h->pub_index >= 0 && follow(h))
		h->watched = 1;
}

void gs__trace_thread_gone(struct gs_thread *t)
{
	if (!atomic_load_explicit(&self_trace, memory_order_relaxed) || !t->pub_id)
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
	l->flags = atomic_load_explicit(&t->pub->flags, memory_order_relaxed);
	l->start = t->pub->start_routine;
	memcpy(l->name, t->pub->name, sizeof l->name);
	gs_spin_unlock(&label_lock);
}

/* A fork child (any OS thread's fork): the temporary file and the events
 * are its parent's.  If the parent was recording, the child records a
 * part of its own, from the end of the shim's own fork handling on (which
 * makes its published state private: child_restart), or else from its
 * hub's next turn. */
void gs__trace_after_fork(void)
{
	atomic_store(&drain_lock, 0);
	atomic_store(&label_lock, 0);
	if (tmp_fd >= 0 || atomic_load(&self_trace)) {
		if (tmp_fd >= 0)
			close(tmp_fd);
		tmp_fd = -1;
		atomic_store(&self_trace, 0);
		restart_pending = 1;
	}
	for (int i = 0; i < GS_PUB_MAX_HUBS; i++) {
		atomic_store(&rings[i].head, 0);
		rings[i].tail = 0;
		idle_since[i] = 0;
	}
	labels_n = 0;
	atomic_store(&lost, 0);
	atomic_store(&drained, 0);
}

static void restart(struct gs_hub *h)
{
	if (!restart_pending || !gs__pub || gs__pub->pid != getpid())
		return; /* nothing to restart, or the header is the parent's */
	restart_pending = 0;
	start_self();
	if (h)
		h->watched = 1;
}

/* Registered after the shim's own fork handler (hub.c), so it runs last. */
static void child_restart(void)
{
	restart(gs__os.hub);
}

/* ---- the tree ---- */

/* Reads at most size-1 bytes of a /proc file into buf (NUL-terminated);
 * the length, or -1.  Raw system calls: this runs while the shim loads. */
static long read_proc(const char *path, char *buf, size_t size)
{
	long fd = gs__sys(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return -1;
	long n = 0, k;
	while ((size_t)n < size - 1 &&
	       (k = gs__sys(SYS_read, fd, (long)(buf + n), (long)(size - 1 - n), 0, 0, 0)) > 0)
		n += k;
	gs__sys(SYS_close, fd, 0, 0, 0, 0, 0);
	buf[n] = 0;
	return n;
}

/* Fields 4 (ppid) and 22 (start time) of /proc/PID/stat; 0 or -1. */
static int proc_stat(int pid, int *ppid, unsigned long long *start)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if (read_proc(path, buf, sizeof buf) <= 0)
		return -1;
	char *p = strrchr(buf, ')'); /* the name may hold anything */
	if (!p)
		return -1;
	p++;
	for (int field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -1;
		if (field == 4)
			*ppid = atoi(p);
		if (field == 22)
			*start = strtoull(p, NULL, 10);
		while (*p && *p != ' ')
			p++;
	}
	return 0;
}

/* Whether process pid was started with `entry` ("NAME=VALUE") in its
 * environment; read in pieces, an entry may span two. */
static int environ_has(int pid, const char *entry)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/environ", pid);
	long fd = gs__sys(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return 0;
	size_t len = strlen(entry), at = 0; /* bytes of entry matched; len + 1: a mismatch */
	int found = 0;
	long n;
	while (!found && (n = gs__sys(SYS_read, fd, (long)buf, sizeof buf, 0, 0, 0)) > 0)
		for (long i = 0; i < n && !found; i++) {
			if (buf[i] == 0) {
				found = at == len;
				at = 0;
			} else if (at < len && buf[i] == entry[at]) {
				at++;
			} else {
				at = len + 1;
			}
		}
	gs__sys(SYS_close, fd, 0, 0, 0, 0, 0);
	return found;
}

/* The tree this process belongs to, while its ancestors still run.  Out
 * of line: its buffers (6 KiB) would otherwise make the frame of the one
 * constructor LTO merges every constructor of the shim into, and push each
 * start's other constructors a stack page or two deeper (a fault each). */
__attribute__((noinline)) static void find_tree(const char *value)
{
	char entry[4200];
	snprintf(entry, sizeof entry, "GREENSHIM_TRACE=%s", value);
	int root = getpid(), ppid = 0;
	unsigned long long start = 0;
	for (int depth = 0; depth < 256; depth++) {
		if (proc_stat(root, &ppid, &start) != 0 || ppid <= 1 || !environ_has(ppid, entry))
			break;
		root = ppid;
	}
	if (proc_stat(root, &ppid, &start) != 0)
		start = 0;
	snprintf(tree, sizeof tree, "%d.%llu", root, start);
	char cwd[2048];
	if (value[0] != '/' && getcwd(cwd, sizeof cwd))
		snprintf(trace_file, sizeof trace_file, "%s/%s", cwd, value);
	else
		snprintf(trace_file, sizeof trace_file, "%s", value);
	pthread_atfork(NULL, NULL, gs__trace_after_fork);
}

__attribute__((constructor)) static void trace_init(void)
{
	const char *value = getenv("GREENSHIM_TRACE");
	if (value && *value)
		find_tree(value);
}

/* ---- writing this process's part ---- */

/* GREENSHIM_TRACE with each "%p" replaced by the pid. */
static void expand_path(char *out, size_t size)
{
	size_t n = 0;
	for (const char *c = trace_file; *c && n + 24 < size; c++) {
		if (c[0] == '%' && c[1] == 'p') {
			n += (size_t)snprintf(out + n, size - n, "%d", (int)getpid());
			c++;
		} else {
			out[n++] = *c;
		}
	}
	out[n] = 0;
}

/* Where a tree's FILE stands, from its tail. */
struct file_tail {
	off_t body_end;                /* where its last event ends */
	char tree[64];
	int pid;                       /* otherData.pid: the first part's */
	unsigned long long processes, next_tid, next_flow;
};

static const char tail_mark[] = "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"greenshim_trace\":1,";

static unsigned long long member(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

/* 0 when fd is a trace with a tree's tail, read into *t; else -1. */
static int read_tail(int fd, struct file_tail *t)
{
	struct stat st;
	char buf[4097];
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof tail_mark)
		return -1;
	off_t from = st.st_size > 4096 ? st.st_size - 4096 : 0;
	long n = gs__sys(SYS_pread64, fd, (long)buf, (long)(st.st_size - from), from, 0, 0);
	if (n != (long)(st.st_size - from))
		return -1;
	buf[n] = 0;
	char *mark = NULL;
	for (char *p = buf; (p = strstr(p, tail_mark)); p++)
		mark = p;
	if (!mark || n < 3 || strcmp(buf + n - 3, "}}\n") != 0)
		return -1;
	const char *other = mark + sizeof tail_mark - 1;
	const char *tr = strstr(other, "\"tree\":\"");
	if (!tr)
		return -1;
	tr += 8;
	size_t len = strcspn(tr, "\"");
	if (len >= sizeof t->tree)
		return -1;
	memcpy(t->tree, tr, len);
	t->tree[len] = 0;
	t->body_end = from + (mark - buf);
	t->pid = (int)member(other, "\"pid\":");
	t->processes = member(other, "\"processes\":");
	t->next_tid = member(other, "\"next_tid\":");
	t->next_flow = member(other, "\"next_flow\":");
	return 0;
}

/* Takes FILE.lock; its fd, or -1.  The holder removes the file before it
 * lets go, so a waiter that got the lock of a removed file tries again. */
static int lock_file(const char *lock)
{
	for (int tries = 0; tries < 1000; tries++) {
		int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
		if (fd < 0)
			return -1;
		struct stat a, b;
		while (flock(fd, LOCK_EX) != 0)
			if (errno != EINTR) {
				close(fd);
				return -1;
			}
		if (fstat(fd, &a) == 0 && stat(lock, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
	return -1;
}

static void unlock_file(const char *lock, int fd)
{
	unlink(lock);
	close(fd);
}

/* Copies [0, len) of in to out. */
static int copy_body(int in, int out, off_t len)
{
	loff_t at = 0;
	while (at < len) {
		long n = gs__sys(SYS_copy_file_range, in, (long)&at, out, 0, (long)(len - at), 0);
		if (n > 0)
			continue;
		if (n == -EINTR)
			continue;
		if (n == 0)
			return -EIO;
		/* another file system, or none that copies: by hand */
		char buf[65536];
		while (at < len) {
			long k = gs__sys(SYS_pread64, in, (long)buf,
					 (long)(len - at < (off_t)sizeof buf ? len - at : (off_t)sizeof buf), at,
					 0, 0);
			if (k <= 0)
				return k < 0 ? (int)k : -EIO;
			for (long done = 0; done < k;) {
				long w = gs__sys(SYS_write, out, (long)(buf + done), k - done, 0, 0, 0);
				if (w == -EINTR)
					continue;
				if (w <= 0)
					return w < 0 ? (int)w : -EIO;
				done += w;
			}
			at += k;
		}
	}
	return 0;
}

static char main_name[16]; /* a name only inherited from main says nothing */

static int by_label_id(const void *a, const void *b)
{
	const struct label *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

struct labels {
	struct label *l;
	size_t n;
};

/* "NAME (ID)", or the start routine when it is an exported symbol
 * (dladdr sees no static ones: then "file+0xoffset"). */
static const char *label_of(void *ctx, unsigned hub, int32_t id, char *buf, size_t size)
{
	const struct labels *all = ctx;
	struct label key = { .id = id };
	const struct label *l = bsearch(&key, all->l, all->n, sizeof *all->l, by_label_id);
	if (!l)
		return NULL;
	char name[17];
	memcpy(name, l->name, 16);
	name[16] = 0;
	int main = l->flags & GS_PUBT_MAIN;
	if (!main && name[0] && !strncmp(name, main_name, sizeof main_name))
		name[0] = 0;
	Dl_info info;
	if (name[0] || main) {
		snprintf(buf, size, "%s (%d)", name[0] ? name : "main", id);
	} else if (l->flags & GS_PUBT_ROOT) {
		snprintf(buf, size, "OS thread (%d)", id);
	} else if (l->start && dladdr((void *)(uintptr_t)l->start, &info)) {
		if (info.dli_sname && info.dli_saddr == (void *)(uintptr_t)l->start) {
			snprintf(buf, size, "%s (%d)", info.dli_sname, id);
		} else {
			const char *file = info.dli_fname ? strrchr(info.dli_fname, '/') : NULL;
			snprintf(buf, size, "%s+%#lx (%d)",
				 file ? file + 1 : info.dli_fname ? info.dli_fname : "?",
				 (unsigned long)(l->start - (uintptr_t)info.dli_fbase), id);
		}
	} else {
		return NULL;
	}
	return buf;
}

/* Every thread's label, sorted by id: the gone ones and the slots of the
 * living.  0, or -1 without memory. */
static int all_labels(const struct gs_pub_header *hd, struct labels *all)
{
	const struct gs_pub_thread *slots =
		(const struct gs_pub_thread *)((const char *)hd + hd->threads_offset);
	size_t n = labels_n + hd->threads_used, k = 0;
	all->l = malloc((n ? n : 1) * sizeof *all->l);
	if (!all->l)
		return -1;
	for (uint32_t i = 0; i < hd->threads_used; i++)
		if (slots[i].id) {
			struct label *l = &all->l[k++];
			l->id = slots[i].id;
			l->flags = slots[i].flags;
			l->start = slots[i].start_routine;
			memcpy(l->name, slots[i].name, sizeof l->name);
		}
	if (labels_n)
		memcpy(all->l + k, labels, labels_n * sizeof *labels);
	all->n = k + labels_n;
	qsort(all->l, all->n, sizeof *all->l, by_label_id);
	return 0;
}

/* The command line, its arguments joined by spaces. */
static void command_line(char *buf, size_t size)
{
	long n = read_proc("/proc/self/cmdline", buf, size);
	if (n <= 0) {
		buf[0] = 0;
		return;
	}
	while (n > 0 && buf[n - 1] == 0)
		n--;
	for (long i = 0; i < n; i++)
		if (buf[i] == 0)
			buf[i] = ' ';
	buf[n] = 0;
}

/* Reads the events of the temporary file back, hub by hub, merged by
 * time: chunks are indexed per hub, then each hub's are read in order. */
struct reader {
	struct span { off_t at; uint32_t n; } *spans;
	size_t n, cap, next;           /* this hub's chunks; the next to read */
	struct gs_pub_event buf[256];
	uint32_t have, at;             /* events in buf, the next of them */
	off_t pos;                     /* in the current chunk */
	uint32_t left;                 /* events left in it */
};

static int index_chunks(int fd, struct reader *r, unsigned hubs)
{
	struct chunk c;
	off_t at = 0;
	while (gs__sys(SYS_pread64, fd, (long)&c, sizeof c, at, 0, 0) == sizeof c) {
		at += sizeof c;
		if (c.hub < hubs && c.n) {
			struct reader *h = &r[c.hub];
			if (h->n == h->cap) {
				size_t cap = h->cap ? 2 * h->cap : 64;
				struct span *s = realloc(h->spans, cap * sizeof *s);
				if (!s)
					return -1;
				h->spans = s;
				h->cap = cap;
			}
			h->spans[h->n++] = (struct span){ at, c.n };
		}
		at += (off_t)c.n * (off_t)sizeof(struct gs_pub_event);
	}
	return 0;
}

/* The next event of hub reader r, or NULL when it has no more. */
static const struct gs_pub_event *peek(int fd, struct reader *r)
{
	while (r->at == r->have) {
		if (!r->left) {
			if (r->next == r->n)
				return NULL;
			r->pos = r->spans[r->next].at;
			r->left = r->spans[r->next++].n;
		}
		uint32_t want = r->left < 256 ? r->left : 256;
		long got = gs__sys(SYS_pread64, fd, (long)r->buf, want * sizeof *r->buf, r->pos, 0, 0);
		if (got != (long)(want * sizeof *r->buf)) { /* a short file: what was read counts */
			r->left = 0;
			r->next = r->n;
			return NULL;
		}
		r->pos += got;
		r->left -= want;
		r->have = want;
		r->at = 0;
	}
	return &r->buf[r->at];
}

static void write_events(int fd, struct gs_trace_json *j, unsigned hubs)
{
	struct reader *r = calloc(hubs ? hubs : 1, sizeof *r);
	if (!r || index_chunks(fd, r, hubs) != 0) {
		j->err = j->err ? j->err : ENOMEM;
	} else {
		for (;;) { /* a handful of hubs: a linear pick is enough */
			const struct gs_pub_event *best = NULL;
			unsigned from = 0;
			for (unsigned i = 0; i < hubs; i++) {
				const struct gs_pub_event *e = peek(fd, &r[i]);
				if (e && (!best || e->t_ns < best->t_ns)) {
					best = e;
					from = i;
				}
			}
			if (!best)
				break;
			gs_trace_json_event(j, from, best);
			r[from].at++;
		}
	}
	for (unsigned i = 0; r && i < hubs; i++)
		free(r[i].spans);
	free(r);
}

/* Writes this process's part (events in fd) into the file GREENSHIM_TRACE
 * names, as the head comment says.  0 or a negative errno. */
static int write_part(int events_fd, const struct gs_pub_header *hd)
{
	char given[4096], path[4096], lock[4200], tmp[4200];
	expand_path(given, sizeof given);
	if (!realpath(given, path)) /* a link to the file: the file */
		snprintf(path, sizeof path, "%s", given);
	struct stat st;
	int in_place = stat(path, &st) == 0 && !S_ISREG(st.st_mode);
	int lock_fd = -1, out = -1, err = 0, append = 0;
	struct file_tail t = { 0 };
	if (in_place) {
		out = open(path, O_WRONLY | O_CLOEXEC);
	} else {
		snprintf(lock, sizeof lock, "%s.lock", path);
		snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
		if ((lock_fd = lock_file(lock)) < 0)
			return -errno;
		int old = open(path, O_RDONLY | O_CLOEXEC);
		out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (old >= 0 && out >= 0 && read_tail(old, &t) == 0 && !strcmp(t.tree, tree)) {
			append = 1;
			err = copy_body(old, out, t.body_end);
		}
		if (old >= 0)
			close(old);
	}
	if (out < 0) {
		err = -errno;
		if (lock_fd >= 0)
			unlock_file(lock, lock_fd);
		return err;
	}
	struct gs_trace_json *j = err ? NULL : malloc(sizeof *j);
	if (j) {
		char cmd[512];
		command_line(cmd, sizeof cmd);
		gs_trace_json_init(j, out, hd->pid);
		j->append = append;
		j->absolute = 1;
		j->next_tid = (uint32_t)t.next_tid;
		j->next_flow = t.next_flow;
		struct labels all = { 0 };
		if (all_labels(hd, &all) == 0) {
			j->label = label_of;
			j->label_ctx = &all;
		}
		gs_trace_json_begin(j, cmd);
		write_events(events_fd, j, hd->hubs_used);
		char other[200];
		snprintf(other, sizeof other,
			 ",\"tree\":\"%s\",\"processes\":%llu,\"next_tid\":%u,\"next_flow\":%llu", tree,
			 t.processes + 1, j->next_tid, (unsigned long long)j->next_flow);
		j->tail_pid = append && t.pid ? t.pid : hd->pid;
		if (gs_trace_json_end(j, 1, other) != 0)
			err = -j->err;
		free(all.l);
		free(j);
	} else if (!err) {
		err = -ENOMEM;
	}
	if (close(out) != 0 && !err)
		err = -errno;
	if (!in_place) {
		if (!err && rename(tmp, path) != 0)
			err = -errno;
		if (err)
			unlink(tmp);
		unlock_file(lock, lock_fd);
	}
	return err;
}

/* At exit (or _exit, or exec): the last events, then this process's part. */
void gs__trace_finish(void)
{
	struct gs_pub_header *hd = gs__pub;
	if (tmp_fd < 0 || !hd || hd->pid != getpid())
		return;
	atomic_store(&hd->trace, 0);
	for (unsigned i = 0; i < hd->hubs_used && i < GS_PUB_MAX_HUBS; i++)
		drain(i);
	gs_spin_lock(&drain_lock);
	int fd = tmp_ok() ? tmp_fd : -1;
	tmp_fd = -1;
	atomic_store(&self_trace, 0);
	gs_spin_unlock(&drain_lock);
	if (fd < 0)
		return;
	/* the kernel's name of the process: what threads inherit */
	extern char *program_invocation_short_name;
	snprintf(main_name, sizeof main_name, "%s", program_invocation_short_name);
	int err = atomic_load(&drained) ? write_part(fd, hd) : 0; /* nothing: no part */
	close(fd);
	if (err)
		gs_warn("greenshim: GREENSHIM_TRACE=%s: writing the trace failed: %s", trace_file,
			strerror(-err));
	if (atomic_load(&lost))
		gs_warn("greenshim: GREENSHIM_TRACE=%s: %llu switches were not recorded (the ring "
			"overflowed)", trace_file, (unsigned long long)atomic_load(&lost));
}

/* Recording from now on, into a new temporary file. */
static void start_self(void)
{
	int fd = open("/tmp", O_TMPFILE | O_RDWR | O_APPEND | O_CLOEXEC, 0600);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		gs_warn("greenshim: GREENSHIM_TRACE: cannot make a temporary file in /tmp: %s",
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	tmp_fd = fd;
	tmp_dev = st.st_dev;
	tmp_ino = st.st_ino;
	atomic_store(&gs__pub->trace_drainer, 1);
	atomic_store(&self_trace, 1);
	atomic_store(&gs__pub->trace, 1);
	static int registered;
	if (!registered++)
		atexit(gs__trace_finish);
}

/* When the published file exists: start recording if GREENSHIM_TRACE asks. */
void gs__trace_start(void)
{
	if (!gs_trace_path || tmp_fd >= 0)
		return;
	if (!trace_file[0]) /* not loaded as the preload (a unit test) */
		snprintf(trace_file, sizeof trace_file, "%s", gs_trace_path);
	start_self();
}

/* Publishing the process's green threads for the inspector (published.h).
 *
 * The file is made when the first hub is: a process that never parks
 * publishes nothing.  Each thread record (struct gs_thread) points at its
 * slot (t->pub); a thread made while the file cannot be had points at a
 * private dummy slot, so every update is one unconditional store.
 *
 * Invariants:
 * - Slots live at fixed addresses for the process's life: the whole range
 *   is reserved up front (PROT_NONE, no memory) and the file is mapped
 *   over it in steps as it grows; a reader maps what the file size covers.
 * - A slot is owned by one thread record from gs__pub_thread_new to
 *   gs__pub_thread_release; free slots are kept on a LIFO under slot_lock
 *   (threads are made on several OS threads when the thread subsystem is
 *   off).  Its id is 0 exactly while it is free.
 * - Only the hub's own OS thread writes its hub record; the inspector writes
 *   only the header's inspectors, heartbeat, trace and ring_tail fields.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
#include "rawsys.h"

#define SLOTS_MAX (4u << 20)          /* 4M threads: 512 MiB of address space */
#define SLOTS_STEP 4096               /* the file grows by this many slots */

struct gs_pub_header *gs__pub;
struct gs_pub_thread gs__pub_nobody; /* the slot of threads made with no file */
static struct gs_pub_hub dummy_hub;
static char path[64];
static _Atomic int pub_lock;            /* creation, growth, the free list */
static int pub_failed;                  /* creation failed once: do not retry */
static uint32_t *free_slots;            /* LIFO of free slot indices */
static uint32_t free_n, free_cap;
static int pub_fd = -1;
static int pub_private;                 /* a fork child's copy, not in a file yet */

/* A fork while another OS thread holds pub_lock (making the file, say)
 * would leave it held in the child for good: fork waits for it. */
GS_STARTUP static void lock_for_fork(void)
{
	gs_spin_lock(&pub_lock);
}

GS_STARTUP static void unlock_after_fork(void)
{
	gs_spin_unlock(&pub_lock);
}

__attribute__((constructor)) static void register_fork_handlers(void)
{
	pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork);
}

static struct gs_pub_thread *slots(void)
{
	return (struct gs_pub_thread *)((char *)gs__pub + gs__pub->threads_offset);
}

static size_t file_size(uint32_t cap)
{
	return gs__pub->threads_offset + (size_t)cap * sizeof(struct gs_pub_thread);
}

/* A crash leaves its file behind: remove the files of this user whose
 * process is gone (the inspector also checks that a live pid maps it).
 * One process in SWEEP_ONE_IN, chosen by its pid, sweeps: the directory
 * scan is five system calls, a sixth of a lone program's first wait,
 * and what crashes leave waits for the next sweep. */
#define SWEEP_ONE_IN 16
static void remove_stale(uid_t uid, pid_t pid)
{
	if (pid % SWEEP_ONE_IN)
		return;
	DIR *d = opendir("/dev/shm");
	if (!d)
		return;
	char prefix[32];
	int plen = snprintf(prefix, sizeof prefix, "greenshim-%u-", (unsigned)uid);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, plen) != 0)
			continue;
		char *end;
		long owner = strtol(e->d_name + plen, &end, 10);
		if (*end || owner <= 0)
			continue;
		if (kill((pid_t)owner, 0) != 0 && errno == ESRCH)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

static void unlink_at_exit(void)
{
	if (gs__pub && !pub_private && gs__pub->pid == getpid())
		unlink(path);
}

/* _exit and _Exit skip atexit: the trace is written and the file removed
 * all the same (never in a vfork child: its pid is not the file's). */
void gs_process_ending(void)
{
	gs__trace_finish();
	unlink_at_exit();
}

/* Maps the file's first `bytes` over the reservation at gs__pub. */
static int map_file(size_t from, size_t to)
{
	void *p = mmap((char *)gs__pub + from, to - from, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED, pub_fd, (off_t)from);
	return p == MAP_FAILED ? -1 : 0;
}

/* Makes the file for this process and maps it; 0 or -1 (then nothing is
 * published). */
static int create_file(void)
{
	uid_t uid = getuid();
	pid_t pid = getpid();
	remove_stale(uid, pid);
	snprintf(path, sizeof path, GS_PUB_PATH_FMT, (unsigned)uid, (int)pid);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) { /* an earlier image of this pid (exec) */
		unlink(path);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return -1;
	size_t rings = (size_t)GS_PUB_MAX_HUBS * GS_PUB_RING_EVENTS * sizeof(struct gs_pub_event);
	size_t threads_offset = GS_PUB_HEADER_SIZE + rings;
	size_t reserve = threads_offset + (size_t)SLOTS_MAX * sizeof(struct gs_pub_thread);
	void *base = mmap(NULL, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED) {
		close(fd);
		unlink(path);
		return -1;
	}
	size_t size = threads_offset + (size_t)SLOTS_STEP * sizeof(struct gs_pub_thread);
	if (ftruncate(fd, (off_t)size) != 0 ||
	    mmap(base, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
		munmap(base, reserve);
		close(fd);
		unlink(path);
		return -1;
	}
	struct gs_pub_header *hd = base;
	hd->version = GS_PUB_VERSION;
	hd->header_size = GS_PUB_HEADER_SIZE;
	hd->pid = pid;
	hd->hub_size = sizeof(struct gs_pub_hub);
	hd->event_size = sizeof(struct gs_pub_event);
	hd->thread_size = sizeof(struct gs_pub_thread);
	hd->max_hubs = GS_PUB_MAX_HUBS;
	hd->ring_events = GS_PUB_RING_EVENTS;
	hd->rings_offset = GS_PUB_HEADER_SIZE;
	hd->threads_offset = threads_offset;
	hd->threads_cap = SLOTS_STEP;
	hd->started_ns = gs__mono_ns();
	ssize_t n = readlink("/proc/self/exe", hd->exe, sizeof hd->exe - 1);
	if (n < 0)
		hd->exe[0] = 0;
	pub_fd = fd;
	gs__pub = hd;
	atomic_store_explicit(&hd->magic, GS_PUB_MAGIC, memory_order_release);
	static int registered;
	if (!registered++)
		atexit(unlink_at_exit);
	gs__trace_start();
	return 0;
}

static int publish_private(void);

/* With pub_lock held: the file exists (or cannot be had). */
static int ensure_file(void)
{
	if (gs__pub && pub_private) {
		if (publish_private() != 0) {
			pub_failed = 1;
			return -1;
		}
		return 0;
	}
	if (gs__pub)
		return 0;
	if (pub_failed)
		return -1;
	int saved = errno;
	int r = create_file();
	errno = saved;
	if (r)
		pub_failed = 1;
	return r;
}

/* With pub_lock held: one more slot index, growing the file if needed. */
static int take_slot(uint32_t *index)
{
	if (free_n) {
		*index = free_slots[--free_n];
		return 0;
	}
	uint32_t used = atomic_load_explicit(&gs__pub->threads_used, memory_order_relaxed);
	uint32_t cap = atomic_load_explicit(&gs__pub->threads_cap, memory_order_relaxed);
	if (used == cap) {
		if (cap + SLOTS_STEP > SLOTS_MAX)
			return -1;
		if (pub_private)
			return -1; /* (ensure_file published it before any growth) */
		if (ftruncate(pub_fd, (off_t)file_size(cap + SLOTS_STEP)) != 0 ||
		    map_file(file_size(cap), file_size(cap + SLOTS_STEP)) != 0)
			return -1;
		atomic_store_explicit(&gs__pub->threads_cap, cap + SLOTS_STEP, memory_order_release);
	}
	*index = used;
	atomic_store_explicit(&gs__pub->threads_used, used + 1, memory_order_release);
	return 0;
}

void gs__pub_thread_new(struct gs_thread *t, int create)
{
	t->pub = &gs__pub_nobody;
	if (!gs__pub && (pub_failed || !create))
		return;
	int saved = errno;
	gs_spin_lock(&pub_lock);
	uint32_t i;
	if (ensure_file() == 0 && take_slot(&i) == 0) {
		struct gs_pub_thread *s = &slots()[i];
		gs_zero(s, sizeof *s);
		s->hub = t->hub && t->hub->pub_index >= 0 ? t->hub->pub_index : 0;
		s->start_routine = (uint64_t)(uintptr_t)t->start;
		s->stack_lo = (uint64_t)(uintptr_t)t->stack.lo;
		s->stack_size = t->stack.size;
		s->flags = ((t->flags & GS_TF_ROOT) ? GS_PUBT_ROOT : 0) |
			   ((t->flags & GS_TF_MAIN) ? GS_PUBT_MAIN : 0) |
			   ((t->flags & GS_TF_DETACHED) ? GS_PUBT_DETACHED : 0);
		atomic_store_explicit(&s->id, t->id, memory_order_release);
		t->pub = s;
	}
	gs_spin_unlock(&pub_lock);
	errno = saved;
}

void gs__pub_thread_release(struct gs_thread *t)
{
	struct gs_pub_thread *s = t->pub;
	if (!gs__pub || s == &gs__pub_nobody || !s) {
		t->pub = &gs__pub_nobody;
		return;
	}
	gs__trace_thread_gone(t);
	t->pub = &gs__pub_nobody;
	atomic_store_explicit(&s->id, 0, memory_order_release);
	gs_spin_lock(&pub_lock);
	if (free_n == free_cap) {
		uint32_t cap = free_cap ? free_cap * 2 : 1024;
		uint32_t *bigger = realloc(free_slots, cap * sizeof *bigger);
		if (!bigger) { /* the slot is lost, not reused: harmless */
			gs_spin_unlock(&pub_lock);
			return;
		}
		free_slots = bigger;
		free_cap = cap;
	}
	free_slots[free_n++] = (uint32_t)(s - slots());
	gs_spin_unlock(&pub_lock);
}

void gs_thread_publish_name(struct gs_thread *t, const char name[16])
{
	struct gs_pub_thread *s = t->pub;
	if (s == &gs__pub_nobody)
		return;
	_Static_assert(sizeof s->name == 16, "a thread name is 16 bytes");
	memcpy(s->name, name, sizeof s->name);
	s->name[sizeof s->name - 1] = 0;
}

void gs__pub_hub_new(struct gs_hub *h)
{
	h->pub = &dummy_hub;
	h->pub_index = -1;
	gs_spin_lock(&pub_lock);
	if (ensure_file() == 0) {
		for (int i = 0; i < GS_PUB_MAX_HUBS; i++) {
			struct gs_pub_hub *p = &gs__pub->hubs[i];
			if (atomic_load_explicit(&p->tid, memory_order_relaxed) != 0)
				continue;
			memset(p, 0, sizeof *p);
			atomic_store_explicit(&p->tid, (int32_t)gs__sys(SYS_gettid, 0, 0, 0, 0, 0, 0),
					      memory_order_release);
			h->pub = p;
			h->pub_index = i;
			if ((uint32_t)i >= gs__pub->hubs_used)
				gs__pub->hubs_used = i + 1;
			break;
		}
	}
	gs_spin_unlock(&pub_lock);
}

void gs__pub_hub_gone(struct gs_hub *h)
{
	if (h->pub != &dummy_hub)
		atomic_store_explicit(&h->pub->tid, 0, memory_order_release);
	h->pub = &dummy_hub;
}

/* The hub's figures, each time it polls its loop; and an inspector that
 * stopped beating for 2 s (killed) is forgotten. */
void gs__pub_hub_poll(struct gs_hub *h)
{
	struct gs_pub_hub *p = h->pub;
	uint64_t now = gs__mono_ns();
	atomic_store_explicit(&p->last_poll_ns, now, memory_order_relaxed);
	/* the direct switches since the last poll, and the one into the hub */
	atomic_store_explicit(&p->switches,
			      atomic_load_explicit(&p->switches, memory_order_relaxed) + h->since_poll + 1,
			      memory_order_relaxed);
	struct gs_pub_header *hd = gs__pub;
	h->watched = hd && (atomic_load_explicit(&hd->inspectors, memory_order_relaxed) ||
			    atomic_load_explicit(&hd->trace, memory_order_relaxed));
	if (h->watched) { /* counting is a walk of the queue: only for a reader */
		unsigned ready = 0;
		for (struct gs_thread *t = h->ready_head; t && ready < 1000000; t = t->next_ready)
			ready++;
		atomic_store_explicit(&p->ready, ready, memory_order_relaxed);
	}
	atomic_store_explicit(&p->timers, h->armed, memory_order_relaxed);
	atomic_store_explicit(&p->fds, h->fd_waits, memory_order_relaxed);
	atomic_store_explicit(&p->live, h->live, memory_order_relaxed);
	if (!hd)
		return;
	if (atomic_load_explicit(&hd->inspectors, memory_order_relaxed) &&
	    now - atomic_load_explicit(&hd->inspector_heartbeat_ns, memory_order_relaxed) >
		    2000000000ULL)
		atomic_store(&hd->inspectors, 0);
	if (atomic_load_explicit(&hd->trace_drainer, memory_order_relaxed) == 2 &&
	    now - atomic_load_explicit(&hd->tracer_heartbeat_ns, memory_order_relaxed) > 2000000000ULL) {
		atomic_store(&hd->trace, 0); /* a killed `greenshim trace` */
		atomic_store(&hd->trace_drainer, 0);
	}
}

/* In a fork child: the file is the parent's.  Make our own, copy what the
 * parent had (ghost threads still point at their slots), and map it at the
 * same addresses; the other OS threads' hubs are gone. */
/* In a fork child: the file is the parent's.  The child keeps what it
 * had in private memory at the same addresses (ghost threads still point
 * at their slots) and publishes it in a file of its own only once it makes
 * a thread: most children exec or exit at once, and leave nothing behind. */
void gs__pub_after_fork(struct gs_hub *mine)
{
	if (!gs__pub)
		return;
	gs__trace_after_fork();
	struct gs_pub_header *old = gs__pub;
	uint32_t used = old->threads_used;
	size_t slots_bytes = (size_t)used * sizeof(struct gs_pub_thread);
	size_t size = file_size(old->threads_cap);
	char *copy = malloc(GS_PUB_HEADER_SIZE + slots_bytes);
	if (copy) {
		memcpy(copy, old, GS_PUB_HEADER_SIZE);
		memcpy(copy + GS_PUB_HEADER_SIZE, slots(), slots_bytes);
	}
	close(pub_fd);
	pub_fd = -1;
	mmap(old, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (!copy) {
		gs__pub = NULL;
		pub_failed = 1;
		return;
	}
	memcpy(gs__pub, copy, GS_PUB_HEADER_SIZE);
	memcpy(slots(), copy + GS_PUB_HEADER_SIZE, slots_bytes);
	free(copy);
	pub_private = 1;
	gs__pub->pid = getpid();
	atomic_store(&gs__pub->inspectors, 0);
	atomic_store(&gs__pub->trace, 0);
	atomic_store(&gs__pub->trace_drainer, 0);
	for (int i = 0; i < GS_PUB_MAX_HUBS; i++) {
		struct gs_pub_hub *p = &gs__pub->hubs[i];
		atomic_store(&p->ring_head, 0);
		atomic_store(&p->ring_tail, 0);
		if (p != mine->pub)
			atomic_store(&p->tid, 0);
	}
	atomic_store(&mine->pub->tid, (int32_t)gs__sys(SYS_gettid, 0, 0, 0, 0, 0, 0));
}

/* With pub_lock held, in a fork child that now makes a thread: its own
 * file, filled with what it kept privately, mapped over it. */
static int publish_private(void)
{
	size_t size = file_size(gs__pub->threads_cap);
	snprintf(path, sizeof path, GS_PUB_PATH_FMT, (unsigned)getuid(), (int)getpid());
	unlink(path);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t slots_bytes = (size_t)gs__pub->threads_used * sizeof(struct gs_pub_thread);
	if (ftruncate(fd, (off_t)size) != 0 ||
	    pwrite(fd, gs__pub, GS_PUB_HEADER_SIZE, 0) != GS_PUB_HEADER_SIZE ||
	    pwrite(fd, slots(), slots_bytes, (off_t)gs__pub->threads_offset) != (ssize_t)slots_bytes) {
		close(fd);
		unlink(path);
		return -1;
	}
	pub_fd = fd;
	if (map_file(0, size) != 0)
		return -1; /* the range is gone: nothing can be published now */
	pub_private = 0;
	return 0;
}

/* A deadline on the monotonic clock, as the inspector reads it. */
void gs__pub_deadline(struct gs_thread *t, const struct gs_deadline *d)
{
	uint64_t until;
	if (d->clock == CLOCK_MONOTONIC) {
		until = (uint64_t)d->at.tv_sec * 1000000000ULL + (uint64_t)d->at.tv_nsec;
	} else { /* another clock: when it comes, on the monotonic one */
		struct timespec left;
		gs_deadline_left(d, &left);
		until = gs__mono_ns() + (uint64_t)left.tv_sec * 1000000000ULL + (uint64_t)left.tv_nsec;
	}
	atomic_store_explicit(&t->pub->wait_until_ns, until, memory_order_relaxed);
}

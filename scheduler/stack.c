/* Stacks for green threads.
 *
 * Costs that shape this file (measured on the 2-core VM this project runs
 * on): a separate mmap + mprotect per stack costs ~17 us; carving stacks
 * from a chunk mapping with one mprotect each, ~6 us, most of it the split
 * of the chunk's map entry; and every mapping counts against
 * vm.max_map_count (65530 by default).  A stack with a PROT_NONE guard
 * below it costs two map entries, so guarded stacks alone would stop near
 * 30,000 threads.
 *
 * So stacks of one (size, guard) class are carved from chunks of
 * CHUNK_STACKS slots, each slot its guard and then the stack.  How the
 * guard is made is chosen once, at the first chunk:
 *
 * - Guard markers (Linux 6.13's MADV_GUARD_INSTALL), where the kernel has
 *   them.  A chunk is mapped read-write whole and each slot's guard pages
 *   are marked: touching one is a SIGSEGV, as a PROT_NONE page is, but the
 *   mark lives in the page table, not in a map entry, so the chunk stays
 *   one entry (neighbouring chunks merge) however many threads there are,
 *   and every stack is guarded.  A mark is inherited by a fork child.  The
 *   marks of a chunk are made in growing batches (1, 1, 2, 4, ... slots
 *   ahead of the handing out), each batch with one process_madvise where
 *   the kernel takes a vector for the process itself, else one madvise per
 *   slot: a program with two threads does not pay for 64 guards' page
 *   tables.  A mark keeps its page table, which MADV_DONTNEED would free
 *   otherwise: the trim below removes the chunk's marks first, and they are
 *   made again as its slots are handed out again.
 * - Otherwise, while the guard budget lasts (half of what the map limit
 *   leaves after MAP_RESERVE entries for the program), chunks are mapped
 *   PROT_NONE and each slot's usable part is made read-write when first
 *   handed out: the guard is the PROT_NONE page left below it.  Past the
 *   budget, chunks are mapped read-write whole, with no guard (adjacent
 *   slots merge into one map entry); the scheduler then checks each
 *   thread's stack pointer against its bounds at every switch, so an
 *   overflow in progress is reported by name.  (A canary word at the
 *   bottom would catch more, but cost every thread a second page and page
 *   table.)
 *
 * Freed stacks stay in their chunk for reuse: nothing is unmapped, and a
 * reused stack keeps the pages its last thread touched (no madvise: the
 * next thread is likely to touch the same ones).  When every slot of a
 * chunk is free and more than TRIM_ABOVE stacks of the class are idle,
 * the chunk's memory is given back with one madvise.  Stacks are
 * MAP_NORESERVE: a thread pays only for the pages it touches.  Sizes that
 * do not fit in one of CLASSES classes, or whose guard is too large to
 * mark (MARK_GUARD_MAX), get a mapping of their own (SOLO), unmapped when
 * freed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gs.h"
#include "rawsys.h" /* mprotect, madvise: never through libc, whose calls trap */
#include "stack.h"
#include "valgrind_hooks.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define GS_ASAN_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define GS_ASAN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif
#define ASAN_CLEAR_TOP (256 * 1024) /* at most this much of a stack's top */

#define CHUNK_STACKS 64
#define MAP_RESERVE 8192
#define CLASSES 8
#define TRIM_ABOVE 1024

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 */
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif
/* Guards larger than this are not marked: a mark costs a page-table entry
 * per page (and the page tables to hold them: 1 GiB of guard, 2 MiB), a
 * PROT_NONE page nothing.  Stacks with such a guard get a mapping of
 * their own (SOLO), two map entries each, as glibc's threads cost. */
#define MARK_GUARD_MAX (1024 * 1024)
#define PIDFD_SELF (-10000)    /* process_madvise on the caller itself (Linux 6.14) */

/* How guards are made (see the top of the file); decided at the first chunk. */
enum guard_way {
	GUARD_UNDECIDED,
	GUARD_MARKS,   /* read-write chunks, guard pages marked in the page table */
	GUARD_PROTECT, /* PROT_NONE chunks while the map budget lasts, then none */
};

struct gs_chunk {
	char *base;                /* the mapping */
	size_t slot;               /* bytes per slot: guard + size */
	int guarded;               /* slots have a guard below them */
	int marks;                 /* ... made with guard markers: read-write mapping */
	unsigned marked;           /* slots whose guard is marked already (marks) */
	unsigned handed;           /* slots handed out at least once (bump index) */
	unsigned nfree;            /* entries in free_idx */
	unsigned char free_idx[CHUNK_STACKS]; /* freed slots, LIFO */
	struct gs_chunk *next;     /* next chunk of the class with a slot to give */
	int listed;                /* on its class's list */
};

struct stack_class {
	size_t size, guard;
	struct gs_chunk *avail;    /* chunks with a free or never-used slot */
	unsigned long idle;        /* freed stacks waiting for reuse */
};

static _Atomic int lock;
static struct stack_class classes[CLASSES];
static long guard_budget = -1; /* GUARD_PROTECT: guarded slots we may still hand out */
static int guard_way;          /* enum guard_way */
static int marks_by_vector = 1; /* process_madvise takes our own marks (until refused) */

static size_t page_size(void)
{
	static size_t ps;
	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

static long read_max_map_count(void)
{
	long v = 65530;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = 65530;
		fclose(f);
	}
	return v;
}

static struct stack_class *class_for(size_t size, size_t guard)
{
	for (int i = 0; i < CLASSES; i++)
		if (classes[i].size == size && classes[i].guard == guard)
			return &classes[i];
	for (int i = 0; i < CLASSES; i++)
		if (classes[i].size == 0) {
			classes[i].size = size;
			classes[i].guard = guard;
			return &classes[i];
		}
	return NULL;
}

/* Whether the kernel marks guard pages: tried once on a page of our own. */
static int guard_markers_work(void)
{
	size_t ps = page_size();
	char *p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	int ok = gs__sys(SYS_madvise, (long)p, (long)ps, MADV_GUARD_INSTALL, 0, 0, 0) == 0;
	munmap(p, 2 * ps);
	return ok;
}

static void decide_guard_way(void)
{
	if (guard_markers_work()) {
		guard_way = GUARD_MARKS;
		marks_by_vector = !GS_VG_RUNNING(); /* valgrind has no process_madvise (and warns) */
		return;
	}
	guard_way = GUARD_PROTECT;
	guard_budget = (read_max_map_count() - MAP_RESERVE) / 2;
}

/* Installs or removes (advice) the guard marks of the chunk's slots
 * from..from+n-1: one process_madvise, else one madvise each; 0 or -EAGAIN.
 * (Only where the guards are: a madvise over the whole chunk would walk
 * every page-table entry of it.) */
static int advise_guards(struct stack_class *c, struct gs_chunk *k, unsigned from, unsigned n, int advice)
{
	struct iovec guards[CHUNK_STACKS];
	for (unsigned i = 0; i < n; i++)
		guards[i] = (struct iovec){ k->base + (size_t)(from + i) * k->slot, c->guard };
	long done = -1;
	if (marks_by_vector && n > 1) {
		done = gs__sys(SYS_process_madvise, PIDFD_SELF, (long)guards, n, advice, 0, 0);
		if (done < 0 && done != -ENOMEM && done != -EAGAIN)
			marks_by_vector = 0; /* an older kernel: one madvise each from now on */
	}
	if (done != (long)(n * c->guard))
		for (unsigned i = 0; i < n; i++)
			if (gs__sys(SYS_madvise, (long)guards[i].iov_base, (long)c->guard, advice, 0, 0, 0) != 0)
				return -EAGAIN;
	return 0;
}

/* One batch of marks, for the slots from `from` on. */
static int mark_batch(struct stack_class *c, struct gs_chunk *k, unsigned from)
{
	unsigned n = from ? from : 1;
	if (n > CHUNK_STACKS - from)
		n = CHUNK_STACKS - from;
	if (advise_guards(c, k, from, n, MADV_GUARD_INSTALL) != 0)
		return -EAGAIN;
	k->marked = from + n;
	return 0;
}

/* GUARD_MARKS: marks the guards of the chunk's slots up to idx, in
 * batches from the first unmarked one, each as large as the slots marked
 * so far (at least one); 0 or -EAGAIN (no memory for the page tables). */
static int mark_guards(struct stack_class *c, struct gs_chunk *k, unsigned idx)
{
	while (idx >= k->marked) {
		int r = mark_batch(c, k, k->marked);
		if (r)
			return r;
	}
	return 0;
}

static struct gs_chunk *new_chunk(struct stack_class *c)
{
	struct gs_chunk *k = calloc(1, sizeof *k);
	if (!k)
		return NULL;
	k->marks = guard_way == GUARD_MARKS;
	k->guarded = k->marks || guard_budget >= CHUNK_STACKS;
	k->slot = c->size + (k->guarded ? c->guard : 0);
	int prot = k->guarded && !k->marks ? PROT_NONE : PROT_READ | PROT_WRITE;
	k->base = mmap(NULL, k->slot * CHUNK_STACKS, prot,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (k->base == MAP_FAILED) {
		free(k);
		return NULL;
	}
	if (k->guarded && !k->marks)
		guard_budget -= CHUNK_STACKS;
	k->next = c->avail;
	k->listed = 1;
	c->avail = k;
	return k;
}

static void fill(struct gs_stack *s, struct stack_class *c, struct gs_chunk *k, unsigned idx)
{
	s->lo = k->base + (size_t)idx * k->slot + (k->guarded ? c->guard : 0);
	s->size = c->size;
	s->guard = c->guard;
	s->kind = k->guarded ? GS_STACK_GUARDED : GS_STACK_BARE;
	s->chunk = k;
	s->hosts_record = 0;
}

/* With the lock held: a slot of class c, or -EAGAIN. */
static int take(struct gs_stack *s, struct stack_class *c)
{
	for (;;) {
		struct gs_chunk *k = c->avail;
		if (!k && !(k = new_chunk(c)))
			return -EAGAIN;
		if (k->nfree) {
			unsigned idx = k->free_idx[--k->nfree];
			fill(s, c, k, idx);
			if (k->marks && c->guard && idx >= k->marked && mark_guards(c, k, idx) != 0) {
				k->nfree++; /* still free */
				return -EAGAIN;
			}
			c->idle--;
			return 0;
		}
		if (k->handed < CHUNK_STACKS) {
			unsigned idx = k->handed;
			fill(s, c, k, idx);
			if (k->marks) {
				if (c->guard && idx >= k->marked && mark_guards(c, k, idx) != 0)
					return -EAGAIN;
			} else if (k->guarded && gs__sys(SYS_mprotect, (long)s->lo, (long)s->size,
						       PROT_READ | PROT_WRITE, 0, 0, 0) != 0) {
				return -EAGAIN;
			}
			k->handed++;
			return 0;
		}
		c->avail = k->next; /* nothing left here */
		k->listed = 0;
	}
}

static int solo_alloc(struct gs_stack *s, size_t size, size_t guard)
{
	char *p = mmap(NULL, size + guard, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (p == MAP_FAILED)
		return -EAGAIN;
	if (guard && gs__sys(SYS_mprotect, (long)p, (long)guard, PROT_NONE, 0, 0, 0) != 0) {
		munmap(p, size + guard);
		return -EAGAIN;
	}
	*s = (struct gs_stack){ .lo = p + guard, .size = size, .guard = guard, .kind = GS_STACK_SOLO };
	return 0;
}

int gs__stack_alloc(struct gs_stack *s, size_t size, size_t guard)
{
	size_t ps = page_size();
	size = (size + ps - 1) & ~(ps - 1);
	guard = (guard + ps - 1) & ~(ps - 1);
	if (size < ps * 4)
		size = ps * 4;
	gs_spin_lock(&lock);
	if (guard_way == GUARD_UNDECIDED)
		decide_guard_way();
	struct stack_class *c = guard_way == GUARD_MARKS && guard > MARK_GUARD_MAX ? NULL : class_for(size, guard);
	int rc = c ? take(s, c) : 1;
	gs_spin_unlock(&lock);
	if (rc == 1)
		rc = solo_alloc(s, size, guard);
	if (rc == 0) {
		s->vg_id = GS_VG_STACK_REGISTER((char *)s->lo, (char *)s->lo + s->size);
		/* Under ASan: a pooled stack may still carry the redzones of a
		 * thread that left it by a switch, not by returning; only the
		 * part a thread touched (the top) can, so only that is cleared. */
		size_t top = s->size < ASAN_CLEAR_TOP ? s->size : ASAN_CLEAR_TOP;
		GS_ASAN_UNPOISON((char *)s->lo + s->size - top, top);
	}
	return rc;
}

void gs__stack_adopt(struct gs_stack *s, void *lo, size_t size)
{
	*s = (struct gs_stack){ .lo = lo, .size = size, .kind = GS_STACK_USER };
	s->vg_id = GS_VG_STACK_REGISTER((char *)lo, (char *)lo + size);
}

static void release(struct gs_stack *s)
{
	if (s->kind != GS_STACK_NONE)
		GS_VG_STACK_DEREGISTER(s->vg_id);
	if (s->kind == GS_STACK_SOLO) {
		munmap((char *)s->lo - s->guard, s->size + s->guard);
		return;
	}
	if (s->kind != GS_STACK_GUARDED && s->kind != GS_STACK_BARE) {
		s->kind = GS_STACK_NONE;
		return;
	}
	struct gs_chunk *k = s->chunk;
	gs_spin_lock(&lock);
	struct stack_class *c = class_for(s->size, s->guard);
	unsigned idx = (unsigned)(((char *)s->lo - k->base) / k->slot);
	/* s may live in the slot (a hosted record): done with it before the
	 * slot can be handed out again, under the lock. */
	s->kind = GS_STACK_NONE;
	k->free_idx[k->nfree++] = (unsigned char)idx;
	c->idle++;
	if (!k->listed) {
		k->next = c->avail;
		c->avail = k;
		k->listed = 1;
	}
	/* Every slot of the chunk is idle: give its memory back, page tables
	 * included, so its guard marks go first (under the lock, so no slot of
	 * it is handed out meanwhile). */
	if (k->nfree == k->handed && c->idle > TRIM_ABOVE) {
		if (k->marks && k->marked && advise_guards(c, k, 0, k->marked, MADV_GUARD_REMOVE) == 0)
			k->marked = 0;
		gs__sys(SYS_madvise, (long)k->base, (long)(k->slot * CHUNK_STACKS), MADV_DONTNEED, 0, 0, 0);
	}
	gs_spin_unlock(&lock);
}

void gs__stack_free(struct gs_stack *s)
{
	if (s->hosts_record)
		return; /* its record's: freed with it */
	release(s);
}

void gs__stack_free_hosting(struct gs_stack *s)
{
	release(s);
}

/* Stacks for green threads.
 *
 * vm.max_map_count (65530 by default) limits how many mappings a process
 * may have.  A stack with a PROT_NONE guard page below it costs two map
 * entries (the guard and the stack cannot merge with their neighbours), so
 * guarded stacks alone would stop near 30,000 threads.  We therefore hand
 * out guarded stacks while they fit in half of what the limit leaves after
 * a reserve for the program, and beyond that carve stacks out of shared
 * chunk mappings (adjacent stacks merge into one map entry).  A chunk stack
 * has no hardware guard: the scheduler checks the stack pointer of every
 * thread that switches out against its stack's bounds, so an overflow in
 * progress is reported by name.  (A canary word at the bottom would catch
 * more, but would cost every thread a second page and page table.)
 *
 * Freed stacks go to a pool per (size, guard) class and are reused; the
 * pool of a class is bounded for guarded stacks (the rest are unmapped),
 * chunk stacks are always pooled since unmapping one would split a map
 * entry.  Stacks are MAP_NORESERVE: a thread pays in memory only for the
 * pages it touches.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gs.h"
#include "stack.h"

#define CHUNK_STACKS 64      /* stacks per chunk mapping */
#define MAP_RESERVE 8192     /* map entries left to the program */
#define POOL_CLASSES 8
#define POOL_KEEP_GUARDED 4096

struct pool_class {
	size_t size, guard;
	struct gs_stack *free; /* free stacks of this class (records live at their tops) */
	unsigned long count;
};

static _Atomic int pool_lock;
static struct pool_class pools[POOL_CLASSES];
static long guarded_budget = -1;  /* guarded stacks we may still map */
static unsigned long n_guarded, n_chunked, n_pooled;

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

/* The free record of a pooled stack sits at its top, so reuse touches no
 * new page. */
static struct gs_stack *record_of(void *lo, size_t size)
{
	return (struct gs_stack *)((char *)lo + size - sizeof(struct gs_stack));
}

static struct pool_class *pool_find(size_t size, size_t guard, int create)
{
	for (int i = 0; i < POOL_CLASSES; i++)
		if (pools[i].size == size && pools[i].guard == guard)
			return &pools[i];
	if (!create)
		return NULL;
	for (int i = 0; i < POOL_CLASSES; i++)
		if (pools[i].size == 0) {
			pools[i].size = size;
			pools[i].guard = guard;
			return &pools[i];
		}
	return NULL;
}

static int map_guarded(struct gs_stack *s, size_t size, size_t guard)
{
	char *p = mmap(NULL, size + guard, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (p == MAP_FAILED)
		return -EAGAIN;
	if (guard && mprotect(p, guard, PROT_NONE) != 0) {
		munmap(p, size + guard);
		return -EAGAIN;
	}
	s->lo = p + guard;
	s->size = size;
	s->guard = guard;
	s->kind = GS_STACK_GUARDED;
	return 0;
}

/* Maps a chunk of CHUNK_STACKS stacks of this class and pools all but one. */
static int map_chunk(struct gs_stack *s, struct pool_class *pc, size_t size, size_t guard)
{
	char *p = mmap(NULL, size * CHUNK_STACKS, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (p == MAP_FAILED)
		return -EAGAIN;
	for (int i = 1; i < CHUNK_STACKS; i++) {
		struct gs_stack *r = record_of(p + i * size, size);
		r->lo = p + i * size;
		r->size = size;
		r->guard = guard;
		r->kind = GS_STACK_CHUNK;
		r->pool_next = pc->free;
		pc->free = r;
		pc->count++;
	}
	s->lo = p;
	s->size = size;
	s->guard = guard;
	s->kind = GS_STACK_CHUNK;
	n_chunked += CHUNK_STACKS;
	return 0;
}

int gs__stack_alloc(struct gs_stack *s, size_t size, size_t guard)
{
	size_t ps = page_size();
	size = (size + ps - 1) & ~(ps - 1);
	guard = (guard + ps - 1) & ~(ps - 1);
	if (size < ps * 4)
		size = ps * 4;

	gs_spin_lock(&pool_lock);
	if (guarded_budget < 0)
		guarded_budget = (read_max_map_count() - MAP_RESERVE) / 2;
	struct pool_class *pc = pool_find(size, guard, 1);
	if (pc && pc->free) {
		struct gs_stack *r = pc->free;
		pc->free = r->pool_next;
		pc->count--;
		*s = *r;
		gs_spin_unlock(&pool_lock);
		s->pool_next = NULL;
		return 0;
	}
	int rc;
	if (guarded_budget > 0 || !pc) {
		guarded_budget--;
		n_guarded++;
		gs_spin_unlock(&pool_lock);
		rc = map_guarded(s, size, guard);
		if (rc) {
			gs_spin_lock(&pool_lock);
			guarded_budget++;
			n_guarded--;
			gs_spin_unlock(&pool_lock);
		}
		return rc;
	}
	rc = map_chunk(s, pc, size, guard);
	gs_spin_unlock(&pool_lock);
	return rc;
}

void gs__stack_free(struct gs_stack *s)
{
	if (s->kind != GS_STACK_GUARDED && s->kind != GS_STACK_CHUNK)
		return;
	gs_spin_lock(&pool_lock);
	struct pool_class *pc = pool_find(s->size, s->guard, 1);
	if (pc && (s->kind == GS_STACK_CHUNK || pc->count < POOL_KEEP_GUARDED)) {
		struct gs_stack *r = record_of(s->lo, s->size);
		*r = *s;
		r->pool_next = pc->free;
		pc->free = r;
		pc->count++;
		n_pooled++;
		gs_spin_unlock(&pool_lock);
		return;
	}
	/* Only guarded stacks get here (chunk stacks always have a class:
	 * their class was created when the chunk was mapped). */
	guarded_budget++;
	n_guarded--;
	gs_spin_unlock(&pool_lock);
	munmap((char *)s->lo - s->guard, s->size + s->guard);
}

int gs__stack_intact(const struct gs_stack *s, const void *sp)
{
	return s->kind == GS_STACK_NONE || (const char *)sp >= (const char *)s->lo;
}

void gs__stack_stats(struct gs_stack_stats *st)
{
	gs_spin_lock(&pool_lock);
	st->guarded = n_guarded;
	st->chunked = n_chunked;
	st->pooled = n_pooled;
	gs_spin_unlock(&pool_lock);
}

/* Thread-specific data: pthread keys, one value per green thread.
 *
 * Keys are slots in one table; each slot has a sequence number that is odd
 * while the key exists and changes on every create and delete, so a value
 * stored under a deleted key is never returned for a new key in the same
 * slot (as in glibc).  A thread's values live in blocks of BLOCK entries,
 * allocated on first set: a thread that never sets a key pays one pointer.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "internal.h"
#include "rawsys.h"

#define BLOCK 32
#define NBLOCKS (GS_KEYS_MAX / BLOCK)
#define DESTRUCTOR_ITERATIONS 4 /* PTHREAD_DESTRUCTOR_ITERATIONS */

struct key {
	_Atomic uintptr_t seq;      /* odd: in use */
	void (*_Atomic dtor)(void *); /* destructor, or NULL */
};

struct gs_tsd_block {
	struct {
		uintptr_t seq;        /* the key's seq when value was set */
		void *value;
	} e[BLOCK];
};

static struct key keys[GS_KEYS_MAX];

/* ---- memory for values ------------------------------------------------------ *
 *
 * Blocks (and each thread's table of them) come from mapped chunks, never
 * from malloc: a malloc (jemalloc) keeps its own state in pthread keys and
 * sets one while it initialises, when it cannot be entered again; glibc's
 * own keys need no allocation for the first 32 either.  Freed units go on
 * a free list and are reused; chunks are never unmapped. */
#define UNIT sizeof(struct gs_tsd_block)
#define UNITS_PER_CHUNK 128
_Static_assert(NBLOCKS * sizeof(struct gs_tsd_block *) <= UNIT, "a thread's table fits a unit");

struct unit {
	struct unit *next; /* while free */
};

static struct unit *free_units;
static char *chunk_next, *chunk_end;
static _Atomic int units_lock;

static void *unit_alloc(void)
{
	gs_spin_lock(&units_lock);
	struct unit *u = free_units;
	if (u) {
		free_units = u->next;
	} else {
		if (chunk_next == chunk_end) {
			long p = gs__sys(SYS_mmap, 0, UNIT * UNITS_PER_CHUNK, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p < 0 && p > -4096) {
				gs_spin_unlock(&units_lock);
				return NULL;
			}
			chunk_next = (char *)p;
			chunk_end = chunk_next + UNIT * UNITS_PER_CHUNK;
		}
		u = (struct unit *)chunk_next;
		chunk_next += UNIT;
	}
	gs_spin_unlock(&units_lock);
	memset(u, 0, UNIT);
	return u;
}

static void unit_free(void *p)
{
	if (!p)
		return;
	struct unit *u = p;
	gs_spin_lock(&units_lock);
	u->next = free_units;
	free_units = u;
	gs_spin_unlock(&units_lock);
}

int gs_key_create(unsigned *out, void (*dtor)(void *))
{
	for (unsigned k = 0; k < GS_KEYS_MAX; k++) {
		uintptr_t seq = atomic_load_explicit(&keys[k].seq, memory_order_relaxed);
		if ((seq & 1) || seq + 1 < seq)
			continue; /* in use, or its sequence would wrap */
		if (atomic_compare_exchange_strong(&keys[k].seq, &seq, seq + 1)) {
			atomic_store(&keys[k].dtor, dtor);
			*out = k;
			return 0;
		}
	}
	return -EAGAIN;
}

int gs_key_delete(unsigned k)
{
	if (k >= GS_KEYS_MAX)
		return -EINVAL;
	uintptr_t seq = atomic_load(&keys[k].seq);
	if (!(seq & 1) || !atomic_compare_exchange_strong(&keys[k].seq, &seq, seq + 1))
		return -EINVAL;
	return 0;
}

void *gs_key_get(unsigned k)
{
	if (k >= GS_KEYS_MAX)
		return NULL;
	struct gs_thread *t = gs_self();
	struct gs_tsd_block *b = t->tsd ? t->tsd[k / BLOCK] : NULL;
	if (!b)
		return NULL;
	if (b->e[k % BLOCK].seq != atomic_load_explicit(&keys[k].seq, memory_order_relaxed)) {
		b->e[k % BLOCK].value = NULL;
		return NULL;
	}
	return b->e[k % BLOCK].value;
}

int gs_key_set(unsigned k, const void *value)
{
	if (k >= GS_KEYS_MAX)
		return -EINVAL;
	uintptr_t seq = atomic_load_explicit(&keys[k].seq, memory_order_relaxed);
	if (!(seq & 1))
		return -EINVAL;
	struct gs_thread *t = gs_self();
	if (!t->tsd) {
		if (!value)
			return 0;
		t->tsd = unit_alloc();
		if (!t->tsd)
			return -ENOMEM;
	}
	struct gs_tsd_block *b = t->tsd[k / BLOCK];
	if (!b) {
		if (!value)
			return 0;
		b = t->tsd[k / BLOCK] = unit_alloc();
		if (!b)
			return -ENOMEM;
	}
	b->e[k % BLOCK].seq = seq;
	b->e[k % BLOCK].value = (void *)value;
	return 0;
}

/* POSIX: repeat while some non-NULL value with a destructor remains, at
 * most PTHREAD_DESTRUCTOR_ITERATIONS rounds; each value is cleared before
 * its destructor is called. */
void gs__tsd_run_destructors(struct gs_thread *t)
{
	for (int round = 0; t->tsd && round < DESTRUCTOR_ITERATIONS; round++) {
		int called = 0;
		for (unsigned bi = 0; bi < NBLOCKS; bi++) {
			struct gs_tsd_block *b = t->tsd[bi];
			if (!b)
				continue;
			for (unsigned i = 0; i < BLOCK; i++) {
				unsigned k = bi * BLOCK + i;
				void *v = b->e[i].value;
				if (!v)
					continue;
				b->e[i].value = NULL;
				uintptr_t seq = atomic_load(&keys[k].seq);
				void (*dtor)(void *) = atomic_load(&keys[k].dtor);
				if ((seq & 1) && b->e[i].seq == seq && dtor) {
					dtor(v);
					called = 1;
				}
			}
		}
		if (!called)
			break;
	}
}

void gs__tsd_free(struct gs_thread *t)
{
	if (!t->tsd)
		return;
	for (unsigned bi = 0; bi < NBLOCKS; bi++)
		unit_free(t->tsd[bi]);
	unit_free(t->tsd);
	t->tsd = NULL;
}

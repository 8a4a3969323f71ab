/* Green thread stacks: carved from chunk mappings, guarded (by guard
 * markers, or by PROT_NONE pages while the map budget allows), pooled. */
#ifndef GS_STACK_H
#define GS_STACK_H

#include <stddef.h>

enum gs_stack_kind {
	GS_STACK_NONE,    /* no stack of ours (a root context) */
	GS_STACK_GUARDED, /* a chunk slot with a guard below it (marked or PROT_NONE) */
	GS_STACK_BARE,    /* a chunk slot without guard: bounds checked at switches */
	GS_STACK_SOLO,    /* its own guarded mapping (rare sizes), unmapped when freed */
	GS_STACK_USER,    /* the program's own memory (pthread_attr_setstack) */
};

struct gs_chunk;

/* Bytes at the top of every chunk slot kept for the thread record of the
 * stack's owner (thread.c): the record shares the page that the thread's
 * first frames touch, so a parked thread costs its touched stack pages and
 * nothing on the heap.  They are inside the stack as reported (glibc's own
 * thread descriptor sits at the top of its threads' stacks too); the
 * thread's frames start below them. */
#define GS_STACK_ROOM 1024

struct gs_stack {
	void *lo;               /* lowest usable address */
	size_t size;            /* usable bytes; the top is lo + size */
	size_t guard;           /* guard size asked for (made only for GUARDED/SOLO) */
	int kind;               /* enum gs_stack_kind */
	struct gs_chunk *chunk; /* the chunk it was carved from, if any */
	unsigned vg_id;         /* valgrind's id for it (valgrind_hooks.h) */
	int hosts_record;       /* its room holds its owner's record: the stack is
				 * freed with the record (gs__stack_free_hosting) */
};

/* The GS_STACK_ROOM bytes at the top of s kept for a record, or NULL (a
 * stack of its own mapping or of the program's has none). */
static inline void *gs__stack_room(const struct gs_stack *s)
{
	if (s->kind != GS_STACK_GUARDED && s->kind != GS_STACK_BARE)
		return NULL;
	return (char *)s->lo + s->size - GS_STACK_ROOM;
}

/* Registers a stack the program owns (pthread_attr_setstack). */
void gs__stack_adopt(struct gs_stack *s, void *lo, size_t size);

/* 0 or -EAGAIN (no memory or address space). */
int gs__stack_alloc(struct gs_stack *s, size_t size, size_t guard);
/* Frees s; but a stack that hosts its record stays the record's. */
void gs__stack_free(struct gs_stack *s);
/* Frees a stack that hosts its record (s lives in it): the record's last
 * use, since the slot may be handed out again at once. */
void gs__stack_free_hosting(struct gs_stack *s);

#endif

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

struct gs_stack {
	void *lo;               /* lowest usable address */
	size_t size;            /* usable bytes; the top is lo + size */
	size_t guard;           /* guard size asked for (made only for GUARDED/SOLO) */
	int kind;               /* enum gs_stack_kind */
	struct gs_chunk *chunk; /* the chunk it was carved from, if any */
	unsigned vg_id;         /* valgrind's id for it (valgrind_hooks.h) */
};

/* Registers a stack the program owns (pthread_attr_setstack). */
void gs__stack_adopt(struct gs_stack *s, void *lo, size_t size);

/* 0 or -EAGAIN (no memory or address space). */
int gs__stack_alloc(struct gs_stack *s, size_t size, size_t guard);
void gs__stack_free(struct gs_stack *s);

#endif

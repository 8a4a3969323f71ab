/* Green thread stacks: mmap'd, guarded while the map budget allows, pooled. */
#ifndef GS_STACK_H
#define GS_STACK_H

#include <stddef.h>

enum gs_stack_kind {
	GS_STACK_NONE,    /* no stack of ours (a root context) */
	GS_STACK_GUARDED, /* own mapping, PROT_NONE guard below: 2 map entries */
	GS_STACK_CHUNK,   /* carved from a shared mapping: no guard, bounds checked at switches */
	GS_STACK_USER,    /* the program's own memory (pthread_attr_setstack) */
};

struct gs_stack {
	void *lo;       /* lowest usable address */
	size_t size;    /* usable bytes; the top is lo + size */
	size_t guard;   /* guard size asked for; mapped PROT_NONE below lo only for GUARDED */
	int kind;       /* enum gs_stack_kind */
	struct gs_stack *pool_next; /* free-list link, stored at the top of a free stack */
};

/* 0 or -EAGAIN (no memory or address space). */
int gs__stack_alloc(struct gs_stack *s, size_t size, size_t guard);
void gs__stack_free(struct gs_stack *s);
/* 1 when sp, the stack pointer of a thread running on s, is inside it. */
int gs__stack_intact(const struct gs_stack *s, const void *sp);
/* Figures for benchmarks and the inspector. */
struct gs_stack_stats { unsigned long guarded, chunked, pooled; };
void gs__stack_stats(struct gs_stack_stats *st);

#endif

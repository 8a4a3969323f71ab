/* The pristine image of a TCB's static TLS and DTV, so that a pooled TCB
 * is made new again by copying it instead of by glibc's initialisation
 * (see tls_image.c).  Used by tls.c, whose x86_64 layout it assumes: the
 * TCB at the thread pointer, the static blocks below it. */
#ifndef GS_TLS_IMAGE_H
#define GS_TLS_IMAGE_H

#include <stddef.h>

/* One entry of glibc's DTV (dl-dtv.h's dtv_t, with the pointer member
 * spelt out): dtv[-1].counter is its length, dtv[0].counter the
 * generation it is up to date with, dtv[modid] the module's block. */
struct gs__dtv_entry {
	union {
		size_t counter;
		void *val;  /* the block; TLS_DTV_UNALLOCATED ((void *)-1): not yet */
	};
	void *to_free;      /* what to free() for it: non-NULL for dynamic blocks only */
};

/* The DTV of a TCB (tcbhead_t.dtv). */
static inline struct gs__dtv_entry *gs__dtv_of(void *tcb)
{
	return *(struct gs__dtv_entry **)((char *)tcb + 8);
}

/* Learns where glibc keeps its TLS generation and the extent of the used
 * static TLS, checked against the calling (first) thread's TCB os_tp; the
 * images stay unused if they cannot be found.  room: the bytes of static
 * TLS below a TCB (glibc's static TLS size less the TCB's). */
void gs__tls_image_init(char *os_tp, size_t room);
/* tcb was just initialised by glibc (_dl_allocate_tls, or its _init on an
 * emptied DTV) and nothing ran on it yet: keeps it as the image of the
 * current generation, unless one is kept already. */
void gs__tls_image_take(char *tcb);
/* Frees the dynamic blocks of a pooled TCB and resets its static blocks
 * and DTV from the image: 1 if done, 0 if the image is not the current
 * generation's (the blocks are freed all the same; the caller empties the
 * DTV, runs glibc's initialisation, then gs__tls_image_take).  *serial is
 * the TCB's own note of the image it was last reset from (0: none): read,
 * and set when done. */
int gs__tls_image_renew(char *tcb, size_t *serial);

#endif

/* A pooled TCB made new again by copying a pristine image of its static
 * TLS and DTV, instead of by glibc's initialisation.
 *
 * glibc's _dl_allocate_tls_init (elf/dl-tls.c), on a DTV emptied as
 * glibc's own stack cache empties it (dynamic blocks freed, every entry
 * zeroed), walks its slotinfo list under the loader's TLS lock and for
 * each module with TLS: sets its DTV entry to TLS_DTV_UNALLOCATED, or,
 * for a module in static TLS, to its block (thread pointer - l_tls_offset)
 * and copies its .tdata image and zeroes its .tbss there; then it sets
 * dtv[0].counter to the highest generation among the modules.  What it
 * leaves depends only on the loaded modules, and they change only when
 * glibc's generation counter does (every dlopen and dlclose of a module
 * with TLS bumps it) or when a module already loaded is given static TLS
 * (a later dlopen'ed library's initial-exec relocation against it), which
 * moves glibc's mark of the used static TLS.  So while both
 * GL(dl_tls_generation) and GL(dl_tls_static_used) stay what they were
 * when a freshly initialised TCB was copied, that copy is the result:
 *   - the static area [tp - used, tp) (every static block lies in it;
 *     the padding between them holds zeroes, as in a fresh TCB);
 *   - the DTV, each static module's entry kept as its offset from the
 *     thread pointer (it points into the TCB's own area), every other one
 *     as is (TLS_DTV_UNALLOCATED, or zero past the modules and for a
 *     dlclosed module's slot), to_free NULL throughout.
 * A pooled TCB whose DTV has another length (glibc resized it for a
 * later module) is left to glibc, as is everything whenever the
 * generation or the mark moved: the next TCB glibc initialises then
 * becomes the image.  Dynamic blocks (to_free) are freed first, as before
 * glibc's own initialisation.
 *
 * A TCB made new from the image notes which one (a serial, in the shim's
 * own TLS).  Made from the current one, with the generation and the mark
 * where they were, only the DTV entries of dynamic modules and dlclosed
 * slots (up to GL(dl_tls_max_dtv_idx)) and dtv[0] can have changed since:
 * glibc's __tls_get_addr fills only unallocated entries, and its
 * _dl_update_slotinfo touches only slots of a newer generation than
 * dtv[0], which are closed ones (no higher than the maximum index); so
 * only those are freed and set again.
 *
 * Neither counter is exported: both are fields of _rtld_global next to
 * _dl_tls_dtv_slotinfo_list, whose offset glibc publishes for
 * libthread_db (their places as in glibc 2.36's ldsodefs.h), and they are
 * used only when their neighbour _dl_initial_dtv is the first thread's
 * DTV and the first image agrees with them.
 *
 * Hubs on other OS threads share the image: it is swapped and copied from
 * under a lock (held for two memcpy; free() is called outside it).  A concurrent dlopen on another OS
 * thread is glibc's race as much as ours: glibc's own pthread_create
 * initialises a TCB from the slotinfo of the moment, and the new thread's
 * DTV catches up on its first dynamic TLS access. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gs.h"
#include "tls_image.h"

/* struct rtld_global, from its _dl_tls_dtv_slotinfo_list field (ldsodefs.h) */
#define RTLD_MAX_DTV_IDX (-8) /* size_t _dl_tls_max_dtv_idx */
#define RTLD_STATIC_USED 16   /* size_t _dl_tls_static_used (after _nelem) */
#define RTLD_INITIAL_DTV 32   /* void *_dl_initial_dtv (after _optional) */
#define RTLD_GENERATION 40    /* size_t _dl_tls_generation */

#define DTV_UNALLOCATED ((void *)-1l)

static const volatile size_t *generation, *static_used, *max_dtv_idx;
static size_t static_room;  /* bytes of static TLS below the TCB */

struct static_entry {
	size_t modid;
	ptrdiff_t off;      /* its block: the thread pointer - off */
};

struct image {
	size_t serial;      /* which image: never 0, never the same twice */
	size_t gen, used;   /* GL(dl_tls_generation), GL(dl_tls_static_used) when taken */
	size_t max_idx;     /* GL(dl_tls_max_dtv_idx) when taken */
	size_t n;           /* its DTV's length (dtv[-1].counter) */
	size_t n_static, n_dyn;
	struct static_entry *statics;
	size_t *dyn;        /* the other entries up to max_idx (modules' and closed slots') */
	struct gs__dtv_entry *dtv; /* dtv[0..n]; the statics' val to be set */
	char *blocks;       /* the used static area, [tp - used, tp) */
};

static _Atomic int lock;      /* current is swapped, and copied from, under it */
static struct image *current;  /* NULL: none yet */
static _Atomic size_t last_serial; /* the newest image: 0 none yet */
static int broken;             /* for good: glibc is not what the comment above says */

void gs__tls_image_init(char *os_tp, size_t room)
{
	char *rtld = dlsym(RTLD_DEFAULT, "_rtld_global");
	const uint32_t *d = dlsym(RTLD_DEFAULT, "_thread_db_rtld_global__dl_tls_dtv_slotinfo_list");
	if (!rtld || !d)
		return;
	char *slotinfo = rtld + d[2];
	struct gs__dtv_entry *dtv = gs__dtv_of(os_tp);
	size_t used = *(size_t *)(slotinfo + RTLD_STATIC_USED);
	size_t max_idx = *(size_t *)(slotinfo + RTLD_MAX_DTV_IDX);
	size_t gen = *(size_t *)(slotinfo + RTLD_GENERATION);
	if (*(void **)(slotinfo + RTLD_INITIAL_DTV) != (void *)dtv || !used || used > room ||
	    !max_idx || max_idx > dtv[-1].counter || dtv[0].counter > gen)
		return;
	static_room = room;
	generation = (const volatile size_t *)(slotinfo + RTLD_GENERATION);
	static_used = (const volatile size_t *)(slotinfo + RTLD_STATIC_USED);
	max_dtv_idx = (const volatile size_t *)(slotinfo + RTLD_MAX_DTV_IDX);
}

/* 1 if the DTV of tcb, fresh from glibc at generation gen with used bytes
 * of static TLS and modules up to max_idx, is what the header comment
 * says it is. */
static int understood(char *tcb, size_t gen, size_t used, size_t max_idx, size_t *n_static)
{
	struct gs__dtv_entry *dtv = gs__dtv_of(tcb);
	size_t n = dtv[-1].counter;
	if (n < max_idx || dtv[0].counter > gen)
		return 0;
	*n_static = 0;
	for (size_t i = 1; i <= n; i++) {
		char *v = dtv[i].val;
		if (dtv[i].to_free)
			return 0;
		if (v >= tcb - static_room && v < tcb) {
			if (i > max_idx || v < tcb - used)
				return 0;
			++*n_static;
		} else if (v && (v != DTV_UNALLOCATED || i > max_idx)) {
			return 0;
		}
	}
	return 1;
}

void gs__tls_image_take(char *tcb)
{
	if (!generation || broken)
		return;
	size_t gen = *generation, used = *static_used, max_idx = *max_dtv_idx;
	gs_spin_lock(&lock);
	int have = current && current->gen == gen && current->used == used;
	gs_spin_unlock(&lock);
	size_t n_static;
	if (have)
		return;
	if (!understood(tcb, gen, used, max_idx, &n_static)) {
		/* (unless a dlopen on another OS thread changed it meanwhile) */
		if (*generation == gen && *static_used == used)
			broken = 1;
		return;
	}
	struct gs__dtv_entry *dtv = gs__dtv_of(tcb);
	size_t n = dtv[-1].counter;
	size_t n_dyn = max_idx - n_static;
	struct image *im = malloc(sizeof *im + (n + 1) * sizeof *dtv + n_static * sizeof *im->statics +
				  n_dyn * sizeof *im->dyn + used);
	if (!im)
		return;
	*im = (struct image){ .gen = gen, .used = used, .max_idx = max_idx, .n = n, .n_static = n_static,
			      .n_dyn = n_dyn };
	im->dtv = (struct gs__dtv_entry *)(im + 1);
	im->statics = (struct static_entry *)(im->dtv + n + 1);
	im->dyn = (size_t *)(im->statics + n_static);
	im->blocks = (char *)(im->dyn + n_dyn);
	memcpy(im->dtv, dtv, (n + 1) * sizeof *dtv);
	for (size_t i = 1, k = 0, j = 0; i <= max_idx; i++) {
		char *v = dtv[i].val;
		if (v >= tcb - static_room && v < tcb)
			im->statics[k++] = (struct static_entry){ i, tcb - v };
		else
			im->dyn[j++] = i;
	}
	memcpy(im->blocks, tcb - used, used);
	/* A dlopen on another OS thread meanwhile: the copy may be of either
	 * state, so it is no image (the next initialisation tries again). */
	if (*generation != gen || *static_used != used || *max_dtv_idx != max_idx) {
		free(im);
		return;
	}
	gs_spin_lock(&lock);
	struct image *old = current;
	im->serial = atomic_load_explicit(&last_serial, memory_order_relaxed) + 1;
	atomic_store_explicit(&last_serial, im->serial, memory_order_relaxed);
	current = im;
	gs_spin_unlock(&lock);
	free(old);
}

/* Frees the dynamic blocks of entries from..to of dtv. */
static void free_blocks(struct gs__dtv_entry *dtv, size_t from, size_t to)
{
	for (size_t i = from; i <= to; i++)
		if (dtv[i].to_free) {
			free(dtv[i].to_free);
			dtv[i].to_free = NULL;
		}
}

int gs__tls_image_renew(char *tcb, size_t *serial)
{
	struct gs__dtv_entry *dtv = gs__dtv_of(tcb);
	size_t n = dtv[-1].counter;
	if (!generation) {
		free_blocks(dtv, 1, n);
		return 0;
	}
	/* Made from the current image by its last renewal, while glibc's
	 * generation and static TLS mark stayed (checked below): only its
	 * entries past the static ones up to max_idx can have changed since
	 * (glibc's __tls_get_addr and _dl_update_slotinfo touch no others
	 * without a new generation), so only those can hold blocks and need
	 * the image's values again.  The blocks are freed outside the lock:
	 * free() may be the program's own malloc, taking a mutex of ours, and
	 * park. */
	size_t last = n;
	if (*serial && *serial == atomic_load_explicit(&last_serial, memory_order_relaxed) &&
	    *max_dtv_idx < n)
		last = *max_dtv_idx;
	free_blocks(dtv, 1, last);
	gs_spin_lock(&lock);
	struct image *im = current;
	int same = im && *serial == im->serial && last == im->max_idx;
	if (!im || im->gen != *generation || im->used != *static_used || im->n != n ||
	    (!same && last < n)) {
		/* (the last: another image meanwhile; left to glibc, rare) */
		gs_spin_unlock(&lock);
		free_blocks(dtv, last + 1, n);
		return 0;
	}
	if (same) {
		for (size_t k = 0; k < im->n_dyn; k++)
			dtv[im->dyn[k]] = im->dtv[im->dyn[k]];
		dtv[0] = im->dtv[0];
	} else {
		memcpy(dtv, im->dtv, (n + 1) * sizeof *dtv);
		for (size_t k = 0; k < im->n_static; k++)
			dtv[im->statics[k].modid].val = tcb - im->statics[k].off;
	}
	memcpy(tcb - im->used, im->blocks, im->used);
	*serial = im->serial; /* (in the blocks just copied: after them) */
	gs_spin_unlock(&lock);
	return 1;
}

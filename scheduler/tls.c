/* Thread-local storage per green thread.
 *
 * On x86_64 glibc puts the thread control block at the thread pointer
 * (%fs base): struct pthread, whose first part is tcbhead_t (self, dtv,
 * stack guard at %fs:0x28, pointer guard at %fs:0x30, ...), with the
 * static TLS blocks of the initially loaded modules just below it.  Every
 * green context (green threads and each hub's own context) gets such a
 * block of its own, made by glibc's loader (_dl_allocate_tls: the DTV,
 * .tdata copied, .tbss zeroed) in memory we pool, and the thread pointer
 * is switched with the stack.  So __thread and thread_local of every
 * module, errno, the locale of uselocale, strerror's buffers, dlerror,
 * the resolver's _res and malloc's per-thread cache are per green thread.
 *
 * What a green TCB holds (every field glibc, libgcc or compiled code may
 * read while the thread runs):
 *   header.tcb, header.self   the TCB itself
 *   header.dtv                its own DTV (glibc's, grown by __tls_get_addr)
 *   multiple_threads, sysinfo, stack and pointer guards, feature_1 (CET)
 *                             the OS thread's: code compiled against one
 *                             canary or mangled pointer sees the same value
 *   tid                       the OS thread's kernel tid: glibc's internal
 *                             recursive locks (the loader's) compare tids,
 *                             and every green thread of an OS thread is, to
 *                             the kernel, that thread (gettid() says so too)
 *   list                      linked to itself: fork's child unlinks it
 *   robust_head               an empty robust list (glibc's pshared robust
 *                             mutexes link into it)
 *   rseq_area.cpu_id          RSEQ_CPU_ID_REGISTRATION_FAILED: the kernel
 *                             updates only the OS thread's own area, so
 *                             sched_getcpu() asks the kernel instead
 *   stackblock, _size, guard  the green stack (glibc's alloca limits)
 *   __resp                    the TCB's own struct __res_state
 * The last two need glibc 2.36's private layout, used only when glibc's
 * own descriptors (_thread_db_*, as libthread_db reads them) and
 * __rseq_offset match it; the rest comes from those descriptors.
 *
 * The shim's own TLS (gs__os, gs__os_current, gs__current_id) is per
 * context too: each TCB is given its values when it is made (its thread,
 * its hub), and they never change while the context lives.
 *
 * Pooling: an ended thread's TCB goes back to a pool; reuse frees its
 * dynamic TLS and re-runs glibc's initialisation of the static blocks
 * (what glibc's own stack cache does), or, while no module with TLS came
 * or went, copies what that initialisation left in a fresh TCB
 * (tls_image.c).  malloc's per-thread cache (tcache) lives in libc's
 * TLS: where its pointer is kept is found once, at the first hub, by
 * freeing a chunk and finding the word of the OS thread's block that
 * points at a cache now holding it (a malloc/free pair on a fresh block,
 * if that finds none), and the pointer is carried over on reuse, so the
 * cache of an ended thread is not leaked but handed to the next one.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <bits/types/res_state.h> /* not resolv.h: its macros clash with libev's */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"
/* After ev.h (in internal.h): elf.h, which these include, defines EV_NONE. */
#include <link.h>
#include <sys/auxv.h>
#include "rawsys.h"
#include "tls.h"
#include "tls_image.h"
#include "valgrind_hooks.h"

int gs__tls_on;
int gs__tls_fsgsbase;
int gs_tls_request;

int gs_tls_per_thread(void)
{
	return gs__tls_on;
}

static void mark_multi(struct gs_hub *h);

void *gs_tls_os_tcb_enter(void)
{
	struct gs_hub *h = gs__os.hub;
	if (!gs__tls_on || !h || !h->root->tcb)
		return NULL;
	void *mine = gs__tp_get();
	if (mine == h->root->tcb)
		return NULL;
	gs__tp_set(h->root->tcb);
	return mine;
}

void gs_tls_os_tcb_leave(void *saved)
{
	if (saved)
		gs__tp_set(saved);
}

void gs_tls_real_thread_coming(void)
{
	struct gs_hub *h = gs__os.hub;
	if (h && gs__tls_on && !h->tls_multi)
		mark_multi(h);
}

#if defined(__x86_64__)

#include <asm/prctl.h>

/* tcbhead_t (sysdeps/x86_64/nptl/tls.h): an ABI that compilers and
 * sanitizers depend on, so fixed. */
#define TCB_TCB 0
#define TCB_DTV 8
#define TCB_SELF 16
#define TCB_MULTIPLE_THREADS 24
#define TCB_GSCOPE 28
#define TCB_SYSINFO 32
#define TCB_STACK_GUARD 40
#define TCB_POINTER_GUARD 48
#define TCB_FEATURE_1 72

void *gs__tp_get(void)
{
	void *tp;
	__asm__ volatile("movq %%fs:0, %0" : "=r"(tp));
	return tp;
}

void gs__tp_set(void *tp)
{
	if (gs__tls_fsgsbase)
		__asm__ volatile("wrfsbase %0" ::"r"(tp) : "memory");
	else
		gs__sys(SYS_arch_prctl, ARCH_SET_FS, (long)tp, 0, 0, 0, 0);
}

/* A glibc descriptor for libthread_db: {bits, count, offset}. */
static long db_offset(const char *name)
{
	const uint32_t *d = dlsym(RTLD_DEFAULT, name);
	return d ? (long)d[2] : -1;
}

static void *(*dl_allocate_tls)(void *);
static void *(*dl_allocate_tls_init)(void *, _Bool);
static void (*call_tls_dtors)(void);
static void (*ctype_init)(void);

static size_t static_size;    /* glibc's: static TLS, rounded to its alignment, + TCB */
static size_t block_size;     /* a block's stride: static_size rounded up to the
			       * alignment, so that every block starts aligned */
static size_t tcb_size;       /* sizeof(struct pthread) */
static long off_tid, off_list, off_robust;
static long off_l_tls_offset = -1, off_l_tls_modid = -1; /* in struct link_map */
static long off_stackblock = -1, off_res = -1; /* glibc 2.36's layout only */
static long off_rseq = -1;
static ptrdiff_t tp_resp;     /* __resp from the thread pointer; 0: unknown */
static ptrdiff_t tp_tcache;   /* malloc's tcache pointer; 0: not found */
#define GS_RES_INIT 0x00000001 /* resolv.h's RES_INIT: res_ninit ran */
extern void __res_nclose(struct __res_state *);

static ptrdiff_t tp_os, tp_current, tp_current_id; /* the shim's own TLS */
/* Which image (tls_image.c) the TCB was last made new from; 0: none (a
 * TCB glibc initialised).  The shim's own, in its static block. */
static __thread size_t image_serial __attribute__((tls_model("initial-exec")));
static ptrdiff_t tp_image;

static int multi_coming;       /* the shim is making a real thread */
static _Atomic int pool_lock;
static void **pool;            /* ended threads' TCBs */
static size_t pool_n, pool_cap;
static char *chunk_next, *chunk_end; /* fresh blocks being carved */

#define CHUNK_BLOCKS 256

#define AT(tcb, off, type) (*(type *)((char *)(tcb) + (off)))

/* Fresh, zeroed memory for one TCB (with the lock held); NULL if none. */
static void *carve(void)
{
	if (chunk_next == chunk_end) {
		size_t len = block_size * CHUNK_BLOCKS;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			       -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		chunk_next = p;
		chunk_end = p + len;
	}
	char *b = chunk_next;
	chunk_next += block_size;
	/* As glibc places it: static_size - tcb_size is a multiple of the
	 * TLS alignment, so the TCB (the thread pointer) is aligned too, and
	 * with it every module's block below it. */
	return b + static_size - tcb_size;
}

/* Fills the fields of a TCB glibc's initialisation leaves to its thread
 * code (see the table at the top), copying from the OS thread's TCB. */
static void fill_tcb(char *tcb, const char *os, const struct gs_stack *st)
{
	AT(tcb, TCB_TCB, void *) = tcb;
	AT(tcb, TCB_SELF, void *) = tcb;
	AT(tcb, TCB_MULTIPLE_THREADS, int) = AT(os, TCB_MULTIPLE_THREADS, int) || !__libc_single_threaded ||
					      multi_coming;
	AT(tcb, TCB_GSCOPE, int) = 0;
	AT(tcb, TCB_SYSINFO, uintptr_t) = AT(os, TCB_SYSINFO, uintptr_t);
	AT(tcb, TCB_STACK_GUARD, uintptr_t) = AT(os, TCB_STACK_GUARD, uintptr_t);
	AT(tcb, TCB_POINTER_GUARD, uintptr_t) = AT(os, TCB_POINTER_GUARD, uintptr_t);
	AT(tcb, TCB_FEATURE_1, unsigned) = AT(os, TCB_FEATURE_1, unsigned);
	AT(tcb, off_tid, int) = AT(os, off_tid, int);
	void **list = (void **)(tcb + off_list);
	list[0] = list[1] = list;
	void **robust = (void **)(tcb + off_robust);
	robust[0] = robust;                                  /* list: empty */
	robust[1] = ((void *const *)(os + off_robust))[1];   /* futex_offset */
	robust[2] = NULL;                                    /* list_op_pending */
	if (off_rseq >= 0) {
		AT(tcb, off_rseq, uint32_t) = 0;                 /* cpu_id_start */
		AT(tcb, off_rseq + 4, int32_t) = -1;             /* cpu_id: not registered */
	}
	if (off_stackblock >= 0 && st) {
		AT(tcb, off_stackblock, void *) = st->lo;
		AT(tcb, off_stackblock + 8, size_t) = st->size;
		AT(tcb, off_stackblock + 16, size_t) = st->guard;
		AT(tcb, off_stackblock + 24, size_t) = st->guard;
	}
	if (tp_resp && off_res >= 0)
		AT(tcb, tp_resp, void *) = tcb + off_res;
}

/* The shim's own per-context variables in tcb: they belong to t on hub h. */
static void fill_shim(char *tcb, struct gs_thread *t, struct gs_hub *h)
{
	AT(tcb, tp_os, struct gs_os) = (struct gs_os){ .hub = h };
	AT(tcb, tp_current, struct gs_thread *) = t;
	AT(tcb, tp_current_id, int) = t->id;
}

/* Makes a pooled TCB new again: its dynamic TLS freed, its static blocks
 * and DTV as glibc's initialisation would leave them (copied from the
 * image of a fresh TCB while no module came or went, tls_image.c); malloc's
 * cache carried over. */
static void renew(char *tcb)
{
	void *tcache = tp_tcache ? AT(tcb, tp_tcache, void *) : NULL;
	if (!gs__tls_image_renew(tcb, &AT(tcb, tp_image, size_t))) {
		struct gs__dtv_entry *dtv = gs__dtv_of(tcb);
		memset(dtv, 0, (dtv[-1].counter + 1) * sizeof *dtv);
		dl_allocate_tls_init(tcb, 1);
		gs__tls_image_take(tcb);
	}
	if (tp_tcache)
		AT(tcb, tp_tcache, void *) = tcache;
	if (off_res >= 0) {
		struct __res_state *res = (struct __res_state *)(tcb + off_res);
		if (res->options & GS_RES_INIT)
			__res_nclose(res);
		gs_zero(res, sizeof *res);
	}
}

static void *tcb_get(void)
{
	gs_spin_lock(&pool_lock);
	char *tcb = pool_n ? pool[--pool_n] : NULL;
	int fresh = !tcb;
	if (fresh)
		tcb = carve();
	gs_spin_unlock(&pool_lock);
	if (!tcb)
		return NULL;
	if (fresh) {
		tcb = dl_allocate_tls(tcb);
		if (tcb)
			gs__tls_image_take(tcb);
		return tcb;
	}
	renew(tcb);
	return tcb;
}

void gs__tls_release(void *tcb)
{
	if (!tcb)
		return;
	gs_spin_lock(&pool_lock);
	if (pool_n == pool_cap) {
		size_t cap = pool_cap ? pool_cap * 2 : 256;
		void **p = realloc(pool, cap * sizeof *p);
		if (!p) { /* keep it out of the pool: a leak, not a crash */
			gs_spin_unlock(&pool_lock);
			return;
		}
		pool = p;
		pool_cap = cap;
	}
	pool[pool_n++] = tcb;
	gs_spin_unlock(&pool_lock);
}

void *gs__tls_new(struct gs_thread *t, struct gs_hub *h)
{
	char *tcb = tcb_get();
	if (!tcb)
		return NULL;
	fill_tcb(tcb, h->root->tcb, &t->stack);
	fill_shim(tcb, t, h);
	/* The hub's own context allocates with its OS thread's malloc cache
	 * (libev grows its arrays there), unless the pooled block brought a
	 * cache of its own (an ended thread's: not to be lost).  The hub and
	 * the root never use it at the same time: one OS thread, and no switch
	 * while a cache is half updated (the only waits inside malloc are
	 * its lock waits, outside any cache update); and the hub never moves
	 * to another OS thread.  A fresh cache would make a malloc arena at
	 * its first allocation, as a second OS thread's does, where a lone
	 * program natively has only the main one. */
	if ((t->flags & GS_TF_HUB) && tp_tcache && !AT(tcb, tp_tcache, void *))
		AT(tcb, tp_tcache, void *) = AT(h->root->tcb, tp_tcache, void *);
	return tcb;
}

void gs__tls_release_hub(void *tcb, void *root_tcb)
{
	if (tcb && tp_tcache && AT(tcb, tp_tcache, void *) == AT(root_tcb, tp_tcache, void *))
		AT(tcb, tp_tcache, void *) = NULL; /* the root's, not for the pool to hand on */
	gs__tls_release(tcb);
}

void gs__tls_context_start(void)
{
	/* glibc's thread start points the ctype tables (isspace, toupper) at
	 * the locale's: in .tbss, they are NULL in a new block. */
	if (gs__tls_on && ctype_init)
		ctype_init();
}

void gs__tls_thread_exit(struct gs_thread *t)
{
	/* A root's thread_local objects are glibc's to destroy, when its OS
	 * thread (or the process) ends; but not a fork child's root on a TCB
	 * of ours (it never returns to glibc's thread start). */
	if (!t->tcb || ((t->flags & GS_TF_ROOT) && !(t->hub && t->hub->root_tcb_ours)))
		return;
	if (call_tls_dtors)
		call_tls_dtors();
	/* What glibc's thread exit frees that the pooled block would lose
	 * when it is initialised again: a dlerror message (reading it marks
	 * it delivered, the next call frees it). */
	if (dlerror())
		dlerror();
}

void gs__tls_check_threads(struct gs_hub *h)
{
	if (gs_likely(h->tls_multi || __libc_single_threaded || !gs__tls_on))
		return;
	mark_multi(h);
}

static void mark_multi(struct gs_hub *h)
{
	multi_coming = 1;
	h->tls_multi = 1;
	for (struct gs_thread *t = h->threads; t; t = t->hub_next)
		if (t->tcb)
			AT(t->tcb, TCB_MULTIPLE_THREADS, int) = 1;
	if (h->sched.tcb)
		AT(h->sched.tcb, TCB_MULTIPLE_THREADS, int) = 1;
}

/* ---- libraries with static TLS loaded by dlopen ----------------------- */

/* Modules whose static TLS block every TCB has: (id, load address, block
 * offset), as a module id, and even an address, may be reused after a
 * dlclose (static TLS is never given back: a module loaded again gets a
 * new block). */
struct known_module {
	size_t modid;
	uintptr_t base;
	ptrdiff_t off; /* its block from the thread pointer */
};
static struct known_module *known;
static size_t known_n, known_cap;

static int is_known(size_t modid, uintptr_t base, ptrdiff_t off)
{
	for (size_t i = 0; i < known_n; i++)
		if (known[i].modid == modid && known[i].base == base && known[i].off == off)
			return 1;
	return 0;
}

static void add_known(size_t modid, uintptr_t base, ptrdiff_t off)
{
	if (known_n == known_cap) {
		size_t cap = known_cap ? known_cap * 2 : 32;
		struct known_module *k = realloc(known, cap * sizeof *k);
		if (!k)
			return;
		known = k;
		known_cap = cap;
	}
	known[known_n++] = (struct known_module){ modid, base, off };
}

struct sync_arg {
	struct gs_hub *h; /* NULL: only record what is there */
	char *tp;
};

/* glibc 2.35+: _r_debug is the first of a chain of namespaces (struct
 * r_debug_extended, r_version 2): ns_next(NULL) is the base namespace,
 * then each other one, then NULL. */
struct r_debug_ns {
	struct r_debug base;
	const struct r_debug_ns *next;
};

static const struct r_debug_ns *ns_next(const struct r_debug_ns *ns)
{
	if (!ns)
		return (const struct r_debug_ns *)&_r_debug;
	return ns->base.r_version >= 2 ? ns->next : NULL;
}

/* m's static TLS block offset below the thread pointer (its l_tls_offset,
 * found through glibc's descriptor for libthread_db), or 0 when its TLS is
 * dynamic (0: none; (size_t)-1: forced dynamic). */
static ptrdiff_t map_offset(const struct link_map *m)
{
	size_t o = AT(m, off_l_tls_offset, size_t);
	return o > 0 && o < static_size ? (ptrdiff_t)o : 0;
}

/* The block offset of the module loaded at base with id modid, in any
 * namespace; 0 when its TLS is dynamic or the layout is unknown. */
static ptrdiff_t static_offset(uintptr_t base, size_t modid)
{
	if (off_l_tls_offset < 0 || off_l_tls_modid < 0)
		return 0;
	int i = 0;
	for (const struct r_debug_ns *ns = ns_next(NULL); ns && i < 64; ns = ns_next(ns), i++)
		for (struct link_map *m = ns->base.r_map; m; m = m->l_next)
			if (m->l_addr == base && AT(m, off_l_tls_modid, size_t) == modid)
				return map_offset(m);
	return 0;
}

static void copy_image(struct gs_thread *t, char *tp, ptrdiff_t off, const char *image,
		       const ElfW(Phdr) *tls)
{
	char *tcb = t->tcb;
	if (!tcb || tcb == tp || (t->flags & GS_TF_ROOT))
		return;
	memcpy(tcb + off, image, tls->p_filesz);
	memset(tcb + off + tls->p_filesz, 0, tls->p_memsz - tls->p_filesz);
}

/* One module with a PT_TLS header and its static block offset (0: its TLS
 * is dynamic): recorded, and when it is new, its image copied into every
 * TCB of arg->h (if any). */
static void sync_one(struct sync_arg *arg, size_t modid, uintptr_t base, ptrdiff_t offset,
		     const ElfW(Phdr) *tls)
{
	ptrdiff_t off = -offset;
	if (!off || is_known(modid, base, off))
		return; /* dynamic TLS (each thread's block is made on first use), or done */
	add_known(modid, base, off);
	if (!arg->h)
		return;
	/* glibc did this thread (the one that called dlopen, on its list
	 * meanwhile) and the roots; the others get the image now. */
	const char *image = (const char *)(base + tls->p_vaddr);
	for (struct gs_thread *t = arg->h->threads; t; t = t->hub_next)
		copy_image(t, arg->tp, off, image, tls);
	copy_image(&arg->h->sched, arg->tp, off, image, tls);
}

static const ElfW(Phdr) *tls_header(const ElfW(Phdr) *ph, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ph[i].p_type == PT_TLS)
			return &ph[i];
	return NULL;
}

/* The modules of the caller's namespace (the base one), as glibc lists them. */
static int sync_module(struct dl_phdr_info *info, size_t n, void *argp)
{
	const ElfW(Phdr) *tls = tls_header(info->dlpi_phdr, info->dlpi_phnum);
	if (tls && info->dlpi_tls_modid)
		sync_one(argp, info->dlpi_tls_modid, info->dlpi_addr,
			 static_offset(info->dlpi_addr, info->dlpi_tls_modid), tls);
	return 0;
}

/* Modules of the other namespaces (dlmopen), which dl_iterate_phdr does
 * not show: their program headers, read from the ELF header mapped at
 * their load address. */
static void sync_other_namespaces(struct sync_arg *arg)
{
	if (off_l_tls_modid < 0 || off_l_tls_offset < 0)
		return;
	int i = 0;
	for (const struct r_debug_ns *ns = ns_next(ns_next(NULL)); ns && i < 64; ns = ns_next(ns), i++)
		for (struct link_map *m = ns->base.r_map; m; m = m->l_next) {
			size_t modid = AT(m, off_l_tls_modid, size_t);
			const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)m->l_addr;
			if (!modid || !eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
				continue;
			const ElfW(Phdr) *tls =
				tls_header((const ElfW(Phdr) *)(m->l_addr + eh->e_phoff), eh->e_phnum);
			if (tls)
				sync_one(arg, modid, m->l_addr, map_offset(m), tls);
		}
}

/* glibc's list of threads with user-allocated stacks (GL(dl_stack_user),
 * main's TCB on it), or NULL when it could not be found and checked. */
struct list_node {
	struct list_node *next, *prev;
};
static struct list_node *stack_user;

static void find_stack_user(char *os_tp)
{
	char *rtld = dlsym(RTLD_DEFAULT, "_rtld_global");
	long off = db_offset("_thread_db_rtld_global__dl_stack_user");
	if (!rtld || off < 0)
		return;
	struct list_node *head = (struct list_node *)(rtld + off), *mine = (void *)(os_tp + off_list);
	int n = 0;
	for (struct list_node *p = head->next; p && p != head && n < 100000; p = p->next, n++)
		if (p == mine) {
			stack_user = head;
			return;
		}
}

/* While a green thread is in dlopen, its TCB is on glibc's list, so that
 * glibc initialises the static TLS of what it loads in this thread too,
 * before the library's constructors run (they may read it).  It leaves
 * the list at the thread's next switch: glibc's other walks of its lists
 * (setxid, fork) must not see it. */
void gs_tls_dlopen_coming(void)
{
	struct gs_hub *h = gs__os.hub;
	if (!h || !gs__tls_on)
		return;
	h->tls_dlopened = 1;
	struct gs_thread *self = gs__os_current;
	if (!stack_user || h->tls_listed || !self || !self->tcb || (self->flags & GS_TF_ROOT))
		return;
	struct list_node *n = (struct list_node *)((char *)self->tcb + off_list);
	n->next = stack_user->next;
	n->prev = stack_user;
	stack_user->next->prev = n;
	stack_user->next = n;
	h->tls_listed = self->tcb;
}

void gs__tls_dlopened(struct gs_hub *h)
{
	h->tls_dlopened = 0;
	char *listed = h->tls_listed;
	if (listed) {
		struct list_node *n = (struct list_node *)(listed + off_list);
		n->prev->next = n->next;
		n->next->prev = n->prev;
		n->next = n->prev = n;
		h->tls_listed = NULL;
	}
	/* The calling thread's block is right if it was on glibc's list;
	 * otherwise it is left as it is (what it wrote since must stay). */
	struct sync_arg arg = { h, gs__tp_get() };
	dl_iterate_phdr(sync_module, &arg);
	sync_other_namespaces(&arg);
}

/* libc's TLS block in the OS thread's TCB, and whether the malloc that
 * programs call is libc's own (the address is looked up in libc's loaded
 * segments: dladdr would walk libc's symbol table, ~50 us). */
struct libc_block {
	char *lo;
	size_t size;
	uintptr_t malloc;
	int malloc_in_libc;
};

static int find_libc(struct dl_phdr_info *info, size_t n, void *arg)
{
	struct libc_block *b = arg;
	const char *name = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
	if (!name || strncmp(name, "/libc.so", 8) != 0)
		return 0;
	b->malloc_in_libc = gs__object_holds(info, b->malloc);
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_TLS && info->dlpi_tls_data) {
			b->lo = info->dlpi_tls_data;
			b->size = info->dlpi_phdr[i].p_memsz;
		}
	return 1;
}

/* tcache_perthread_struct: 64 uint16_t counts, then 64 list heads; a
 * 40-byte chunk falls in bin 1. */
#define TCACHE_COUNT1 2
#define TCACHE_HEAD1 (128 + sizeof(void *))

/* Whether the cache at `cache` has `chunk` at the head of bin 1 (and,
 * if `only`, nothing else there). */
static int holds_first(const unsigned char *cache, const void *chunk, int only)
{
	uint16_t count;
	void *head;
	memcpy(&count, cache + TCACHE_COUNT1, sizeof count);
	memcpy(&head, cache + TCACHE_HEAD1, sizeof head);
	return (only ? count == 1 : count >= 1) && head == chunk;
}

#define CACHE_PEEK (TCACHE_HEAD1 + sizeof(void *)) /* bytes of a cache we look at */
#define PEEK_MAX 64 /* words of libc's TLS block at most (glibc 2.36's has 18) */

/* Copies CACHE_PEEK bytes at each of the n addresses into out, and says
 * in ok which could be read.  The kernel reads them for us, so a word
 * that is not a pointer cannot fault: each is written to a pipe of our
 * own (EFAULT if it cannot be read), and what was written is read back.
 * Only calls every program may make (pipe2, write, read, close): a
 * seccomp policy that kills on anything else (process_vm_readv, say)
 * must not see the shim make one the program never would. */
static void peek_all(void *const *at, size_t n, unsigned char (*out)[CACHE_PEEK], unsigned char *ok)
{
	int p[2];
	memset(ok, 0, n);
	if (gs__sys(SYS_pipe2, (long)p, O_CLOEXEC | O_NONBLOCK, 0, 0, 0, 0) != 0)
		return; /* no fds left, say: nothing is known */
	/* At most 64 x 144 bytes: the pipe (64 KiB) never fills, and each
	 * write (under PIPE_BUF) is whole or nothing; read back in one, the
	 * readable ones packed, then spread to their places (from the last,
	 * so that none is overwritten before it moves). */
	size_t good = 0;
	for (size_t i = 0; i < n; i++)
		if (gs__sys(SYS_write, p[1], (long)at[i], CACHE_PEEK, 0, 0, 0) == (long)CACHE_PEEK) {
			ok[i] = 1;
			good++;
		}
	if (gs__sys(SYS_read, p[0], (long)out, (long)(good * CACHE_PEEK), 0, 0, 0) != (long)(good * CACHE_PEEK))
		memset(ok, 0, n);
	for (size_t i = n, k = good; i-- > 0;)
		if (ok[i] && --k != i)
			memcpy(out[i], out[k], CACHE_PEEK);
	gs__sys(SYS_close, p[0], 0, 0, 0, 0, 0);
	gs__sys(SYS_close, p[1], 0, 0, 0, 0, 0);
}

/* The cheap way, on the OS thread's own TCB, whose cache exists (the shim
 * has allocated by now): free a chunk and look for the one word of libc's
 * block that points at a cache now holding it first.  No fresh TCB, so
 * the probe makes no malloc arena of its own (a 128 MiB reservation and
 * three more system calls, and memory a lone program natively never
 * has). */
static int probe_tcache_here(char *os_tp, ptrdiff_t lo, size_t words)
{
	void *(*volatile do_malloc)(size_t) = malloc;
	void (*volatile do_free)(void *) = free;
	void *p = do_malloc(40);
	if (!p)
		return 0;
	do_free(p);
	void *const *blk = (void *const *)(os_tp + lo);
	void *cand[PEEK_MAX];
	size_t cand_word[PEEK_MAX], n = 0;
	for (size_t i = 0; i < words && n < PEEK_MAX; i++)
		if (blk[i] && !((uintptr_t)blk[i] & 15)) { /* a chunk's address is 16-aligned */
			cand_word[n] = i;
			cand[n++] = blk[i];
		}
	/* Not on the stack: the first hub may be made inside a signal handler,
	 * on a small alternate stack (CPython's handlers run on faulthandler's);
	 * and this runs once, under gs__tls_init's guard. */
	static unsigned char cache[PEEK_MAX][CACHE_PEEK];
	unsigned char ok[PEEK_MAX];
	peek_all(cand, n, cache, ok);
	int found = 0;
	ptrdiff_t at = 0;
	for (size_t k = 0; k < n; k++)
		if (ok[k] && holds_first(cache[k], p, 0)) {
			found++;
			at = lo + (ptrdiff_t)(cand_word[k] * sizeof(void *));
		}
	if (found != 1)
		return 0;
	tp_tcache = at;
	return 1;
}

/* Finds where in libc's TLS malloc keeps its per-thread cache.  If the
 * cheap way above finds no single word, a malloc/free pair runs on a
 * fresh TCB and the word that now points at a cache holding exactly that
 * chunk is the one; the probe's TCB stays in the pool, its cache with it. */
static void probe_tcache(char *os_tp)
{
	/* Only glibc's own malloc has that cache; another one (jemalloc,
	 * tcmalloc) keeps per-thread state of its own in the probe's TLS,
	 * linked into its arenas, which a reused block would wipe. */
	struct libc_block b = { .malloc = (uintptr_t)gs__allocator_entry("malloc") };
	dl_iterate_phdr(find_libc, &b);
	if (!b.lo || b.size < 8 || b.size > PEEK_MAX * sizeof(void *) || !b.malloc_in_libc)
		return; /* (a block larger than that is not the libc this knows) */
	ptrdiff_t lo = b.lo - os_tp;
	size_t words = b.size / sizeof(void *);
	if (probe_tcache_here(os_tp, lo, words))
		return;
	char *tcb = tcb_get();
	if (!tcb)
		return;
	fill_tcb(tcb, os_tp, NULL);
	/* The probe's TCB is the OS thread's record for the instant it runs
	 * (a signal handler may run on it). */
	AT(tcb, tp_os, struct gs_os) = AT(os_tp, tp_os, struct gs_os);
	AT(tcb, tp_current, struct gs_thread *) = AT(os_tp, tp_current, struct gs_thread *);
	AT(tcb, tp_current_id, int) = AT(os_tp, tp_current_id, int);
	void **blk = (void **)(tcb + lo);
	void *before[words];
	memcpy(before, blk, words * sizeof(void *));
	void *(*volatile do_malloc)(size_t) = malloc;
	void (*volatile do_free)(void *) = free;
	gs__tp_set(tcb);
	void *p = do_malloc(40);
	do_free(p);
	gs__tp_set(os_tp);
	int found = 0;
	ptrdiff_t at = 0;
	for (size_t i = 0; i < words; i++) {
		if (before[i] || !blk[i])
			continue;
		if (holds_first(blk[i], p, 1)) {
			found++;
			at = lo + (ptrdiff_t)(i * sizeof(void *));
		}
	}
	if (found == 1)
		tp_tcache = at;
	gs__tls_release(tcb);
}

/* glibc 2.36's struct pthread (checked against its descriptors). */
#define GLIBC236_SIZEOF_PTHREAD 2368
#define GLIBC236_TID 720
#define GLIBC236_LIST 704
#define GLIBC236_RSEQ 2336
#define GLIBC236_STACKBLOCK 1680
#define GLIBC236_RES 1720

extern __attribute__((weak)) const ptrdiff_t __rseq_offset;
extern __attribute__((weak)) const unsigned int __rseq_size;

static int layout(char *os_tp)
{
	const uint32_t *sz = dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
	void (*static_info)(size_t *, size_t *) =
		(void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
	dl_allocate_tls = (void *(*)(void *))dlvsym(RTLD_DEFAULT, "_dl_allocate_tls", "GLIBC_PRIVATE");
	dl_allocate_tls_init =
		(void *(*)(void *, _Bool))dlvsym(RTLD_DEFAULT, "_dl_allocate_tls_init", "GLIBC_PRIVATE");
	call_tls_dtors = (void (*)(void))dlvsym(RTLD_DEFAULT, "__call_tls_dtors", "GLIBC_PRIVATE");
	ctype_init = (void (*)(void))dlvsym(RTLD_DEFAULT, "__ctype_init", "GLIBC_PRIVATE");
	off_tid = db_offset("_thread_db_pthread_tid");
	off_l_tls_offset = db_offset("_thread_db_link_map_l_tls_offset");
	off_l_tls_modid = db_offset("_thread_db_link_map_l_tls_modid");
	off_list = db_offset("_thread_db_pthread_list");
	if (!sz || !static_info || !dl_allocate_tls || !dl_allocate_tls_init || !ctype_init ||
	    off_tid < 0 || off_list < 0)
		return 0;
	tcb_size = *sz;
	size_t size, align;
	static_info(&size, &align);
	if (align < 64)
		align = 64;
	if (size < tcb_size || tcb_size < 704)
		return 0;
	static_size = size;
	block_size = (size + align - 1) & ~(align - 1);
	/* The robust list head follows tid and robust_prev; the OS thread's
	 * futex_offset tells that we found it: glibc sets it to the distance
	 * from a mutex's list link to its lock word. */
	off_robust = (off_tid + 4 + 7) / 8 * 8 + 8;
	long want = (long)offsetof(pthread_mutex_t, __data.__lock) -
		    (long)offsetof(pthread_mutex_t, __data.__list.__next);
	if ((size_t)off_robust + 24 > tcb_size || AT(os_tp, off_robust + 8, long) != want)
		return 0;
	if (&__rseq_offset && &__rseq_size && __rseq_size >= 8 && __rseq_offset > 0 &&
	    (size_t)__rseq_offset + 8 <= tcb_size)
		off_rseq = __rseq_offset;
	if (tcb_size == GLIBC236_SIZEOF_PTHREAD && off_tid == GLIBC236_TID &&
	    off_list == GLIBC236_LIST && off_rseq == GLIBC236_RSEQ) {
		off_stackblock = GLIBC236_STACKBLOCK;
		off_res = GLIBC236_RES;
	}
	void *resp = dlsym(RTLD_DEFAULT, "__resp"); /* a TLS symbol: this thread's */
	if (resp)
		tp_resp = (char *)resp - os_tp;
	tp_os = (char *)&gs__os - os_tp;
	tp_current = (char *)&gs__os_current - os_tp;
	tp_current_id = (char *)&gs__current_id - os_tp;
	tp_image = (char *)&image_serial - os_tp;
	return 1;
}

void gs__tls_init(void)
{
	static int decided;
	if (decided)
		return;
	decided = 1;
	if (!gs_tls_request)
		return;
	char *tp = gs__tp_get();
	if (AT(tp, TCB_SELF, char *) != tp || !layout(tp)) {
		gs_warn("greenshim: this C library's thread control block is not the one greenshim "
			"knows: thread-local storage stays per OS thread");
		return;
	}
	gs__tls_fsgsbase = (getauxval(AT_HWCAP2) & 2 /* HWCAP2_FSGSBASE */) && !GS_VG_RUNNING();
	gs__tls_image_init(tp, static_size - tcb_size);
	probe_tcache(tp);
	find_stack_user(tp);
	struct sync_arg arg = { NULL, tp };
	dl_iterate_phdr(sync_module, &arg); /* every TCB has these from the start */
	sync_other_namespaces(&arg);
	gs__tls_on = 1;
}

/* glibc's robust list (descr.h, with prev pointers on x86_64): each
 * entry is a mutex's __list {__prev, __next}; the pointers point at the
 * __next fields, the head is the TCB's robust_head.list with robust_prev
 * the word before, and the low bit of a pointer to an entry marks a PI
 * mutex.  The kernel walks the list registered for the OS thread (the
 * root's TCB: the original one, or in a fork child the one glibc
 * registered again there). */
struct robust_node {
	void *prev, *next;
};

static struct robust_node *node_of(void *p)
{
	return (struct robust_node *)(((uintptr_t)p & ~(uintptr_t)1) - offsetof(struct robust_node, next));
}

void gs_tls_robust_adopt(void *mutex)
{
	struct gs_hub *h = gs__os.hub;
	if (!gs__tls_on || !h || !h->root->tcb || off_robust <= 0)
		return;
	char *mine = gs__tp_get(), *os = h->root->tcb;
	void **my_list = (void **)(mine + off_robust), **os_list = (void **)(os + off_robust);
	struct robust_node *self = (struct robust_node *)&((pthread_mutex_t *)mutex)->__data.__list;
	/* glibc just put it first on our list; anything else is left alone */
	if (mine == os || node_of(*my_list) != self)
		return;
	uintptr_t pi = (uintptr_t)*my_list & 1;
	node_of(self->next)->prev = self->prev; /* off our list */
	node_of(self->prev)->next = self->next;
	node_of(*os_list)->prev = &self->next;  /* first on the kernel's */
	self->next = *os_list;
	self->prev = os_list;
	__asm__ volatile("" ::: "memory"); /* the entry is whole before the kernel can see it */
	*os_list = (void *)((uintptr_t)&self->next | pi);
}

#else /* !__x86_64__ */

/* Elsewhere (aarch64: TPIDR_EL0, with the TCB below the thread pointer
 * and the static TLS above it) the same scheme needs the layout of that
 * architecture; until then TLS stays per OS thread. */
void *gs__tp_get(void) { return __builtin_thread_pointer(); }
void gs__tp_set(void *tp) { (void)tp; }
void *gs__tls_new(struct gs_thread *t, struct gs_hub *h) { return NULL; }
void gs__tls_thread_exit(struct gs_thread *t) { (void)t; }
void gs__tls_context_start(void) {}
void gs__tls_release(void *tcb) { (void)tcb; }
void gs__tls_release_hub(void *tcb, void *root_tcb) { (void)tcb; (void)root_tcb; }
void gs__tls_check_threads(struct gs_hub *h) { (void)h; }
void gs__tls_dlopened(struct gs_hub *h) { h->tls_dlopened = 0; }
void gs_tls_dlopen_coming(void) {}
void gs_tls_robust_adopt(void *mutex) { (void)mutex; }
void gs__tls_init(void) {}

#endif

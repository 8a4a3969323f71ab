/* Preemption: a green thread that computes without making a greened call
 * is switched out once its time slice is spent, so the others run.
 *
 * The clock.  A hub that has ever had a second green thread arms a POSIX
 * timer on its OS thread's CPU-time clock (CLOCK_THREAD_CPUTIME_ID), firing
 * SIGURG at that OS thread every half slice of CPU it uses.  An idle hub
 * (asleep in epoll_wait) uses no CPU, so it gets no ticks; a hub with one
 * thread left disarms its timer at the next tick.  Nothing is done per
 * switch except counting it (hub->switches).
 *
 * The decision (gs_preempt_tick, in the signal handler).  A tick that
 * finds the same switch count as the tick before has seen one run cover a
 * whole tick interval; the second such tick in a row means the run is
 * longer than a slice.  Such a run is ended at the first tick if a
 * sleeper's deadline has passed (the kernel's wake-up preemption), else at
 * the second.  It is ended only if something else could use the CPU
 * (a thread ready, a timer or fd wait armed, a cross-thread wake queued),
 * and if it is safe:
 *
 * THE RULE.  A running green thread may be switched out at an instruction
 * of the program if it could have called sched_yield() there: the switch
 * is then exactly a yield, which the shim already makes safe at every
 * greened call.  That holds everywhere except where a lock that is NOT one
 * of the shim's (so a waiter would block the OS thread instead of parking)
 * may be held by the interrupted thread:
 *   1. the interrupted pc is in libc, ld.so, libgcc_s, libev, the shim or
 *      the object that provides malloc and free (libasan, jemalloc, ...)
 *      (glibc's internal locks: malloc arenas, stdio, the loader, ...; the
 *      shim's own spinlocks and half-done queue updates; a switch already
 *      in progress);
 *   2. this OS thread holds one of the loader's locks (_dl_load_lock,
 *      _dl_load_write_lock, _dl_load_tls_lock): a dlopen running the
 *      program's constructors, a dl_iterate_phdr callback, dlclose's
 *      destructors -- program code running under a libc lock;
 *   3. the thread holds a FILE lock it took with flockfile/ftrylockfile
 *      (gs_preempt_hold counts them), or runs a signal handler: code that
 *      interrupted anything, libc holding any of the locks of 1 included
 *      (gs_preempt_handler_enter);
 *   4. the running context is the hub's own, or is not RUNNING.
 * Where it is not safe, the tick marks the hub (preempt_wanted) and the
 * thread yields at its next safe point: every greened call that does not
 * have to wait checks the mark (gs_safe_point); the tick after tries again.
 *
 * The switch.  The handler runs on the thread's own stack (no SA_ONSTACK):
 * it puts the thread at the back of the ready queue and switches to the
 * hub's context, which polls the loop at once; threads woken by that poll
 * (timers, fds) run before the ones that were already ready, so a sleeper
 * beside spinners is late by at most the rest of one slice.  When the
 * thread is switched back in, the handler returns and the kernel restores
 * every register, the FPU state and the signal mask from the frame.
 *
 * SIGURG is the program's too (sockets' out-of-band data, F_SETOWN): our
 * ticks carry si_code SI_TIMER and this hub's address; any other SIGURG
 * goes to the program's handler (preload/signal.c). */
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"
/* After ev.h (in internal.h): elf.h, which link.h includes, defines EV_NONE. */
#include <link.h>
#include <sys/auxv.h>
#include <gnu/libc-version.h>
#include "rawsys.h"

uint64_t gs_preempt_ns = 10 * 1000000ULL;
int gs__preempt_pending;

/* ---- where a thread is never interrupted (rule 1 and 2) ----------------- */

#define MAX_RANGES 32
static struct {
	uintptr_t lo, hi;
} no_switch_text[MAX_RANGES];
/* Entries are only ever added (an object loaded later: libgcc_s), each
 * written before the count that publishes it; a tick reads the count
 * first. */
static _Atomic int n_ranges;
static _Atomic int ranges_lock;
/* The __lock words of the loader's three recursive locks (NULL: unknown,
 * and then no thread is interrupted by signal at all, only at safe points). */
static volatile int *loader_lock[3];
static int signal_preemption; /* the rule could be set up */

struct probe {
	uintptr_t addr[8];
	int n;
	int libgcc;        /* libgcc_s counts too, if it is loaded */
	pid_t tid;
	const char *rtld; /* _rtld_global, and its size */
	size_t rtld_size;
};

/* glibc 2.36's pthread_mutex_t as the loader's recursive locks use it. */
struct mutex_words {
	int lock;
	unsigned count;
	int owner;
	unsigned nusers;
	int kind;
	int rest[5];
};
#define RECURSIVE 1 /* PTHREAD_MUTEX_RECURSIVE_NP */

/* Inside dl_iterate_phdr, _dl_load_write_lock is held by us: the one
 * recursive mutex in _rtld_global owned by this thread, with the load lock
 * just before it and the TLS lock just after (ldsodefs.h's order). */
static void find_loader_locks(struct probe *p)
{
	if (!p->rtld || p->rtld_size < 3 * sizeof(struct mutex_words))
		return;
	struct mutex_words *found = NULL;
	for (size_t off = sizeof(struct mutex_words); off + 2 * sizeof(struct mutex_words) <= p->rtld_size;
	     off += 8) {
		struct mutex_words *m = (struct mutex_words *)(p->rtld + off);
		if (m->lock != 0 && m->owner == p->tid && m->kind == RECURSIVE && m->count >= 1) {
			if (found)
				return; /* not one: do not guess */
			found = m;
		}
	}
	if (!found || found[-1].kind != RECURSIVE || found[1].kind != RECURSIVE)
		return;
	loader_lock[0] = &found[-1].lock;
	loader_lock[1] = &found[0].lock;
	loader_lock[2] = &found[1].lock;
}

static void add_range(uintptr_t lo, uintptr_t hi)
{
	gs_spin_lock(&ranges_lock);
	int n = atomic_load_explicit(&n_ranges, memory_order_relaxed);
	int known = 0;
	for (int i = 0; i < n; i++)
		known |= no_switch_text[i].lo == lo && no_switch_text[i].hi == hi;
	if (!known && n < MAX_RANGES) {
		no_switch_text[n].lo = lo;
		no_switch_text[n].hi = hi;
		atomic_store_explicit(&n_ranges, n + 1, memory_order_release);
	}
	gs_spin_unlock(&ranges_lock);
}

/* libgcc_s.so.1, by name: the shim never loads it to find out where it
 * is (libgcc.c adds it when it loads it). */
static int is_libgcc(const char *path)
{
	const char *base = path ? strrchr(path, '/') : NULL;
	return base && strncmp(base + 1, "libgcc_s.so", 11) == 0;
}

int gs__object_holds(const struct dl_phdr_info *info, uintptr_t a)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && a >= lo && a - lo < ph->p_memsz)
			return 1;
	}
	return 0;
}

static int each_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct probe *p = arg;
	if (!loader_lock[0] && p->rtld)
		find_loader_locks(p);
	int ours = p->libgcc && is_libgcc(info->dlpi_name);
	for (int k = 0; k < p->n && !ours; k++)
		ours = gs__object_holds(info, p->addr[k]);
	for (int i = 0; ours && i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X))
			add_range(info->dlpi_addr + ph->p_vaddr, info->dlpi_addr + ph->p_vaddr + ph->p_memsz);
	}
	return 0;
}

static int in_first_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t *a = arg;
	*a = gs__object_holds(info, *a);
	return 1; /* the executable only */
}

void *gs__allocator_entry(const char *name)
{
	void *a = dlsym(RTLD_DEFAULT, name);
	uintptr_t in_exe = (uintptr_t)a;
	if (!a)
		return NULL;
	dl_iterate_phdr(in_first_object, &in_exe);
	if (!in_exe)
		return a; /* a library's definition */
	/* dladdr walks the executable's symbols (tens of microseconds in a
	 * large one): only for an address in the executable itself. */
	const ElfW(Sym) *sym = NULL;
	Dl_info di;
	if (dladdr1(a, &di, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_shndx == SHN_UNDEF)
		a = dlsym(RTLD_NEXT, name);
	return a;
}

void gs_preempt_setup(void)
{
	static int done;
	if (done++ || !gs_preempt_ns)
		return;
	struct probe p = { .tid = (pid_t)gs__sys(SYS_gettid, 0, 0, 0, 0, 0, 0), .libgcc = 1 };
	p.addr[p.n++] = (uintptr_t)&gs_preempt_setup;   /* the shim, libev with it */
	p.addr[p.n++] = (uintptr_t)&gnu_get_libc_version; /* libc */
	p.addr[p.n++] = (uintptr_t)getauxval(AT_BASE);  /* ld.so's first page */
	/* libgcc_s if it is loaded (a C++ program's is): the shim does not
	 * link it and does not load it here (a dlopen, a third of a C
	 * program's first pthread_create); libgcc.c adds it when it loads it,
	 * and pthread_cancel loads it as glibc's does, so that an
	 * asynchronous cancellation acting from a tick finds it loaded.  One
	 * that glibc loads itself later (backtrace) is not known: its locks
	 * are pthread mutexes, green ones, and its calls into the loader
	 * take the loader's locks, which rule 2 sees. */
	/* Whoever provides malloc (libasan, jemalloc, tcmalloc): its locks
	 * may be spinlocks or raw futexes a waiter blocks the OS thread on. */
	void *m = gs__allocator_entry("malloc"), *f = gs__allocator_entry("free");
	if (m)
		p.addr[p.n++] = (uintptr_t)m;
	if (f)
		p.addr[p.n++] = (uintptr_t)f;
	void *rtld = dlsym(RTLD_DEFAULT, "_rtld_global");
	const ElfW(Sym) *sym = NULL;
	Dl_info di;
	if (rtld && dladdr1(rtld, &di, (void **)&sym, RTLD_DL_SYMENT) && sym) {
		p.rtld = rtld;
		p.rtld_size = sym->st_size;
	}
	dl_iterate_phdr(each_object, &p);
	/* the shim, libc and ld.so at the least */
	signal_preemption = loader_lock[0] != NULL && atomic_load(&n_ranges) >= 3;
}

void gs__preempt_text_loaded(const void *in_it)
{
	struct probe p = { .n = 1 };
	p.addr[0] = (uintptr_t)in_it;
	dl_iterate_phdr(each_object, &p);
}

static int pc_may_switch(uintptr_t pc)
{
	int n = atomic_load_explicit(&n_ranges, memory_order_acquire);
	for (int i = 0; i < n; i++)
		if (pc >= no_switch_text[i].lo && pc < no_switch_text[i].hi)
			return 0;
	return 1;
}

static int loader_locked(void)
{
	for (int i = 0; i < 3; i++)
		if (*loader_lock[i] != 0)
			return 1;
	return 0;
}

/* Rule 3 for handlers.  A handler may end in a longjmp, so a count would
 * stay up for good; the wrapper records the frame of the outermost handler
 * instead, and a tick whose interrupted stack pointer lies above that frame
 * knows it is stale.  A handler on the alternate stack is seen by the
 * kernel's SS_ONSTACK. */
uintptr_t gs_preempt_handler_enter(void *frame)
{
	struct gs_thread *t = gs__os_current;
	if (!t)
		return 0;
	uintptr_t prev = t->handler_sp;
	if (!prev || (uintptr_t)frame > prev)
		t->handler_sp = (uintptr_t)frame;
	return prev;
}

void gs_preempt_handler_leave(uintptr_t prev)
{
	struct gs_thread *t = gs__os_current;
	if (t)
		t->handler_sp = prev;
}

static int in_handler(struct gs_thread *t, uintptr_t sp)
{
	if (t->handler_sp) {
		if (sp < t->handler_sp && t->handler_sp - sp < (64u << 20))
			return 1;
		t->handler_sp = 0; /* left by a longjmp */
	}
	stack_t ss;
	if (gs__sys(SYS_sigaltstack, 0, (long)&ss, 0, 0, 0, 0) == 0 && (ss.ss_flags & SS_ONSTACK))
		return 1;
	return 0;
}

void gs_preempt_hold(int delta)
{
	struct gs_thread *t = gs__os_current;
	if (t)
		t->preempt_holds += delta;
}

/* ---- the clock ------------------------------------------------------------ */

static void set_timer(struct gs_hub *h, uint64_t every_ns)
{
	struct itimerspec its = {
		.it_interval = { (time_t)(every_ns / 1000000000ULL), (long)(every_ns % 1000000000ULL) },
	};
	its.it_value = its.it_interval;
	gs__sys(SYS_timer_settime, h->pre_timer, 0, (long)&its, 0, 0, 0);
}

void gs__preempt_arm(struct gs_hub *h)
{
	if (!gs_preempt_ns || h->pre_armed || h->live < 2)
		return;
	if (h->pre_timer < 0) {
		struct sigevent sev;
		memset(&sev, 0, sizeof sev);
		sev.sigev_notify = SIGEV_THREAD_ID;
		sev.sigev_signo = SIGURG;
		sev.sigev_value.sival_ptr = h;
		sev._sigev_un._tid = (pid_t)gs__sys(SYS_gettid, 0, 0, 0, 0, 0, 0);
		int id = -1;
		if (gs__sys(SYS_timer_create, CLOCK_THREAD_CPUTIME_ID, (long)&sev, (long)&id, 0, 0, 0) != 0)
			return; /* no timer: safe points only */
		h->pre_timer = id;
	}
	h->pre_armed = 1;
	set_timer(h, gs_preempt_ns / 2);
}

static void disarm(struct gs_hub *h)
{
	if (h->pre_armed) {
		set_timer(h, 0);
		h->pre_armed = 0;
	}
}

void gs__preempt_free(struct gs_hub *h)
{
	if (h->pre_timer >= 0)
		gs__sys(SYS_timer_delete, h->pre_timer, 0, 0, 0, 0, 0);
	h->pre_timer = -1;
	h->pre_armed = 0;
}

void gs__preempt_after_fork(struct gs_hub *h)
{
	h->pre_timer = -1; /* timers are not inherited */
	h->pre_armed = 0;
	h->preempt_wanted = 0;
}

/* exec: no tick may be pending when the new program starts (its SIGURG is
 * ignored by default, but its sigpending() would show it). */
void gs_preempt_exec_begin(void)
{
	struct gs_hub *h = gs__os.hub;
	if (h)
		disarm(h);
}

void gs_preempt_exec_failed(void)
{
	struct gs_hub *h = gs__os.hub;
	if (h)
		gs__preempt_arm(h);
}

/* ---- the decision --------------------------------------------------------- */

int gs_preempt_is_tick(const void *siginfo)
{
	const siginfo_t *si = siginfo;
	struct gs_hub *h = gs__os.hub;
	return h && si && si->si_code == SI_TIMER && si->si_value.sival_ptr == h;
}

static int others_want_cpu(struct gs_hub *h)
{
	return h->ready_head || h->armed || h->fd_waits ||
	       atomic_load_explicit(&h->remote, memory_order_relaxed) ||
	       atomic_load_explicit(&h->poke, memory_order_relaxed);
}

static int deadline_due(struct gs_hub *h)
{
	if (h->tfd < 0 || !h->armed)
		return 0;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* the vDSO: async-signal-safe */
	return ts.tv_sec + ts.tv_nsec * 1e-9 >= h->tfd_at;
}

void gs_preempt_tick(void *ucontext)
{
	struct gs_hub *h = gs__os.hub;
	struct gs_thread *t = gs__os_current;
	if (h->live < 2) {
		disarm(h);
		return;
	}
	if (h->switches != h->pre_seen) {
		h->pre_seen = h->switches;
		h->pre_stale = 0;
		return;
	}
	/* A run that covered a whole tick gives way to a sleeper whose time
	 * has come, as the kernel's wake-up preemption does; any other run
	 * gets a whole slice (two ticks). */
	h->pre_stale++;
	if (!(h->pre_stale >= 2 || deadline_due(h)) || !others_want_cpu(h))
		return;
	if (!t || t == &h->sched || t->hub != h || t->state != GS_T_RUNNING || t->preempting)
		return;
	const ucontext_t *uc = ucontext;
	if (!signal_preemption || t->preempt_holds ||
	    !pc_may_switch((uintptr_t)uc->uc_mcontext.gregs[REG_RIP]) || loader_locked() ||
	    in_handler(t, (uintptr_t)uc->uc_mcontext.gregs[REG_RSP])) {
		h->preempt_wanted = 1; /* at its next safe point */
		gs__preempt_pending = 1;
		return;
	}
	h->pre_stale = 0;
	t->preempting = 1;
	gs__set_os_mask(t->sigmask); /* the handler's own mask blocks everything */
	gs__preempt_now(t);
	/* Back: block again what the handler blocks, and send what became
	 * pending meanwhile; the kernel delivers it when the handler returns,
	 * at the interrupted instruction (not here, in the shim). */
	uint64_t all = ~(1ULL << (SIGSYS - 1));
	gs__sys(SYS_rt_sigprocmask, SIG_SETMASK, (long)&all, 0, sizeof all, 0, 0);
	t->preempting = 0;
	gs__async_cancel_point(t);
	if (atomic_load_explicit(&t->sigpending, memory_order_relaxed) & ~t->sigmask)
		gs__deliver_pending(t);
}

void gs__safe_point_slow(void)
{
	struct gs_hub *h = gs__os.hub;
	struct gs_thread *t = gs__os_current;
	/* One flag for every hub: with another hub's mark cleared here, that
	 * hub's next tick marks it again. */
	gs__preempt_pending = 0;
	if (!h || !h->preempt_wanted || !t || t == &h->sched || t->hub != h ||
	    t->state != GS_T_RUNNING || t->preempt_holds || t->preempting)
		return;
	h->preempt_wanted = 0;
	h->pre_stale = 0;
	gs__preempt_now(t);
	gs__async_cancel_point(t);
}

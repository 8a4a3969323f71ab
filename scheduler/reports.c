/* Reports on a program gone wrong: a deadlock, a stack overflow.
 *
 * "All green threads are asleep": the Go runtime's deadlock report.
 *
 * The hub is about to block and nothing is ready.  If no wait has a
 * deadline, no other OS thread exists that could wake one (glibc's
 * __libc_single_threaded), and every thread of the hub is parked on a
 * synchronisation object, then nothing can ever run again.  The report
 * lists each thread, its start routine, what it waits for and who holds
 * it; it is printed once, and the process then hangs, as it would
 * natively, unless GREENSHIM_DEADLOCK=abort.
 *
 * What this cannot see, so never calls a deadlock: waits with a deadline,
 * fd and child waits (another process may write or exit), and other OS
 * threads.  A signal handler could still wake a thread; that is why the
 * default is to report and keep waiting. */
#include <dlfcn.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "rawsys.h"

int gs_deadlock_action = GS_DEADLOCK_REPORT;

const char *const gs_wait_names[GS_PW_COUNT] = {
	[GS_PW_NONE] = "nothing",      [GS_PW_YIELD] = "yield",
	[GS_PW_SLEEP] = "sleep",       [GS_PW_MUTEX] = "mutex",
	[GS_PW_COND] = "condition variable", [GS_PW_RWLOCK] = "rwlock",
	[GS_PW_SEM] = "semaphore",     [GS_PW_BARRIER] = "barrier",
	[GS_PW_ONCE] = "pthread_once", [GS_PW_JOIN] = "join",
	[GS_PW_FUTEX] = "futex",       [GS_PW_READ] = "read",
	[GS_PW_WRITE] = "write",       [GS_PW_POLL] = "poll",
	[GS_PW_CHILD] = "waitpid",     [GS_PW_EXIT] = "exit",
	[GS_PW_OFFLOAD] = "offloaded call", [GS_PW_PREEMPT] = "preempted",
};

static const char *routine_name(struct gs_thread *t, char *buf, size_t size)
{
	Dl_info info;
	if ((t->flags & GS_TF_ROOT))
		return (t->flags & GS_TF_MAIN) ? "main" : "(OS thread)";
	if (t->start && dladdr((void *)t->start, &info)) {
		if (info.dli_sname)
			return info.dli_sname;
		/* a static function: file and offset, for addr2line */
		const char *base = info.dli_fname ? strrchr(info.dli_fname, '/') : NULL;
		snprintf(buf, size, "%s+%#lx", base ? base + 1 : info.dli_fname ? info.dli_fname : "?",
			 (unsigned long)((char *)t->start - (char *)info.dli_fbase));
		return buf;
	}
	snprintf(buf, size, "%p", (void *)t->start);
	return buf;
}

static struct gs_thread *by_id(struct gs_hub *h, int id)
{
	for (struct gs_thread *t = h->threads; t; t = t->hub_next)
		if (t->id == id)
			return t;
	return NULL;
}

/* The wait-for cycle, if the holders form one: from each thread follow
 * "waits for the thread holding it" at most n steps; a thread met twice
 * closes a cycle, printed once from its smallest member:
 *   wait-for cycle: thread 3 -> thread 5 -> thread 3 */
static void report_cycle(struct gs_hub *h)
{
	unsigned n = 0;
	for (struct gs_thread *t = h->threads; t; t = t->hub_next)
		n++;
	for (struct gs_thread *start = h->threads; start; start = start->hub_next) {
		struct gs_thread *t = start;
		for (unsigned step = 0; step <= n && t && t->waiting && t->waiting->holder; step++) {
			t = by_id(h, t->waiting->holder);
			if (t != start)
				continue;
			/* start is on a cycle: print it if start is its smallest id */
			int smallest = 1;
			struct gs_thread *c = start;
			do {
				if (c->id < start->id)
					smallest = 0;
				c = by_id(h, c->waiting->holder);
			} while (c && c != start);
			if (!smallest)
				break;
			char line[512];
			int len = snprintf(line, sizeof line, "  wait-for cycle: thread %d", start->id);
			c = start;
			do {
				c = by_id(h, c->waiting->holder);
				if (len < (int)sizeof line)
					len += snprintf(line + len, sizeof line - len, " -> thread %d", c->id);
			} while (c != start);
			gs_warn("%s", line);
			break;
		}
	}
}

/* "5 (worker)" or, when the program named it (not just inherited the
 * process's name), "5 \"fetcher\" (worker)". */
static const char *who(struct gs_thread *t, char *buf, size_t size)
{
	extern char *program_invocation_short_name;
	char routine[128];
	const char *r = routine_name(t, routine, sizeof routine);
	const char *name = t->pub->name;
	if (name[0] && strncmp(name, program_invocation_short_name, 15) != 0)
		snprintf(buf, size, "%d \"%.16s\" (%s)", t->id, name, r);
	else
		snprintf(buf, size, "%d (%s)", t->id, r);
	return buf;
}

void gs__check_deadlock(struct gs_hub *h)
{
	if (h->armed || h->fd_waits || !gs_single() || atomic_load_explicit(&h->remote, memory_order_relaxed))
		return;
	unsigned n = 0;
	for (struct gs_thread *t = h->threads; t; t = t->hub_next) {
		if (t->state != GS_T_PARKED || !t->waiting || t->waiting->kind < GS_PW_MUTEX ||
		    t->waiting->kind > GS_PW_FUTEX)
			return; /* something else could still happen */
		n++;
	}
	if (n == 0 || h->deadlock_reported)
		return;
	h->deadlock_reported = 1;
	gs_warn("greenshim: deadlock: all %u green threads are asleep and nothing can wake them:", n);
	for (struct gs_thread *t = h->threads; t; t = t->hub_next) {
		char buf[200];
		struct gs_waiter *w = t->waiting;
		const char *what = gs_wait_names[w->kind];
		if (w->kind == GS_PW_JOIN)
			gs_warn("  thread %s waits to join thread %d", who(t, buf, sizeof buf), w->holder);
		else if (w->holder)
			gs_warn("  thread %s waits on %s %p held by thread %d", who(t, buf, sizeof buf),
				what, w->object, w->holder);
		else
			gs_warn("  thread %s waits on %s %p", who(t, buf, sizeof buf), what, w->object);
	}
	report_cycle(h);
	if (gs_deadlock_action == GS_DEADLOCK_ABORT) {
		gs_warn("greenshim: GREENSHIM_DEADLOCK=abort: aborting");
		abort();
	}
}

/* ---- a hub kept from running --------------------------------------------- */

uint64_t gs_block_warn_ns;

/* Cooperative scheduling has one failure mode no wait can report: a green
 * thread that keeps the CPU (a blocking call the shim does not green, such
 * as stdio's internal reads, or a long computation) stalls every other
 * green thread of its OS thread and the hub's timers and I/O.  When
 * GREENSHIM_BLOCK_WARN_MS is set, each switch measures how long the thread
 * leaving the CPU held it. */
void gs__block_check(struct gs_thread *prev)
{
	struct gs_hub *h = prev->hub;
	uint64_t now = gs__mono_ns();
	if (h->ran_since && now - h->ran_since > gs_block_warn_ns && !(prev->flags & GS_TF_HUB) &&
	    h->live > 1) { /* alone on its hub, it kept nobody waiting */
		char buf[200];
		gs_warn("greenshim: green thread %s ran %llu ms without yielding; the hub and "
			"every other green thread of its OS thread waited (a blocking call the shim "
			"does not green, or a long computation)",
			who(prev, buf, sizeof buf),
			(unsigned long long)((now - h->ran_since) / 1000000ULL));
	}
	h->ran_since = now;
}

/* ---- stack overflow ---------------------------------------------------- */

/* A SIGSEGV at addr: if it hit the guard page of the running green
 * thread's stack, say so by name (async-signal-safe enough: gs_warn formats
 * into a local buffer and writes with a system call).  1 if it did. */
int gs_stack_guard_hit(const void *addr)
{
	struct gs_thread *t = gs__os_current;
	if (!t || (t->stack.kind != GS_STACK_GUARDED && t->stack.kind != GS_STACK_SOLO))
		return 0;
	const char *lo = t->stack.lo;
	return (const char *)addr < lo && (const char *)addr >= lo - t->stack.guard;
}

int gs_stack_overflow_report(const void *addr)
{
	if (!gs_stack_guard_hit(addr))
		return 0;
	struct gs_thread *t = gs__os_current;
	char buf[200];
	gs_warn("greenshim: stack overflow in green thread %s, stack %zu bytes: "
		"it ran into its guard page", who(t, buf, sizeof buf), t->stack.size);
	return 1;
}

/* The alternate signal stack the SIGSEGV handler needs on a thread whose
 * own stack is exhausted: one per OS thread with a hub, unless the program
 * set its own. */
void gs__altstack(void)
{
	stack_t cur; /* the kernel's (our sigaltstack interposer answers per thread) */
	if (gs__sys(SYS_sigaltstack, 0, (long)&cur, 0, 0, 0, 0) == 0 && !(cur.ss_flags & SS_DISABLE))
		return;
	size_t size = 64 * 1024;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	stack_t ss = { .ss_sp = p, .ss_size = size, .ss_flags = 0 };
	if (gs__sys(SYS_sigaltstack, (long)&ss, 0, 0, 0, 0, 0) != 0)
		munmap(p, size);
	else if (gs__os.hub)
		gs__os.hub->altstack = ss;
}

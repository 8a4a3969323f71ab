/* The real-function table (real.h): each entry looked up on first use.
 *
 * A lookup is dlsym(RTLD_NEXT): the first definition after the shim in the
 * program's lookup order, so a library preloaded after us (a test's fault
 * injector) comes before libc.  Most programs call a handful of the
 * table's 321 entries; looking them all up cost every exec ~50 us.
 *
 * dlsym is no async-signal-safe function: it takes the loader's lock, and
 * frees the message a failed dl* call left on the thread (malloc's lock,
 * malloc's per-thread cache).  So an entry that may be called first in a
 * signal handler, in the syscall trap's handler, or in a vfork child
 * (which runs on its parent's memory) is never looked up there: the
 * handler set below is looked up as a whole before the first handler is
 * installed and before the first vfork.  Every handler the shim sees is
 * installed through one of three entries (sigaction, signal, sysv_signal:
 * the program's, wrapped or not, and the shim's own guard and tick
 * handlers), whose own lookup looks the set up first; the trap installs
 * its handler with a raw system call and vfork.c forks without an entry,
 * so both ask for the set (gs_real_resolve_handler_set).  A handler
 * installed behind the shim's back (sigset(3), an inline rt_sigaction
 * without the trap) may still meet a first use: the one case where a
 * dlsym can run in a handler. */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>

#include "config.h"
#include "real.h"

struct gs_real_table gs_real;

/* Every entry's symbol name, as one block of strings: each field is named
 * after its entry, so offsetof finds a name without a pointer (a table of
 * pointers would cost the loader a relocation each at every exec). */
struct real_names {
#define GS_NAME_FIELD(ret, name, params, version) char name[sizeof #name];
	GS_REAL_FUNCTIONS(GS_NAME_FIELD)
#undef GS_NAME_FIELD
};
static const struct real_names names = {
#define GS_NAME_INIT(ret, name, params, version) #name,
	GS_REAL_FUNCTIONS(GS_NAME_INIT)
#undef GS_NAME_INIT
};

/* Where entry i of the table is, and what to look up for it. */
static const struct real_symbol {
	unsigned short name;  /* offset of its name in names */
	unsigned short entry; /* offset of its pointer in gs_real */
	const char *version;  /* a symbol version, GS_SYMBOL("sym"), or NULL */
} symbols[GS_REAL_COUNT] = {
#define GS_SYMBOL_OF(ret, name, params, version) \
	{ offsetof(struct real_names, name), offsetof(struct gs_real_table, name), version },
	GS_REAL_FUNCTIONS(GS_SYMBOL_OF)
#undef GS_SYMBOL_OF
};
_Static_assert(sizeof(struct real_names) <= 0xffff && sizeof(struct gs_real_table) <= 0xffff,
	       "real_symbol's offsets are unsigned short");

/* version: a symbol version, or GS_SYMBOL("name") when the field's name
 * is not the symbol's. */
GS_STARTUP static void *lookup(const char *name, const char *version)
{
	if (version && version[0] == '=')
		return dlsym(RTLD_NEXT, version + 1);
	void *p = version ? dlvsym(RTLD_NEXT, name, version) : NULL;
	return p ? p : dlsym(RTLD_NEXT, name);
}

/* Looks entry i up, unless it is set (a racing resolver, or a test that
 * swapped it: its replacement stays).  Racing resolvers find and store
 * the same pointer. */
GS_STARTUP static void *resolve_entry(enum gs_real_index i)
{
	void **slot = (void **)((char *)&gs_real + symbols[i].entry);
	void *fn = __atomic_load_n(slot, __ATOMIC_RELAXED);
	if (!fn) {
		fn = lookup((const char *)&names + symbols[i].name, symbols[i].version);
		__atomic_store_n(slot, fn, __ATOMIC_RELAXED);
	}
	return fn;
}

/* The handler set: what may be called first where a dlsym must not run.
 *   - POSIX's async-signal-safe functions among ours, and those glibc's
 *     manual marks AS-Safe (preadv2, nanosleep, wait4, ...);
 *   - what the syscall trap's handler reaches (syscall.c's greened
 *     numbers: epoll waits, sendmmsg, sigtimedwait, sched_yield, ...), and
 *     the fds a hub makes on first use (timerfd, eventfd, epoll);
 *   - what a vfork child calls before it execs or exits (the exec family,
 *     credentials, fds);
 *   - what the shim's own handlers call (syscall, the masks).
 * The three entries that install handlers come last: any of them is set
 * only once the rest is, so no handler can be installed before. */
#define E(name) GS_REAL_INDEX_##name
static const unsigned short handler_set[] = {
	/* ending and exec */
	E(_exit), E(_Exit), E(execve), E(execv), E(execvp), E(execvpe), E(fexecve),
	/* fds */
	E(read), E(readv), E(preadv2), E(write), E(writev), E(pwritev2), E(close), E(close_range),
	E(closefrom), E(dup), E(dup2), E(dup3), E(pipe), E(pipe2), E(fcntl), E(fcntl64), E(ioctl),
	E(open), E(open64), E(openat), E(openat64), E(__open_2), E(__open64_2), E(__openat_2),
	E(__openat64_2), E(creat), E(creat64), E(timerfd_create), E(eventfd), E(signalfd),
	E(epoll_create), E(epoll_create1),
	/* sockets */
	E(socket), E(socketpair), E(connect), E(accept), E(accept4), E(setsockopt), E(send),
	E(sendto), E(sendmsg), E(sendmmsg), E(recv), E(recvfrom), E(recvmsg), E(recvmmsg),
	/* waits */
	E(poll), E(ppoll), E(select), E(pselect), E(epoll_wait), E(epoll_pwait), E(epoll_pwait2),
	E(pause), E(sigsuspend), E(sigtimedwait), E(sigwaitinfo), E(sigwait), E(sleep), E(usleep),
	E(nanosleep), E(clock_nanosleep), E(wait), E(waitpid), E(wait3), E(wait4), E(waitid),
	E(sem_post), E(sched_yield),
	/* threads and signals */
	E(kill), E(raise), E(pthread_kill), E(pthread_self), E(pthread_setcancelstate),
	E(pthread_sigmask), E(sigprocmask), E(sigpending), E(syscall),
	/* credentials */
	E(setuid), E(setgid), E(seteuid), E(setegid), E(setreuid), E(setregid), E(setresuid),
	E(setresgid), E(setgroups),
	/* the installers: last */
	E(sigaction), E(signal), E(sysv_signal),
};
#undef E
#define INSTALLERS 3

static _Atomic int handler_set_done;

GS_STARTUP void gs_real_resolve_handler_set(void)
{
	if (atomic_load_explicit(&handler_set_done, memory_order_acquire))
		return;
	for (size_t k = 0; k < sizeof handler_set / sizeof handler_set[0]; k++)
		resolve_entry(handler_set[k]);
	atomic_store_explicit(&handler_set_done, 1, memory_order_release);
}

static int installs_handlers(enum gs_real_index i)
{
	size_t n = sizeof handler_set / sizeof handler_set[0];
	for (size_t k = n - INSTALLERS; k < n; k++)
		if (handler_set[k] == i)
			return 1;
	return 0;
}

GS_STARTUP void *gs__real_resolve(enum gs_real_index i)
{
	gs_init(); /* an interposer's first call initialises the shim, as ever */
	if (installs_handlers(i))
		gs_real_resolve_handler_set();
	return resolve_entry(i);
}

/* First-use initialisation: the real-function table and the environment.
 *
 * gs_init may run on the first interposed call, which can come from another
 * library's constructor before ours, and is not protected by a lock (we
 * interpose the locks): every step is idempotent and a second, racing
 * call writes the same values. */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fdkind.h"
#include "real.h"

struct gs_real_table gs_real;
struct gs_config gs_cfg = { -1, -1, -1, -1, -1, -1 };
int gs_tpool_threads;
static _Atomic int init_state; /* 0: not yet, 1: running, 2: done */

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
 * is not the symbol's.  RTLD_NEXT: the first definition after the shim in
 * the program's lookup order, so a library preloaded after us (a test's
 * fault injector) comes before libc. */
static void *lookup(const char *name, const char *version)
{
	if (version && version[0] == '=')
		return dlsym(RTLD_NEXT, version + 1);
	void *p = version ? dlvsym(RTLD_NEXT, name, version) : NULL;
	return p ? p : dlsym(RTLD_NEXT, name);
}

/* Looks entry i up, unless it is set (a racing resolver, or a test that
 * swapped it).  Racing resolvers find and store the same pointer. */
static void *resolve_entry(enum gs_real_index i)
{
	void **slot = (void **)((char *)&gs_real + symbols[i].entry);
	void *fn = __atomic_load_n(slot, __ATOMIC_RELAXED);
	if (!fn) {
		fn = lookup((const char *)&names + symbols[i].name, symbols[i].version);
		__atomic_store_n(slot, fn, __ATOMIC_RELAXED);
	}
	return fn;
}

void *gs__real_resolve(enum gs_real_index i)
{
	gs_init();
	return resolve_entry(i);
}

/* Resolved by gs_init rather than on first use: whatever may be called
 * first where a dlsym must not run, since it takes the loader's lock and
 * may free dlerror's last message (malloc's lock) in whatever state the
 * interrupted code left them:
 *   - POSIX's async-signal-safe functions, and those glibc documents as
 *     such on Linux, which a signal handler may call, and a fork child of
 *     a process with other threads (until it execs);
 *   - the rest of what a vfork child calls before it execs or exits
 *     (execv, execvp, execvpe);
 *   - what the shim's own handlers call: syscall (the trap's), sigaction
 *     and the masks (the guard, tick and signal wrappers). */
#define E(name) GS_REAL_INDEX_##name
static const unsigned short eager[] = {
	/* ending and exec */
	E(_exit), E(_Exit), E(execve), E(execv), E(execvp), E(execvpe), E(fexecve),
	/* fds */
	E(read), E(readv), E(write), E(writev), E(close), E(close_range), E(closefrom), E(dup),
	E(dup2), E(dup3), E(pipe), E(pipe2), E(fcntl), E(fcntl64), E(ioctl), E(open), E(open64),
	E(openat), E(openat64), E(__open_2), E(__open64_2), E(__openat_2), E(__openat64_2),
	E(creat), E(creat64),
	/* sockets */
	E(socket), E(socketpair), E(connect), E(accept), E(accept4), E(setsockopt), E(send),
	E(sendto), E(sendmsg), E(recv), E(recvfrom), E(recvmsg),
	/* waits */
	E(poll), E(ppoll), E(select), E(pselect), E(pause), E(sigsuspend), E(sleep), E(usleep),
	E(nanosleep), E(clock_nanosleep), E(wait), E(waitpid), E(wait3), E(wait4), E(waitid),
	E(sem_post),
	/* signals */
	E(kill), E(raise), E(pthread_kill), E(pthread_self), E(pthread_sigmask), E(sigprocmask),
	E(sigpending), E(sigaction), E(signal), E(sysv_signal), E(syscall),
	/* credentials, set by a child before it execs */
	E(setuid), E(setgid), E(seteuid), E(setegid), E(setreuid), E(setregid), E(setresuid),
	E(setresgid), E(setgroups),
};
#undef E

static void resolve_eager(void)
{
	for (size_t k = 0; k < sizeof eager / sizeof eager[0]; k++)
		resolve_entry(eager[k]);
}

struct flag {
	const char *name; /* after GREENSHIM_ */
	int *value;
};

static const struct flag flags[] = {
	{ "TIME", &gs_cfg.time },     { "SOCKET", &gs_cfg.socket }, { "OS", &gs_cfg.os },
	{ "SELECT", &gs_cfg.select }, { "THREAD", &gs_cfg.thread }, { "TLS", &gs_cfg.tls },
};

/* Every GREENSHIM_ variable is checked: a subsystem flag takes 0 or 1,
 * GREENSHIM_DEADLOCK report or abort, GREENSHIM_BLOCK_WARN_MS a number of
 * milliseconds, GREENSHIM_PREEMPT_MS the time slice (0 to 1000 ms, 0: no
 * preemption); any other value, or a name we do not
 * know, is reported and ignored, so a typo never silently changes what the
 * shim does. */
static void read_environment(void)
{
	int values[sizeof flags / sizeof flags[0]];
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		values[i] = 1;
	extern char **environ;
	for (char **e = environ; e && *e; e++) {
		if (strncmp(*e, "GREENSHIM_", 10) != 0)
			continue;
		const char *name = *e + 10, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const char *val = eq ? eq + 1 : "";
		if (len == 8 && !strncmp(name, "DEADLOCK", 8)) {
			if (!strcmp(val, "abort"))
				gs_deadlock_action = GS_DEADLOCK_ABORT;
			else if (strcmp(val, "report") != 0)
				gs_warn("greenshim: GREENSHIM_DEADLOCK=%s: expected report or abort; "
					"keeping report", val);
			continue;
		}
		if (len == 5 && !strncmp(name, "TPOOL", 5)) {
			char *end;
			long n = strtol(val, &end, 10);
			if (*val >= '0' && *val <= '9' && !*end && n >= 1 && n <= GS_TPOOL_MAX)
				gs_tpool_threads = (int)n;
			else
				gs_warn("greenshim: GREENSHIM_TPOOL=%s: expected a number of threads from "
					"1 to %d; keeping %d", val, GS_TPOOL_MAX, GS_TPOOL_DEFAULT);
			continue;
		}
		if (len == 5 && !strncmp(name, "TRACE", 5)) {
			if (*val)
				gs_trace_path = val;
			else
				gs_warn("greenshim: GREENSHIM_TRACE is empty: expected a file name; "
					"not tracing");
			continue;
		}
		if (len == 10 && !strncmp(name, "PREEMPT_MS", 10)) {
			char *end;
			errno = 0;
			unsigned long ms = strtoul(val, &end, 10);
			if (*val >= '0' && *val <= '9' && !*end && !errno && ms <= 1000)
				gs_preempt_ns = ms * 1000000ULL;
			else
				gs_warn("greenshim: GREENSHIM_PREEMPT_MS=%s: expected a number of "
					"milliseconds from 0 (off) to 1000; keeping 10", val);
			continue;
		}
		if (len == 8 && !strncmp(name, "SYSCALLS", 8)) {
			gs_trap_asked = 1;
			if (!strcmp(val, "trap"))
				gs_trap_mode = GS_TRAP_ON;
			else if (!strcmp(val, "off"))
				gs_trap_mode = GS_TRAP_OFF;
			else
				gs_warn("greenshim: GREENSHIM_SYSCALLS=%s: expected trap or off; "
					"keeping %s", val, GS_TRAP_DEFAULT == GS_TRAP_ON ? "trap" : "off");
			continue;
		}
		if (len == 13 && !strncmp(name, "BLOCK_WARN_MS", 13)) {
			char *end;
			errno = 0;
			unsigned long long ms = strtoull(val, &end, 10);
			if (*val >= '0' && *val <= '9' && !*end && !errno && ms > 0 && ms < 86400000ULL)
				gs_block_warn_ns = ms * 1000000ULL;
			else
				gs_warn("greenshim: GREENSHIM_BLOCK_WARN_MS=%s: expected a number of "
					"milliseconds from 1 to 86399999; not warning", val);
			continue;
		}
		size_t i;
		for (i = 0; i < sizeof flags / sizeof flags[0]; i++)
			if (strlen(flags[i].name) == len && !strncmp(flags[i].name, name, len))
				break;
		if (i == sizeof flags / sizeof flags[0]) {
			gs_warn("greenshim: unknown variable GREENSHIM_%.*s ignored", (int)len, name);
			continue;
		}
		if (!strcmp(val, "0") || !strcmp(val, "1"))
			values[i] = val[0] - '0';
		else
			gs_warn("greenshim: GREENSHIM_%s=%s: expected 0 or 1; keeping 1",
				flags[i].name, val);
	}
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
		atomic_store((_Atomic int *)flags[i].value, values[i]);
	/* Green threads get TLS of their own unless GREENSHIM_TLS=0 (there
	 * are no green threads to give it to with GREENSHIM_THREAD=0). */
	gs_tls_request = gs_cfg.tls > 0 && gs_cfg.thread > 0;
}

void gs_init(void)
{
	if (atomic_load(&init_state) == 2)
		return;
	int expected = 0;
	if (atomic_compare_exchange_strong(&init_state, &expected, 1)) {
		resolve_eager();
		read_environment();
		gs_trap_setup();
		gs_fd_table_init();
		atomic_store(&init_state, 2);
		return;
	}
	/* Another OS thread is initialising: its result is ours. */
	while (atomic_load(&init_state) != 2)
		;
}

__attribute__((constructor)) static void gs_constructor(void)
{
	gs_init();
}

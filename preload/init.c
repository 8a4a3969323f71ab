/* First-use initialisation: the environment (GREENSHIM_*).
 *
 * gs_init may run on the first interposed call, which can come from another
 * library's constructor before ours, and is not protected by a lock (we
 * interpose the locks): every step is idempotent and a second, racing
 * call writes the same values. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fdkind.h"

struct gs_config gs_cfg = { -1, -1, -1, -1, -1, -1 };
int gs_tpool_threads;
static _Atomic int init_state; /* 0: not yet, 1: running, 2: done */

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
GS_STARTUP static void read_environment(void)
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

/* Set while this thread runs gs_init: should anything it calls resolve a
 * real-function entry (real.c runs gs_init first), that must not wait for
 * this very call to finish. */
static __thread int initialising __attribute__((tls_model("initial-exec")));

GS_STARTUP void gs_init(void)
{
	if (initialising)
		return;
	int expected = 0;
	if (atomic_compare_exchange_strong(&init_state, &expected, 1)) {
		initialising = 1;
		read_environment();
		gs_trap_setup();
		gs_fd_table_init();
		initialising = 0;
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

/* `greenshim run`: run a program with its threads greened.
 *
 *   greenshim run [--no-time] [--no-thread] [--no-socket] [--no-os]
 *                 [--no-select] [--no-tls] [--no-trap] [--preempt-ms N] [--lib PATH]
 *                 [--] CMD [ARGS...]
 *
 * Sets LD_PRELOAD to libgreenshim.so (by default the one next to this
 * executable, else ../lib/libgreenshim.so for an installed copy), the
 * GREENSHIM_* opt-outs, GREENSHIM_SYSCALLS and GREENSHIM_PREEMPT_MS, then
 * execs CMD. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

static const char *const subsystems[] = { "time", "thread", "socket", "os", "select", "tls" };
#define NSUB (sizeof subsystems / sizeof subsystems[0])

static void usage(FILE *f)
{
	fprintf(f,
		"usage: greenshim run [OPTIONS] [--] CMD [ARGS...]\n"
		"\n"
		"Runs CMD with libgreenshim.so first in LD_PRELOAD: the threads it makes are\n"
		"green threads.  Each --no-* option opts a subsystem out (GREENSHIM_*=0):\n"
		"\n"
		"  --no-time         sleeps block their OS thread\n"
		"  --no-thread       threads stay real; each OS thread that makes a greened\n"
		"                    call gets a hub of its own\n"
		"  --no-socket       accept, connect, send, recv, ... on sockets block\n"
		"  --no-os           pipes, FIFOs, ttys, eventfds, timerfds and waitpid block\n"
		"  --no-select       poll, select and epoll_wait block\n"
		"  --no-tls          the green threads of an OS thread share its TLS\n"
		"  --no-trap         system calls made inside libc or by raw syscall\n"
		"                    instructions block (GREENSHIM_SYSCALLS=off; the trap,\n"
		"                    on by default, costs ~3 us per call it takes and nothing\n"
		"                    before a second thread exists)\n"
		"  --preempt-ms N    time slice: a green thread that computes for N ms without\n"
		"                    a greened call is switched out so others run\n"
		"                    (GREENSHIM_PREEMPT_MS=N; 0 to 1000, default 10; 0: off)\n"
		"  --lib PATH        preload PATH instead of the libgreenshim.so beside this\n"
		"                    greenshim (or in ../lib beside it)\n"
		"  -h, --help        this help\n"
		"\n"
		"The options end at \"--\" or at CMD.  Exit status: CMD's, or 126 (CMD\n"
		"cannot be executed), 127 (no such CMD), 2 (bad usage), 1 (no library).\n");
}

/* The library beside this executable, or in ../lib when installed. */
static int find_library(char *out, size_t size)
{
	char self[PATH_MAX - 64];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n < 0)
		return -1;
	self[n] = 0;
	char *slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = 0;
	const char *candidates[] = { "%s/libgreenshim.so", "%s/../lib/libgreenshim.so" };
	for (size_t i = 0; i < 2; i++) {
		snprintf(out, size, candidates[i], self);
		if (access(out, R_OK) == 0)
			return 0;
	}
	return -1;
}

/* 0 when ms is a whole number of milliseconds from 0 to 1000 in plain
 * digits (what the library takes for GREENSHIM_PREEMPT_MS), else -1. */
static int parse_preempt_ms(const char *ms)
{
	if (!ms || *ms < '0' || *ms > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long n = strtoul(ms, &end, 10);
	return !*end && !errno && n <= 1000 ? 0 : -1;
}

int gs_cmd_run(int argc, char **argv)
{
	char lib[PATH_MAX] = "";
	int i;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return GS_EXIT_OK;
		}
		if (!strcmp(a, "--lib") || !strncmp(a, "--lib=", 6)) {
			const char *path = a[5] == '=' ? a + 6 : i + 1 < argc ? argv[++i] : NULL;
			if (!path || !*path) {
				gs_tool_error("--lib needs the path of libgreenshim.so");
				usage(stderr);
				return GS_EXIT_USAGE;
			}
			if (!realpath(path, lib)) {
				gs_tool_error("--lib %s: %s", path, strerror(errno));
				return GS_EXIT_USAGE;
			}
			continue;
		}
		if (!strcmp(a, "--preempt-ms") || !strncmp(a, "--preempt-ms=", 13)) {
			const char *ms = a[12] == '=' ? a + 13 : i + 1 < argc ? argv[++i] : NULL;
			if (parse_preempt_ms(ms) != 0) {
				gs_tool_error("--preempt-ms takes milliseconds from 0 (off) to 1000");
				usage(stderr);
				return GS_EXIT_USAGE;
			}
			setenv("GREENSHIM_PREEMPT_MS", ms, 1);
			continue;
		}
		if (!strcmp(a, "--no-trap")) {
			setenv("GREENSHIM_SYSCALLS", "off", 1);
			continue;
		}
		size_t s;
		for (s = 0; s < NSUB; s++) {
			char flag[32];
			snprintf(flag, sizeof flag, "--no-%s", subsystems[s]);
			if (!strcmp(a, flag)) {
				char name[32];
				snprintf(name, sizeof name, "GREENSHIM_%s", subsystems[s]);
				for (char *c = name; *c; c++)
					*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
				setenv(name, "0", 1);
				break;
			}
		}
		if (s == NSUB) {
			if (a[0] != '-')
				break; /* the command, without "--" */
			gs_tool_error("unknown option %s", a);
			usage(stderr);
			return GS_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		gs_tool_error("no command given");
		usage(stderr);
		return GS_EXIT_USAGE;
	}
	if (!lib[0] && find_library(lib, sizeof lib) != 0) {
		gs_tool_error("cannot find libgreenshim.so next to this program; use --lib");
		return GS_EXIT_FAIL;
	}
	const char *prev = getenv("LD_PRELOAD");
	char *preload;
	if (prev && *prev) {
		preload = malloc(strlen(lib) + strlen(prev) + 2);
		if (!preload) {
			gs_tool_error("out of memory");
			return GS_EXIT_FAIL;
		}
		sprintf(preload, "%s:%s", lib, prev);
	} else {
		preload = lib;
	}
	setenv("LD_PRELOAD", preload, 1);
	execvp(argv[i], argv + i);
	int err = errno;
	gs_tool_error("%s: %s", argv[i], strerror(err));
	/* As a shell: 127 when there is no such command, 126 when there is
	 * one that cannot be run. */
	return err == ENOENT || err == ENOTDIR ? GS_EXIT_NOTFOUND : GS_EXIT_NOEXEC;
}

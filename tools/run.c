/* `greenshim run`: run a program with its threads greened.
 *
 *   greenshim run [--no-time] [--no-thread] [--no-socket] [--no-os]
 *                 [--no-select] [--no-tls] [--lib PATH] -- CMD [ARGS...]
 *
 * Sets LD_PRELOAD to libgreenshim.so (by default the one next to this
 * executable, else ../lib/libgreenshim.so for an installed copy) and the
 * GREENSHIM_* opt-outs, then execs CMD. */
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
	fprintf(f, "usage: greenshim run [--no-time] [--no-thread] [--no-socket] [--no-os] "
		   "[--no-select] [--no-tls] [--lib PATH] -- CMD [ARGS...]\n");
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
		if (!strcmp(a, "--lib") && i + 1 < argc) {
			if (!realpath(argv[++i], lib)) {
				fprintf(stderr, "greenshim: --lib %s: %s\n", argv[i], strerror(errno));
				return 2;
			}
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
			fprintf(stderr, "greenshim: unknown option %s\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "greenshim: no command given\n");
		usage(stderr);
		return 2;
	}
	if (!lib[0] && find_library(lib, sizeof lib) != 0) {
		fprintf(stderr,
			"greenshim: cannot find libgreenshim.so next to this program; use --lib\n");
		return 2;
	}
	const char *prev = getenv("LD_PRELOAD");
	char *preload;
	if (prev && *prev) {
		preload = malloc(strlen(lib) + strlen(prev) + 2);
		if (!preload)
			return 2;
		sprintf(preload, "%s:%s", lib, prev);
	} else {
		preload = lib;
	}
	setenv("LD_PRELOAD", preload, 1);
	execvp(argv[i], argv + i);
	fprintf(stderr, "greenshim: %s: %s\n", argv[i], strerror(errno));
	return 127;
}

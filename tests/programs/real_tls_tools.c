/*
 * real_tls_tools — multithreaded binaries nobody here wrote, whose threads
 * rely on thread-local storage; exec'd from here they inherit the preload
 * and run greened in the preload runs.
 *
 * - rg (ripgrep) and fdfind (fd) are Rust: std keeps each thread's
 *   identity, panic count and output capture in thread_local!s (Rust
 *   aborts with "thread_info.is_none()" when a new thread finds its
 *   predecessor's), the parallel directory walker and crossbeam channels
 *   use more.  -j4: four walker threads.  Their output order depends on
 *   scheduling, so it is sorted here and summarised (lines, matches, a
 *   hash) rather than printed.
 * - sysbench (C, LuaJIT) gives each worker thread its own Lua state and
 *   per-thread state in __thread variables; `mutex` runs one event per
 *   thread (8), `threads` a fixed total of 200 events over 4 threads.  Only
 *   the "total number of events:" line is printed.
 * A missing binary fails the test up front, naming its Debian package
 * (.ci/install-deps installs them).  Each child is killed after 10 s, and
 * all of them together get at most 18 s, so that the whole program ends
 * inside the runner's 20 s with a message naming the one that hung.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runcmd.h"

static long long start_ns;
static int failures;

/* Runs argv with stdout into a pipe; returns its output (NUL-terminated),
 * *status its exit status, or -1 when it was killed after the timeout. */
static char *capture(char *const argv[], int *status)
{
	char *buf = run_capture(&(struct runcmd){ .argv = argv, .fd = 1,
						  .deadline = deadline_after(10000, start_ns + 18000 * MS) },
				status);
	if (*status == -1)
		fprintf(stderr, "real_tls_tools: %s: killed, no end of output after %.1f s\n",
			argv[0], (now_ns(CLOCK_MONOTONIC) - start_ns) / 1e9);
	if (*status != 0) {
		fprintf(stderr, "real_tls_tools: %s ended with status %d\n", argv[0], *status);
		failures++;
	}
	return buf;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the output's lines; prints their number, the sum of the numbers
 * after each line's last ':' (rg -c), and an FNV-1a hash of the result. */
static void summarise(const char *label, char *const argv[], int counts)
{
	int st;
	char *out = capture(argv, &st), **lines = NULL;
	size_t n = 0, cap = 0;
	for (char *s = strtok(out, "\n"); s; s = strtok(NULL, "\n")) {
		if (n == cap && !(lines = realloc(lines, (cap = cap ? cap * 2 : 256) * sizeof *lines)))
			die("realloc");
		lines[n++] = s;
	}
	qsort(lines, n, sizeof *lines, cmp_str);
	uint32_t h = 2166136261u;
	long sum = 0;
	for (size_t i = 0; i < n; i++) {
		for (const char *c = lines[i]; *c; c++)
			h = (h ^ (unsigned char)*c) * 16777619u;
		h = (h ^ '\n') * 16777619u;
		const char *colon = strrchr(lines[i], ':');
		sum += colon ? atol(colon + 1) : 0;
	}
	printf("%s: status %d, %zu lines", label, st, n);
	if (counts)
		printf(", %ld matches", sum);
	printf(", sorted output fnv1a %08x\n", h);
	if (n == 0) {
		fprintf(stderr, "real_tls_tools: %s printed nothing\n", label);
		failures++;
	}
	free(lines);
	free(out);
}

/* Prints sysbench's "total number of events:" line (spaces squeezed). */
static void events(const char *label, char *const argv[], long want)
{
	int st;
	char *out = capture(argv, &st);
	const char *line = strstr(out, "total number of events:");
	long got = line ? atol(line + strlen("total number of events:")) : -1;
	printf("%s: status %d, total number of events: %ld\n", label, st, got);
	if (got != want) {
		fprintf(stderr, "real_tls_tools: %s: %ld events, want %ld; its output:\n%s", label,
			got, want, out);
		failures++;
	}
	free(out);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	start_ns = now_ns(CLOCK_MONOTONIC);
	static const char *need[][2] = { { "rg", "ripgrep" }, { "fdfind", "fd-find" },
					 { "sysbench", "sysbench" } };
	if (missing_programs("real_tls_tools", need, sizeof need / sizeof need[0], " in PATH"))
		return 1;

	summarise("rg -j4 -c", (char *[]){ "rg", "--no-config", "-j4", "-c", "\\bstruct\\b",
					  "/usr/include/linux", NULL }, 1);
	summarise("fdfind -j4", (char *[]){ "fdfind", "-j4", ".", "/usr/include/linux/netfilter",
					   NULL }, 0);
	events("sysbench mutex", (char *[]){ "sysbench", "mutex", "--threads=8", "--mutex-num=64",
					    "--mutex-locks=2000", "run", NULL }, 8);
	events("sysbench threads", (char *[]){ "sysbench", "threads", "--threads=4", "--time=0",
					      "--events=200", "run", NULL }, 200);
	return failures ? 1 : 0;
}

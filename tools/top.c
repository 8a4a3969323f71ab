/* `greenshim top [--interval S] [--sort cpu|switches] [--iterations N] PID`:
 * ps refreshed every interval, threads sorted by CPU time (key c) or
 * switches (key s) in the last interval; q quits.  Warnings (a thread
 * that does not yield, a hub that does not poll) come first.
 *
 * When stdin is a terminal it is put in cbreak mode (keys without Enter,
 * no echo) and restored on every way out: q, the iterations done, the
 * target gone, SIGINT, SIGTERM, SIGHUP.  When stdout is a terminal the
 * screen is redrawn in place, cut to its size; otherwise (a pipe, a test)
 * each frame is printed in full, one after the other. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "procinfo.h"
#include "ps.h"
#include "tool.h"

#define BEAT_NS 250000000ULL /* the longest wait between heartbeats and key reads */

enum sort_key { SORT_CPU, SORT_SWITCHES };

struct top {
	struct gs_inspect in;
	struct gs_symbols *syms;
	int pagemap;
	double interval_s;
	long iterations;               /* 0: until q or a signal */
	enum sort_key sort;
	int screen;                    /* stdout is a terminal: redraw in place */
	int keys;                      /* stdin is a terminal in cbreak mode */
	struct termios saved;          /* stdin's mode before, when keys */
	struct gs_snap snap;           /* the last frame's */
	int have_snap;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: greenshim top [--interval SECONDS] [--sort cpu|switches] [--iterations N] PID\n"
		"\n"
		"ps PID, refreshed, warnings first: a thread that has run over 100 ms\n"
		"without yielding, a hub that has not polled its loop for over 100 ms.\n"
		"Keys (stdin a terminal): c sorts by CPU time, s by switches, q quits.\n"
		"\n"
		"  --interval SECONDS   refresh every SECONDS (default 1, at least 0.05)\n"
		"  --sort cpu|switches  order of the threads (default cpu; also c or s)\n"
		"  --iterations N       draw N frames, then exit (default: until q or a\n"
		"                       signal)\n"
		"  -h, --help           this help\n");
}

static int parse_args(struct top *t, int argc, char **argv, int *pid)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *eq = strchr(a, '=');
		size_t name_len = eq && a[0] == '-' ? (size_t)(eq - a) : strlen(a);
		const char *v = eq && a[0] == '-' ? eq + 1 : NULL;
#define IS(opt) (name_len == strlen(opt) && !strncmp(a, opt, name_len))
		if (IS("--interval") || IS("--sort") || IS("--iterations")) {
			if (!v && i + 1 < argc)
				v = argv[++i];
			char *end;
			if (IS("--interval") && (!v || gs_parse_seconds(v, &t->interval_s) != 0 ||
						 t->interval_s < 0.05)) {
				gs_tool_error("--interval takes seconds, at least 0.05");
				return 2;
			}
			if (IS("--sort")) {
				if (v && (!strcmp(v, "cpu") || !strcmp(v, "c")))
					t->sort = SORT_CPU;
				else if (v && (!strcmp(v, "switches") || !strcmp(v, "s")))
					t->sort = SORT_SWITCHES;
				else {
					gs_tool_error("--sort takes cpu or switches");
					return 2;
				}
			}
			if (IS("--iterations") &&
			    (!v || (t->iterations = strtol(v, &end, 10)) <= 0 || *end)) {
				gs_tool_error("--iterations takes a count, as 5");
				return 2;
			}
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return -1;
		} else if (a[0] == '-') {
			gs_tool_error("unknown option %s", a);
			usage(stderr);
			return 2;
		} else if (*pid || gs_parse_pid(a, pid) != 0) {
			gs_tool_error("not a PID: '%s'", a);
			usage(stderr);
			return 2;
		}
#undef IS
	}
	if (!*pid) {
		gs_tool_error("top needs a PID");
		usage(stderr);
		return 2;
	}
	return 0;
}

static void keys_on(struct top *t)
{
	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &t->saved) != 0)
		return;
	struct termios raw = t->saved;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO); /* ISIG stays: ^C is SIGINT */
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
		t->keys = 1;
}

static void keys_off(struct top *t)
{
	if (t->keys)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
	t->keys = 0;
}

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
	return (a < b) - (a > b);
}

static int by_cpu(const void *x, const void *y)
{
	const struct gs_snap_thread *a = *(const struct gs_snap_thread *const *)x;
	const struct gs_snap_thread *b = *(const struct gs_snap_thread *const *)y;
	int c = cmp_u64_desc(a->cpu_ns, b->cpu_ns);
	c = c ? c : cmp_u64_desc(a->switches, b->switches);
	return c ? c : (a->id > b->id) - (a->id < b->id);
}

static int by_switches(const void *x, const void *y)
{
	const struct gs_snap_thread *a = *(const struct gs_snap_thread *const *)x;
	const struct gs_snap_thread *b = *(const struct gs_snap_thread *const *)y;
	int c = cmp_u64_desc(a->switches, b->switches);
	c = c ? c : cmp_u64_desc(a->cpu_ns, b->cpu_ns);
	return c ? c : (a->id > b->id) - (a->id < b->id);
}

static void draw(struct top *t)
{
	const struct gs_snap *s = &t->snap;
	const struct gs_snap_thread **order = malloc((s->nthreads + 1) * sizeof *order);
	if (!order)
		return;
	for (size_t i = 0; i < s->nthreads; i++)
		order[i] = &s->threads[i];
	qsort(order, s->nthreads, sizeof *order, t->sort == SORT_CPU ? by_cpu : by_switches);
	int width = 0;
	size_t rows = s->nthreads;
	struct winsize ws;
	if (t->screen) {
		printf("\033[H\033[2J");
		if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
			width = ws.ws_col;
			/* title, keys, warnings, hub header and lines, blank, thread header */
			size_t used = 5 + s->nwarnings + s->nhubs;
			rows = ws.ws_row > used + 1 ? ws.ws_row - used - 1 : 0; /* no scroll */
			rows = rows < s->nthreads ? rows : s->nthreads;
		}
	}
	gs_print_title(stdout, s, width);
	printf("sorted by %s%s\n", t->sort == SORT_CPU ? "CPU time" : "switches",
	       t->keys ? "  (c: by CPU, s: by switches, q: quit)" : "");
	gs_print_warnings(stdout, s, width);
	gs_print_hubs(stdout, s, width);
	printf("\n");
	gs_print_threads(stdout, s, order, rows, width);
	if (!t->screen)
		printf("\n");
	fflush(stdout);
	free(order);
}

/* Waits one interval, beating and reading keys.  0: the interval is
 * over; 1: quit (q, or a signal). */
static int wait_interval(struct top *t)
{
	uint64_t end = gs_now_ns() + (uint64_t)(t->interval_s * 1e9);
	for (;;) {
		gs_inspect_heartbeat(&t->in);
		uint64_t now = gs_now_ns();
		if (gs_tool_stopping)
			return 1;
		if (now >= end)
			return 0;
		uint64_t step = end - now < BEAT_NS ? end - now : BEAT_NS;
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		int ready = poll(&p, t->keys ? 1 : 0, (int)((step + 999999) / 1000000));
		char c;
		if (ready <= 0 || read(STDIN_FILENO, &c, 1) != 1)
			continue;
		if (c == 'q' || c == 'Q')
			return 1;
		if (c == 'c' || c == 's') {
			t->sort = c == 'c' ? SORT_CPU : SORT_SWITCHES;
			if (t->have_snap)
				draw(t);
		}
	}
}

static int run(struct top *t)
{
	struct gs_counters before = { 0 }, after = { 0 };
	int status = 0;
	gs_inspect_attach(&t->in);
	if (gs_counters_read(&t->in, &before) != 0)
		goto oom;
	for (long frame = 0; !t->iterations || frame < t->iterations; frame++) {
		if (wait_interval(t))
			break;
		if (gs_process_gone(t->in.pid)) {
			keys_off(t);
			gs_tool_error("process %d exited", t->in.pid);
			break;
		}
		if (gs_counters_read(&t->in, &after) != 0)
			goto oom;
		if (t->have_snap)
			gs_snap_free(&t->snap);
		t->have_snap =
			gs_snap_build(&t->in, t->syms, t->pagemap, &before, &after, &t->snap) == 0;
		if (!t->have_snap)
			goto oom;
		draw(t);
		struct gs_counters swap = before;
		before = after;
		after = swap;
	}
	goto out;
oom:
	keys_off(t);
	gs_tool_error("out of memory");
	status = 1;
out:
	gs_inspect_detach(&t->in);
	gs_counters_free(&before);
	gs_counters_free(&after);
	return status;
}

int gs_cmd_top(int argc, char **argv)
{
	struct top t = { .interval_s = 1.0, .sort = SORT_CPU, .pagemap = -1 };
	int pid = 0;
	int r = parse_args(&t, argc, argv, &pid);
	if (r)
		return r < 0 ? 0 : r;
	r = gs_inspect_open(&t.in, pid);
	if (r != 0)
		return r;
	t.syms = gs_symbols_new(pid);
	if (!t.syms) {
		gs_inspect_close(&t.in);
		gs_tool_error("out of memory");
		return 1;
	}
	t.pagemap = gs_pagemap_open(pid);
	t.screen = isatty(STDOUT_FILENO);
	gs_tool_catch_signals();
	keys_on(&t);
	int status = run(&t);
	keys_off(&t);
	if (t.have_snap)
		gs_snap_free(&t.snap);
	gs_symbols_free(t.syms);
	if (t.pagemap >= 0)
		close(t.pagemap);
	gs_inspect_close(&t.in);
	return status;
}

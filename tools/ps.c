/* `greenshim ps [--sample S] [PID]`: every green thread of PID and what
 * it waits on, then its hubs; without PID, this user's greened processes
 * (every user's, for root).
 *
 * The figures (switches, CPU time) are measured by the process only while
 * an inspector is attached: ps attaches, samples for --sample seconds
 * (default 0.2), detaches, and prints the figures of that window. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "procinfo.h"
#include "ps.h"
#include "tool.h"

#define DEFAULT_SAMPLE_S 0.2

static void usage(FILE *f)
{
	fprintf(f,
		"usage: greenshim ps [--sample SECONDS] [PID]\n"
		"\n"
		"With PID: every green thread of PID (id, name, state, what it waits on,\n"
		"start routine, switches and CPU time over the sample, preemptions since it\n"
		"started, stack touched/size), then one line per hub (with its preemptions).\n"
		"Without PID: the greened processes of this user (of every user, for root).\n"
		"\n"
		"  --sample SECONDS  measure switches and CPU time over SECONDS (default 0.2)\n"
		"  -h, --help        this help\n");
}

/* Control characters as '?': names, paths and symbols come from the
 * target (and, for root, from another user), never escape sequences for
 * our terminal. */
static char *printable(char *s)
{
	for (unsigned char *c = (unsigned char *)s; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			*c = '?';
	return s;
}

/* Prints s, cut to width columns when width > 0. */
static void line(FILE *f, int width, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void line(FILE *f, int width, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (width > 0 && (int)strlen(buf) > width)
		buf[width] = 0;
	fprintf(f, "%s\n", printable(buf));
}

void gs_print_title(FILE *f, const struct gs_snap *s, int width)
{
	size_t live = 0;
	for (size_t i = 0; i < s->nthreads; i++)
		live += s->threads[i].state != GS_TS_EXITED;
	line(f, width, "process %d (%s): %zu green thread%s on %u hub%s, figures over %.2f s", s->pid,
	     s->exe[0] ? s->exe : "?", live, live == 1 ? "" : "s", s->nhubs, s->nhubs == 1 ? "" : "s",
	     (double)s->window_ns / 1e9);
}

void gs_print_warnings(FILE *f, const struct gs_snap *s, int width)
{
	for (size_t i = 0; i < s->nwarnings; i++)
		line(f, width, "! %s", s->warnings[i]);
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

void gs_print_threads(FILE *f, const struct gs_snap *s, const struct gs_snap_thread *const *order,
		      size_t rows, int width)
{
	/* Columns as wide as their widest cell; on a terminal the free-form
	 * ones are capped so the figures stay on screen. */
	int wname = 4, wwait = 4, wroutine = 7;
	for (size_t i = 0; i < rows; i++) {
		wname = max_int(wname, (int)strlen(order[i]->name));
		wwait = max_int(wwait, (int)strlen(order[i]->wait));
		wroutine = max_int(wroutine, (int)strlen(order[i]->routine));
	}
	if (width > 0) {
		wwait = wwait > 36 ? 36 : wwait;
		wroutine = wroutine > 24 ? 24 : wroutine;
	}
	line(f, width, "%7s %-*s %-7s %-*s %-*s %8s %8s %8s %11s", "ID", wname, "NAME", "STATE",
	     wwait, "WAIT", wroutine, "ROUTINE", "SWITCHES", "CPU", "PREEMPT", "STACK");
	for (size_t i = 0; i < rows; i++) {
		const struct gs_snap_thread *t = order[i];
		char cpu[24], stack[32], used[16], size[16];
		gs_fmt_cpu(t->cpu_ns, cpu, sizeof cpu);
		if (!t->stack_size)
			strcpy(stack, "-");
		else if (t->stack_used < 0)
			snprintf(stack, sizeof stack, "?/%s",
				 gs_fmt_size(t->stack_size, size, sizeof size));
		else
			snprintf(stack, sizeof stack, "%s/%s",
				 gs_fmt_size((uint64_t)t->stack_used, used, sizeof used),
				 gs_fmt_size(t->stack_size, size, sizeof size));
		line(f, width, "%7d %-*s %-7s %-*.*s %-*.*s %8llu %8s %8llu %11s", t->id, wname,
		     t->name, gs_thread_state_names[t->state], wwait, wwait, t->wait, wroutine,
		     wroutine, t->routine, (unsigned long long)t->switches, cpu,
		     (unsigned long long)t->preemptions, stack);
	}
}

void gs_print_hubs(FILE *f, const struct gs_snap *s, int width)
{
	line(f, width, "%3s %8s %11s %6s %6s %6s %7s %8s %11s  %s", "HUB", "OS TID", "SWITCHES/S",
	     "READY", "TIMERS", "FDS", "LIVE", "PREEMPT", "LAST POLL", "LONGEST RUN");
	for (unsigned i = 0; i < s->nhubs; i++) {
		const struct gs_snap_hub *h = &s->hubs[i];
		char poll[32], run[48], d[24];
		if (h->since_poll_ns == UINT64_MAX)
			strcpy(poll, "never");
		else
			snprintf(poll, sizeof poll, "%s ago",
				 gs_fmt_duration(h->since_poll_ns, d, sizeof d));
		if (h->longest_run_ns)
			snprintf(run, sizeof run, "%s by %d",
				 gs_fmt_duration(h->longest_run_ns, d, sizeof d), h->longest_run_id);
		else
			strcpy(run, "-");
		double per_s = s->window_ns ? (double)h->switches * 1e9 / (double)s->window_ns : 0;
		line(f, width, "%3u %8d %11.0f %6u %6u %6u %7u %8llu %11s  %s", h->index, h->tid,
		     per_s, h->ready, h->timers, h->fds, h->live,
		     (unsigned long long)h->preemptions, poll, run);
	}
}

/* Without a PID: this user's greened processes (every user's, for root),
 * one a line. */
static int list_processes(void)
{
	int *pids;
	int n = gs_inspect_list(&pids);
	if (n < 0) {
		gs_tool_error("out of memory");
		return GS_EXIT_FAIL;
	}
	line(stdout, 0, "%7s %-10s %5s %8s %9s  %s", "PID", "USER", "HUBS", "THREADS", "UP", "EXE");
	for (int i = 0; i < n; i++) {
		struct gs_inspect in;
		if (gs_inspect_open(&in, pids[i]) != 0)
			continue; /* said why on stderr */
		unsigned hubs = 0, threads = 0;
		for (unsigned h = 0; h < gs_inspect_hub_bound(&in); h++)
			hubs += atomic_load(&gs_inspect_hub(&in, h)->tid) != 0;
		for (unsigned t = 0; t < gs_inspect_slot_bound(&in); t++) {
			struct gs_pub_thread *slot = gs_inspect_slot(&in, t);
			threads += atomic_load(&slot->id) &&
				   !(atomic_load(&slot->flags) & GS_PUBT_EXITED);
		}
		char up[24], user[64] = "?";
		uid_t ruid, euid;
		if (gs_process_uids(pids[i], &ruid, &euid) == 0)
			gs_user_name(euid, user, sizeof user);
		uint64_t now = gs_now_ns(), started = in.hdr->started_ns;
		line(stdout, 0, "%7d %-10s %5u %8u %9s  %.*s", pids[i], user, hubs, threads,
		     gs_fmt_duration(now > started ? now - started : 0, up, sizeof up),
		     (int)sizeof in.hdr->exe, in.hdr->exe);
		gs_inspect_close(&in);
	}
	free(pids);
	return GS_EXIT_OK;
}

/* Attaches, reads the counters before and after `sample_s`, detaches:
 * the snapshot's figures are those of the window. */
static int sample(struct gs_inspect *in, struct gs_symbols *syms, double sample_s,
		  struct gs_snap *snap)
{
	struct gs_counters before = { 0 }, after = { 0 };
	int pagemap = gs_pagemap_open(in->pid);
	int r = -1;
	gs_inspect_attach(in);
	if (gs_counters_read(in, &before) == 0) {
		gs_inspect_sleep(in, (uint64_t)(sample_s * 1e9)); /* a ^C ends the window early */
		if (gs_counters_read(in, &after) == 0)
			r = gs_snap_build(in, syms, pagemap, &before, &after, snap);
	}
	gs_inspect_detach(in);
	gs_counters_free(&before);
	gs_counters_free(&after);
	if (pagemap >= 0)
		close(pagemap);
	return r;
}

int gs_cmd_ps(int argc, char **argv)
{
	double sample_s = DEFAULT_SAMPLE_S;
	int pid = 0;
	for (int i = 0; i < argc; i++) {
		int r = gs_tool_arg(argc, argv, &i, "--sample", "0.2", &sample_s, &pid, usage);
		if (r >= 0)
			return r;
	}
	if (!pid)
		return list_processes();
	struct gs_inspect in;
	int status = gs_inspect_open(&in, pid);
	if (status != 0)
		return status;
	gs_tool_catch_signals();
	struct gs_symbols *syms = gs_symbols_new(pid);
	struct gs_snap snap;
	const struct gs_snap_thread **order = NULL;
	int r = syms ? sample(&in, syms, sample_s, &snap) : -1;
	gs_inspect_close(&in);
	if (r == 0 && !(order = malloc((snap.nthreads + 1) * sizeof *order))) {
		gs_snap_free(&snap);
		r = -1;
	}
	if (r != 0) {
		gs_symbols_free(syms);
		gs_tool_error("out of memory");
		return 1;
	}
	for (size_t i = 0; i < snap.nthreads; i++)
		order[i] = &snap.threads[i];
	gs_print_title(stdout, &snap, 0);
	gs_print_warnings(stdout, &snap, 0);
	gs_print_threads(stdout, &snap, order, snap.nthreads, 0);
	gs_print_hubs(stdout, &snap, 0);
	free(order);
	gs_snap_free(&snap);
	gs_symbols_free(syms);
	return 0;
}

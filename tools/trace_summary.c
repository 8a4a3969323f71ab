/* `greenshim trace --summary FILE`: a trace (trace_json.h) read back and
 * summed up per green thread: run time, runs, and why its runs ended; a
 * trace of a process tree names each thread's process too, and the
 * wake-ups (flow events) are counted.
 *
 * The file is checked as JSON all the way through, and must say it is
 * ours (otherData.greenshim_trace); anything else is one line on stderr
 * and exit status 1. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "json.h"
#include "tool.h"
#include "trace_json.h"

#define IDLE_REASON GS_PW_COUNT        /* a hub's slice ended by its idle wait */
#define OTHER_REASON (GS_PW_COUNT + 1) /* a reason word we do not know */
#define REASONS (GS_PW_COUNT + 2)

struct thread_sum {
	int64_t tid;
	double pid;
	char label[128];               /* "" until its thread_name */
	double run_us;                 /* total of its slices */
	uint64_t runs;                 /* its "B" events */
	int open;                      /* a "B" waits for its "E" ... */
	double open_ts;                /* ... since then */
	uint64_t reasons[REASONS];
};

struct summary {
	struct thread_sum *t;
	size_t n, cap;
	uint32_t *index;               /* open addressing: tid -> 1 + position in t, 0 empty */
	size_t index_cap;
	int ours;                      /* otherData.greenshim_trace seen */
	double pid;
	double *pids;                  /* every process_name's pid, in order met */
	size_t pids_n, pids_cap;
	uint64_t wakes;                /* "s" events */
	double first_ts, last_ts;
	int have_ts;
};

/* The event object being read. */
struct event {
	char ph[4], name[32], label[128], reason[32];
	double tid, ts, pid;
	int have_tid, have_ts;
};

static size_t slot_of(const struct summary *s, int64_t tid)
{
	size_t i = (size_t)(((uint64_t)tid * 0x9e3779b97f4a7c15ULL) >> 32) & (s->index_cap - 1);
	while (s->index[i] && s->t[s->index[i] - 1].tid != tid)
		i = (i + 1) & (s->index_cap - 1);
	return i;
}

static struct thread_sum *thread_of(struct summary *s, int64_t tid)
{
	if (s->index_cap) {
		uint32_t at = s->index[slot_of(s, tid)];
		if (at)
			return &s->t[at - 1];
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct thread_sum *t = realloc(s->t, cap * sizeof *t);
		uint32_t *index = calloc(2 * cap, sizeof *index);
		if (!t || !index) {
			free(index);
			if (t)
				s->t = t;
			return NULL;
		}
		s->t = t;
		s->cap = cap;
		free(s->index);
		s->index = index;
		s->index_cap = 2 * cap;
		for (size_t i = 0; i < s->n; i++)
			s->index[slot_of(s, s->t[i].tid)] = (uint32_t)i + 1;
	}
	struct thread_sum *t = &s->t[s->n++];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	s->index[slot_of(s, tid)] = (uint32_t)s->n;
	return t;
}

static unsigned reason_index(const char *word)
{
	for (unsigned r = 0; r < GS_PW_COUNT; r++)
		if (!strcmp(word, gs_trace_reason_name(r)))
			return r;
	return !strcmp(word, "idle") ? IDLE_REASON : OTHER_REASON;
}

static const char *reason_word(unsigned r)
{
	return r == IDLE_REASON ? "idle" : r == OTHER_REASON ? "other" : gs_trace_reason_name(r);
}

static int read_args(struct gs_json *j, struct event *e)
{
	int count = 0, r;
	char key[32];
	if (gs_json_object(j))
		return -1;
	while ((r = gs_json_member(j, &count, key, sizeof key)) == 1) {
		if (!strcmp(key, "name") && gs_json_peek(j) == '"')
			r = gs_json_string(j, e->label, sizeof e->label);
		else if (!strcmp(key, "reason") && gs_json_peek(j) == '"')
			r = gs_json_string(j, e->reason, sizeof e->reason);
		else
			r = gs_json_skip(j);
		if (r)
			return -1;
	}
	return r;
}

static int read_event(struct gs_json *j, struct event *e)
{
	int count = 0, r;
	char key[32];
	memset(e, 0, sizeof *e);
	if (gs_json_peek(j) != '{')
		return gs_json_skip(j); /* not an event: nothing to count */
	if (gs_json_object(j))
		return -1;
	while ((r = gs_json_member(j, &count, key, sizeof key)) == 1) {
		int c = gs_json_peek(j);
		if (!strcmp(key, "ph") && c == '"')
			r = gs_json_string(j, e->ph, sizeof e->ph);
		else if (!strcmp(key, "name") && c == '"')
			r = gs_json_string(j, e->name, sizeof e->name);
		else if (!strcmp(key, "tid") && c != '"' && c != '{' && c != '[')
			r = gs_json_number(j, &e->tid), e->have_tid = 1;
		else if (!strcmp(key, "pid") && c != '"' && c != '{' && c != '[')
			r = gs_json_number(j, &e->pid);
		else if (!strcmp(key, "ts") && c != '"' && c != '{' && c != '[')
			r = gs_json_number(j, &e->ts), e->have_ts = 1;
		else if (!strcmp(key, "args") && c == '{')
			r = read_args(j, e);
		else
			r = gs_json_skip(j);
		if (r)
			return -1;
	}
	return r;
}

static int count_event(struct summary *s, const struct event *e)
{
	if (!strcmp(e->ph, "M") && !strcmp(e->name, "process_name")) {
		for (size_t i = 0; i < s->pids_n; i++)
			if (s->pids[i] == e->pid)
				return 0; /* the same pid after an exec */
		if (s->pids_n == s->pids_cap) {
			size_t cap = s->pids_cap ? 2 * s->pids_cap : 16;
			double *p = realloc(s->pids, cap * sizeof *p);
			if (!p)
				return -1;
			s->pids = p;
			s->pids_cap = cap;
		}
		s->pids[s->pids_n++] = e->pid;
		return 0;
	}
	if (!e->have_tid)
		return 0;
	if (!strcmp(e->ph, "s"))
		s->wakes++;
	struct thread_sum *t = thread_of(s, (int64_t)e->tid);
	if (!t)
		return -1;
	t->pid = e->pid;
	if (!strcmp(e->ph, "M")) {
		if (!strcmp(e->name, "thread_name"))
			snprintf(t->label, sizeof t->label, "%s", e->label);
		return 0;
	}
	if (!e->have_ts)
		return 0;
	if (!s->have_ts || e->ts < s->first_ts)
		s->first_ts = e->ts;
	if (!s->have_ts || e->ts > s->last_ts)
		s->last_ts = e->ts;
	s->have_ts = 1;
	if (!strcmp(e->ph, "B")) {
		t->runs++;
		t->open = 1;
		t->open_ts = e->ts;
	} else if (!strcmp(e->ph, "E") && t->open) {
		t->run_us += e->ts - t->open_ts;
		t->open = 0;
		if (e->reason[0])
			t->reasons[reason_index(e->reason)]++;
	}
	return 0;
}

static int read_other_data(struct gs_json *j, struct summary *s)
{
	int count = 0, r;
	char key[32];
	if (gs_json_peek(j) != '{')
		return gs_json_skip(j);
	if (gs_json_object(j))
		return -1;
	while ((r = gs_json_member(j, &count, key, sizeof key)) == 1) {
		if (!strcmp(key, "greenshim_trace"))
			s->ours = 1;
		if (!strcmp(key, "pid") && gs_json_peek(j) != '"' && gs_json_peek(j) != '{' &&
		    gs_json_peek(j) != '[')
			r = gs_json_number(j, &s->pid);
		else
			r = gs_json_skip(j);
		if (r)
			return -1;
	}
	return r;
}

static int read_trace(struct gs_json *j, struct summary *s)
{
	int count = 0, r;
	char key[32];
	if (gs_json_object(j))
		return -1;
	while ((r = gs_json_member(j, &count, key, sizeof key)) == 1) {
		if (!strcmp(key, "traceEvents") && gs_json_peek(j) == '[') {
			int n = 0;
			struct event e;
			if (gs_json_array(j))
				return -1;
			while ((r = gs_json_element(j, &n)) == 1)
				if (read_event(j, &e) || count_event(s, &e))
					return -1;
		} else if (!strcmp(key, "otherData")) {
			r = read_other_data(j, s);
		} else {
			r = gs_json_skip(j);
		}
		if (r)
			return -1;
	}
	return r ? r : gs_json_finish(j);
}

static int by_run_time(const void *a, const void *b)
{
	const struct thread_sum *x = a, *y = b;
	if (x->run_us != y->run_us)
		return x->run_us > y->run_us ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static int by_pid(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* "mutex 600, read 598, sleep 4", most frequent first, or "-". */
static void reasons_words(const uint64_t *counts, char *buf, size_t size)
{
	int done[REASONS] = { 0 };
	size_t n = 0;
	buf[0] = 0;
	for (;;) {
		int best = -1;
		for (int r = 0; r < REASONS; r++)
			if (counts[r] && !done[r] && (best < 0 || counts[r] > counts[best]))
				best = r;
		if (best < 0 || n >= size)
			break;
		done[best] = 1;
		const char *word = reason_word((unsigned)best);
		n += (size_t)snprintf(buf + n, size - n, "%s%s %llu", n ? ", " : "", word,
				      (unsigned long long)counts[best]);
	}
	if (!buf[0])
		snprintf(buf, size, "-");
}

static void print_summary(struct summary *s, const char *path)
{
	qsort(s->t, s->n, sizeof *s->t, by_run_time);
	char d[32], words[512];
	double span = s->have_ts ? s->last_ts - s->first_ts : 0;
	uint64_t runs = 0, reasons[REASONS] = { 0 };
	double run_us = 0;
	size_t threads = 0;
	for (size_t i = 0; i < s->n; i++) {
		runs += s->t[i].runs;
		run_us += s->t[i].run_us;
		threads += s->t[i].runs > 0;
		for (int r = 0; r < REASONS; r++)
			reasons[r] += s->t[i].reasons[r];
	}
	int several = s->pids_n > 1;
	qsort(s->pids, s->pids_n, sizeof *s->pids, by_pid);
	if (several) {
		printf("%s: greenshim trace of %zu processes (pids", path, s->pids_n);
		for (size_t i = 0; i < s->pids_n; i++)
			printf("%s %.0f", i ? "," : "", s->pids[i]);
		printf("), ");
	} else {
		printf("%s: greenshim trace of pid %.0f, ", path, s->pid);
	}
	printf("%s, %zu threads ran, %llu runs", gs_fmt_duration((uint64_t)(span * 1000), d, sizeof d),
	       threads, (unsigned long long)runs);
	if (s->wakes)
		printf(", %llu wake-ups", (unsigned long long)s->wakes);
	printf("\n");
	printf("%-32s %10s %6s %9s  %s\n", "THREAD", "RUN TIME", "RUN%", "RUNS", "RUNS ENDED BY");
	for (size_t i = 0; i < s->n; i++) {
		struct thread_sum *t = &s->t[i];
		if (!t->runs)
			continue;
		char label[160], pid[24] = "";
		if (several) /* which process: "PID/LABEL" */
			snprintf(pid, sizeof pid, "%.0f/", t->pid);
		if (t->label[0])
			snprintf(label, sizeof label, "%s%s", pid, t->label);
		else
			snprintf(label, sizeof label, "%s(%lld)", pid, (long long)t->tid);
		reasons_words(t->reasons, words, sizeof words);
		printf("%-32s %10s %5.1f%% %9llu  %s\n", label,
		       gs_fmt_cpu((uint64_t)(t->run_us * 1000), d, sizeof d),
		       span > 0 ? 100.0 * t->run_us / span : 0.0, (unsigned long long)t->runs, words);
	}
	reasons_words(reasons, words, sizeof words);
	printf("%-32s %10s %5.1f%% %9llu  %s\n", "total",
	       gs_fmt_cpu((uint64_t)(run_us * 1000), d, sizeof d),
	       span > 0 ? 100.0 * run_us / span : 0.0, (unsigned long long)runs, words);
}

int gs_trace_summary(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		gs_tool_error("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	size_t len = (size_t)st.st_size;
	const char *text = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : "";
	close(fd);
	if (text == MAP_FAILED) {
		gs_tool_error("%s: %s", path, strerror(errno));
		return 1;
	}
	struct gs_json j;
	struct summary s = { 0 };
	gs_json_init(&j, text, len);
	int r = read_trace(&j, &s);
	int status = 0;
	if (r && !j.error) {
		gs_tool_error("%s: out of memory", path);
		status = 1;
	} else if (r) {
		gs_tool_error("%s is not a greenshim trace (not JSON: %s at byte %zu)", path, j.error,
			      j.at);
		status = 1;
	} else if (!s.ours) {
		gs_tool_error("%s is not a greenshim trace (JSON without otherData.greenshim_trace)",
			      path);
		status = 1;
	} else {
		print_summary(&s, path);
	}
	if (len)
		munmap((void *)text, len);
	free(s.t);
	free(s.index);
	free(s.pids);
	return status;
}

/* The trace-event JSON writer (trace_json.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "rawsys.h"
#include "trace_json.h"

static const char *const reasons[GS_PW_COUNT] = {
	[GS_PW_NONE] = "none",       [GS_PW_YIELD] = "yield",   [GS_PW_SLEEP] = "sleep",
	[GS_PW_MUTEX] = "mutex",     [GS_PW_COND] = "cond",     [GS_PW_RWLOCK] = "rwlock",
	[GS_PW_SEM] = "sem",         [GS_PW_BARRIER] = "barrier", [GS_PW_ONCE] = "once",
	[GS_PW_JOIN] = "join",       [GS_PW_FUTEX] = "futex",   [GS_PW_READ] = "read",
	[GS_PW_WRITE] = "write",     [GS_PW_POLL] = "poll",     [GS_PW_CHILD] = "waitpid",
	[GS_PW_EXIT] = "exit",
};

const char *gs_trace_reason_name(unsigned reason)
{
	return reason < GS_PW_COUNT && reasons[reason] ? reasons[reason] : "unknown";
}

static void flush(struct gs_trace_json *j)
{
	size_t off = 0;
	while (off < j->n && !j->err) {
		long r = gs__sys(SYS_write, j->fd, (long)(j->buf + off), (long)(j->n - off), 0, 0, 0);
		if (r == -EINTR)
			continue;
		if (r < 0)
			j->err = (int)r;
		else
			off += (size_t)r;
	}
	j->n = 0;
}

static void put(struct gs_trace_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct gs_trace_json *j, const char *fmt, ...)
{
	if (sizeof j->buf - j->n < 512)
		flush(j);
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(j->buf + j->n, sizeof j->buf - j->n, fmt, ap);
	va_end(ap);
	if (k > 0)
		j->n += (size_t)k < sizeof j->buf - j->n ? (size_t)k : sizeof j->buf - j->n - 1;
}

/* The separator before every event but the first. */
static const char *sep(struct gs_trace_json *j)
{
	return j->any++ ? ",\n" : "\n";
}

void gs_trace_json_begin(struct gs_trace_json *j, int fd, int pid)
{
	memset(j, 0, offsetof(struct gs_trace_json, buf));
	j->fd = fd;
	j->pid = pid;
	put(j, "{\"traceEvents\":[");
	put(j, "%s{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":0,"
	       "\"args\":{\"name\":\"greenshim PID %d\"}}", sep(j), pid, pid);
	put(j, "%s{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":0,"
	       "\"args\":{\"name\":\"hub\"}}", sep(j), pid);
}

void gs_trace_json_label(struct gs_trace_json *j, int id, const char *label)
{
	put(j, "%s{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":\"",
	    sep(j), j->pid, id);
	for (const char *c = label; *c; c++) /* JSON string: escape what must be */
		if (*c == '"' || *c == '\\')
			put(j, "\\%c", *c);
		else if ((unsigned char)*c < 0x20)
			put(j, "\\u%04x", (unsigned char)*c);
		else
			put(j, "%c", *c);
	put(j, "\"}}");
}

/* The open-slice set: open addressing on thread ids (never 0). */
static size_t slot(const struct gs_trace_json *j, int id)
{
	size_t i = ((unsigned)id * 2654435761u) & (j->open_cap - 1);
	while (j->open[i] && j->open[i] != id && j->open[i] != -1)
		i = (i + 1) & (j->open_cap - 1);
	return i;
}

static int is_open(struct gs_trace_json *j, int id)
{
	if (id == 0)
		return j->hub_open;
	if (!j->open_cap)
		return 0;
	size_t i = ((unsigned)id * 2654435761u) & (j->open_cap - 1);
	for (; j->open[i]; i = (i + 1) & (j->open_cap - 1))
		if (j->open[i] == id)
			return 1;
	return 0;
}

static void set_open(struct gs_trace_json *j, int id, int open)
{
	if (id == 0) {
		j->hub_open = open;
		return;
	}
	if (!open) {
		if (!j->open_cap)
			return;
		size_t i = ((unsigned)id * 2654435761u) & (j->open_cap - 1);
		for (; j->open[i]; i = (i + 1) & (j->open_cap - 1))
			if (j->open[i] == id) {
				j->open[i] = -1; /* a tombstone keeps later probes going */
				return;
			}
		return;
	}
	if (is_open(j, id))
		return;
	if ((j->open_n + 1) * 2 > j->open_cap) {
		size_t cap = j->open_cap ? j->open_cap * 2 : 1024;
		int *old = j->open, old_cap = (int)j->open_cap;
		j->open = calloc(cap, sizeof *j->open);
		if (!j->open) {
			j->open = old;
			return;
		}
		j->open_cap = cap;
		j->open_n = 0;
		for (int k = 0; k < old_cap; k++)
			if (old[k] > 0) {
				j->open[slot(j, old[k])] = old[k];
				j->open_n++;
			}
		free(old);
	}
	j->open[slot(j, id)] = id;
	j->open_n++;
}

static void ts(struct gs_trace_json *j, uint64_t t, char *out, size_t size)
{
	uint64_t rel = t >= j->t0 ? t - j->t0 : 0;
	snprintf(out, size, "%llu.%03llu", (unsigned long long)(rel / 1000),
		 (unsigned long long)(rel % 1000));
}

void gs_trace_json_event(struct gs_trace_json *j, const struct gs_pub_event *e)
{
	if (!j->t0)
		j->t0 = e->t_ns;
	j->last = e->t_ns;
	char t[32];
	ts(j, e->t_ns, t, sizeof t);
	if (is_open(j, e->from)) {
		put(j, "%s{\"ph\":\"E\",\"pid\":%d,\"tid\":%d,\"ts\":%s,\"args\":{\"reason\":\"%s\"", sep(j),
		    j->pid, e->from, t, gs_trace_reason_name(e->reason));
		switch (e->reason) {
		case GS_PW_READ:
		case GS_PW_WRITE:
		case GS_PW_POLL:
			put(j, ",\"fd\":%d", e->arg);
			break;
		case GS_PW_JOIN:
			put(j, ",\"thread\":%d", e->arg);
			break;
		case GS_PW_CHILD:
			put(j, ",\"pid\":%d", e->arg);
			break;
		case GS_PW_MUTEX:
		case GS_PW_RWLOCK:
			if (e->arg)
				put(j, ",\"holder\":%d", e->arg);
			/* fall through */
		case GS_PW_COND:
		case GS_PW_SEM:
		case GS_PW_BARRIER:
		case GS_PW_ONCE:
		case GS_PW_FUTEX:
			put(j, ",\"obj\":\"0x%llx\"", (unsigned long long)e->obj);
			break;
		}
		put(j, "}}");
		set_open(j, e->from, 0);
	}
	put(j, "%s{\"ph\":\"B\",\"pid\":%d,\"tid\":%d,\"ts\":%s,\"name\":\"run\"}", sep(j), j->pid, e->to, t);
	set_open(j, e->to, 1);
}

int gs_trace_json_end(struct gs_trace_json *j)
{
	char t[32];
	ts(j, j->last, t, sizeof t);
	if (j->hub_open)
		put(j, "%s{\"ph\":\"E\",\"pid\":%d,\"tid\":0,\"ts\":%s}", sep(j), j->pid, t);
	for (size_t i = 0; i < j->open_cap; i++)
		if (j->open[i] > 0)
			put(j, "%s{\"ph\":\"E\",\"pid\":%d,\"tid\":%d,\"ts\":%s}", sep(j), j->pid, j->open[i], t);
	put(j, "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"greenshim_trace\":1,\"pid\":%d}}\n", j->pid);
	flush(j);
	free(j->open);
	j->open = NULL;
	return j->err;
}

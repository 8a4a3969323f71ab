/* Trace events as Chrome trace-event JSON: see trace_json.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/syscall.h>

#include "rawsys.h"
#include "trace_json.h"

static const char *const reason_names[GS_PW_COUNT] = {
	[GS_PW_NONE] = "none",       [GS_PW_YIELD] = "yield",   [GS_PW_SLEEP] = "sleep",
	[GS_PW_MUTEX] = "mutex",     [GS_PW_COND] = "cond",     [GS_PW_RWLOCK] = "rwlock",
	[GS_PW_SEM] = "sem",         [GS_PW_BARRIER] = "barrier", [GS_PW_ONCE] = "once",
	[GS_PW_JOIN] = "join",       [GS_PW_FUTEX] = "futex",   [GS_PW_READ] = "read",
	[GS_PW_WRITE] = "write",     [GS_PW_POLL] = "poll",     [GS_PW_CHILD] = "waitpid",
	[GS_PW_EXIT] = "exit",
	[GS_PW_OFFLOAD] = "offload",
};

const char *gs_trace_reason_name(unsigned reason)
{
	return reason < GS_PW_COUNT && reason_names[reason] ? reason_names[reason] : "unknown";
}

/* --- output: a buffer drained with write(2) ---
 * A raw system call: inside the shim, libc's write is our own interposer,
 * and the scheduler never calls back into preload/. */

static int flush(struct gs_trace_json *w)
{
	size_t done = 0;
	while (!w->err && done < w->len) {
		long n = gs__sys(SYS_write, w->fd, (long)(w->buf + done), (long)(w->len - done), 0, 0, 0);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			w->err = n < 0 ? (int)-n : EIO;
		else
			done += (size_t)n;
	}
	w->len = 0;
	return w->err ? -1 : 0;
}

static void put(struct gs_trace_json *w, const char *s, size_t n)
{
	while (n && !w->err) {
		if (w->len == sizeof w->buf)
			flush(w);
		size_t room = sizeof w->buf - w->len, k = n < room ? n : room;
		memcpy(w->buf + w->len, s, k);
		w->len += k;
		s += k;
		n -= k;
	}
}

static void puts_(struct gs_trace_json *w, const char *s)
{
	put(w, s, strlen(s));
}

static void put_u64(struct gs_trace_json *w, uint64_t v)
{
	char d[20];
	int n = 0;
	do
		d[sizeof d - 1 - n++] = (char)('0' + v % 10);
	while ((v /= 10));
	put(w, d + sizeof d - n, (size_t)n);
}

static void put_i64(struct gs_trace_json *w, int64_t v)
{
	if (v < 0) {
		put(w, "-", 1);
		put_u64(w, -(uint64_t)v);
	} else {
		put_u64(w, (uint64_t)v);
	}
}

static void put_hex(struct gs_trace_json *w, uint64_t v)
{
	char d[18];
	int n = 0;
	do
		d[sizeof d - 1 - n++] = "0123456789abcdef"[v & 15];
	while ((v >>= 4));
	put(w, "0x", 2);
	put(w, d + sizeof d - n, (size_t)n);
}

/* Microseconds with 3 decimals since the base: 1234.567 */
static void put_ts(struct gs_trace_json *w, uint64_t t_ns)
{
	uint64_t d = t_ns >= w->base_ns ? t_ns - w->base_ns : w->base_ns - t_ns;
	if (t_ns < w->base_ns)
		put(w, "-", 1);
	put_u64(w, d / 1000);
	char frac[4] = { '.', (char)('0' + d % 1000 / 100), (char)('0' + d % 100 / 10),
			 (char)('0' + d % 10) };
	put(w, frac, 4);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	if (s[0] < 0xc2 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((len == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (len == 4 && s[0] == 0xf0 && s[1] < 0x90) ||
	    (len == 4 && s[0] == 0xf4 && s[1] >= 0x90) || (len == 3 && s[0] == 0xed && s[1] >= 0xa0))
		return 0; /* overlong, past U+10FFFF, or a surrogate */
	return len;
}

/* A JSON string: quotes, backslashes and control characters escaped,
 * bytes that are not UTF-8 (a thread name is any bytes) as U+FFFD. */
static void put_string(struct gs_trace_json *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	put(w, "\"", 1);
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			put(w, e, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			char e[6] = { '\\', 'u', '0', '0', "0123456789abcdef"[c >> 4],
				      "0123456789abcdef"[c & 15] };
			put(w, e, 6);
			i++;
		} else if (c < 0x80) {
			put(w, (const char *)&p[i], 1);
			i++;
		} else {
			size_t len = utf8_len(p + i, n - i);
			if (len)
				put(w, (const char *)&p[i], len);
			else
				puts_(w, "\\ufffd");
			i += len ? len : 1;
		}
	}
	put(w, "\"", 1);
}

/* --- the set of tids, and which have a run open --- */

static struct gs_trace_tid *tid_entry(struct gs_trace_json *w, int32_t tid)
{
	if (w->err)
		return NULL;
	if (2 * (w->tids_n + 1) > w->tids_cap) {
		size_t cap = w->tids_cap ? 2 * w->tids_cap : 256;
		struct gs_trace_tid *t = calloc(cap, sizeof *t);
		if (!t) {
			w->err = ENOMEM;
			return NULL;
		}
		for (size_t i = 0; i < w->tids_cap; i++) {
			if (!w->tids[i].used)
				continue;
			size_t j = ((uint32_t)w->tids[i].tid * 2654435761u) & (cap - 1);
			while (t[j].used)
				j = (j + 1) & (cap - 1);
			t[j] = w->tids[i];
		}
		free(w->tids);
		w->tids = t;
		w->tids_cap = cap;
	}
	size_t j = ((uint32_t)tid * 2654435761u) & (w->tids_cap - 1);
	for (; w->tids[j].used; j = (j + 1) & (w->tids_cap - 1))
		if (w->tids[j].tid == tid)
			return &w->tids[j];
	w->tids[j] = (struct gs_trace_tid){ .tid = tid, .used = 1 };
	w->tids_n++;
	return &w->tids[j];
}

/* --- the file --- */

int gs_trace_json_begin(struct gs_trace_json *w, int fd, int pid)
{
	memset(w, 0, offsetof(struct gs_trace_json, buf));
	w->fd = fd;
	w->pid = pid;
	puts_(w, "{\"traceEvents\":[\n{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":");
	put_i64(w, pid);
	puts_(w, ",\"tid\":0,\"args\":{\"name\":\"greenshim PID ");
	put_i64(w, pid);
	puts_(w, "\"}}");
	return w->err ? -1 : 0;
}

int gs_trace_json_thread_meta(struct gs_trace_json *w, int32_t tid, const char *label)
{
	puts_(w, ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":");
	put_i64(w, w->pid);
	puts_(w, ",\"tid\":");
	put_i64(w, tid);
	puts_(w, ",\"args\":{\"name\":");
	put_string(w, label);
	puts_(w, "}}");
	return w->err ? (errno = w->err, -1) : 0;
}

static void put_head(struct gs_trace_json *w, char ph, int32_t tid, uint64_t t_ns)
{
	char open[] = { ',', '\n', '{', '"', 'p', 'h', '"', ':', '"', ph, '"' };
	put(w, open, sizeof open);
	puts_(w, ",\"pid\":");
	put_i64(w, w->pid);
	puts_(w, ",\"tid\":");
	put_i64(w, tid);
	puts_(w, ",\"ts\":");
	put_ts(w, t_ns);
}

/* The end of a run, with why it ended in args. */
static void put_end(struct gs_trace_json *w, int32_t tid, const struct gs_pub_event *ev)
{
	put_head(w, 'E', tid, ev->t_ns);
	if (ev->reason != GS_PW_NONE) {
		puts_(w, ",\"args\":{\"reason\":\"");
		puts_(w, gs_trace_reason_name(ev->reason));
		puts_(w, "\"");
		switch (ev->reason) {
		case GS_PW_MUTEX:
		case GS_PW_RWLOCK:
		case GS_PW_COND:
		case GS_PW_SEM:
		case GS_PW_BARRIER:
		case GS_PW_ONCE:
		case GS_PW_FUTEX:
			puts_(w, ",\"obj\":\"");
			put_hex(w, ev->obj);
			puts_(w, "\"");
			if ((ev->reason == GS_PW_MUTEX || ev->reason == GS_PW_RWLOCK) && ev->arg) {
				puts_(w, ",\"holder\":");
				put_i64(w, ev->arg);
			}
			break;
		case GS_PW_JOIN:
			puts_(w, ",\"holder\":");
			put_i64(w, ev->arg);
			break;
		case GS_PW_READ:
		case GS_PW_WRITE:
		case GS_PW_POLL:
			puts_(w, ",\"fd\":");
			put_i64(w, ev->arg);
			break;
		case GS_PW_CHILD:
			puts_(w, ",\"pid\":");
			put_i64(w, ev->arg);
			break;
		}
		puts_(w, "}");
	}
	puts_(w, "}");
}

int gs_trace_json_event(struct gs_trace_json *w, unsigned hub, const struct gs_pub_event *ev)
{
	if (!w->have_base) {
		w->have_base = 1;
		w->base_ns = w->last_ns = ev->t_ns;
	}
	if (ev->t_ns > w->last_ns)
		w->last_ns = ev->t_ns;
	int32_t from = ev->from ? ev->from : gs_trace_hub_tid(hub);
	int32_t to = ev->to ? ev->to : gs_trace_hub_tid(hub);
	struct gs_trace_tid *f = tid_entry(w, from);
	if (f && f->open) {
		put_end(w, from, ev);
		f->open = 0;
	}
	struct gs_trace_tid *t = tid_entry(w, to);
	if (t && t->open) { /* its end was lost: close it here, no reason known */
		put_head(w, 'E', to, ev->t_ns);
		puts_(w, "}");
	}
	if (t) {
		put_head(w, 'B', to, ev->t_ns);
		puts_(w, ",\"name\":\"run\"}");
		t->open = 1;
	}
	return w->err ? (errno = w->err, -1) : 0;
}

int gs_trace_json_end(struct gs_trace_json *w)
{
	for (size_t i = 0; i < w->tids_cap; i++)
		if (w->tids[i].used && w->tids[i].open) {
			put_head(w, 'E', w->tids[i].tid, w->last_ns);
			puts_(w, "}");
			w->tids[i].open = 0;
		}
	puts_(w, "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"greenshim_trace\":1,\"pid\":");
	put_i64(w, w->pid);
	puts_(w, "}}\n");
	flush(w);
	free(w->tids);
	w->tids = NULL;
	w->tids_cap = w->tids_n = 0;
	return w->err ? (errno = w->err, -1) : 0;
}

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
	[GS_PW_OFFLOAD] = "offload", [GS_PW_PREEMPT] = "preempted",
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

/* --- tracks: one per green thread and per hub --- */

/* "BEFORE" N "AFTER" into out (64 bytes at least), for the default labels. */
static const char *compose(char *out, const char *before, int64_t n, const char *after)
{
	char d[24];
	size_t len = strlen(before), k = 0;
	uint64_t v = n < 0 ? -(uint64_t)n : (uint64_t)n;
	memcpy(out, before, len);
	if (n < 0)
		out[len++] = '-';
	do
		d[k++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (k)
		out[len++] = d[--k];
	strcpy(out + len, after);
	return out;
}

static uint64_t hash_key(int64_t key)
{
	return (uint64_t)key * 0x9e3779b97f4a7c15ULL;
}

static void put_meta(struct gs_trace_json *w, const char *what, uint32_t tid, const char *label)
{
	puts_(w, ",\n{\"ph\":\"M\",\"name\":\"");
	puts_(w, what);
	puts_(w, "\",\"pid\":");
	put_i64(w, w->pid);
	puts_(w, ",\"tid\":");
	put_u64(w, tid);
	puts_(w, ",\"args\":{\"name\":");
	put_string(w, label);
	puts_(w, "}}");
}

/* The track of a green thread (id > 0) or of hub `hub`'s own context
 * (id 0), made (and named in the file) on first use; NULL after a failure. */
static struct gs_trace_track *track(struct gs_trace_json *w, unsigned hub, int32_t id)
{
	if (w->err)
		return NULL;
	int64_t key = id ? id : -(int64_t)hub - 1;
	if (2 * (w->tracks_n + 1) > w->tracks_cap) {
		size_t cap = w->tracks_cap ? 2 * w->tracks_cap : 256;
		struct gs_trace_track *t = calloc(cap, sizeof *t);
		if (!t) {
			w->err = ENOMEM;
			return NULL;
		}
		for (size_t i = 0; i < w->tracks_cap; i++) {
			if (!w->tracks[i].used)
				continue;
			size_t j = hash_key(w->tracks[i].key) >> 40 & (cap - 1);
			while (t[j].used)
				j = (j + 1) & (cap - 1);
			t[j] = w->tracks[i];
		}
		free(w->tracks);
		w->tracks = t;
		w->tracks_cap = cap;
	}
	size_t j = hash_key(key) >> 40 & (w->tracks_cap - 1);
	for (; w->tracks[j].used; j = (j + 1) & (w->tracks_cap - 1))
		if (w->tracks[j].key == key)
			return &w->tracks[j];
	struct gs_trace_track *t = &w->tracks[j];
	*t = (struct gs_trace_track){ .key = key, .used = 1 };
	t->tid = GS_TRACE_TID_BASE + ++w->next_tid;
	w->tracks_n++;
	char label[200];
	const char *l = NULL;
	if (!id)
		l = hub ? compose(label, "hub ", hub, "") : "hub";
	else if (w->label)
		l = w->label(w->label_ctx, hub, id, label, sizeof label);
	if (!l)
		l = compose(label, "thread (", id, ")");
	put_meta(w, "thread_name", t->tid, l);
	return t;
}

/* --- the file --- */

void gs_trace_json_init(struct gs_trace_json *w, int fd, int pid)
{
	memset(w, 0, offsetof(struct gs_trace_json, buf));
	w->fd = fd;
	w->pid = pid;
}

int gs_trace_json_begin(struct gs_trace_json *w, const char *process_name)
{
	char fallback[64];
	if (!process_name || !*process_name)
		process_name = compose(fallback, "pid ", w->pid, "");
	puts_(w, w->append ? ",\n" : "{\"traceEvents\":[\n");
	puts_(w, "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":");
	put_i64(w, w->pid);
	puts_(w, ",\"tid\":");
	put_i64(w, w->pid);
	puts_(w, ",\"args\":{\"name\":");
	put_string(w, process_name);
	puts_(w, "}}");
	return w->err ? (errno = w->err, -1) : 0;
}

/* ",\n{"ph":"X","pid":P,"tid":T,"ts":US" at the track's time, never
 * before its last one. */
static void put_head(struct gs_trace_json *w, char ph, struct gs_trace_track *t, uint64_t t_ns)
{
	if (t_ns < t->last_ns)
		t_ns = t->last_ns;
	t->last_ns = t_ns;
	char open[] = { ',', '\n', '{', '"', 'p', 'h', '"', ':', '"', ph, '"' };
	put(w, open, sizeof open);
	puts_(w, ",\"pid\":");
	put_i64(w, w->pid);
	puts_(w, ",\"tid\":");
	put_u64(w, t->tid);
	puts_(w, ",\"ts\":");
	put_ts(w, t_ns);
}

static const char *slice_name(const struct gs_trace_track *t)
{
	return t->key > 0 ? "\"run\"" : "\"hub\"";
}

static void put_begin(struct gs_trace_json *w, struct gs_trace_track *t, uint64_t t_ns)
{
	put_head(w, 'B', t, t_ns);
	puts_(w, ",\"name\":");
	puts_(w, slice_name(t));
	puts_(w, "}");
	t->open = 1;
}

/* The end of a slice, with why it ended in args (reason GS_PW_NONE: none). */
static void put_end(struct gs_trace_json *w, struct gs_trace_track *t, uint64_t t_ns,
		    unsigned reason, const struct gs_pub_event *ev)
{
	put_head(w, 'E', t, t_ns);
	puts_(w, ",\"name\":");
	puts_(w, slice_name(t));
	t->open = 0;
	if (reason == GS_PW_NONE) {
		puts_(w, "}");
		return;
	}
	puts_(w, ",\"args\":{\"reason\":\"");
	puts_(w, reason == GS_TRACE_EV_IDLE ? "idle" : gs_trace_reason_name(reason));
	puts_(w, "\"");
	switch (reason) {
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
		if ((reason == GS_PW_MUTEX || reason == GS_PW_RWLOCK) && ev->arg) {
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
	puts_(w, "}}");
}

static void put_flow(struct gs_trace_json *w, char ph, struct gs_trace_track *t, uint64_t t_ns,
		     const char *name)
{
	put_head(w, ph, t, t_ns);
	puts_(w, ",\"name\":\"");
	puts_(w, name);
	puts_(w, "\",\"cat\":\"wake\",\"id\":");
	put_u64(w, w->next_flow);
	puts_(w, "}");
}

/* A wake-up: an arrow from the waker's slice to the woken thread's next. */
static void wake(struct gs_trace_json *w, unsigned hub, const struct gs_pub_event *ev)
{
	if (!ev->from || !ev->to || ev->from == ev->to)
		return;
	struct gs_trace_track *from = track(w, hub, ev->from);
	struct gs_trace_track *to = from ? track(w, hub, ev->to) : NULL;
	if (!to)
		return;
	if (!from->open) /* the trace began during its run */
		put_begin(w, from, ev->t_ns);
	const char *name = ev->arg > GS_PW_NONE && ev->arg < GS_PW_COUNT ?
				   gs_trace_reason_name((unsigned)ev->arg) : "wake";
	w->next_flow++;
	w->wakes++;
	put_flow(w, 's', from, ev->t_ns, name);
	put_flow(w, 'f', to, ev->t_ns, name);
}

static void idle(struct gs_trace_json *w, unsigned hub, const struct gs_pub_event *ev)
{
	struct gs_trace_track *t = track(w, hub, 0);
	if (!t)
		return;
	if (t->open)
		put_end(w, t, ev->t_ns, GS_TRACE_EV_IDLE, ev);
	uint64_t until = ev->obj > ev->t_ns ? ev->obj : ev->t_ns;
	put_begin(w, t, until);
	if (until > w->last_ns)
		w->last_ns = until;
}

int gs_trace_json_event(struct gs_trace_json *w, unsigned hub, const struct gs_pub_event *ev)
{
	if (!w->have_base) {
		w->have_base = 1;
		w->base_ns = w->absolute ? 0 : ev->t_ns;
		w->last_ns = ev->t_ns;
	}
	if (ev->t_ns > w->last_ns)
		w->last_ns = ev->t_ns;
	if (ev->reason == GS_TRACE_EV_WAKE) {
		wake(w, hub, ev);
	} else if (ev->reason == GS_TRACE_EV_IDLE) {
		idle(w, hub, ev);
	} else {
		struct gs_trace_track *f = track(w, hub, ev->from);
		if (f && f->open)
			put_end(w, f, ev->t_ns, ev->reason, ev);
		struct gs_trace_track *t = f ? track(w, hub, ev->to) : NULL;
		if (t && t->open) /* its end was lost: close it here, no reason known */
			put_end(w, t, ev->t_ns, GS_PW_NONE, ev);
		if (t)
			put_begin(w, t, ev->t_ns);
		w->switches++;
	}
	return w->err ? (errno = w->err, -1) : 0;
}

int gs_trace_json_end(struct gs_trace_json *w, int tail, const char *other)
{
	for (size_t i = 0; i < w->tracks_cap; i++)
		if (w->tracks[i].used && w->tracks[i].open)
			put_end(w, &w->tracks[i], w->last_ns, GS_PW_NONE, NULL);
	if (tail) {
		puts_(w, "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"greenshim_trace\":1,\"pid\":");
		put_i64(w, w->tail_pid ? w->tail_pid : w->pid);
		puts_(w, other ? other : "");
		puts_(w, "}}\n");
	}
	flush(w);
	free(w->tracks);
	w->tracks = NULL;
	w->tracks_cap = w->tracks_n = 0;
	return w->err ? (errno = w->err, -1) : 0;
}

/* The inspector's side of a published process: see inspect.h.
 *
 * Which file belongs to a live process: the process keeps its file mapped
 * for its whole life, so the file is the /dev/shm/greenshim-*-PID that
 * /proc/PID/maps shows (the uid in its name is the one the process had
 * when it published, which a process that dropped privileges no longer
 * has); where maps cannot be read, the name made of the target's real uid.
 * A file whose pid is gone (kill -> ESRCH, or a zombie) is the leftover of
 * a crash or an _exit; a file whose pid lives but does not map it was left
 * by an earlier process that had the same pid (or an earlier image of it,
 * before an exec).  Both are removed.
 *
 * Who may look: the kernel decides.  A user who may not signal the
 * process, or open its file, is refused (GS_EXIT_DENIED); root opens any
 * user's file, and lists and tidies every user's.  Root reads a file that
 * another user can write as it reads it: every offset and count is
 * checked against the mapping (layout_problem, the slot and hub bounds). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "inspect.h"
#include "procinfo.h"
#include "tool.h"

#define HEARTBEAT_NS 250000000ULL      /* well within the process's 2 s */
#define CREATION_WAIT_NS 500000000ULL  /* a file being made gets its magic last */
#define PUB_DIR "/dev/shm/"            /* where GS_PUB_PATH_FMT puts the files */
#define PUB_PREFIX "greenshim-"

uint64_t gs_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Root may read every user's files. */
static int as_root(void)
{
	return geteuid() == 0;
}

/* A run of decimal digits at *p (no sign, no space), moved past. */
static int digits(const char **p, unsigned long long max, unsigned long long *v)
{
	const char *s = *p;
	if (*s < '0' || *s > '9')
		return -1;
	unsigned long long n = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (unsigned)(*s - '0');
		if (n > max)
			return -1;
	}
	*v = n;
	*p = s;
	return 0;
}

/* "greenshim-UID-PID" (a file name, or what follows PUB_DIR up to `end`):
 * the pid, or -1; *uid the uid. */
static int file_name_pid(const char *name, const char *end, unsigned *uid)
{
	size_t plen = sizeof PUB_PREFIX - 1;
	if (strncmp(name, PUB_PREFIX, plen) != 0)
		return -1;
	const char *p = name + plen;
	unsigned long long u, pid;
	if (digits(&p, UINT_MAX, &u) != 0 || *p++ != '-' || digits(&p, 0x7fffffff, &pid) != 0 ||
	    p != end || pid == 0)
		return -1;
	*uid = (unsigned)u;
	return (int)pid;
}

/* Calls fn for each published file in /dev/shm with its pid, removing
 * those whose process is gone: this user's files, or every user's for
 * root.  Returns the number of live ones. */
static int scan(void (*fn)(int pid, void *arg), void *arg)
{
	DIR *d = opendir(PUB_DIR);
	if (!d)
		return 0;
	int all = as_root(), live = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		unsigned uid;
		int pid = file_name_pid(e->d_name, e->d_name + strlen(e->d_name), &uid);
		if (pid < 0 || (!all && uid != (unsigned)getuid()))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
		    (!all && st.st_uid != getuid()))
			continue;
		if (gs_process_gone(pid)) {
			unlinkat(dirfd(d), e->d_name, 0);
			continue;
		}
		live++;
		if (fn)
			fn(pid, arg);
	}
	closedir(d);
	return live;
}

void gs_inspect_remove_stale(void)
{
	scan(NULL, NULL);
}

struct pid_list {
	int *pids;
	int n, cap, failed;
};

static void collect(int pid, void *arg)
{
	struct pid_list *l = arg;
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 64;
		int *p = realloc(l->pids, (size_t)cap * sizeof *p);
		if (!p) {
			l->failed = 1;
			return;
		}
		l->pids = p;
		l->cap = cap;
	}
	l->pids[l->n++] = pid;
}

static int by_value(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int gs_inspect_list(int **pids)
{
	struct pid_list l = { 0 };
	scan(collect, &l);
	if (l.failed) {
		free(l.pids);
		return -1;
	}
	qsort(l.pids, (size_t)l.n, sizeof *l.pids, by_value);
	int n = 0; /* one pid may have two files (root sees every user's) */
	for (int i = 0; i < l.n; i++)
		if (!n || l.pids[n - 1] != l.pids[i])
			l.pids[n++] = l.pids[i];
	*pids = l.pids;
	return n;
}

/* One line of /proc/PID/maps: its inode and where its path begins (the
 * path runs to the newline; NULL: an anonymous mapping). */
static const char *maps_line(char *line, unsigned long long *ino)
{
	int path_at = 0;
	if (sscanf(line, "%*x-%*x %*s %*x %*s %llu %n", ino, &path_at) != 1 || !path_at ||
	    line[path_at] != '/')
		return NULL;
	line[strcspn(line, "\n")] = 0; /* " (deleted)" stays: no name matches it */
	return line + path_at;
}

/* The published file pid maps, into path: 0, -1 (maps cannot be read)
 * or -2 (it maps none). */
static int mapped_file(int pid, char *path, size_t size)
{
	char name[64];
	snprintf(name, sizeof name, "/proc/%d/maps", pid);
	FILE *f = fopen(name, "re");
	if (!f)
		return -1;
	char line[4096];
	int found = 0;
	while (!found && fgets(line, sizeof line, f)) {
		unsigned long long ino;
		const char *p = maps_line(line, &ino);
		unsigned uid;
		size_t dlen = sizeof PUB_DIR - 1;
		found = p && !strncmp(p, PUB_DIR, dlen) &&
			file_name_pid(p + dlen, p + strlen(p), &uid) == pid && strlen(p) < size;
		if (found)
			strcpy(path, p);
	}
	fclose(f);
	return found ? 0 : -2;
}

/* Some /dev/shm/greenshim-*-PID, into path: 0, or -1 (none).  For a user
 * who cannot read pid's maps (a process that published before it changed
 * its uid is no longer dumpable): whose file it is. */
static int named_file(int pid, char *path, size_t size)
{
	DIR *d = opendir(PUB_DIR);
	if (!d)
		return -1;
	int found = 0;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		unsigned uid;
		size_t dlen = sizeof PUB_DIR - 1, nlen = strlen(e->d_name);
		found = file_name_pid(e->d_name, e->d_name + nlen, &uid) == pid && dlen + nlen < size;
		if (found) {
			memcpy(path, PUB_DIR, dlen);
			memcpy(path + dlen, e->d_name, nlen + 1);
		}
	}
	closedir(d);
	return found ? 0 : -1;
}

/* Whether pid maps the file path with inode ino (not "(deleted)"). */
static int maps_file(int pid, const char *path, unsigned long long ino)
{
	char name[64];
	snprintf(name, sizeof name, "/proc/%d/maps", pid);
	FILE *f = fopen(name, "re");
	if (!f)
		return 1; /* cannot tell: trust the file */
	char line[4096];
	int found = 0;
	while (!found && fgets(line, sizeof line, f)) {
		unsigned long long mino;
		const char *p = maps_line(line, &mino);
		found = p && mino == ino && !strcmp(p, path);
	}
	fclose(f);
	return found;
}

/* Refuses pid, owned by uid (or by someone we cannot name): GS_EXIT_DENIED. */
static int refuse(int pid, const char *what, int known, uid_t uid)
{
	char who[128];
	if (known)
		gs_user_describe(uid, who, sizeof who);
	else
		snprintf(who, sizeof who, "another user");
	gs_tool_error("process %d %s %s: only that user or root can inspect it", pid, what, who);
	return GS_EXIT_DENIED;
}

/* Why the header cannot be read by this tool, or NULL. */
static const char *layout_problem(const struct gs_pub_header *h, size_t size, int pid, char *why,
				  size_t whysize)
{
	if (h->version != GS_PUB_VERSION) {
		snprintf(why, whysize, "layout version %u, this greenshim reads %u", h->version,
			 GS_PUB_VERSION);
		return why;
	}
	if (h->header_size != GS_PUB_HEADER_SIZE || h->hub_size != sizeof(struct gs_pub_hub) ||
	    h->event_size != sizeof(struct gs_pub_event) ||
	    h->thread_size != sizeof(struct gs_pub_thread)) {
		snprintf(why, whysize,
			 "record sizes header %u hub %u event %u thread %u, "
			 "this greenshim's %u %zu %zu %zu",
			 h->header_size, h->hub_size, h->event_size, h->thread_size,
			 GS_PUB_HEADER_SIZE, sizeof(struct gs_pub_hub), sizeof(struct gs_pub_event),
			 sizeof(struct gs_pub_thread));
		return why;
	}
	uint64_t rings = (uint64_t)h->max_hubs * h->ring_events * h->event_size;
	/* Subtractions, not sums: no field, however large, wraps around. */
	if (h->max_hubs == 0 || h->max_hubs > GS_PUB_MAX_HUBS || h->ring_events == 0 ||
	    (h->ring_events & (h->ring_events - 1)) || h->rings_offset < h->header_size ||
	    h->rings_offset > size || rings > size - h->rings_offset ||
	    h->threads_offset < h->rings_offset || h->threads_offset - h->rings_offset < rings ||
	    h->threads_offset > size) {
		snprintf(why, whysize,
			 "hubs %u, ring of %u events, offsets %llu %llu, file of %zu bytes", h->max_hubs,
			 h->ring_events, (unsigned long long)h->rings_offset,
			 (unsigned long long)h->threads_offset, size);
		return why;
	}
	if (h->pid != pid) {
		snprintf(why, whysize, "it names pid %d", h->pid);
		return why;
	}
	return NULL;
}

/* Waits (briefly) for a file being made to get its size and magic. */
static int wait_created(int fd, struct stat *st)
{
	uint64_t give_up = gs_now_ns() + CREATION_WAIT_NS;
	for (;;) {
		if (fstat(fd, st) != 0)
			return -1;
		if ((size_t)st->st_size >= GS_PUB_HEADER_SIZE) {
			uint64_t magic;
			if (pread(fd, &magic, sizeof magic, 0) == (ssize_t)sizeof magic && magic != 0)
				return 0;
		}
		if (gs_now_ns() > give_up)
			return 0; /* let the layout checks say what is wrong */
		gs_tool_sleep(10000000ULL);
	}
}

int gs_inspect_open(struct gs_inspect *in, int pid)
{
	memset(in, 0, sizeof *in);
	in->fd = -1;
	in->pid = pid;
	gs_inspect_remove_stale();
	if (kill(pid, 0) != 0 && errno == ESRCH) {
		gs_tool_error("no process %d", pid);
		return GS_EXIT_FAIL;
	}
	if (gs_process_gone(pid)) {
		gs_tool_error("process %d has exited", pid);
		return GS_EXIT_FAIL;
	}
	uid_t ruid = getuid(), euid = ruid;
	int known = gs_process_uids(pid, &ruid, &euid) == 0;
	if (kill(pid, 0) != 0)
		return refuse(pid, "belongs to", known, euid);
	/* By its mapping; else (not mapped yet, or maps unreadable) by the
	 * name the process's real uid gives; else, when maps was unreadable,
	 * by any name with its pid. */
	const int flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY;
	int mapped = mapped_file(pid, in->path, sizeof in->path);
	if (mapped != 0)
		snprintf(in->path, sizeof in->path, GS_PUB_PATH_FMT, (unsigned)ruid, pid);
	in->fd = open(in->path, flags);
	char other[sizeof in->path];
	if (in->fd < 0 && errno == ENOENT && mapped == -1 &&
	    named_file(pid, other, sizeof other) == 0) {
		strcpy(in->path, other);
		in->fd = open(in->path, flags);
	}
	struct stat st;
	if (in->fd < 0) {
		int err = errno;
		if (err == ENOENT)
			gs_tool_error("process %d does not run greenshim (no %s)", pid, in->path);
		else if ((err == EACCES || err == EPERM) && stat(in->path, &st) == 0)
			return refuse(pid, "publishes its threads as", 1, st.st_uid);
		else
			gs_tool_error("%s: %s", in->path, strerror(err));
		return err == EACCES || err == EPERM ? GS_EXIT_DENIED : GS_EXIT_FAIL;
	}
	int status = GS_EXIT_FAIL;
	if (fstat(in->fd, &st) != 0) {
		gs_tool_error("%s: %s", in->path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		gs_tool_error("%s is not a regular file", in->path);
		goto fail;
	}
	if (!as_root() && st.st_uid != geteuid()) {
		status = refuse(pid, "publishes its threads as", 1, st.st_uid);
		goto fail;
	}
	if (wait_created(in->fd, &st) != 0) {
		gs_tool_error("%s: %s", in->path, strerror(errno));
		goto fail;
	}
	if ((size_t)st.st_size < GS_PUB_HEADER_SIZE) {
		gs_tool_error("%s was written by an incompatible greenshim (%lld bytes, no header)",
			      in->path, (long long)st.st_size);
		goto fail;
	}
	in->mapped = (size_t)st.st_size;
	in->hdr = mmap(NULL, in->mapped, PROT_READ | PROT_WRITE, MAP_SHARED, in->fd, 0);
	if (in->hdr == MAP_FAILED) {
		in->hdr = NULL;
		gs_tool_error("%s: mmap: %s", in->path, strerror(errno));
		goto fail;
	}
	char why[256];
	if (__atomic_load_n(&in->hdr->magic, __ATOMIC_ACQUIRE) != GS_PUB_MAGIC) {
		gs_tool_error("%s was written by an incompatible greenshim (bad magic)", in->path);
		goto fail;
	}
	if (layout_problem(in->hdr, in->mapped, pid, why, sizeof why)) {
		gs_tool_error("%s was written by an incompatible greenshim (%s)", in->path, why);
		goto fail;
	}
	if (!maps_file(pid, in->path, (unsigned long long)st.st_ino)) {
		unlink(in->path);
		gs_tool_error("process %d does not run greenshim (removed %s, left by an earlier "
			      "process with that pid)", pid, in->path);
		goto fail;
	}
	return GS_EXIT_OK;
fail:
	gs_inspect_close(in);
	return status;
}

void gs_inspect_refresh(struct gs_inspect *in)
{
	struct stat st;
	if (fstat(in->fd, &st) != 0 || (size_t)st.st_size <= in->mapped)
		return;
	void *p = mremap(in->hdr, in->mapped, (size_t)st.st_size, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return; /* keep reading what we have */
	in->hdr = p;
	in->mapped = (size_t)st.st_size;
}

void gs_inspect_close(struct gs_inspect *in)
{
	if (in->hdr) {
		gs_inspect_detach(in);
		munmap(in->hdr, in->mapped);
		in->hdr = NULL;
	}
	if (in->fd >= 0)
		close(in->fd);
	in->fd = -1;
}

void gs_inspect_attach(struct gs_inspect *in)
{
	if (in->attached)
		return;
	/* The beat first: the process must never see our count with an old
	 * beat, or it would forget us at once. */
	atomic_store(&in->hdr->inspector_heartbeat_ns, gs_now_ns());
	atomic_fetch_add(&in->hdr->inspectors, 1);
	in->attached = 1;
}

void gs_inspect_heartbeat(struct gs_inspect *in)
{
	if (!in->attached)
		return;
	atomic_store(&in->hdr->inspector_heartbeat_ns, gs_now_ns());
	/* The process zeroes the count after 2 s without a beat (we were
	 * stopped, or too slow): count ourselves in again. */
	if (atomic_load(&in->hdr->inspectors) == 0)
		atomic_fetch_add(&in->hdr->inspectors, 1);
}

void gs_inspect_detach(struct gs_inspect *in)
{
	if (!in->attached)
		return;
	in->attached = 0;
	/* Never below zero: the process may have forgotten us already. */
	uint32_t n = atomic_load(&in->hdr->inspectors);
	while (n > 0 && !atomic_compare_exchange_weak(&in->hdr->inspectors, &n, n - 1))
		;
}

int gs_inspect_sleep(struct gs_inspect *in, uint64_t ns)
{
	uint64_t end = gs_now_ns() + ns;
	for (;;) {
		gs_inspect_heartbeat(in);
		uint64_t now = gs_now_ns();
		if (gs_tool_stopping)
			return -1;
		if (now >= end)
			return 0;
		uint64_t step = end - now < HEARTBEAT_NS ? end - now : HEARTBEAT_NS;
		if (gs_tool_sleep(step) != 0)
			return -1;
	}
}

unsigned gs_inspect_hub_bound(const struct gs_inspect *in)
{
	uint32_t used = atomic_load_explicit(&in->hdr->hubs_used, memory_order_acquire);
	uint32_t max = in->hdr->max_hubs;
	return used < max ? used : max;
}

unsigned gs_inspect_slot_bound(const struct gs_inspect *in)
{
	const struct gs_pub_header *h = in->hdr;
	uint32_t used = atomic_load_explicit(&in->hdr->threads_used, memory_order_acquire);
	size_t fit = (in->mapped - h->threads_offset) / sizeof(struct gs_pub_thread);
	return used < fit ? used : (unsigned)fit;
}

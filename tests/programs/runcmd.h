/*
 * runcmd.h — running other programs from the test programs in this
 * directory (the real_* ones and a few more): forking with a pipe on the
 * child's stdout or stderr, reading it, timing out, reaping, and looking
 * at the child from /proc.
 *
 * Like testutil.h (which it includes) it uses only libc, and everything
 * is static inline.  Messages to stderr start with the program's name,
 * given as `prog`.
 *
 *   threads_of(pid)         a process's Threads: count (-1 if unreadable)
 *   on_path(prog)           whether prog can be exec'd (via PATH unless it
 *                           is an absolute path)
 *   missing_programs(...)   on_path for a list, naming each missing one's
 *                           Debian package; how many are missing
 *   fork_piped(fd, group, &rfd)
 *                           fork with the child's fd 1 or 2 into a pipe
 *   spawn_piped(argv, fd, group, prog, &rfd)
 *                           the same, the child exec'ing argv
 *   read_all(fd, buf, size) fd read to EOF into buf
 *   reap(pid)               waitpid, retried on EINTR
 *   exit_code(st)           a wait status as an exit status (128+N for
 *                           signal N)
 *   deadline_after(ms, end) a CLOCK_MONOTONIC deadline ms from now, at the
 *                           latest end
 *   run_capture(&rc, &st)   a command's output, killed at a deadline
 *   report_status(...)      a failed command's status and output
 *   capture_sampled(...)    run_capture in a group of its own, its time
 *                           and most OS threads reported to stderr
 *   make_tmpdir(buf, n, name), rm_tree(dir)
 *                           a private temporary directory and its removal
 */
#ifndef RUNCMD_H
#define RUNCMD_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

/* The Threads: line of process pid's /proc status; -1 if unreadable. */
static inline long threads_of(pid_t pid)
{
	char p[64];
	snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
	return status_threads_at(p);
}

/* 1 when prog is executable: an absolute path as it is, a name in one of
 * PATH's directories (an empty entry meaning "."; no PATH or an empty one
 * meaning /usr/local/bin:/usr/bin:/bin); 0 otherwise. */
static inline int on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char dir[4096], full[4200];
	if (prog[0] == '/')
		return access(prog, X_OK) == 0;
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(dir, sizeof dir, "%.*s", (int)n, path);
		snprintf(full, sizeof full, "%s/%s", n ? dir : ".", prog);
		if (access(full, X_OK) == 0)
			return 1;
		path += n + (path[n] == ':');
	}
	return 0;
}

/* Checks need[i][0] (a program, see on_path) for i < n; for each missing
 * one prints "PROG: NAME not foundWHERE: install the Debian package
 * need[i][1] (bash .ci/install-deps does)" to stderr.  Returns how many
 * are missing. */
static inline int missing_programs(const char *prog, const char *need[][2], size_t n,
				   const char *where)
{
	int missing = 0;
	for (size_t i = 0; i < n; i++)
		if (!on_path(need[i][0])) {
			fprintf(stderr, "%s: %s not found%s: install the Debian package %s "
					"(bash .ci/install-deps does)\n",
				prog, need[i][0], where, need[i][1]);
			missing++;
		}
	return missing;
}

/* Flushes stdio and forks, the child's fd `fd` (1 or 2) the write end of
 * a new pipe (close-on-exec elsewhere, so other children do not hold it
 * open), the other fds left as ours; with `group`, the child in a process
 * group of its own (set on both sides, so it is there before either goes
 * on).  Returns fork's result: 0 in the child (no pipe fd open in it but
 * fd), the child's pid in the parent, with *rfd the read end; exit(1) on
 * failure. */
static inline pid_t fork_piped(int fd, int group, int *rfd)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		die("pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (group)
			setpgid(0, 0);
		dup2(p[1], fd); /* the copy on fd is not close-on-exec */
		close(p[0]);
		close(p[1]);
		return 0;
	}
	if (group)
		setpgid(pid, pid);
	close(p[1]);
	*rfd = p[0];
	return pid;
}

/* fork_piped, the child exec'ing argv (execvp); when it cannot, it says
 * "PROG: cannot run ARGV0: ERROR" on stderr if prog is not NULL, and
 * exits 127.  Returns the child's pid, *rfd the pipe's read end. */
static inline pid_t spawn_piped(char *const argv[], int fd, int group, const char *prog,
				int *rfd)
{
	pid_t pid = fork_piped(fd, group, rfd);
	if (pid == 0) {
		execvp(argv[0], argv);
		if (prog)
			dprintf(2, "%s: cannot run %s: %s\n", prog, argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Reads fd until EOF (retrying on EINTR), keeping the first size-1 bytes
 * in buf and dropping the rest (so that the writer never blocks); buf is
 * NUL-terminated.  Returns the number of bytes kept.  fd stays open. */
static inline size_t read_all(int fd, char *buf, size_t size)
{
	char scrap[256];
	size_t len = 0;
	for (;;) {
		int keep = len < size - 1;
		ssize_t k = read(fd, keep ? buf + len : scrap, keep ? size - 1 - len : sizeof scrap);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (keep)
			len += (size_t)k;
	}
	buf[len] = 0;
	return len;
}

/* Waits for child pid, retrying on EINTR; returns its wait status;
 * exit(1) on any other error. */
static inline int reap(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	return st;
}

/* A wait status as an exit status: the exit status, or 128+N when signal
 * N ended the process. */
static inline int exit_code(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st); }

/* now_ns(CLOCK_MONOTONIC) + ms milliseconds, or end when that is earlier. */
static inline long long deadline_after(long long ms, long long end)
{
	long long d = now_ns(CLOCK_MONOTONIC) + ms * MS;
	return d < end ? d : end;
}

/* What run_capture runs, and how. */
struct runcmd {
	char *const *argv; /* execvp'd */
	int fd;            /* 1 or 2: the fd into the pipe; the other stays ours */
	int own_group;     /* in a process group of its own, all of it killed */
	long long deadline; /* CLOCK_MONOTONIC ns: SIGKILLed then */
	int wake_ms;       /* wakes at least this often (0: only for output) */
	void (*tick)(pid_t pid, void *arg); /* not NULL: called with the child's */
	void *arg;                          /* pid once it runs and at each wake */
};

/* Runs c->argv with its fd c->fd into a pipe, reading that to EOF; when
 * c->deadline comes first, SIGKILLs the child (with c->own_group its whole
 * process group).  With c->own_group, once the child has ended (not yet
 * reaped, so its group cannot be reused) the rest of its group is
 * SIGKILLed too.  Returns the output (malloc'd, NUL-terminated; the caller
 * frees it), *status the exit status (see exit_code) or -1 when it was
 * killed at the deadline.  exit(1) on a failing system call. */
static inline char *run_capture(const struct runcmd *c, int *status)
{
	int rfd;
	pid_t pid = spawn_piped(c->argv, c->fd, c->own_group, NULL, &rfd);
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	int timed_out = 0;
	if (!buf)
		die("malloc");
	for (;;) {
		if (c->tick)
			c->tick(pid, c->arg);
		long long left = (c->deadline - now_ns(CLOCK_MONOTONIC)) / MS;
		if (left <= 0) {
			timed_out = 1;
			kill(c->own_group ? -pid : pid, SIGKILL);
			break;
		}
		if (c->wake_ms > 0 && left > c->wake_ms)
			left = c->wake_ms;
		struct pollfd pfd = { .fd = rfd, .events = POLLIN };
		int r = poll(&pfd, 1, left < INT_MAX ? (int)left : INT_MAX);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("poll");
		if (r == 0)
			continue;
		if (len + 4096 > cap && !(buf = realloc(buf, cap *= 2)))
			die("realloc");
		ssize_t k = read(rfd, buf + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	buf[len] = 0;
	close(rfd);
	if (c->own_group) {
		siginfo_t si;
		while (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) < 0)
			if (errno != EINTR)
				die("waitid");
		kill(-pid, SIGKILL); /* whatever it left behind */
	}
	int st = reap(pid);
	*status = timed_out ? -1 : exit_code(st);
	return buf;
}

/* When status is not 0, prints "PROG: LABEL ended with status STATUS; its
 * output:" and the output to stderr.  Returns 1 then, else 0. */
static inline int report_status(const char *prog, const char *label, int status, const char *out)
{
	if (status == 0)
		return 0;
	fprintf(stderr, "%s: %s ended with status %d; its output:\n%s", prog, label, status, out);
	return 1;
}

/* run_capture's tick for capture_sampled: the most threads seen. */
static inline void runcmd_most_threads(pid_t pid, void *arg)
{
	long n = threads_of(pid), *most = arg;
	if (n > *most)
		*most = n;
}

/* run_capture of argv in a process group of its own, fd `fd` (1 or 2)
 * into the pipe, until deadline, sampling its OS thread count at every
 * wake (at least each wake_ms).  Then to stderr: "PROG: LABEL: S s, most
 * OS threads seen: N" or "PROG: LABEL: killed after S s", and
 * report_status's message.  Returns the output (caller frees), *status as
 * run_capture's. */
static inline char *capture_sampled(const char *prog, const char *label, char *const argv[],
				    int fd, long long deadline, int wake_ms, int *status)
{
	long long t0 = now_ns(CLOCK_MONOTONIC);
	long most = 0;
	char *out = run_capture(&(struct runcmd){ .argv = argv, .fd = fd, .own_group = 1,
						  .deadline = deadline, .wake_ms = wake_ms,
						  .tick = runcmd_most_threads, .arg = &most },
				status);
	double secs = (now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
	if (*status == -1)
		fprintf(stderr, "%s: %s: killed after %.1f s\n", prog, label, secs);
	else
		fprintf(stderr, "%s: %s: %.2f s, most OS threads seen: %ld\n", prog, label, secs,
			most);
	report_status(prog, label, *status, out);
	return out;
}

/* Makes a new directory $TMPDIR/NAME.XXXXXX (/tmp without TMPDIR) into
 * buf; exit(1) when it cannot. */
static inline void make_tmpdir(char *buf, size_t size, const char *name)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(buf, size, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	if (!mkdtemp(buf))
		die("mkdtemp");
}

static inline int runcmd_rm_one(const char *path, const struct stat *sb, int type,
				struct FTW *ftw)
{
	return remove(path);
}

/* Removes dir and everything below it (not following links).  Returns 0,
 * or -1 with errno set when something could not be removed. */
static inline int rm_tree(const char *dir)
{
	return nftw(dir, runcmd_rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 ? -1 : 0;
}

#endif

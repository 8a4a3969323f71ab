/* waitpid, wait, wait3, wait4, waitid (the os subsystem): the green thread
 * parks until a child changes state, instead of the OS thread.
 *
 * The answer always comes from the real call with WNOHANG added, so the
 * status, rusage, siginfo and errors (ECHILD, EINVAL) are the kernel's.
 * In between the thread waits:
 * - for one child (pid > 0, P_PID, P_PIDFD): on a pidfd, readable once
 *   the child exits;
 * - for any child or a process group: on the pidfds of up to WATCH_MAX
 *   current children (from /proc/self/task/<tid>/children);
 * - and always on a timer that looks again after 1 ms, backing off to
 *   50 ms: stops, continues and ptrace stops are not seen on a pidfd, nor
 *   children made while the wait is on.
 * A tracer's waits (__WALL, __WCLONE) go straight to the kernel, and so
 * does the wait of a process's only thread.
 * Nothing about SIGCHLD changes: the program's handler and disposition are
 * its own.  Like the native calls, a handler without SA_RESTART ends the
 * wait with EINTR, one with SA_RESTART lets it go on. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io.h"
#include "real.h"
#include "syscalls.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define WATCH_MAX 64
#define BACKOFF_MIN_NS 1000000L
#define BACKOFF_MAX_NS 50000000L

/* __WALL and __WCLONE are a tracer's options (strace, gdb): ptrace stops
 * are not seen on a pidfd, and a tracer is a single-threaded event loop
 * that blocks natively anyway, so its waits are left to the kernel.  So is
 * the wait of a process with one thread (a shell, make): there is nothing
 * else to run meanwhile (gs_alone). */
static int greened(int options)
{
	return !(options & (WNOHANG | __WALL | __WCLONE)) && gs_os_on() && gs_can_park() &&
	       !gs_alone();
}

static int pidfd_open(pid_t pid)
{
	return (int)gs__sys(SYS_pidfd_open, pid, 0, 0, 0, 0, 0);
}

/* Appends pidfds of this process's children in pgid (0: any) to fds. */
static unsigned children_pidfds(pid_t pgid, int *fds, unsigned n)
{
	DIR *tasks = opendir("/proc/self/task");
	if (!tasks)
		return n;
	struct dirent *t;
	while ((t = readdir(tasks)) && n < WATCH_MAX) {
		if (t->d_name[0] == '.')
			continue;
		char path[64];
		snprintf(path, sizeof path, "/proc/self/task/%s/children", t->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		long pid;
		while (n < WATCH_MAX && fscanf(f, "%ld", &pid) == 1) {
			if (pgid > 0 && getpgid((pid_t)pid) != pgid)
				continue;
			int fd = pidfd_open((pid_t)pid);
			if (fd >= 0)
				fds[n++] = fd;
		}
		fclose(f);
	}
	closedir(tasks);
	return n;
}

/* One wait for a change of the children `which` stands for: pid > 0 one
 * child, -1 any, 0 our group, < -1 group -pid; pidfd >= 0 a pidfd the
 * program gave.  0 to look again; -1 with errno EINTR. */
static int wait_for_change(pid_t which, int pidfd, int options, long *backoff)
{
	int fds[WATCH_MAX];
	unsigned n = 0, own = 0;
	if (pidfd >= 0) {
		fds[n++] = pidfd;
	} else if (which > 0) {
		int fd = pidfd_open(which);
		if (fd >= 0)
			fds[n++] = fd;
		own = n;
	} else {
		n = children_pidfds(which == 0 ? getpgrp() : which < -1 ? -which : 0, fds, 0);
		own = n;
	}
	/* Exits are seen on the pidfds; stops, continues, and children we
	 * could not open are seen by looking again after a while. */
	/* A traced child's ptrace stops are reported even without WUNTRACED,
	 * so the timer is always there. */
	struct gs_deadline d;
	struct timespec rel = { 0, *backoff };
	gs_deadline_in(&d, &rel);
	*backoff = *backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : *backoff * 2;
	struct gs_fd_interest want[WATCH_MAX];
	for (unsigned i = 0; i < n; i++) {
		want[i].fd = fds[i];
		want[i].events = GS_FD_READ;
	}
	int restart;
	gs_wait_note(GS_PW_CHILD, pidfd >= 0 ? -1 : which);
	int how = gs_fds_wait(want, n, &d, GS_INTR_UNLESS_RESTART | GS_WAIT_CANCELLABLE,
			      &restart);
	for (unsigned i = pidfd >= 0 ? 1 : 0; i < own; i++)
		GS_REAL(close)(fds[i]);
	if (how == GS_CANCELED)
		gs_testcancel();
	if (how == GS_INTERRUPTED && !restart) {
		errno = EINTR;
		return -1;
	}
	if (how < 0) { /* no hub: sleep the OS thread a little */
		struct timespec rel = { 0, BACKOFF_MIN_NS };
		GS_REAL(nanosleep)(&rel, NULL);
	}
	return 0;
}

GS_EXPORT pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	if (!greened(options))
		return GS_REAL(wait4)(pid, status, options, ru);
	gs_testcancel();
	long backoff = BACKOFF_MIN_NS;
	for (;;) {
		pid_t r = GS_REAL(wait4)(pid, status, options | WNOHANG, ru);
		if (r != 0)
			return r;
		if (wait_for_change(pid, -1, options, &backoff) < 0)
			return -1;
	}
}

GS_EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
	if (!greened(options))
		return GS_REAL(waitpid)(pid, status, options);
	return wait4(pid, status, options, NULL);
}

GS_EXPORT pid_t wait(int *status)
{
	if (!greened(0))
		return GS_REAL(wait)(status);
	return wait4(-1, status, 0, NULL);
}

GS_EXPORT pid_t wait3(int *status, int options, struct rusage *ru)
{
	if (!greened(options))
		return GS_REAL(wait3)(status, options, ru);
	return wait4(-1, status, options, ru);
}

/* The real waitid, with the system call's fifth argument (syscall(2)
 * passes one; libc's waitid has none). */
static int real_waitid(idtype_t type, id_t id, siginfo_t *info, int options, struct rusage *ru)
{
	if (!ru)
		return GS_REAL(waitid)(type, id, info, options);
	return (int)gs_sysret(gs__sys(SYS_waitid, type, (long)id, (long)info, options, (long)ru, 0));
}

int gs_waitid(idtype_t type, id_t id, siginfo_t *info, int options, struct rusage *ru)
{
	if (!greened(options))
		return real_waitid(type, id, info, options, ru);
	siginfo_t none; /* the kernel takes a NULL info (glibc passes it on) */
	if (!info)
		info = &none;
	gs_testcancel();
	long backoff = BACKOFF_MIN_NS;
	pid_t which = type == P_PID ? (pid_t)id : type == P_PGID ? (id ? -(pid_t)id : 0) : -1;
	for (;;) {
		/* With WNOHANG, "nothing yet" is 0 with si_pid 0. */
		info->si_pid = 0;
		int r = real_waitid(type, id, info, options | WNOHANG, ru);
		if (r != 0 || info->si_pid != 0)
			return r;
		if (wait_for_change(which, type == P_PIDFD ? (int)id : -1, options, &backoff) < 0)
			return -1;
	}
}

GS_EXPORT int waitid(idtype_t type, id_t id, siginfo_t *info, int options)
{
	return gs_waitid(type, id, info, options, NULL);
}

/* system() (the os subsystem): glibc's waits for its child inside libc
 * (__waitpid), which would block every green thread for as long as the
 * command runs.  This one does what POSIX and glibc's do — SIGINT and
 * SIGQUIT ignored and SIGCHLD blocked in the caller while the command
 * runs, the child started by posix_spawn with the caller's original mask
 * and default SIGINT/SIGQUIT, "sh -c command" — and waits with the greened
 * waitpid.  system(NULL) asks whether a shell exists: glibc's answer. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "real.h"

extern char **environ;

/* Several green threads may be in system() at once: the dispositions are
 * the process's, saved by the first and restored by the last. */
static _Atomic int lock, users;
static struct sigaction saved_int, saved_quit;

/* What a call must undo, also when its thread is cancelled in waitpid. */
struct call {
	pid_t pid;
	sigset_t old_mask;
};

static void undo(struct call *c)
{
	gs_spin_lock(&lock);
	if (--users == 0) {
		sigaction(SIGINT, &saved_int, NULL);
		sigaction(SIGQUIT, &saved_quit, NULL);
	}
	gs_spin_unlock(&lock);
	pthread_sigmask(SIG_SETMASK, &c->old_mask, NULL);
}

/* Cancelled while the command runs: as glibc, the command is killed and
 * reaped, and the signal dispositions and mask are put back. */
static void cancelled(void *arg)
{
	struct call *c = arg;
	kill(c->pid, SIGKILL);
	while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
		;
	undo(c);
}

GS_EXPORT int system(const char *command)
{
	if (!command || !gs_os_on() || !gs_can_park()) {
		gs_fd_shared_all(); /* the child shares every description (spawn.c) */
		return GS_REAL(system)(command);
	}
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigemptyset(&ign.sa_mask);
	gs_spin_lock(&lock);
	if (users++ == 0) {
		sigaction(SIGINT, &ign, &saved_int);
		sigaction(SIGQUIT, &ign, &saved_quit);
	}
	gs_spin_unlock(&lock);
	struct call c;
	sigset_t chld, *old = &c.old_mask;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, old);

	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t def;
	sigemptyset(&def);
	if (saved_int.sa_handler != SIG_IGN)
		sigaddset(&def, SIGINT);
	if (saved_quit.sa_handler != SIG_IGN)
		sigaddset(&def, SIGQUIT);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setsigmask(&attr, old);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	pid_t pid;
	char *argv[] = { "sh", "-c", (char *)command, NULL };
	int e = posix_spawn(&pid, "/bin/sh", NULL, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	int status = 127 << 8; /* as glibc: the shell could not be run */
	if (e == 0) {
		c.pid = pid;
		pthread_cleanup_push(cancelled, &c);
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR) {
				status = -1;
				break;
			}
		}
		pthread_cleanup_pop(0);
	}
	int saved = errno;
	undo(&c);
	errno = saved;
	return status;
}

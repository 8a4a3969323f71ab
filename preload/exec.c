/* The exec family: a new program replaces this one without running atexit
 * handlers, so first the GREENSHIM_TRACE file of this run is written and
 * the published state (/dev/shm/greenshim-UID-PID) removed; the new
 * program, if it runs under the shim, publishes (and traces) its own.  If
 * the exec fails, this process goes on untraced and unpublished (greenshim
 * ps no longer sees it).  Preemption's ticks stop for the exec (and
 * start again if it fails).  Every public variant is interposed: glibc's execl, execvp & co.
 * reach execve inside libc, past the PLT. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "fdkind.h"
#include "real.h"

extern char **environ;

/* Around every exec: the process's records end, the preemption timer
 * stops (and starts again if the exec failed).  A vfork child's exec ends
 * nothing of its parent's. */
GS_STARTUP static void exec_begin(void)
{
	gs_fd_leaked(); /* the new program holds our descriptions (fdkind.h) */
	if (!gs__vforked) {
		gs_process_ending();
		gs_preempt_exec_begin();
	}
}

GS_STARTUP static void exec_failed(void)
{
	if (!gs__vforked)
		gs_preempt_exec_failed();
}

GS_STARTUP GS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	exec_begin();
	int rc = GS_REAL(execve)(path, argv, envp);
	exec_failed();
	return rc;
}

GS_EXPORT int execv(const char *path, char *const argv[])
{
	exec_begin();
	int rc = GS_REAL(execv)(path, argv);
	exec_failed();
	return rc;
}

GS_EXPORT int execvp(const char *file, char *const argv[])
{
	exec_begin();
	int rc = GS_REAL(execvp)(file, argv);
	exec_failed();
	return rc;
}

GS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	exec_begin();
	int rc = GS_REAL(execvpe)(file, argv, envp);
	exec_failed();
	return rc;
}

GS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	exec_begin();
	int rc = GS_REAL(fexecve)(fd, argv, envp);
	exec_failed();
	return rc;
}

/* execl, execlp, execle: the list into an array, then the v form. */
#define ARGS_MAX 4096
static int collect(const char *arg0, va_list ap, char **argv, char ***envp)
{
	int n = 0;
	argv[n++] = (char *)arg0;
	while (arg0 && (argv[n] = va_arg(ap, char *)) != NULL)
		if (++n == ARGS_MAX) {
			errno = E2BIG;
			return -1;
		}
	if (!arg0)
		argv[0] = NULL;
	if (envp)
		*envp = va_arg(ap, char **);
	return 0;
}

GS_EXPORT int execl(const char *path, const char *arg0, ...)
{
	char *argv[ARGS_MAX + 1];
	va_list ap;
	va_start(ap, arg0);
	int r = collect(arg0, ap, argv, NULL);
	va_end(ap);
	return r ? -1 : execv(path, argv);
}

GS_EXPORT int execlp(const char *file, const char *arg0, ...)
{
	char *argv[ARGS_MAX + 1];
	va_list ap;
	va_start(ap, arg0);
	int r = collect(arg0, ap, argv, NULL);
	va_end(ap);
	return r ? -1 : execvp(file, argv);
}

GS_EXPORT int execle(const char *path, const char *arg0, ...)
{
	char *argv[ARGS_MAX + 1], **envp;
	va_list ap;
	va_start(ap, arg0);
	int r = collect(arg0, ap, argv, &envp);
	va_end(ap);
	return r ? -1 : execve(path, argv, envp);
}

/*
 * signal_first_hub_altstack — a process's first greened call made by a
 * signal handler on a small alternate stack stays on that stack.
 *
 * Under the shim the first greened call of an OS thread makes its hub;
 * when that call is made by an SA_ONSTACK handler (CPython runs every
 * Python signal handler so, on faulthandler's alternate stack of a few
 * pages), the hub is made there.  The handler here writes to a pipe, as
 * CPython's does for set_wakeup_fd; the alternate stack (16 KiB) sits
 * between two guard zones of a known pattern, checked afterwards: a hub
 * made with a deep frame wrote below the stack into the heap (CPython
 * crashed in its next garbage collection).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define ALT (16 * 1024)
#define ZONE (64 * 1024)

static int fds[2];

static void on_usr1(int sig)
{
	if (write(fds[1], "w", 1) != 1)
		_exit(3);
}

static int intact(const unsigned char *z)
{
	for (size_t i = 0; i < ZONE; i++)
		if (z[i] != 0xa5)
			return 0;
	return 1;
}

int main(void)
{
	unsigned char *mem = malloc(ZONE + ALT + ZONE);
	if (!mem)
		die("malloc");
	memset(mem, 0xa5, ZONE + ALT + ZONE);
	stack_t ss = { .ss_sp = mem + ZONE, .ss_size = ALT };
	if (sigaltstack(&ss, NULL) != 0)
		die("sigaltstack");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	if (pipe(fds) != 0)
		die("pipe");
	raise(SIGUSR1);
	char c = 0;
	ssize_t n = read(fds[0], &c, 1);
	printf("handler wrote %zd '%c'; below the alternate stack intact: %s, above: %s\n", n,
	       n == 1 ? c : '-', yesno(intact(mem)), yesno(intact(mem + ZONE + ALT)));
	return 0;
}

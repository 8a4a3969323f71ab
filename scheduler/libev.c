/* libev, linked into the shim as a private copy.
 *
 * The scheduler's loops are libev's, built from the system's libev.a
 * (the Makefile takes its ev.o): no DT_NEEDED on libev.so.4, no dlopen
 * when the first hub is made (that dlopen was a third of the cost of a
 * lone program's first wait), and no name of libev's is exported, so a
 * program that links libev itself keeps its own, as natively.  libev's
 * calls to libc (read, epoll_wait, sigprocmask, ...) go through the
 * shim's PLT to the global scope, to the shim's interposers first, as
 * they did when libev was a library of its own.
 *
 * The one libc variable libev names, stderr (its out-of-memory message
 * before it aborts), is renamed in that object to gs__libev_stderr: code
 * compiled as position-independent executable code reaches a variable
 * directly, which a shared object cannot do for one of libc's.  It is
 * set before any loop exists. */
#include <stdio.h>

#include "internal.h"

FILE *gs__libev_stderr;

__attribute__((constructor)) static void libev_stderr(void)
{
	gs__libev_stderr = stderr;
}

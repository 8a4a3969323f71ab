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
 * directly, which a shared object cannot do for one of libc's.  It
 * points at libc's standard error stream from the start (a relocation,
 * no constructor whose order could matter); a program that assigns
 * stderr another stream does not move it. */
#include <stdio.h>

#include "internal.h"

extern FILE _IO_2_1_stderr_; /* libc's stream behind stderr (exported, GLIBC_2.2.5) */
FILE *gs__libev_stderr = &_IO_2_1_stderr_;

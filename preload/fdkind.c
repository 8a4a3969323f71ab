/* The per-fd kind table (fdkind.h): one byte per fd number, in chunks
 * allocated on first use so that a process with few fds pays a few KiB.
 * Bytes are read and written with relaxed atomics: a race between two
 * threads classifying the same fd writes the same value. */
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "fdkind.h"
#include "gs.h"
#include "rawsys.h"

#define CHUNK_BITS 12
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define CHUNKS 256 /* fds below 1M; above, kinds are looked up each time */

static _Atomic unsigned char *_Atomic chunks[CHUNKS];

static _Atomic unsigned char *entry(int fd, int create)
{
	if (fd < 0 || (unsigned)fd >= CHUNK_SIZE * CHUNKS)
		return NULL;
	_Atomic unsigned char *c = atomic_load_explicit(&chunks[fd >> CHUNK_BITS], memory_order_acquire);
	if (!c && create) {
		_Atomic unsigned char *fresh = calloc(CHUNK_SIZE, 1);
		if (!fresh)
			return NULL;
		if (atomic_compare_exchange_strong(&chunks[fd >> CHUNK_BITS], &c, fresh))
			c = fresh;
		else
			free((void *)fresh);
	}
	return c ? &c[fd & (CHUNK_SIZE - 1)] : NULL;
}

static int classify(int fd)
{
	struct stat st;
	if (gs__sys(SYS_fstat, fd, (long)&st, 0, 0, 0, 0) < 0)
		return GS_FDK_FILE; /* EBADF and friends: the real call reports them */
	switch (st.st_mode & S_IFMT) {
	case S_IFSOCK:
		return GS_FDK_SOCKET;
	case S_IFIFO:
	case 0: /* anonymous inodes: eventfd, timerfd, signalfd, pidfd, epoll */
		return GS_FDK_NOWAIT;
	case S_IFCHR:
		return GS_FDK_POLLED;
	default:
		return GS_FDK_FILE;
	}
}

int gs_fd_kind(int fd)
{
	_Atomic unsigned char *e = entry(fd, 1);
	int k = e ? atomic_load_explicit(e, memory_order_relaxed) : GS_FDK_UNKNOWN;
	if (gs_likely(k != GS_FDK_UNKNOWN))
		return k;
	k = classify(fd);
	/* A bad fd is not remembered: the number may be opened later. */
	if (e && gs__sys(SYS_fcntl, fd, 1 /* F_GETFD */, 0, 0, 0, 0) >= 0)
		atomic_store_explicit(e, (unsigned char)k, memory_order_relaxed);
	return k;
}

void gs_fd_set_kind(int fd, int kind)
{
	_Atomic unsigned char *e = entry(fd, 1);
	if (e)
		atomic_store_explicit(e, (unsigned char)kind, memory_order_relaxed);
}

void gs_fd_forget(int fd)
{
	_Atomic unsigned char *e = entry(fd, 0);
	if (e)
		atomic_store_explicit(e, GS_FDK_UNKNOWN, memory_order_relaxed);
}

void gs_fd_forget_range(unsigned lo, unsigned hi)
{
	if (hi >= CHUNK_SIZE * CHUNKS)
		hi = CHUNK_SIZE * CHUNKS - 1;
	for (unsigned fd = lo; fd <= hi; fd++) {
		if (!atomic_load_explicit(&chunks[fd >> CHUNK_BITS], memory_order_relaxed)) {
			fd |= CHUNK_SIZE - 1; /* skip the whole absent chunk */
			continue;
		}
		gs_fd_forget((int)fd);
	}
}

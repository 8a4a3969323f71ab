/* The per-fd table (fdkind.h): one word per fd number, in chunks allocated
 * on first use so that a process with few fds pays a few KiB.  A word is
 * the kind (KIND_MASK), the "verified blocking" bits, and the epoch those
 * bits were verified in.  Words are read and written with relaxed atomics:
 * a race between two threads can only lose a verified bit (which costs the
 * next wait two system calls), never invent one. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "fdkind.h"
#include "gs.h"
#include "rawsys.h"

#define CHUNK_BITS 12
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define CHUNK_BYTES (CHUNK_SIZE * sizeof(unsigned))
#define CHUNKS 256 /* fds below 1M; above, kinds are looked up each time */

#define KIND_MASK 7u
#define EPOCH_SHIFT 6

static _Atomic unsigned *_Atomic chunks[CHUNKS];
static _Atomic unsigned epoch;

static _Atomic unsigned *entry(int fd, int create)
{
	if (fd < 0 || (unsigned)fd >= CHUNK_SIZE * CHUNKS)
		return NULL;
	_Atomic unsigned *c = atomic_load_explicit(&chunks[fd >> CHUNK_BITS], memory_order_acquire);
	if (!c && create) {
		/* Mapped, not malloc'ed: the program's malloc may itself open
		 * and read files (jemalloc does, through syscall(2)) while it
		 * cannot be entered again. */
		long p = gs__sys(SYS_mmap, 0, CHUNK_BYTES, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p < 0 && p > -4096)
			return NULL;
		_Atomic unsigned *fresh = (_Atomic unsigned *)p;
		if (atomic_compare_exchange_strong(&chunks[fd >> CHUNK_BITS], &c, fresh))
			c = fresh;
		else
			gs__sys(SYS_munmap, p, CHUNK_BYTES, 0, 0, 0, 0);
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

/* Classifies fd into its entry e (may be NULL), keeping GS_FDV_OWN: an fd
 * made here with its kind left to be learnt, or learnt again, is still
 * ours.  A bad fd is not remembered: the number may be opened later. */
static int learn(int fd, _Atomic unsigned *e)
{
	int k = classify(fd);
	if (!e)
		return k;
	unsigned own = atomic_load_explicit(e, memory_order_relaxed) & GS_FDV_OWN;
	if (gs__sys(SYS_fcntl, fd, 1 /* F_GETFD */, 0, 0, 0, 0) >= 0)
		atomic_store_explicit(e, (unsigned)k | own, memory_order_relaxed);
	else
		atomic_store_explicit(e, GS_FDK_UNKNOWN, memory_order_relaxed);
	return k;
}

int gs_fd_kind(int fd)
{
	_Atomic unsigned *e = entry(fd, 1);
	int k = e ? (int)(atomic_load_explicit(e, memory_order_relaxed) & KIND_MASK) : GS_FDK_UNKNOWN;
	if (gs_likely(k != GS_FDK_UNKNOWN))
		return k;
	return learn(fd, e);
}

void gs_fd_set_kind(int fd, int kind)
{
	_Atomic unsigned *e = entry(fd, 1);
	if (e) /* the same file description: what else is known stays */
		atomic_store_explicit(e, (atomic_load_explicit(e, memory_order_relaxed) & ~KIND_MASK) |
					  (unsigned)kind,
				      memory_order_relaxed);
}

int gs_fd_relearn(int fd)
{
	return learn(fd, entry(fd, 0));
}

int gs_fd_verified(int fd, unsigned bit)
{
	_Atomic unsigned *e = entry(fd, 0);
	if (!e)
		return 0;
	unsigned v = atomic_load_explicit(e, memory_order_relaxed);
	return (v & bit) && (v >> EPOCH_SHIFT) == (atomic_load_explicit(&epoch, memory_order_relaxed) &
						  (~0u >> EPOCH_SHIFT));
}

void gs_fd_created(int fd, int kind)
{
	_Atomic unsigned *e = entry(fd, 1);
	if (e)
		atomic_store_explicit(e, (unsigned)kind | GS_FDV_OWN, memory_order_relaxed);
}

void gs_fd_duplicated(int old, int fd)
{
	_Atomic unsigned *from = entry(old, 0), *to = entry(fd, 1);
	if (to)
		atomic_store_explicit(to, from ? atomic_load_explicit(from, memory_order_relaxed) & GS_FDV_OWN : 0,
				      memory_order_relaxed);
}

int gs_fd_owned(int fd)
{
	_Atomic unsigned *e = entry(fd, 0);
	return e && (atomic_load_explicit(e, memory_order_relaxed) & GS_FDV_OWN);
}

unsigned gs_fd_epoch(void)
{
	return atomic_load_explicit(&epoch, memory_order_acquire) & (~0u >> EPOCH_SHIFT);
}

void gs_fd_set_verified(int fd, unsigned bit, unsigned seen)
{
	_Atomic unsigned *e = entry(fd, 0);
	if (!e)
		return;
	unsigned v = atomic_load_explicit(e, memory_order_relaxed);
	if (!(v & GS_FDV_OWN))
		return; /* maybe shared with another process: look each time */
	unsigned now = gs_fd_epoch();
	if (now != seen)
		return;
	unsigned bits = (v >> EPOCH_SHIFT) == now ? v & (GS_FDV_READ | GS_FDV_WRITE) : 0;
	atomic_store_explicit(e, (v & KIND_MASK) | GS_FDV_OWN | bits | bit | (now << EPOCH_SHIFT),
			      memory_order_relaxed);
}

void gs_fd_flags_changed(void)
{
	atomic_fetch_add_explicit(&epoch, 1, memory_order_relaxed);
}

void gs_fd_forget(int fd)
{
	_Atomic unsigned *e = entry(fd, 0);
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

/* After a fork or a spawn, parent and child share every open file
 * description: none is ours alone any more. */
void gs_fd_shared(int fd)
{
	_Atomic unsigned *e = entry(fd, 0);
	if (e)
		atomic_store_explicit(e, atomic_load_explicit(e, memory_order_relaxed) & KIND_MASK,
				      memory_order_relaxed);
}

void gs_fd_shared_all(void)
{
	for (unsigned c = 0; c < CHUNKS; c++) {
		_Atomic unsigned *chunk = atomic_load_explicit(&chunks[c], memory_order_relaxed);
		if (!chunk)
			continue;
		for (unsigned i = 0; i < CHUNK_SIZE; i++) {
			unsigned v = atomic_load_explicit(&chunk[i], memory_order_relaxed);
			if (v & GS_FDV_OWN)
				atomic_store_explicit(&chunk[i], v & KIND_MASK, memory_order_relaxed);
		}
	}
}

void gs_fd_table_init(void)
{
	pthread_atfork(NULL, gs_fd_shared_all, gs_fd_shared_all);
}

/* The per-fd table (fdkind.h): one word per fd number, in chunks allocated
 * on first use so that a process with few fds pays a few tens of KiB.  A
 * word is the kind (KIND_MASK), the "verified blocking" bits, GS_FDV_OWN
 * and GS_FDV_MADE, the epoch those bits were verified in, and the family's
 * leak count when the number was made (BIRTH).  Words are read and written
 * with relaxed atomics: a race between two threads can only lose a
 * verified bit (which costs the next wait a system call), never invent
 * one.
 *
 * The family.  A description this process made is shared, after a fork,
 * with its children (and theirs): processes that run this same shim and
 * share the page below, made before any fork.  Every F_SETFL, FIONBIO and
 * socket-timeout change that passes through any of them moves the page's
 * epoch, so a blocking mode verified in one of them holds in all until
 * then.  A description leaves the family when it is sent with SCM_RIGHTS,
 * or a family member starts a program (exec, posix_spawn, popen, system,
 * vfork): its holders there change flags without telling us.  Each such
 * leak moves the page's leak count, and a shared description is vouched
 * for only while the count is the one it was made under (a leak after
 * its birth may have taken it out).  Conservative: a leak ends the
 * verification of every description that existed, in every member. */
#include <pthread.h>
#include <stdint.h>
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
#define CHUNK_BYTES (CHUNK_SIZE * sizeof(uint64_t))
#define CHUNKS 256 /* fds below 1M; above, kinds are looked up each time */

#define KIND_MASK 7u
#define EPOCH_SHIFT 8
#define BIRTH_SHIFT 36
#define COUNT_MASK ((1u << 28) - 1) /* epochs and leak counts: 28 bits kept */

static _Atomic uint64_t *_Atomic chunks[CHUNKS];

/* Shared by the family (MAP_SHARED, inherited by fork); a process-private
 * stand-in if it cannot be mapped, with no family (fork_shared: 0). */
struct family {
	_Atomic unsigned epoch; /* flag changes anywhere in the family */
	_Atomic unsigned leaks; /* descriptions gone out of the family */
};
static struct family private_family, *family = &private_family;
static int fork_shared;

__attribute__((constructor)) static void family_init(void)
{
	long p = gs__sys(SYS_mmap, 0, sizeof(struct family), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p < 0 && p > -4096)
		return;
	family = (struct family *)p;
	fork_shared = 1;
}

static unsigned leaks_now(void)
{
	return atomic_load(&family->leaks) & COUNT_MASK;
}

static uint64_t birth_of(uint64_t v)
{
	return (v >> BIRTH_SHIFT) & COUNT_MASK;
}

static _Atomic uint64_t *entry(int fd, int create)
{
	if (fd < 0 || (unsigned)fd >= CHUNK_SIZE * CHUNKS)
		return NULL;
	_Atomic uint64_t *c = atomic_load_explicit(&chunks[fd >> CHUNK_BITS], memory_order_acquire);
	if (!c && create) {
		/* Mapped, not malloc'ed: the program's malloc may itself open
		 * and read files (jemalloc does, through syscall(2)) while it
		 * cannot be entered again. */
		long p = gs__sys(SYS_mmap, 0, CHUNK_BYTES, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p < 0 && p > -4096)
			return NULL;
		_Atomic uint64_t *fresh = (_Atomic uint64_t *)p;
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

/* Classifies fd into its entry e (may be NULL), keeping GS_FDV_OWN,
 * GS_FDV_MADE and the birth: an fd made here with its kind left to be
 * learnt, or learnt again, is still the one made.  A bad fd is not
 * remembered: the number may be opened later. */
static int learn(int fd, _Atomic uint64_t *e)
{
	int k = classify(fd);
	if (!e)
		return k;
	uint64_t keep = atomic_load_explicit(e, memory_order_relaxed) &
			(GS_FDV_OWN | GS_FDV_MADE | ((uint64_t)COUNT_MASK << BIRTH_SHIFT));
	if (gs__sys(SYS_fcntl, fd, 1 /* F_GETFD */, 0, 0, 0, 0) >= 0)
		atomic_store_explicit(e, (uint64_t)k | keep, memory_order_relaxed);
	else
		atomic_store_explicit(e, GS_FDK_UNKNOWN, memory_order_relaxed);
	return k;
}

int gs_fd_kind(int fd)
{
	_Atomic uint64_t *e = entry(fd, 1);
	int k = e ? (int)(atomic_load_explicit(e, memory_order_relaxed) & KIND_MASK) : GS_FDK_UNKNOWN;
	if (gs_likely(k != GS_FDK_UNKNOWN))
		return k;
	return learn(fd, e);
}

void gs_fd_set_kind(int fd, int kind)
{
	_Atomic uint64_t *e = entry(fd, 1);
	if (e) /* the same file description: what else is known stays */
		atomic_store_explicit(e, (atomic_load_explicit(e, memory_order_relaxed) & ~(uint64_t)KIND_MASK) |
					  (unsigned)kind,
				      memory_order_relaxed);
}

int gs_fd_relearn(int fd)
{
	return learn(fd, entry(fd, 0));
}

/* The description is ours alone, or shared only within the family since
 * its birth (see the top). */
static int family_only(uint64_t v)
{
	return (v & GS_FDV_OWN) || (fork_shared && (v & GS_FDV_MADE) && birth_of(v) == leaks_now());
}

int gs_fd_verified(int fd, unsigned bit)
{
	_Atomic uint64_t *e = entry(fd, 0);
	if (!e)
		return 0;
	uint64_t v = atomic_load_explicit(e, memory_order_relaxed);
	return (v & bit) && ((v >> EPOCH_SHIFT) & COUNT_MASK) == gs_fd_epoch() && family_only(v);
}

/* A number handed out by one of our interposers. */
static uint64_t made_word(unsigned kind, uint64_t own)
{
	return (uint64_t)kind | own | GS_FDV_MADE | ((uint64_t)leaks_now() << BIRTH_SHIFT);
}

void gs_fd_created(int fd, int kind)
{
	_Atomic uint64_t *e = entry(fd, 1);
	if (e)
		atomic_store_explicit(e, made_word((unsigned)kind, GS_FDV_OWN), memory_order_relaxed);
}

/* The description is old's: ours alone when old's is, born when old's was
 * (a duplicate of an fd we did not make is of no family: not made). */
void gs_fd_duplicated(int old, int fd)
{
	_Atomic uint64_t *from = entry(old, 0), *to = entry(fd, 1);
	uint64_t v = from ? atomic_load_explicit(from, memory_order_relaxed) : 0;
	if (to)
		atomic_store_explicit(to, v & (GS_FDV_OWN | GS_FDV_MADE | ((uint64_t)COUNT_MASK << BIRTH_SHIFT)),
				      memory_order_relaxed);
}

int gs_fd_owned(int fd)
{
	_Atomic uint64_t *e = entry(fd, 0);
	return e && (atomic_load_explicit(e, memory_order_relaxed) & GS_FDV_OWN);
}

int gs_fd_made(int fd)
{
	_Atomic uint64_t *e = entry(fd, 0);
	return e && (atomic_load_explicit(e, memory_order_relaxed) & GS_FDV_MADE);
}

unsigned gs_fd_epoch(void)
{
	return atomic_load(&family->epoch) & COUNT_MASK;
}

void gs_fd_set_verified(int fd, unsigned bit, unsigned seen)
{
	_Atomic uint64_t *e = entry(fd, 0);
	if (!e)
		return;
	uint64_t v = atomic_load_explicit(e, memory_order_relaxed);
	if (!family_only(v))
		return; /* maybe held outside the family: look each time */
	unsigned now = gs_fd_epoch();
	if (now != seen)
		return;
	uint64_t bits = ((v >> EPOCH_SHIFT) & COUNT_MASK) == now ? v & (GS_FDV_READ | GS_FDV_WRITE) : 0;
	uint64_t keep = v & (KIND_MASK | GS_FDV_OWN | GS_FDV_MADE | ((uint64_t)COUNT_MASK << BIRTH_SHIFT));
	atomic_store_explicit(e, keep | bits | bit | ((uint64_t)now << EPOCH_SHIFT), memory_order_relaxed);
}

void gs_fd_flags_changed(void)
{
	atomic_fetch_add(&family->epoch, 1);
}

void gs_fd_forget(int fd)
{
	_Atomic uint64_t *e = entry(fd, 0);
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

/* Every fd's description is now shared with another process: none is
 * ours alone (fork: within the family, whose members keep telling each
 * other of flag changes, so what was verified stays so). */
GS_STARTUP static void none_ours_alone(void)
{
	for (unsigned c = 0; c < CHUNKS; c++) {
		_Atomic uint64_t *chunk = atomic_load_explicit(&chunks[c], memory_order_relaxed);
		if (!chunk)
			continue;
		for (unsigned i = 0; i < CHUNK_SIZE; i++) {
			uint64_t v = atomic_load_explicit(&chunk[i], memory_order_relaxed);
			if (v & GS_FDV_OWN)
				atomic_store_explicit(&chunk[i], v & ~(uint64_t)GS_FDV_OWN, memory_order_relaxed);
		}
	}
}

/* Whoever the descriptions went to may change their flags unseen: every
 * description that exists now is no longer vouched for (its birth is
 * behind the leak count from now on). */
GS_STARTUP void gs_fd_leaked(void)
{
	atomic_fetch_add(&family->leaks, 1);
}

void gs_fd_shared(int fd)
{
	gs_fd_leaked();
	_Atomic uint64_t *e = entry(fd, 0);
	if (e)
		atomic_store_explicit(e, atomic_load_explicit(e, memory_order_relaxed) & ~(uint64_t)GS_FDV_OWN,
				      memory_order_relaxed);
}

void gs_fd_shared_all(void)
{
	gs_fd_leaked();
	none_ours_alone();
}

/* In a fork child without a shared page (it could not be mapped), the
 * family is this process alone: the parent's fds are its and its
 * parent's, which change flags unseen. */
GS_STARTUP static void forked(void)
{
	none_ours_alone();
	if (!fork_shared)
		gs_fd_leaked();
}

void gs_fd_table_init(void)
{
	pthread_atfork(NULL, forked, forked);
}

/* Is an address in a private mapping (MAP_PRIVATE or anonymous private),
 * which no other process can see?  futex.c asks before greening a
 * "shared" FUTEX_WAIT: only then can no other process be the one to wake
 * it.
 *
 * The answer comes from /proc/self/maps and is kept, per mapping, in a
 * small cache.  Invariant: a cached answer is only used while no mapping
 * changed through us since it was read: every mmap, munmap, mremap, shmat
 * and shmdt libc exports passes through here and moves a generation
 * counter before and after the real call, and so do those numbers through
 * syscall(2) (a lookup that overlaps a change
 * stores an answer of the old generation, which is never used).  Mappings
 * made or removed inside libc (malloc's mmap, munmap and mremap) do not
 * move it; they make and remove private anonymous memory only, so an
 * address found in a cached private range stays private whatever malloc
 * does with it, unless the program itself maps something shared there,
 * which passes through us.  An address in no cached range is looked up
 * again.  (The nscd client maps its shared cache inside libc: no futex
 * lives there.)  Raw mmap system calls are not seen: see the
 * syscall-level greening. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>

#include "config.h"
#include "rawsys.h"
#include "real.h"
#include "syscalls.h"

#define CACHED 16

struct range {
	uintptr_t lo, hi;  /* [lo, hi) of one mapping */
	unsigned gen;      /* the generation it was read in */
	int is_private;    /* its perms say p */
};

static _Atomic unsigned generation = 1; /* 0 marks an empty slot */
static struct range cache[CACHED];
static unsigned next_slot;
static atomic_flag lock = ATOMIC_FLAG_INIT;

static void take(void)
{
	while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
		;
}

static void give(void)
{
	atomic_flag_clear_explicit(&lock, memory_order_release);
}

void gs_mappings_changing(void)
{
	atomic_fetch_add_explicit(&generation, 1, memory_order_acq_rel);
}

/* The mapping holding a, read from /proc/self/maps now: 1 found (*out
 * filled), 0 not mapped or unreadable.  Raw open/read into a stack
 * buffer: no stdio, no allocation, errno kept. */
static int read_mapping(uintptr_t a, struct range *out)
{
	int saved = errno, found = 0;
	long fd = gs__sys(SYS_openat, AT_FDCWD, (long)"/proc/self/maps", O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0) {
		errno = saved;
		return 0;
	}
	char buf[4096];
	size_t have = 0;
	for (;;) {
		long n = gs__sys(SYS_read, fd, (long)(buf + have), (long)(sizeof buf - have - 1), 0, 0, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = 0;
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n'))) {
			*nl = 0;
			char *end;
			unsigned long lo = strtoul(line, &end, 16), hi = 0;
			if (*end == '-')
				hi = strtoul(end + 1, &end, 16);
			if (a >= lo && a < hi) { /* "lo-hi perms ...": perms[3] is p or s */
				out->lo = lo;
				out->hi = hi;
				out->is_private = end[0] == ' ' && end[4] == 'p';
				found = 1;
				goto done;
			}
			line = nl + 1;
		}
		have = strlen(line); /* keep the partial last line */
		memmove(buf, line, have);
	}
done:
	gs__sys(SYS_close, fd, 0, 0, 0, 0, 0);
	errno = saved;
	return found;
}

int gs_in_private_mapping(uintptr_t a)
{
	unsigned gen = atomic_load_explicit(&generation, memory_order_acquire);
	int answer = -1;
	take();
	for (int i = 0; i < CACHED && answer < 0; i++)
		if (cache[i].gen == gen && a >= cache[i].lo && a < cache[i].hi)
			answer = cache[i].is_private;
	give();
	if (answer >= 0)
		return answer;
	struct range r;
	if (!read_mapping(a, &r))
		return 0;
	r.gen = gen; /* read after gen was: a change meanwhile makes it unused */
	take();
	cache[next_slot] = r;
	next_slot = (next_slot + 1) % CACHED;
	give();
	return r.is_private;
}

/* ---- the changes we see ----------------------------------------------------- */

GS_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	gs_mappings_changing();
	void *p = GS_REAL(mmap)(addr, len, prot, flags, fd, off);
	gs_mappings_changing();
	return p;
}

GS_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
	__attribute__((alias("mmap")));

GS_EXPORT int munmap(void *addr, size_t len)
{
	gs_mappings_changing();
	int r = GS_REAL(munmap)(addr, len);
	gs_mappings_changing();
	return r;
}

GS_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	gs_mappings_changing();
	void *p = GS_REAL(mremap)(old, old_len, new_len, flags, new_addr);
	gs_mappings_changing();
	return p;
}

GS_EXPORT void *shmat(int id, const void *addr, int flags)
{
	gs_mappings_changing();
	void *p = GS_REAL(shmat)(id, addr, flags);
	gs_mappings_changing();
	return p;
}

GS_EXPORT int shmdt(const void *addr)
{
	gs_mappings_changing();
	int r = GS_REAL(shmdt)(addr);
	gs_mappings_changing();
	return r;
}

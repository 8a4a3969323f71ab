/* The futex system call, greened (thread subsystem).
 *
 * libstdc++ (C++20 semaphores, latches, barriers, atomic wait), abseil,
 * folly and others call syscall(SYS_futex, ...) directly.  In a green
 * thread, a process-private FUTEX_WAIT or FUTEX_WAIT_BITSET parks the
 * thread in the scheduler's parking lot; FUTEX_WAKE and FUTEX_WAKE_BITSET
 * wake parked waiters first and pass what is left of the count to the
 * kernel, for threads that sleep there (OS threads without a hub).
 * A "shared" wait (no FUTEX_PRIVATE_FLAG; libstdc++ 12 uses only those)
 * is greened too when the word lies in a private mapping, which no other
 * process can see (mappings.c).  A wake
 * always wakes our parked waiters first, then the kernel's.  Every other
 * futex operation, and waits on words in MAP_SHARED memory go to the
 * kernel untouched (syscall.c routes the call here).  Timeouts as the kernel's: relative on
 * CLOCK_MONOTONIC for FUTEX_WAIT, absolute for FUTEX_WAIT_BITSET, on
 * CLOCK_REALTIME with FUTEX_CLOCK_REALTIME. */
#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/single_threaded.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "real.h"
#include "syscalls.h"

static long fail(long err)
{
	errno = (int)err;
	return -1;
}

/* Waits that OS threads the shim did not green may end.  A wait the trap
 * took inside libc (a malloc arena's lock, stdio's, the loader's) may be on
 * a word that a real thread (the DNS pool, a thread libc or the program
 * made without us) releases with a kernel FUTEX_WAKE, which parked green
 * waiters never see.  So while real threads exist, such a wait also ends
 * every RECHECK_NS and returns 0, as a spurious wake (every futex user
 * loops and looks at the word again); its own timeout still ends it with
 * ETIMEDOUT, never early. */
#define RECHECK_NS 1000000L

static int deadline_passed(const struct gs_deadline *d)
{
	struct timespec now;
	clock_gettime(d->clock, &now);
	return now.tv_sec > d->at.tv_sec || (now.tv_sec == d->at.tv_sec && now.tv_nsec >= d->at.tv_nsec);
}

static int futex_wait_rechecking(_Atomic int *addr, int val, unsigned bitset,
				 const struct gs_deadline *user, int interruptible)
{
	struct gs_deadline cap;
	struct timespec rel = { 0, RECHECK_NS };
	gs_deadline_in(&cap, &rel);
	if (user && user->clock == CLOCK_MONOTONIC &&
	    (user->at.tv_sec < cap.at.tv_sec ||
	     (user->at.tv_sec == cap.at.tv_sec && user->at.tv_nsec <= cap.at.tv_nsec)))
		return gs_futex_wait(addr, val, bitset, user, interruptible); /* ends first */
	int r = gs_futex_wait(addr, val, bitset, &cap, interruptible);
	if (r != -ETIMEDOUT)
		return r;
	if (user && deadline_passed(user))
		return -ETIMEDOUT;
	return 0; /* a spurious wake: the caller looks at the word again */
}

/* -1 when this call is not ours to green. */
long gs_futex_syscall(long *a, int *handled, int recheck)
{
	_Atomic int *addr = (_Atomic int *)a[0];
	int op = (int)a[1];
	int cmd = op & FUTEX_CMD_MASK;
	int val = (int)a[2];
	const struct timespec *ts = (const struct timespec *)a[3];
	unsigned bitset = (unsigned)a[5];
	*handled = 0;
	int private_op = op & FUTEX_PRIVATE_FLAG;
	switch (cmd) {
	case FUTEX_WAKE:
		bitset = FUTEX_BITSET_MATCH_ANY;
		/* fall through */
	case FUTEX_WAKE_BITSET: {
		if (bitset == 0)
			break; /* the kernel's EINVAL */
		if (val <= 0)
			break;
		int woken = gs_futex_wake(addr, val, bitset);
		*handled = 1;
		if (woken >= val)
			return woken;
		long more = GS_REAL(syscall)(SYS_futex, (long)addr, op, (long)(val - woken), 0L, 0L, a[5]);
		return woken + (more > 0 ? more : 0);
	}
	case FUTEX_WAIT:
		bitset = FUTEX_BITSET_MATCH_ANY;
		/* fall through */
	case FUTEX_WAIT_BITSET: {
		if (!gs_can_park() || ((uintptr_t)addr & 3) || bitset == 0)
			break;
		if (!private_op && !gs_in_private_mapping((uintptr_t)addr))
			break; /* really shared: another process may wake it */
		struct gs_deadline d, *dp = NULL;
		if (ts) {
			if (!gs_timespec_valid(ts) || ts->tv_sec < 0)
				break; /* the kernel's EINVAL */
			if (cmd == FUTEX_WAIT) {
				gs_deadline_in(&d, ts);
			} else {
				d.clock = (op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC;
				d.at = *ts;
			}
			dp = &d;
		}
		*handled = 1;
		/* Linux: an untimed wait restarts after an SA_RESTART handler, a
		 * timed one returns EINTR. */
		int intr = dp ? GS_INTR_ALWAYS : GS_INTR_UNLESS_RESTART;
		int r = recheck && !__libc_single_threaded
				? futex_wait_rechecking(addr, val, bitset, dp, intr)
				: gs_futex_wait(addr, val, bitset, dp, intr);
		return r ? fail(-r) : 0;
	}
	}
	return 0;
}


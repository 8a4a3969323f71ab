/* A parking lot for futex words: green threads that wait on an address
 * (the futex system call, made through libc's syscall()) park here
 * instead of in the kernel, which would block their whole OS thread.
 *
 * Waiters are hashed by address into BUCKETS FIFO queues, each with its
 * spinlock; a waiter carries its address and wake bitset.  As in the
 * kernel, the value check and the queueing happen under the bucket lock,
 * and a wake takes the same lock, so a wake between a thread's read of the
 * word and its sleep is never lost. */
#include <errno.h>
#include <stdint.h>

#include "internal.h"

#define BUCKETS 256

struct bucket {
	_Atomic int lock;
	struct gs_waitq q;
} __attribute__((aligned(64)));

static struct bucket buckets[BUCKETS];

struct futex_waiter {
	struct gs_waiter w; /* first: the queue holds &fw->w */
	const void *addr;
	unsigned bitset;
};

static struct bucket *bucket_of(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	return &buckets[((a >> 2) ^ (a >> 12)) % BUCKETS];
}

int gs_futex_wait(const _Atomic int *addr, int val, unsigned bitset, const struct gs_deadline *d,
		  int interruptible)
{
	struct bucket *b = bucket_of(addr);
	struct futex_waiter fw;
restart:
	gs_waiter_init(&fw.w);
	gs_waiter_describe(&fw.w, GS_PW_FUTEX, addr, 0);
	fw.addr = addr;
	fw.bitset = bitset;
	gs_spin_lock(&b->lock);
	if (atomic_load_explicit(addr, memory_order_acquire) != val) {
		gs_spin_unlock(&b->lock);
		return -EAGAIN;
	}
	gs_waitq_push(&b->q, &b->lock, &fw.w);
	gs_spin_unlock(&b->lock);
	int how = gs_wait(&fw.w, d, interruptible);
	if (how == GS_INTERRUPTED && fw.w.interrupted == 2)
		goto restart; /* as the kernel restarts FUTEX_WAIT after SA_RESTART */
	switch (how) {
	case GS_WOKEN:
		return 0;
	case GS_TIMEDOUT:
		return -ETIMEDOUT;
	default:
		return -EINTR;
	}
}

int gs_futex_wake(const void *addr, int n, unsigned bitset)
{
	struct bucket *b = bucket_of(addr);
	int woken = 0;
	if (!__atomic_load_n(&b->q.head, __ATOMIC_ACQUIRE))
		return 0;
	gs_spin_lock(&b->lock);
	struct gs_waiter *w = b->q.head;
	while (w && woken < n) {
		struct gs_waiter *next = w->next;
		struct futex_waiter *fw = (struct futex_waiter *)w;
		if (gs_waiter_ghost(w)) {
			gs_waitq_remove(&b->q, w);
		} else if (fw->addr == addr && (fw->bitset & bitset)) {
			gs_waitq_remove(&b->q, w);
			gs_waiter_wake(w, GS_WOKEN);
			woken++;
		}
		w = next;
	}
	gs_spin_unlock(&b->lock);
	return woken;
}

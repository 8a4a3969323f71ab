/* Unit tests of scheduler/: context switch, stacks, green threads, waits,
 * deadlines and keys, linked directly (no preload).  Results are recorded
 * inside green threads and asserted after join (DESIGN.md: a failing
 * cmocka assertion must not longjmp out of a green thread). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctx.h"
#include "gs.h"
#include "stack.h"

/* ---- context switch ----------------------------------------------------- */

static struct gs_ctx main_ctx, co_ctx;
static int co_steps;
static unsigned co_mxcsr;

static unsigned get_mxcsr(void)
{
	unsigned v = 0;
#if defined(__x86_64__)
	__asm__ volatile("stmxcsr %0" : "=m"(v));
#endif
	return v;
}

static void set_mxcsr(unsigned v)
{
#if defined(__x86_64__)
	__asm__ volatile("ldmxcsr %0" : : "m"(v));
#else
	(void)v;
#endif
}

static void co_body(void *arg)
{
	co_steps += *(int *)arg;
	co_mxcsr = get_mxcsr();
	set_mxcsr(0x1f80 | 0x6000); /* round toward zero in this context only */
	gs__ctx_switch(&co_ctx, &main_ctx);
	co_steps += 10;
	gs__ctx_switch(&co_ctx, &main_ctx);
	abort();
}

static void test_ctx_switch_runs_and_resumes(void **state)
{
	struct gs_stack s;
	assert_int_equal(gs__stack_alloc(&s, 64 * 1024, 4096), 0);
	int one = 1;
	unsigned before = get_mxcsr();
	gs__ctx_make(&co_ctx, (char *)s.lo + s.size, s.size, co_body, &one);
	gs__ctx_switch(&main_ctx, &co_ctx);
	assert_int_equal(co_steps, 1);
	assert_int_equal(co_mxcsr, before);     /* inherited from the creator */
	assert_int_equal(get_mxcsr(), before);  /* the other context's change stays there */
	gs__ctx_switch(&main_ctx, &co_ctx);
	assert_int_equal(co_steps, 11);
	gs__stack_free(&s);
}

/* ---- stacks ------------------------------------------------------------- */

static void test_stack_is_usable_and_pooled(void **state)
{
	struct gs_stack a, b;
	assert_int_equal(gs__stack_alloc(&a, 256 * 1024, 4096), 0);
	assert_true(a.size >= 256 * 1024);
	memset(a.lo, 0xab, a.size); /* the whole usable range is writable */
	void *lo = a.lo;
	gs__stack_free(&a);
	assert_int_equal(gs__stack_alloc(&b, 256 * 1024, 4096), 0);
	assert_ptr_equal(b.lo, lo); /* reused from the pool */
	gs__stack_free(&b);
}

static void test_stack_guard_faults(void **state)
{
	struct gs_stack s;
	assert_int_equal(gs__stack_alloc(&s, 64 * 1024, 4096), 0);
	assert_int_equal(s.kind, GS_STACK_GUARDED);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL); /* cmocka's own handler would catch it */
		volatile char *below = (char *)s.lo - 1;
		*below = 1; /* must fault */
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSEGV);
	gs__stack_free(&s);
}

/* ---- green threads ------------------------------------------------------ */

#define NLOG 64
static int order_log[NLOG], order_n;

static void *logger(void *arg)
{
	int id = (int)(intptr_t)arg;
	order_log[order_n++] = id;
	gs_yield();
	order_log[order_n++] = id + 100;
	return (void *)(intptr_t)(id * 2);
}

static struct gs_thread_attr default_attr(void)
{
	struct gs_thread_attr a = { .stacksize = 256 * 1024, .guardsize = 4096 };
	return a;
}

/* Create and start: the new thread runs at once, up to its first wait. */
static int spawn(struct gs_thread **t, const struct gs_thread_attr *a, void *(*fn)(void *), void *arg)
{
	int rc = gs_thread_create(t, a, fn, arg);
	if (rc == 0)
		gs_thread_start(*t);
	return rc;
}

static void test_threads_run_fifo_and_join(void **state)
{
	struct gs_thread_attr a = default_attr();
	struct gs_thread *t[3];
	order_n = 0;
	for (int i = 0; i < 3; i++)
		assert_int_equal(spawn(&t[i], &a, logger, (void *)(intptr_t)(i + 1)), 0);
	for (int i = 0; i < 3; i++) {
		void *r;
		assert_int_equal(gs_thread_join(t[i], &r, 0, NULL), 0);
		assert_int_equal((intptr_t)r, (i + 1) * 2);
	}
	int want[] = { 1, 2, 3, 101, 102, 103 };
	assert_int_equal(order_n, 6);
	assert_memory_equal(order_log, want, sizeof want);
}

static void *returns_quickly(void *arg)
{
	return arg;
}

static void test_join_errors(void **state)
{
	struct gs_thread_attr a = default_attr();
	struct gs_thread *t;
	assert_int_equal(gs_thread_join(gs_self(), NULL, 0, NULL), -EDEADLK);
	assert_int_equal(gs_thread_create(&t, &a, returns_quickly, NULL), 0);
	assert_int_equal(gs_thread_join(t, NULL, 1, NULL), -EBUSY); /* not started */
	gs_thread_start(t); /* runs to its end before we continue */
	assert_int_equal(gs_thread_join(t, NULL, 1, NULL), 0);
	a.detached = 1;
	assert_int_equal(gs_thread_create(&t, &a, returns_quickly, NULL), 0);
	assert_int_equal(gs_thread_join(t, NULL, 0, NULL), -EINVAL);
	gs_thread_start(t); /* ends and frees itself */
}

/* ---- waiting ------------------------------------------------------------ */

static _Atomic int qlock;
static struct gs_waitq q;
static int woken_order[8], woken_n;

static void *queue_waiter(void *arg)
{
	struct gs_waiter w;
	gs_waiter_init(&w);
	gs_spin_lock(&qlock);
	gs_waitq_push(&q, &qlock, &w);
	gs_spin_unlock(&qlock);
	int how = gs_wait(&w, NULL, 0);
	woken_order[woken_n++] = (int)(intptr_t)arg * (how == GS_WOKEN ? 1 : -1);
	return NULL;
}

static void test_waitq_wakes_in_fifo_order(void **state)
{
	struct gs_thread_attr a = default_attr();
	struct gs_thread *t[4];
	woken_n = 0;
	for (int i = 0; i < 4; i++)
		assert_int_equal(spawn(&t[i], &a, queue_waiter, (void *)(intptr_t)(i + 1)), 0);
	/* each ran up to its wait: all four are queued, in order */
	for (int i = 0; i < 4; i++) {
		gs_spin_lock(&qlock);
		struct gs_waiter *w = gs_waitq_pop(&q);
		assert_non_null(w);
		gs_waiter_wake(w, GS_WOKEN);
		gs_spin_unlock(&qlock);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(gs_thread_join(t[i], NULL, 0, NULL), 0);
	int want[] = { 1, 2, 3, 4 };
	assert_int_equal(woken_n, 4);
	assert_memory_equal(woken_order, want, sizeof want);
}

static long long now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void test_sleep_never_ends_early(void **state)
{
	static const clockid_t clocks[] = { CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME };
	for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
		struct gs_deadline d = { .clock = clocks[i] };
		clock_gettime(clocks[i], &d.at);
		d.at.tv_nsec += 20 * 1000000;
		if (d.at.tv_nsec >= 1000000000) {
			d.at.tv_sec++;
			d.at.tv_nsec -= 1000000000;
		}
		assert_int_equal(gs_sleep_until(&d), 0);
		long long at = d.at.tv_sec * 1000000000LL + d.at.tv_nsec;
		assert_true(now_ns(clocks[i]) >= at);
	}
}

static void test_timed_wait_times_out_and_leaves_queue(void **state)
{
	struct gs_waiter w;
	struct gs_deadline d;
	struct timespec rel = { 0, 5 * 1000000 };
	gs_deadline_in(&d, &rel);
	gs_waiter_init(&w);
	gs_spin_lock(&qlock);
	gs_waitq_push(&q, &qlock, &w);
	gs_spin_unlock(&qlock);
	assert_int_equal(gs_wait(&w, &d, 0), GS_TIMEDOUT);
	assert_null(q.head); /* the timeout took it out */
}

/* ---- fd waits -------------------------------------------------------------- */

static int fd_pipe[2];
static int fd_how[4];

static void *fd_reader(void *arg)
{
	int i = (int)(intptr_t)arg;
	fd_how[i] = gs_fd_wait(fd_pipe[0], GS_FD_READ, NULL, 0, NULL);
	return NULL;
}

/* Two threads wait on the same fd in the same direction: one write wakes
 * both; the wait does not end before the fd is ready. */
static void test_fd_wait_wakes_every_waiter_when_ready(void **state)
{
	struct gs_thread_attr a = default_attr();
	struct gs_thread *t[2];
	assert_int_equal(pipe(fd_pipe), 0);
	fd_how[0] = fd_how[1] = GS_WAITING;
	for (int i = 0; i < 2; i++)
		assert_int_equal(spawn(&t[i], &a, fd_reader, (void *)(intptr_t)i), 0);
	gs_yield();
	assert_int_equal(fd_how[0], GS_WAITING); /* nothing written yet */
	assert_int_equal(write(fd_pipe[1], "x", 1), 1);
	for (int i = 0; i < 2; i++)
		assert_int_equal(gs_thread_join(t[i], NULL, 0, NULL), 0);
	assert_int_equal(fd_how[0], GS_WOKEN);
	assert_int_equal(fd_how[1], GS_WOKEN);
	close(fd_pipe[0]);
	close(fd_pipe[1]);
}

/* gs_fd_closing ends the wait with GS_CLOSED; a deadline ends an idle one. */
static void test_fd_wait_closed_and_timed_out(void **state)
{
	struct gs_thread_attr a = default_attr();
	struct gs_thread *t;
	assert_int_equal(pipe(fd_pipe), 0);
	fd_how[0] = GS_WAITING;
	assert_int_equal(spawn(&t, &a, fd_reader, (void *)0), 0);
	gs_fd_closing(fd_pipe[0]);
	close(fd_pipe[0]);
	assert_int_equal(gs_thread_join(t, NULL, 0, NULL), 0);
	assert_int_equal(fd_how[0], GS_CLOSED);

	struct gs_deadline d;
	struct timespec rel = { 0, 5 * 1000000 };
	gs_deadline_in(&d, &rel);
	assert_int_equal(gs_fd_wait(fd_pipe[1] /* writable */, 0, &d, 0, NULL), GS_TIMEDOUT);
	assert_true(now_ns(CLOCK_MONOTONIC) >= d.at.tv_sec * 1000000000LL + d.at.tv_nsec);
	close(fd_pipe[1]);
}

/* ---- keys ---------------------------------------------------------------- */

static int dtor_calls;
static void count_dtor(void *v)
{
	dtor_calls += (int)(intptr_t)v;
}

static unsigned key;
static void *set_key(void *arg)
{
	gs_key_set(key, arg);
	return gs_key_get(key);
}

static void test_keys_are_per_thread_with_destructors(void **state)
{
	struct gs_thread_attr a = default_attr();
	assert_int_equal(gs_key_create(&key, count_dtor), 0);
	assert_int_equal(gs_key_set(key, (void *)1000), 0);
	struct gs_thread *t;
	void *r;
	assert_int_equal(spawn(&t, &a, set_key, (void *)7), 0);
	assert_int_equal(gs_thread_join(t, &r, 0, NULL), 0);
	assert_int_equal((intptr_t)r, 7);
	assert_int_equal(dtor_calls, 7);            /* ran at the thread's exit */
	assert_int_equal((intptr_t)gs_key_get(key), 1000); /* ours untouched */
	assert_int_equal(gs_key_delete(key), 0);
	assert_int_equal(gs_key_delete(key), -EINVAL);
	assert_null(gs_key_get(key));
	assert_int_equal(gs_key_set(key, (void *)1), -EINVAL);
}

/* ---- thread-local storage per green thread (tls.c) ------------------------ */

static __thread int tls_data = 5; /* .tdata */
static __thread int tls_bss;      /* .tbss */
static int tls_ok, tls_fresh;

static void *tls_worker(void *arg)
{
	int me = (int)(intptr_t)arg;
	if (tls_data == 5 && tls_bss == 0)
		tls_fresh++; /* a new thread, or a pooled TCB, starts from the image */
	tls_data = me;
	tls_bss = -me;
	errno = me;
	for (int i = 0; i < 3; i++)
		gs_yield(); /* every other worker runs meanwhile */
	if (tls_data == me && tls_bss == -me && errno == me)
		tls_ok++;
	return NULL;
}

static void test_tls_is_per_thread_and_fresh_when_reused(void **state)
{
	assert_true(gs_tls_per_thread());
	struct gs_thread_attr a = default_attr();
	tls_data = 77;
	for (int round = 0; round < 3; round++) { /* rounds 2 and 3 reuse TCBs */
		struct gs_thread *t[50];
		tls_ok = tls_fresh = 0;
		for (int i = 0; i < 50; i++)
			assert_int_equal(spawn(&t[i], &a, tls_worker, (void *)(intptr_t)(i + 1)), 0);
		for (int i = 0; i < 50; i++)
			assert_int_equal(gs_thread_join(t[i], NULL, 0, NULL), 0);
		assert_int_equal(tls_fresh, 50);
		assert_int_equal(tls_ok, 50);
	}
	assert_int_equal(tls_data, 77); /* the root's own copy untouched */
}

int main(void)
{
	/* As the preload does: each green thread gets TLS of its own. */
	gs_tls_request = 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctx_switch_runs_and_resumes),
		cmocka_unit_test(test_stack_is_usable_and_pooled),
		cmocka_unit_test(test_stack_guard_faults),
		cmocka_unit_test(test_threads_run_fifo_and_join),
		cmocka_unit_test(test_join_errors),
		cmocka_unit_test(test_waitq_wakes_in_fifo_order),
		cmocka_unit_test(test_sleep_never_ends_early),
		cmocka_unit_test(test_timed_wait_times_out_and_leaves_queue),
		cmocka_unit_test(test_keys_are_per_thread_with_destructors),
		cmocka_unit_test(test_fd_wait_wakes_every_waiter_when_ready),
		cmocka_unit_test(test_fd_wait_closed_and_timed_out),
		cmocka_unit_test(test_tls_is_per_thread_and_fresh_when_reused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

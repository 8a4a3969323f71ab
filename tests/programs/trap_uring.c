/*
 * trap_uring — liburing's io_uring_submit_and_wait(ring, 1), whose
 * io_uring_enter with a minimum completion count is liburing's own inline
 * system call (no libc function: the syscall trap takes it), on a read
 * from a pipe that another thread fills 150 ms later.  Natively only the
 * waiting thread waits; under the preload the wait parks the green thread
 * until the ring's fd polls readable, so the writer and a ticker run.
 * Then the same with IORING_ENTER_GETEVENTS through io_uring_wait_cqe
 * after a plain submit, and a wait interrupted by nothing but a NOP that
 * completes at once.
 */
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static _Atomic long ticks;
static _Atomic int stop;
static int fds[2];

static void *ticker(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		sleep_ms(5);
		atomic_fetch_add(&ticks, 1);
	}
	return NULL;
}

static void *late_writer(void *arg)
{
	(void)arg;
	sleep_ms(150);
	if (write(fds[1], "ring!", 5) != 5)
		die("write");
	return NULL;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct io_uring ring;
	int e = io_uring_queue_init(8, &ring, 0);
	if (e < 0) {
		fprintf(stderr, "io_uring_queue_init: %s\n", strerror(-e));
		return 1;
	}
	pthread_t t, w;
	must(pthread_create(&t, NULL, ticker, NULL), "pthread_create");
	if (pipe(fds))
		die("pipe");
	char buf[16] = { 0 };
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, fds[0], buf, sizeof buf - 1, 0);
	must(pthread_create(&w, NULL, late_writer, NULL), "pthread_create");
	long before = atomic_load(&ticks);
	int submitted = io_uring_submit_and_wait(&ring, 1);
	long during = atomic_load(&ticks) - before;
	struct io_uring_cqe *cqe;
	e = io_uring_peek_cqe(&ring, &cqe);
	printf("submit_and_wait: submitted %d, completion %s: res %d \"%s\", ticker ticked: %s\n",
	       submitted, e == 0 ? "there" : "missing", e == 0 ? cqe->res : 0, buf,
	       yesno(during >= 5));
	if (e == 0)
		io_uring_cqe_seen(&ring, cqe);
	must(pthread_join(w, NULL), "pthread_join");

	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	sqe->user_data = 7;
	submitted = io_uring_submit_and_wait(&ring, 1);
	e = io_uring_peek_cqe(&ring, &cqe);
	printf("a NOP: submitted %d, completion %s, user_data %llu\n", submitted,
	       e == 0 ? "there" : "missing", e == 0 ? (unsigned long long)cqe->user_data : 0ULL);
	if (e == 0)
		io_uring_cqe_seen(&ring, cqe);

	io_uring_queue_exit(&ring);
	atomic_store(&stop, 1);
	must(pthread_join(t, NULL), "pthread_join");
	return 0;
}

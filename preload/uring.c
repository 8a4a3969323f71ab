/* liburing's wait for a completion, greened (os subsystem).
 *
 * io_uring_wait_cqe() and its kin are inline in <liburing.h> and end in
 * the library's exported __io_uring_get_cqe(), whose io_uring_enter
 * system call with a minimum completion count blocks the OS thread (and
 * so every green thread on it: MariaDB's InnoDB with its default
 * io_uring AIO hangs at start-up, its completion thread waiting for
 * writes that other green threads never get to submit).  Here a green
 * thread asking for one completion submits without waiting, and while no
 * completion is there parks until the ring's fd polls readable (the
 * kernel signals POLLIN when the completion ring holds an entry), then
 * looks again.  Results and errors are liburing's own (0, -errno).
 *
 * Left to the library: waits for more than one completion, with a signal
 * mask, with a timeout (io_uring_wait_cqe_timeout goes through other
 * entry points), and io_uring_submit_and_wait. */
#if defined(__has_include) && __has_include(<liburing.h>)
#include <dlfcn.h>
#include <errno.h>
#include <liburing.h>

#include "config.h"

typedef int (*get_cqe_fn)(struct io_uring *, struct io_uring_cqe **, unsigned, unsigned, sigset_t *);

static get_cqe_fn real_get_cqe(void)
{
	static get_cqe_fn real;
	if (!real) {
		real = (get_cqe_fn)dlvsym(RTLD_NEXT, "__io_uring_get_cqe", "LIBURING_2.0");
		if (!real)
			real = (get_cqe_fn)dlsym(RTLD_NEXT, "__io_uring_get_cqe");
	}
	return real;
}

GS_EXPORT int __io_uring_get_cqe(struct io_uring *ring, struct io_uring_cqe **cqe_ptr, unsigned submit,
				 unsigned wait_nr, sigset_t *sigmask)
{
	get_cqe_fn real = real_get_cqe();
	if (!real)
		return -ENOSYS; /* only programs linked with liburing call this */
	if (wait_nr != 1 || sigmask || !gs_os_on() || !gs_can_park())
		return real(ring, cqe_ptr, submit, wait_nr, sigmask);
	for (;;) {
		int r = real(ring, cqe_ptr, submit, 0, NULL);
		if (r != -EAGAIN && r != -ETIME)
			return r; /* a completion (0), or liburing's error */
		submit = 0;   /* handed to the kernel by that call */
		int how = gs_fd_wait(ring->ring_fd, GS_FD_READ, NULL, GS_INTR_ALWAYS, NULL);
		if (how == GS_INTERRUPTED)
			return -EINTR; /* as io_uring_enter interrupted by a handler */
		if (how == GS_CLOSED)
			return -EBADF;
		if (how < 0) /* no hub to park on: wait as the library does */
			return real(ring, cqe_ptr, 0, wait_nr, NULL);
	}
}
#endif

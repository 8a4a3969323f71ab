/* What kind of file an fd is, as far as greening its blocking calls goes.
 *
 * Learned with one fstat on first use and kept per fd number; forgotten
 * when the program closes or replaces the fd through us (close, dup2,
 * dup3, close_range, fclose, freopen).  An fd closed and reopened inside
 * libc without passing through us keeps a stale kind until it is closed
 * through us: the README lists this. */
#ifndef GS_FDKIND_H
#define GS_FDKIND_H

enum gs_fd_kind {
	GS_FDK_UNKNOWN = 0, /* not looked at yet */
	GS_FDK_FILE,        /* regular file, directory, block device, or fstat
			     * failed: never waits, calls go straight through */
	GS_FDK_SOCKET,      /* socket: MSG_DONTWAIT attempts */
	GS_FDK_NOWAIT,      /* pipe, eventfd, timerfd, ...: RWF_NOWAIT attempts */
	GS_FDK_POLLED,      /* FIFO, tty, other device: no RWF_NOWAIT, so the
			     * call is made once poll says it will not block */
};

/* The fd's kind, classifying it if needed. */
int gs_fd_kind(int fd);
/* Records what the caller knows (a socket it just made, RWF_NOWAIT that
 * turned out unsupported). */
void gs_fd_set_kind(int fd, int kind);
/* The fd number no longer means what it meant. */
void gs_fd_forget(int fd);
void gs_fd_forget_range(unsigned lo, unsigned hi);

#endif

/* What kind of file an fd is, as far as greening its blocking calls goes,
 * and whether waiting on it was found to be what the program asks for.
 *
 * Learned with one fstat on first use and kept per fd number; forgotten
 * when the program closes or replaces the fd through us (close, dup2,
 * dup3, close_range, closefrom, fclose, freopen, closedir, syscall(2)),
 * and learnt anew when one of libc's fd-making functions hands the number
 * out again (fdmake.c).  A kind that is stale all the same (the number
 * closed and made again by raw system calls) heals itself: io.c. */
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
/* The kind as fstat says now (io.c suspects the cached one is stale).
 * The fd stays GS_FDV_OWN if it was: a number made again behind the shim
 * was made by this process too; its verified bits go. */
int gs_fd_relearn(int fd);
/* "A wait on this fd may block": the program's O_NONBLOCK is clear and the
 * socket has no SO_RCVTIMEO (GS_FDV_READ) / SO_SNDTIMEO (GS_FDV_WRITE),
 * as last looked up.  Remembered only for descriptions that nobody can
 * change behind our back: ours alone (GS_FDV_OWN: socket, accept, pipe,
 * ... made by this process since its last fork), or made by one of our
 * interposers (GS_FDV_MADE) and since shared only with fork children and
 * parents, which run this shim and tell each other of every change (the
 * family, fdkind.c).  Any other fd may share its file description with a
 * process that can change the flags at any time, so it is looked at on
 * every wait.  Valid until the fd is forgotten, or any fcntl F_SETFL,
 * ioctl FIONBIO or timeout setsockopt passes through any process of the
 * family (which may reach this fd's description through a dup or a
 * fork), or the description may have left the family (SCM_RIGHTS, exec,
 * spawn: gs_fd_shared, gs_fd_leaked): then every fd is looked at again. */
#define GS_FDV_READ 8u
#define GS_FDV_WRITE 16u
#define GS_FDV_OWN 32u
#define GS_FDV_MADE 64u
/* fd was made by this process since its last fork (GS_FDV_OWN). */
int gs_fd_owned(int fd);
/* fd's number was handed out by one of our interposers, in this process
 * or before a fork in its parent (GS_FDV_MADE): its kind was learnt for
 * that very file, and a close of it passes through us. */
int gs_fd_made(int fd);
/* fd was just made by this process (socket, accept, pipe, ...); kind
 * GS_FDK_UNKNOWN leaves it to be learnt on first use (fdmake.c). */
void gs_fd_created(int fd, int kind);
/* fd was just made as a duplicate of old (dup, F_DUPFD): the same file
 * description, so ours alone exactly when old's is; its kind is learnt on
 * first use (old's may be stale). */
void gs_fd_duplicated(int old, int fd);
/* Registers the fork handler that ends GS_FDV_OWN (first use). */
void gs_fd_table_init(void);
/* fd's description is now shared with another process (sent with
 * SCM_RIGHTS); every fd's is (a child was started without fork: spawn,
 * popen, system, which run no fork handler); every description may have
 * left the family (exec: the new program holds what is not close-on-exec). */
void gs_fd_shared(int fd);
void gs_fd_shared_all(void);
void gs_fd_leaked(void);
int gs_fd_verified(int fd, unsigned bit);
/* Records bit as verified in epoch, read before the flags were looked at:
 * if a change came meanwhile (the epoch moved), nothing is recorded. */
unsigned gs_fd_epoch(void);
void gs_fd_set_verified(int fd, unsigned bit, unsigned epoch);
void gs_fd_flags_changed(void);

/* The fd number no longer means what it meant. */
void gs_fd_forget(int fd);
void gs_fd_forget_range(unsigned lo, unsigned hi);

#endif

/* A green thread's thread id (tid.c), for syscall(2)'s interposer. */
#ifndef GS_TID_H
#define GS_TID_H

#include <sys/types.h>

/* gettid(): a virtual id for a green thread, the kernel's otherwise. */
pid_t gs_gettid(void);
/* tgkill (any_group 0) or tkill (1), virtual ids understood: 0 or -errno. */
int gs_tgkill(pid_t tgid, pid_t tid, int sig, int any_group);

/* syscall(2) numbers that take or give a thread id: *handled set when nr
 * is one of them and a virtual id was involved; the result as syscall(2)
 * returns it (-1 and errno). */
long gs_tid_syscall(long nr, const long *a, int *handled);

#endif

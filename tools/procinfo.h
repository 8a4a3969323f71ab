/* What /proc tells about another process's fds and memory. */
#ifndef GS_PROCINFO_H
#define GS_PROCINFO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Whether pid has ended: no such process, or a zombie not yet reaped
 * (kill(pid, 0) still succeeds on one). */
int gs_process_gone(int pid);

/* pid's real and effective uid (the Uid: line of /proc/PID/status); 0, or
 * -1 when it cannot be read (no such process). */
int gs_process_uids(int pid, uid_t *ruid, uid_t *euid);

/* "user www-data (uid 33)", or "uid 1234" for a uid with no name. */
char *gs_user_describe(uid_t uid, char *buf, size_t size);
/* The user's name, or its number when it has none. */
char *gs_user_name(uid_t uid, char *buf, size_t size);

/* What fd of pid is, in a word or a path: "pipe", "socket", "eventfd",
 * "timerfd", "epoll", "/dev/null", ... or "closed" (no such fd) or "?"
 * (not allowed to look). */
char *gs_fd_describe(int pid, int fd, char *buf, size_t size);

/* How much of the stack [lo, lo + size) pid has touched: present (or
 * swapped) pages counted from the top page down to the first page never
 * touched (a stack grows down, contiguously).  -1: cannot tell. */
int64_t gs_stack_touched(int pagemap_fd, uint64_t lo, uint64_t size);
/* /proc/PID/pagemap, to pass to gs_stack_touched; -1 if not allowed. */
int gs_pagemap_open(int pid);

#endif

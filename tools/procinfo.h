/* What /proc tells about another process's fds and memory. */
#ifndef GS_PROCINFO_H
#define GS_PROCINFO_H

#include <stddef.h>
#include <stdint.h>

/* Whether pid has ended: no such process, or a zombie not yet reaped
 * (kill(pid, 0) still succeeds on one). */
int gs_process_gone(int pid);

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

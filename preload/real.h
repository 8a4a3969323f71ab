/* The real libc functions behind every interposer: one table, each entry
 * filled once.
 *
 * Each entry is resolved with dlsym(RTLD_NEXT) (dlvsym where glibc keeps
 * an older version of the same name).  Tests can swap an entry to inject a
 * fault (SQLite's os_unix.c does the same).  Interposers are called before
 * any constructor of ours may have run (other libraries' constructors lock
 * mutexes), so each entry fills itself on first use (GS_REAL below). */
#ifndef GS_REAL_H
#define GS_REAL_H

#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <termios.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <pthread.h>
#include <grp.h>
#include <sched.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <signal.h>
#include <spawn.h>
#include <threads.h>
#include <time.h>
#include <wchar.h>

/* X(return type, name, parameter list, symbol version or NULL, or
 * GS_SYMBOL("sym") for a field named otherwise than its symbol) */
#define GS_SYMBOL(sym) "=" sym
#define GS_REAL_FUNCTIONS(X)                                                                    \
	X(int, nanosleep, (const struct timespec *, struct timespec *), NULL)                   \
	X(int, clock_nanosleep, (clockid_t, int, const struct timespec *, struct timespec *), NULL) \
	X(unsigned, sleep, (unsigned), NULL)                                                     \
	X(int, usleep, (useconds_t), NULL)                                                       \
	X(int, sched_yield, (void), NULL)                                                        \
	X(int, pthread_create, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *), NULL) \
	X(int, pthread_join, (pthread_t, void **), NULL)                                         \
	X(int, pthread_tryjoin_np, (pthread_t, void **), NULL)                                   \
	X(int, pthread_timedjoin_np, (pthread_t, void **, const struct timespec *), NULL)        \
	X(int, pthread_clockjoin_np, (pthread_t, void **, clockid_t, const struct timespec *), NULL) \
	X(int, pthread_detach, (pthread_t), NULL)                                                \
	X(void, pthread_exit, (void *), NULL)                                                    \
	X(pthread_t, pthread_self, (void), NULL)                                                 \
	X(int, pthread_equal, (pthread_t, pthread_t), NULL)                                      \
	X(int, pthread_once, (pthread_once_t *, void (*)(void)), NULL)                           \
	X(int, pthread_key_create, (pthread_key_t *, void (*)(void *)), NULL)                    \
	X(int, pthread_key_delete, (pthread_key_t), NULL)                                        \
	X(void *, pthread_getspecific, (pthread_key_t), NULL)                                    \
	X(int, pthread_setspecific, (pthread_key_t, const void *), NULL)                         \
	X(int, pthread_setname_np, (pthread_t, const char *), NULL)                              \
	X(int, pthread_getname_np, (pthread_t, char *, size_t), NULL)                            \
	X(int, pthread_getattr_np, (pthread_t, pthread_attr_t *), NULL)                          \
	X(int, pthread_setattr_default_np, (const pthread_attr_t *), NULL)                       \
	X(int, pthread_getcpuclockid, (pthread_t, clockid_t *), NULL)                            \
	X(int, pthread_kill, (pthread_t, int), NULL)                                             \
	X(int, raise, (int), NULL)                                                               \
	X(int, pthread_sigqueue, (pthread_t, int, const union sigval), NULL)                     \
	X(int, pthread_setschedparam, (pthread_t, int, const struct sched_param *), NULL)        \
	X(int, pthread_getschedparam, (pthread_t, int *, struct sched_param *), NULL)            \
	X(int, pthread_setschedprio, (pthread_t, int), NULL)                                     \
	X(int, pthread_setaffinity_np, (pthread_t, size_t, const cpu_set_t *), NULL)             \
	X(int, pthread_getaffinity_np, (pthread_t, size_t, cpu_set_t *), NULL)                   \
	X(int, pthread_cancel, (pthread_t), NULL)                                                \
	X(void, pthread_testcancel, (void), NULL)                                                \
	X(int, pthread_setcancelstate, (int, int *), NULL)                                       \
	X(int, pthread_setcanceltype, (int, int *), NULL)                                        \
	X(void, __pthread_register_cancel, (__pthread_unwind_buf_t *), NULL)                     \
	X(void, __pthread_unregister_cancel, (__pthread_unwind_buf_t *), NULL)                   \
	X(void, __pthread_unwind_next, (__pthread_unwind_buf_t *), NULL)                         \
	X(int, pthread_mutex_init, (pthread_mutex_t *, const pthread_mutexattr_t *), NULL)       \
	X(int, pthread_mutex_destroy, (pthread_mutex_t *), NULL)                                 \
	X(int, pthread_mutex_lock, (pthread_mutex_t *), NULL)                                    \
	X(int, pthread_mutex_trylock, (pthread_mutex_t *), NULL)                                 \
	X(int, pthread_mutex_timedlock, (pthread_mutex_t *, const struct timespec *), NULL)      \
	X(int, pthread_mutex_clocklock, (pthread_mutex_t *, clockid_t, const struct timespec *), NULL) \
	X(int, pthread_mutex_unlock, (pthread_mutex_t *), NULL)                                  \
	X(int, pthread_mutex_consistent, (pthread_mutex_t *), NULL)                              \
	X(int, pthread_mutex_getprioceiling, (const pthread_mutex_t *, int *), NULL)             \
	X(int, pthread_mutex_setprioceiling, (pthread_mutex_t *, int, int *), NULL)              \
	X(int, pthread_cond_init, (pthread_cond_t *, const pthread_condattr_t *), "GLIBC_2.3.2") \
	X(int, pthread_cond_destroy, (pthread_cond_t *), "GLIBC_2.3.2")                          \
	X(int, pthread_cond_wait, (pthread_cond_t *, pthread_mutex_t *), "GLIBC_2.3.2")          \
	X(int, pthread_cond_timedwait, (pthread_cond_t *, pthread_mutex_t *, const struct timespec *), "GLIBC_2.3.2") \
	X(int, pthread_cond_clockwait, (pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *), NULL) \
	X(int, pthread_cond_signal, (pthread_cond_t *), "GLIBC_2.3.2")                           \
	X(int, pthread_cond_broadcast, (pthread_cond_t *), "GLIBC_2.3.2")                        \
	X(int, pthread_rwlock_init, (pthread_rwlock_t *, const pthread_rwlockattr_t *), NULL)    \
	X(int, pthread_rwlock_destroy, (pthread_rwlock_t *), NULL)                               \
	X(int, pthread_rwlock_rdlock, (pthread_rwlock_t *), NULL)                                \
	X(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t *), NULL)                             \
	X(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t *, const struct timespec *), NULL)  \
	X(int, pthread_rwlock_clockrdlock, (pthread_rwlock_t *, clockid_t, const struct timespec *), NULL) \
	X(int, pthread_rwlock_wrlock, (pthread_rwlock_t *), NULL)                                \
	X(int, pthread_rwlock_trywrlock, (pthread_rwlock_t *), NULL)                             \
	X(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t *, const struct timespec *), NULL)  \
	X(int, pthread_rwlock_clockwrlock, (pthread_rwlock_t *, clockid_t, const struct timespec *), NULL) \
	X(int, pthread_rwlock_unlock, (pthread_rwlock_t *), NULL)                                \
	X(int, pthread_barrier_init, (pthread_barrier_t *, const pthread_barrierattr_t *, unsigned), NULL) \
	X(int, pthread_barrier_destroy, (pthread_barrier_t *), NULL)                             \
	X(int, pthread_barrier_wait, (pthread_barrier_t *), NULL)                                \
	X(int, pthread_spin_init, (pthread_spinlock_t *, int), NULL)                             \
	X(int, pthread_spin_destroy, (pthread_spinlock_t *), NULL)                               \
	X(int, pthread_spin_lock, (pthread_spinlock_t *), NULL)                                  \
	X(int, pthread_spin_trylock, (pthread_spinlock_t *), NULL)                               \
	X(int, pthread_spin_unlock, (pthread_spinlock_t *), NULL)                                \
	X(int, sem_init, (sem_t *, int, unsigned), "GLIBC_2.2.5")                                \
	X(int, sem_destroy, (sem_t *), "GLIBC_2.2.5")                                            \
	X(int, sem_wait, (sem_t *), "GLIBC_2.2.5")                                               \
	X(int, sem_trywait, (sem_t *), "GLIBC_2.2.5")                                            \
	X(int, sem_timedwait, (sem_t *, const struct timespec *), "GLIBC_2.2.5")                 \
	X(int, sem_clockwait, (sem_t *, clockid_t, const struct timespec *), NULL)               \
	X(int, sem_post, (sem_t *), "GLIBC_2.2.5")                                               \
	X(int, sem_getvalue, (sem_t *, int *), "GLIBC_2.2.5")                                    \
	X(int, thrd_create, (thrd_t *, thrd_start_t, void *), NULL)                              \
	X(int, thrd_join, (thrd_t, int *), NULL)                                                 \
	X(void, thrd_exit, (int), NULL)                                                          \
	X(int, thrd_detach, (thrd_t), NULL)                                                      \
	X(thrd_t, thrd_current, (void), NULL)                                                    \
	X(int, thrd_equal, (thrd_t, thrd_t), NULL)                                               \
	X(int, thrd_sleep, (const struct timespec *, struct timespec *), NULL)                   \
	X(void, thrd_yield, (void), NULL)                                                        \
	X(int, mtx_init, (mtx_t *, int), NULL)                                                   \
	X(int, mtx_lock, (mtx_t *), NULL)                                                        \
	X(int, mtx_timedlock, (mtx_t *__restrict, const struct timespec *__restrict), NULL)      \
	X(int, mtx_trylock, (mtx_t *), NULL)                                                     \
	X(int, mtx_unlock, (mtx_t *), NULL)                                                      \
	X(void, mtx_destroy, (mtx_t *), NULL)                                                    \
	X(int, cnd_init, (cnd_t *), NULL)                                                        \
	X(int, cnd_signal, (cnd_t *), NULL)                                                      \
	X(int, cnd_broadcast, (cnd_t *), NULL)                                                   \
	X(int, cnd_wait, (cnd_t *, mtx_t *), NULL)                                               \
	X(int, cnd_timedwait, (cnd_t *__restrict, mtx_t *__restrict, const struct timespec *__restrict), NULL) \
	X(void, cnd_destroy, (cnd_t *), NULL)                                                    \
	X(int, tss_create, (tss_t *, tss_dtor_t), NULL)                                          \
	X(void *, tss_get, (tss_t), NULL)                                                        \
	X(int, tss_set, (tss_t, void *), NULL)                                                   \
	X(void, tss_delete, (tss_t), NULL)                                                       \
	X(void, call_once, (once_flag *, void (*)(void)), NULL)                                  \
	X(long, syscall, (long, ...), NULL)                                                      \
	X(int, sigaction, (int, const struct sigaction *, struct sigaction *), NULL)             \
	X(int, pthread_sigmask, (int, const sigset_t *, sigset_t *), NULL)                       \
	X(int, sigprocmask, (int, const sigset_t *, sigset_t *), NULL)                           \
	X(int, sigpending, (sigset_t *), NULL)                                                   \
	X(__sighandler_t, signal, (int, __sighandler_t), NULL)                                   \
	X(__sighandler_t, sysv_signal, (int, __sighandler_t), NULL)                              \
	X(int, getaddrinfo, (const char *, const char *, const struct addrinfo *, struct addrinfo **), NULL) \
	X(int, getnameinfo, (const struct sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t, int), NULL) \
	X(struct hostent *, gethostbyname, (const char *), NULL)                                 \
	X(struct hostent *, gethostbyname2, (const char *, int), NULL)                           \
	X(int, gethostbyname_r, (const char *, struct hostent *, char *, size_t, struct hostent **, int *), NULL) \
	X(int, gethostbyname2_r, (const char *, int, struct hostent *, char *, size_t, struct hostent **, int *), NULL) \
	X(struct hostent *, gethostbyaddr, (const void *, socklen_t, int), NULL)                 \
	X(int, gethostbyaddr_r, (const void *, socklen_t, int, struct hostent *, char *, size_t, struct hostent **, int *), NULL) \
	GS_REAL_IO_FUNCTIONS(X)

/* fds made beyond sockets and pipes (fdmake.c), closedir (os.c), the calls
 * that change mappings (mappings.c), and spawns (spawn.c). */
#define GS_REAL_FDMAKE_FUNCTIONS(X)                                                             \
	X(int, open, (const char *, int, ...), NULL)                                             \
	X(int, open64, (const char *, int, ...), NULL)                                           \
	X(int, openat, (int, const char *, int, ...), NULL)                                      \
	X(int, openat64, (int, const char *, int, ...), NULL)                                    \
	X(int, __open_2, (const char *, int), NULL)                                              \
	X(int, __open64_2, (const char *, int), NULL)                                            \
	X(int, __openat_2, (int, const char *, int), NULL)                                       \
	X(int, __openat64_2, (int, const char *, int), NULL)                                     \
	X(int, creat, (const char *, mode_t), NULL)                                              \
	X(int, creat64, (const char *, mode_t), NULL)                                            \
	X(int, open_by_handle_at, (int, struct file_handle *, int), NULL)                        \
	X(int, dup, (int), NULL)                                                                 \
	X(int, eventfd, (unsigned, int), NULL)                                                   \
	X(int, signalfd, (int, const sigset_t *, int), NULL)                                     \
	X(int, timerfd_create, (clockid_t, int), NULL)                                           \
	X(int, epoll_create, (int), NULL)                                                        \
	X(int, epoll_create1, (int), NULL)                                                       \
	X(int, inotify_init, (void), NULL)                                                       \
	X(int, inotify_init1, (int), NULL)                                                       \
	X(int, fanotify_init, (unsigned, unsigned), NULL)                                        \
	X(int, memfd_create, (const char *, unsigned), NULL)                                     \
	X(int, pidfd_open, (pid_t, unsigned), NULL)                                              \
	X(int, pidfd_getfd, (int, int, unsigned), NULL)                                          \
	X(int, posix_openpt, (int), NULL)                                                        \
	X(int, getpt, (void), NULL)                                                              \
	X(int, openpty, (int *, int *, char *, const struct termios *, const struct winsize *), NULL) \
	X(int, mkstemp, (char *), NULL)                                                          \
	X(int, mkstemp64, (char *), NULL)                                                        \
	X(int, mkostemp, (char *, int), NULL)                                                    \
	X(int, mkostemp64, (char *, int), NULL)                                                  \
	X(int, mkstemps, (char *, int), NULL)                                                    \
	X(int, mkstemps64, (char *, int), NULL)                                                  \
	X(int, mkostemps, (char *, int, int), NULL)                                              \
	X(int, mkostemps64, (char *, int, int), NULL)                                            \
	X(FILE *, fopen, (const char *, const char *), NULL)                                     \
	X(FILE *, fopen64, (const char *, const char *), NULL)                                   \
	X(FILE *, tmpfile, (void), NULL)                                                         \
	X(FILE *, tmpfile64, (void), NULL)                                                       \
	X(FILE *, popen, (const char *, const char *), NULL)                                     \
	X(DIR *, opendir, (const char *), NULL)                                                  \
	X(int, closedir, (DIR *), NULL)                                                          \
	X(void *, mmap, (void *, size_t, int, int, int, off_t), NULL)                            \
	X(int, munmap, (void *, size_t), NULL)                                                   \
	X(void *, mremap, (void *, size_t, size_t, int, ...), NULL)                              \
	X(void *, shmat, (int, const void *, int), NULL)                                         \
	X(int, shmdt, (const void *), NULL)                                                      \
	X(int, posix_spawn, (pid_t *, const char *, const posix_spawn_file_actions_t *,           \
			     const posix_spawnattr_t *, char *const *, char *const *), NULL)        \
	X(int, posix_spawnp, (pid_t *, const char *, const posix_spawn_file_actions_t *,          \
			      const posix_spawnattr_t *, char *const *, char *const *), NULL)

/* The I/O subsystems: socket, os, select. */
#define GS_REAL_IO_FUNCTIONS(X)                                                                 \
	X(ssize_t, read, (int, void *, size_t), NULL)                                            \
	X(ssize_t, write, (int, const void *, size_t), NULL)                                     \
	X(ssize_t, sendfile, (int, int, off_t *, size_t), NULL)                                  \
	X(ssize_t, splice, (int, off_t *, int, off_t *, size_t, unsigned), NULL)                 \
	X(ssize_t, tee, (int, int, size_t, unsigned), NULL)                                      \
	X(ssize_t, copy_file_range, (int, off_t *, int, off_t *, size_t, unsigned), NULL)        \
	X(ssize_t, readv, (int, const struct iovec *, int), NULL)                                \
	X(ssize_t, writev, (int, const struct iovec *, int), NULL)                               \
	X(ssize_t, preadv2, (int, const struct iovec *, int, off_t, int), NULL)                  \
	X(ssize_t, pwritev2, (int, const struct iovec *, int, off_t, int), NULL)                 \
	X(int, close, (int), NULL)                                                               \
	X(int, close_range, (unsigned, unsigned, int), NULL)                                     \
	X(void, closefrom, (int), NULL)                                                          \
	X(int, dup2, (int, int), NULL)                                                           \
	X(int, dup3, (int, int, int), NULL)                                                      \
	X(int, fclose, (FILE *), NULL)                                                           \
	X(FILE *, freopen, (const char *, const char *, FILE *), NULL)                           \
	X(FILE *, freopen64, (const char *, const char *, FILE *), NULL)                         \
	X(int, pclose, (FILE *), NULL)                                                           \
	X(int, kill, (pid_t, int), NULL)                                                         \
	X(int, sched_setaffinity, (pid_t, size_t, const cpu_set_t *), NULL)                      \
	X(int, sched_getaffinity, (pid_t, size_t, cpu_set_t *), NULL)                            \
	X(int, sched_setscheduler, (pid_t, int, const struct sched_param *), NULL)               \
	X(int, sched_getscheduler, (pid_t), NULL)                                                \
	X(int, sched_setparam, (pid_t, const struct sched_param *), NULL)                        \
	X(int, sched_getparam, (pid_t, struct sched_param *), NULL)                              \
	X(int, setpriority, (__priority_which_t, id_t, int), NULL)                               \
	X(int, getpriority, (__priority_which_t, id_t), NULL)                                    \
	X(int, setuid, (uid_t), NULL)                                                            \
	X(int, setgid, (gid_t), NULL)                                                            \
	X(int, seteuid, (uid_t), NULL)                                                           \
	X(int, setegid, (gid_t), NULL)                                                           \
	X(int, setreuid, (uid_t, uid_t), NULL)                                                   \
	X(int, setregid, (gid_t, gid_t), NULL)                                                   \
	X(int, setresuid, (uid_t, uid_t, uid_t), NULL)                                           \
	X(int, setresgid, (gid_t, gid_t, gid_t), NULL)                                           \
	X(int, setgroups, (size_t, const gid_t *), NULL)                                         \
	X(void, flockfile, (FILE *), NULL)                                                       \
	X(void, funlockfile, (FILE *), NULL)                                                     \
	X(int, ftrylockfile, (FILE *), NULL)                                                     \
	X(int, vfprintf, (FILE *, const char *, va_list), NULL)                                  \
	X(int, __vfprintf_chk, (FILE *, int, const char *, va_list), NULL)                       \
	X(int, fputs, (const char *, FILE *), NULL)                                              \
	X(int, puts, (const char *), NULL)                                                       \
	X(int, fputc, (int, FILE *), NULL)                                                       \
	X(int, putc, (int, FILE *), NULL)                                                        \
	X(int, putchar, (int), NULL)                                                             \
	X(size_t, fwrite, (const void *, size_t, size_t, FILE *), NULL)                          \
	X(int, fflush, (FILE *), NULL)                                                           \
	X(int, fcloseall, (void), NULL)                                                          \
	X(long, ftell, (FILE *), NULL)                                                           \
	X(off_t, ftello, (FILE *), NULL)                                                         \
	X(off64_t, ftello64, (FILE *), NULL)                                                     \
	X(int, fseek, (FILE *, long, int), NULL)                                                 \
	X(int, fseeko, (FILE *, off_t, int), NULL)                                               \
	X(int, fseeko64, (FILE *, off64_t, int), NULL)                                           \
	X(int, fgetpos, (FILE *, fpos_t *), NULL)                                                \
	X(int, fsetpos, (FILE *, const fpos_t *), NULL)                                          \
	X(int, fgetpos64, (FILE *, fpos64_t *), NULL)                                            \
	X(int, fsetpos64, (FILE *, const fpos64_t *), NULL)                                      \
	X(int, setvbuf, (FILE *, char *, int, size_t), NULL)                                     \
	X(int, ungetc, (int, FILE *), NULL)                                                      \
	X(int, feof, (FILE *), NULL)                                                             \
	X(int, ferror, (FILE *), NULL)                                                           \
	X(int, fileno, (FILE *), NULL)                                                           \
	X(wint_t, fgetwc, (FILE *), NULL)                                                        \
	X(wint_t, getwc, (FILE *), NULL)                                                         \
	X(wint_t, fputwc, (wchar_t, FILE *), NULL)                                               \
	X(wint_t, putwc, (wchar_t, FILE *), NULL)                                                \
	X(wint_t, ungetwc, (wint_t, FILE *), NULL)                                               \
	X(wchar_t *, fgetws, (wchar_t *, int, FILE *), NULL)                                     \
	X(int, fputws, (const wchar_t *, FILE *), NULL)                                          \
	X(int, fwide, (FILE *, int), NULL)                                                       \
	X(int, vfwprintf, (FILE *, const wchar_t *, va_list), NULL)                              \
	X(wint_t, getwchar, (void), NULL)                                                        \
	X(wint_t, putwchar, (wchar_t), NULL)                                                     \
	X(void, rewind, (FILE *), NULL)                                                          \
	X(void, clearerr, (FILE *), NULL)                                                        \
	X(void, setbuf, (FILE *, char *), NULL)                                                  \
	X(void, setbuffer, (FILE *, char *, size_t), NULL)                                       \
	X(void, setlinebuf, (FILE *), NULL)                                                      \
	X(void, perror, (const char *), NULL)                                                    \
	X(void, psignal, (int, const char *), NULL)                                              \
	X(int, putw, (int, FILE *), NULL)                                                        \
	X(int, getw, (FILE *), NULL)                                                             \
	X(wchar_t *, __fgetws_chk, (wchar_t *, size_t, int, FILE *), NULL)                       \
	X(int, __vfwprintf_chk, (FILE *, int, const wchar_t *, va_list), NULL)                   \
	X(char *, __fgets_chk, (char *, size_t, int, FILE *), NULL)                              \
	X(size_t, __fread_chk, (void *, size_t, size_t, size_t, FILE *), NULL)                   \
	X(char *, __fgets_unlocked_chk, (char *, size_t, int, FILE *), NULL)                     \
	X(size_t, __fread_unlocked_chk, (void *, size_t, size_t, size_t, FILE *), NULL)          \
	X(void, vwarn, (const char *, va_list), NULL)                                            \
	X(void, vwarnx, (const char *, va_list), NULL)                                           \
	X(void, verr, (int, const char *, va_list), NULL)                                        \
	X(void, verrx, (int, const char *, va_list), NULL)                                       \
	X(char *, fgets, (char *, int, FILE *), NULL)                                            \
	X(char *, fgets_unlocked, (char *, int, FILE *), NULL)                                   \
	X(int, fgetc, (FILE *), NULL)                                                            \
	X(int, getc, (FILE *), NULL)                                                             \
	X(int, getchar, (void), NULL)                                                            \
	X(size_t, fread, (void *, size_t, size_t, FILE *), NULL)                                 \
	X(size_t, fread_unlocked, (void *, size_t, size_t, FILE *), NULL)                        \
	X(ssize_t, getdelim, (char **, size_t *, int, FILE *), NULL)                             \
	X(ssize_t, getline, (char **, size_t *, FILE *), NULL)                                   \
	X(ssize_t, __getdelim, (char **, size_t *, int, FILE *), NULL)                           \
	X(int, legacy_vfscanf, (FILE *, const char *, va_list), GS_SYMBOL("vfscanf"))            \
	X(int, c99_vfscanf, (FILE *, const char *, va_list), GS_SYMBOL("__isoc99_vfscanf"))      \
	X(int, sigtimedwait, (const sigset_t *, siginfo_t *, const struct timespec *), NULL)      \
	X(int, sigwaitinfo, (const sigset_t *, siginfo_t *), NULL)                               \
	X(int, sigwait, (const sigset_t *, int *), NULL)                                         \
	X(int, sigsuspend, (const sigset_t *), NULL)                                             \
	X(int, pause, (void), NULL)                                                              \
	X(int, system, (const char *), NULL)                                                     \
	X(int, execve, (const char *, char *const *, char *const *), NULL)                       \
	X(int, execv, (const char *, char *const *), NULL)                                       \
	X(int, execvp, (const char *, char *const *), NULL)                                      \
	X(int, execvpe, (const char *, char *const *, char *const *), NULL)                      \
	X(int, fexecve, (int, char *const *, char *const *), NULL)                               \
	X(void, _exit, (int), NULL)                                                              \
	X(void, _Exit, (int), NULL)                                                              \
	X(int, pipe, (int *), NULL)                                                              \
	X(int, pipe2, (int *, int), NULL)                                                        \
	GS_REAL_FDMAKE_FUNCTIONS(X)                                                              \
	X(int, fcntl, (int, int, ...), NULL)                                                     \
	X(int, fcntl64, (int, int, ...), NULL)                                                   \
	X(int, ioctl, (int, unsigned long, ...), NULL)                                           \
	X(int, setsockopt, (int, int, int, const void *, socklen_t), NULL)                       \
	X(int, socket, (int, int, int), NULL)                                                    \
	X(int, socketpair, (int, int, int, int *), NULL)                                         \
	X(int, accept, (int, struct sockaddr *, socklen_t *), NULL)                              \
	X(int, accept4, (int, struct sockaddr *, socklen_t *, int), NULL)                        \
	X(int, connect, (int, const struct sockaddr *, socklen_t), NULL)                         \
	X(ssize_t, send, (int, const void *, size_t, int), NULL)                                 \
	X(ssize_t, sendto, (int, const void *, size_t, int, const struct sockaddr *, socklen_t), NULL) \
	X(ssize_t, sendmsg, (int, const struct msghdr *, int), NULL)                             \
	X(int, sendmmsg, (int, struct mmsghdr *, unsigned, int), NULL)                           \
	X(ssize_t, recv, (int, void *, size_t, int), NULL)                                       \
	X(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *, socklen_t *), NULL)   \
	X(ssize_t, recvmsg, (int, struct msghdr *, int), NULL)                                   \
	X(int, recvmmsg, (int, struct mmsghdr *, unsigned, int, struct timespec *), NULL)        \
	X(int, poll, (struct pollfd *, nfds_t, int), NULL)                                       \
	X(int, ppoll, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *), NULL) \
	X(int, select, (int, fd_set *, fd_set *, fd_set *, struct timeval *), NULL)              \
	X(int, pselect, (int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *), NULL) \
	X(int, epoll_wait, (int, struct epoll_event *, int, int), NULL)                          \
	X(int, epoll_pwait, (int, struct epoll_event *, int, int, const sigset_t *), NULL)       \
	X(int, epoll_pwait2, (int, struct epoll_event *, int, const struct timespec *, const sigset_t *), NULL) \
	X(pid_t, waitpid, (pid_t, int *, int), NULL)                                             \
	X(pid_t, wait, (int *), NULL)                                                            \
	X(pid_t, wait3, (int *, int, struct rusage *), NULL)                                     \
	X(pid_t, wait4, (pid_t, int *, int, struct rusage *), NULL)                              \
	X(int, waitid, (idtype_t, id_t, siginfo_t *, int), NULL)

struct gs_real_table {
#define GS_REAL_FIELD(ret, name, params, version) ret(*name) params;
	GS_REAL_FUNCTIONS(GS_REAL_FIELD)
#undef GS_REAL_FIELD
};

extern struct gs_real_table gs_real;

/* libc's "buffer overflow detected" end, behind every _FORTIFY_SOURCE
 * __*_chk function we interpose (exported by libc, declared nowhere). */
extern void __chk_fail(void) __attribute__((noreturn));

/* Each entry's place in GS_REAL_FUNCTIONS: what gs__real_resolve takes. */
enum gs_real_index {
#define GS_REAL_INDEX(ret, name, params, version) GS_REAL_INDEX_##name,
	GS_REAL_FUNCTIONS(GS_REAL_INDEX)
#undef GS_REAL_INDEX
	GS_REAL_COUNT
};

/* Resolves one entry and returns it (real.c): the slow path of the macros
 * below, taken once per entry and process.  The first call of any entry
 * also runs gs_init(), as every interposer's first call did when the whole
 * table was filled at once. */
void *gs__real_resolve(enum gs_real_index i);

/* Resolves, once, every entry a signal handler, the syscall trap's handler
 * or a vfork child may call first (real.c): asked for before a handler is
 * installed other than through sigaction, signal or sysv_signal (whose
 * own resolution asks for it), and before a vfork. */
void gs_real_resolve_handler_set(void);

/* The real function, resolved on first use (real.c).  An interposer may
 * be called before our constructor has run (another library's
 * constructor: say libselinux's fopen and getline), and from several OS
 * threads at once: racing resolutions store the same pointer.  One load
 * and a predictable branch.
 *
 * Two ways to call it.  GS_REAL(name) is the shim calling libc on purpose:
 * where the syscall trap is on (scheduler/trap.c), the call runs with the
 * hub's selector at ALLOW, so libc's system calls inside it go straight to
 * the kernel, as they did before the trap existed (on x86_64 through a
 * stub per entry, real_allow.c, that loads the entry and jumps to
 * gs__allow_call).  GS_REAL_TRAPPED(name) calls the entry as the program
 * would: its system calls trap like the program's own, so a blocking one
 * parks the green thread (stdio writes, pclose's wait). */
void gs_init(void);
#define GS_REAL_TRAPPED(name)                                                              \
	({                                                                                 \
		__typeof__(gs_real.name) gs_real_fn_ =                                     \
			__atomic_load_n(&gs_real.name, __ATOMIC_RELAXED);                  \
		__builtin_expect(gs_real_fn_ != NULL, 1)                                   \
			? gs_real_fn_                                                      \
			: (__typeof__(gs_real_fn_))gs__real_resolve(GS_REAL_INDEX_##name); \
	})
#if defined(__x86_64__)
#define GS_ALLOW_STUB_DECL(ret, name, params, version) void gs__allow_##name(void);
GS_REAL_FUNCTIONS(GS_ALLOW_STUB_DECL)
#undef GS_ALLOW_STUB_DECL
/* The stub reads the entry again: it is resolved by then. */
#define GS_REAL(name) \
	((__typeof__(gs_real.name))((void)GS_REAL_TRAPPED(name), (void *)gs__allow_##name))
#else
#define GS_REAL(name) GS_REAL_TRAPPED(name)
#endif

#endif

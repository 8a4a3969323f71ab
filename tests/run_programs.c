/*
 * run_programs — runs the unmodified test programs of tests/programs/
 * natively and under the greenshim preload and compares what they do.
 *
 * usage: run_programs BUILDDIR [SRCDIR [FILTER]]
 *   BUILDDIR  holds libgreenshim.so and tests/programs/NAME
 *   SRCDIR    the programs' sources (default tests/programs); every NAME.c
 *             there must have an entry in the table below (but tls_dso*.c
 *             and *_lib.c, libraries test programs dlopen or link)
 *   FILTER    optional cmocka test filter, e.g. "mutex_*" (wildcards * ?)
 *
 * One cmocka test per (program, mode), all in the table `tests` below.
 * Modes:
 *   COMPARE          run natively, then under LD_PRELOAD=<lib>, then under
 *                    the preload with GREENSHIM_THREAD=0.  The native run
 *                    must exit with the entry's status (default 0); each
 *                    preload run must exit with the same status and print
 *                    byte-identical stdout.  stderr is not compared, only
 *                    shown when something fails.
 *   SHIM_ONLY        only under the preload (with the entry's env): exit 0
 *                    and stdout equal to the entry's expected text.  For
 *                    things that cannot run natively (100,000 threads).
 *   STDERR_CONTAINS  like SHIM_ONLY, and stderr must also contain a given
 *                    substring (the shim's warnings about bad env flags).
 *
 * Every run is a child in its own process group with a timeout (per entry,
 * default 20 s); on timeout the whole group gets SIGKILL and the test fails
 * naming the program and the run.  stdout and stderr go to unlinked temp
 * files, so a chatty program can never block on a full pipe.  Children
 * start with stdin from /dev/null, default signal dispositions, an empty
 * signal mask, and an environment stripped of LD_PRELOAD and every
 * GREENSHIM_* variable the runner inherited, so results do not depend on
 * the caller's shell; the entry's env (e.g. GREENSHIM_TIME=0) is added to
 * every run of that entry, native ones included.
 *
 * When a preload run's stdout differs from the native one, the runner runs
 * the program natively once more: if that differs too, the message says
 * the program is not deterministic (a test bug) rather than blaming the
 * shim.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

extern char **environ;

enum mode { M_COMPARE, M_SHIM_ONLY, M_STDERR_CONTAINS };

#define MAX_ENV 4
#define DEFAULT_TIMEOUT 20

struct entry {
	const char *prog;           /* tests/programs/<prog>.c */
	enum mode mode;
	int timeout;                /* seconds per run; 0: DEFAULT_TIMEOUT */
	int status;                 /* COMPARE: the native exit status */
	const char *env[MAX_ENV];   /* extra "NAME=value" for every run */
	const char *expect_out;     /* SHIM_ONLY, STDERR_CONTAINS: stdout */
	const char *stderr_has;     /* STDERR_CONTAINS: substring of stderr */
	int signal;                 /* SHIM_ONLY, STDERR_CONTAINS: the run must end by it (0: exit 0) */
};

static void run_entry(void **state);

#define ENTRY(p, label, ...)                                                                    \
	{                                                                                       \
		.name = p "/" label, .test_func = run_entry,                                    \
		.initial_state = &(struct entry){ .prog = p, __VA_ARGS__ },                     \
	}
#define COMPARE(p, ...) ENTRY(p, "compare", .mode = M_COMPARE, __VA_ARGS__)
#define SHIM_ONLY(p, label, out, ...) ENTRY(p, label, .mode = M_SHIM_ONLY, .expect_out = out, __VA_ARGS__)
#define STDERR_CONTAINS(p, label, out, needle, ...)                                              \
	ENTRY(p, label, .mode = M_STDERR_CONTAINS, .expect_out = out, .stderr_has = needle, __VA_ARGS__)

static void check_table(void **state);

/* What io_close_wakes prints under the shim (see its entries below). */
#define IO_CLOSE_WAKES_OUT                                                                  \
	"read on a pipe, closed by another thread: -1 EBADF\n"                               \
	"read on a pipe, same number again: \"fresh\"\n"                                     \
	"recv on a socketpair, closed by another thread: -1 EBADF\n"                         \
	"recv on a socketpair, same number again: \"fresh\"\n"                               \
	"read on a pipe, replaced by dup2 in another thread: -1 EBADF\n"                     \
	"read on a pipe, same number again: \"fresh\"\n"                                     \
	"recv on a socketpair, replaced by dup2 in another thread: -1 EBADF\n"               \
	"recv on a socketpair, same number again: \"fresh\"\n"                               \
	"read on a pipe, closed by close_range in another thread: -1 EBADF\n"                \
	"read on a pipe, same number again: \"fresh\"\n"                                     \
	"recv on a socketpair, closed by close_range in another thread: -1 EBADF\n"          \
	"recv on a socketpair, same number again: \"fresh\"\n"

/* What io_lone prints with IO_LONE_LONGJMP set (natively, and under the
 * shim with green threads). */
#define IO_LONE_OUT                                                                          \
	"read, a process writes 50 ms later: 5  \"hello\", handler ran: no\n"                     \
	"write 4096 into a full pipe, a process drains it 50 ms later: 4096\n"                  \
	"read, O_NONBLOCK set by another process: -1 EAGAIN \"\", handler ran: no\n"            \
	"read, O_NONBLOCK cleared by another process: 6  \"waited\", handler ran: no\n"         \
	"read, SIGALRM without SA_RESTART: -1 EINTR \"\", handler ran: yes\n"                   \
	"read, SIGALRM with SA_RESTART: 15  \"after the alarm\", handler ran: yes\n"            \
	"read, pthread_kill from a timer thread, no SA_RESTART: -1 EINTR \"\", handler ran: yes\n" \
	"read, pthread_kill from a timer thread, SA_RESTART: 16  \"after the signal\", handler ran: yes\n" \
	"read, pthread_cancel from a timer thread: cancelled, cleanup ran\n"                    \
	"read, the SIGALRM handler starts a writer thread: 13  \"from a thread\", handler ran: yes\n" \
	"read, left by siglongjmp from the SIGALRM handler\n"                                   \
	"the pipe made again, same numbers: yes\n"                                              \
	"  read it, a process writes 50 ms later: 5  \"again\", handler ran: no\n"              \
	"  read it, a process writes 50 ms later: 5  \"again\", handler ran: no\n"

/* What preempt_spin prints: a bad GREENSHIM_PREEMPT_MS keeps the default
 * slice, so the spinners still let main run. */
#define PREEMPT_SPIN_OUT                                                                      \
	"spinners, main sleeps 50 ms\n"                                                       \
	"  main woke: after >= 50 ms: yes, within 5 s: yes\n"                                 \
	"  both spinners worked: yes, state kept: yes\n"                                      \
	"a 5 ms ticker beside spinners\n"                                                     \
	"  ticker done: 20 ticks, within 5 s: yes\n"                                          \
	"  both spinners worked: yes, state kept: yes\n"

/* What dns_lookup prints (its STDERR_CONTAINS entry below). */
/* What trace_tree prints (its SHIM_ONLY entry below). */
#define TRACE_TREE_OUT \
	"timeout 20: valid, 1 of 1 processes traced, wake-ups: cond join mutex sem\n" \
	"sh -c: valid, 2 of 2 processes traced, wake-ups: cond join mutex sem\n" \
	"make -f: valid, 2 of 2 processes traced, wake-ups: cond join mutex sem\n" \
	"concurrent: valid, 6 of 6 processes traced, wake-ups: cond join mutex sem\n" \
	"server: valid, 5 of 5 processes traced, wake-ups: cond join mutex sem\n" \
	"exec: valid, 1 of 1 processes traced, wake-ups: cond join mutex sem\n" \
	"%p, work 1: valid, 1 of 1 processes traced, wake-ups: cond join mutex sem\n" \
	"%p, work 2: valid, 1 of 1 processes traced, wake-ups: cond join mutex sem\n" \
	"env X=1 true: the file is untouched\n"

#define DNS_LOOKUP_OUT \
	"getaddrinfo localhost 80: 0, 127.0.0.1 found: yes, stream: yes, every port 80: yes\n" \
	"getaddrinfo 127.0.0.1 80 AI_NUMERICHOST: 0: AF_INET 127.0.0.1 80 dgram/17, AF_INET 127.0.0.1 80 raw/0, AF_INET 127.0.0.1 80 stream/6\n" \
	"getaddrinfo ::1 80 AI_NUMERICHOST: 0: AF_INET6 ::1 80 dgram/17, AF_INET6 ::1 80 raw/0, AF_INET6 ::1 80 stream/6\n" \
	"getaddrinfo 127.0.0.1 8080 AI_NUMERICHOST|AI_NUMERICSERV AF_INET stream: 0: AF_INET 127.0.0.1 8080 stream/6\n" \
	"getaddrinfo no.such.name.invalid AI_NUMERICHOST: EAI_NONAME\n" \
	"getaddrinfo localhost, bad flags: EAI_BADFLAGS\n" \
	"getaddrinfo AI_CANONNAME without a host: EAI_BADFLAGS\n" \
	"getaddrinfo localhost, bad family: EAI_FAMILY\n" \
	"getaddrinfo unknown service: EAI_SERVICE\n" \
	"getnameinfo 127.0.0.1:80 NI_NUMERICHOST|NI_NUMERICSERV: 0, host 127.0.0.1, service 80\n" \
	"getnameinfo 127.0.0.1:80 NI_NUMERICHOST: 0, host 127.0.0.1, service http or 80: yes\n" \
	"getnameinfo 127.0.0.1 NI_NAMEREQD: 0, a name starting with localhost: yes\n" \
	"getnameinfo bad flags: EAI_BADFLAGS\n" \
	"getnameinfo short sockaddr: EAI_FAMILY\n" \
	"gethostbyname localhost: found, AF_INET, length 4, 127.0.0.1 listed: yes, localhost named: yes\n" \
	"gethostbyname2 127.0.0.1 AF_INET: name 127.0.0.1, found, AF_INET, length 4, 127.0.0.1 listed: yes, localhost named: no\n" \
	"gethostbyname_r localhost: 0, result is the hostent given: yes, found, AF_INET, length 4, 127.0.0.1 listed: yes, localhost named: yes\n" \
	"gethostbyname2_r localhost AF_INET: 0, found, AF_INET, length 4, 127.0.0.1 listed: yes, localhost named: yes\n" \
	"gethostbyname_r localhost, 8-byte buffer: ERANGE, result NULL, *h_errnop NETDB_INTERNAL, errno ERANGE\n" \
	"gethostbyaddr 127.0.0.1: found, AF_INET, length 4, 127.0.0.1 listed: yes, localhost named: yes, h_errno kept: yes\n" \
	"gethostbyaddr_r 127.0.0.1: 0, found, AF_INET, length 4, 127.0.0.1 listed: yes, localhost named: yes\n" \
	"gethostbyaddr ::: NULL, h_errno HOST_NOT_FOUND\n" \
	"gethostbyaddr_r ::: ENOENT, result NULL, *h_errnop HOST_NOT_FOUND\n" \
	"gethostbyaddr, 3-byte address: NULL, h_errno NETDB_INTERNAL, errno EAFNOSUPPORT\n" \
	"ticker ran: yes\n" \
	"lookup in a fork child: ok\n"

/* The table: one line per (program, mode). */
static const struct CMUnitTest tests[] = {
	{ .name = "table/lists-every-program", .test_func = check_table },

	/* time */
	COMPARE("time_sleep"),
	COMPARE("time_interrupt"),
	COMPARE("time_order"),
	/* threads */
	COMPARE("thread_basic"),
	COMPARE("thread_join_np"),
	COMPARE("thread_join_badtime"), /* pins glibc's spin-then-0, see the file */
	COMPARE("thread_exit_main"),
	COMPARE("thread_exit_status", .status = 3), /* exit(3) from a thread */
	COMPARE("thread_stack"),
	COMPARE("thread_default_attr"), /* NULL attr follows pthread_setattr_default_np */
	COMPARE("thread_many", .timeout = 30),
	COMPARE("thread_count"), /* fails with a do-nothing stand-in library */
	COMPARE("thread_misc"),
	COMPARE("cancel"), /* cleanup handlers at each greened cancellation point */
	COMPARE("fork_sleep"), /* the child keeps one thread and its own hub */
	COMPARE("fork_ghost"), /* ... and no parent thread runs in it */
	COMPARE("foreign_threads"),   /* OS threads the shim did not make, beside green ones */
	COMPARE("main_exit_foreign"), /* main exits first, a foreign thread keeps the process */
	/* real runtimes nobody here wrote */
	COMPARE("python_threads", .timeout = 30), /* CPython: GIL, threading, queue, futures */
	COMPARE("cxx_threads"),                    /* libstdc++: std::thread, mutexes, async */
	COMPARE("cxx20_futex"),                    /* semaphores, latch, barrier, atomic wait: futex */
	COMPARE("segv_handler"), /* the program's own SIGSEGV handler still works */
	/* a stack overflow is reported by name, then SIGSEGV as natively */
	STDERR_CONTAINS("stack_overflow", "report", "started\n", "stack overflow in green thread",
			.signal = 11),
	/* ... also for a stack made after 40,000 others (past the old PROT_NONE budget) */
	STDERR_CONTAINS("stack_overflow_crowd", "report", "started\n", "it ran into its guard page",
			.signal = 11),
	/* ... and on stacks reused after their memory was given back */
	STDERR_CONTAINS("stack_overflow_crowd", "report after 5000 ended", "started\n",
			"it ran into its guard page", .signal = 11, .env = { "CROWD_ENDED=1" }),
	/* ... but a program's SA_ONSTACK handler on the thread's own alternate
	 * stack gets it, as natively: SEGV_ACCERR, the address in the guard */
	COMPARE("stack_overflow_handler"),
	/* a huge guard costs no page tables, as a PROT_NONE one natively */
	COMPARE("thread_guard_large"),
	/* a deadlock is reported (natively it just hangs) */
	STDERR_CONTAINS("deadlock", "cycle", "started\n", "wait-for cycle: thread", .signal = 6,
			.env = { "GREENSHIM_DEADLOCK=abort" }),
	/* a thread that keeps the CPU is named (GREENSHIM_BLOCK_WARN_MS) */
	COMPARE("block_warn"),
	STDERR_CONTAINS("block_warn", "warns", "cruncher done, ticker ticked: yes\n",
			"\"cruncher\" (",
			/* preempted, the cruncher would not keep the CPU */
			.env = { "GREENSHIM_BLOCK_WARN_MS=100", "GREENSHIM_PREEMPT_MS=0" }),
	STDERR_CONTAINS("block_warn", "bad value", "cruncher done, ticker ticked: yes\n",
			"GREENSHIM_BLOCK_WARN_MS=soon", .env = { "GREENSHIM_BLOCK_WARN_MS=soon" }),
	STDERR_CONTAINS("deadlock", "abort", "started\n", "waits on mutex", .signal = 6,
			.env = { "GREENSHIM_DEADLOCK=abort" }),
	/* thread-specific data, once */
	COMPARE("tsd_keys"),
	COMPARE("once"),
	COMPARE("once_cancel"), /* a cancelled init leaves the once undone */
	/* mutexes */
	COMPARE("mutex_kinds"),
	COMPARE("mutex_timed"),
	COMPARE("mutex_contended"),
	/* condition variables */
	COMPARE("cond_basic"),
	COMPARE("cond_timed"),
	/* rwlocks, barriers, spinlocks, semaphores, yield */
	COMPARE("rwlock"),
	COMPARE("barrier"),
	COMPARE("spin"),
	COMPARE("sem"),
	COMPARE("sem_signal"),
	COMPARE("kill_restart"), /* pthread_kill vs SA_RESTART, handler in the target */
	/* preemption: threads that compute, and calls that never wait */
	COMPARE("preempt_spin"),
	COMPARE("preempt_spin", .env = { "GREENSHIM_PREEMPT_MS=1" }),
	COMPARE("preempt_spin", .env = { "GREENSHIM_TLS=0" }),
	COMPARE("preempt_stress"),
	COMPARE("preempt_libc"),
	COMPARE("preempt_libc", .env = { "GREENSHIM_PREEMPT_MS=1" }),
	COMPARE("preempt_cxx"),
	COMPARE("preempt_cxx", .env = { "GREENSHIM_PREEMPT_MS=1" }),
	/* with preemption off, the rest behaves as before */
	COMPARE("thread_basic", .env = { "GREENSHIM_PREEMPT_MS=0" }),
	COMPARE("cond_basic", .env = { "GREENSHIM_PREEMPT_MS=0" }),
	COMPARE("sigwait_system"), /* sigwait & co., sigsuspend, pause, system() */
	COMPARE("real_coreutils"), /* ls (libselinux's constructor), sort, pipelines */
	COMPARE("io_edges"), /* private fds reusing a number, zero-length reads, cancelled system() */
	COMPARE("yield_pingpong"),
	/* C11 threads */
	COMPARE("c11_threads"),
	COMPARE("c11_sync"),
	/* per-thread state the shim must switch */
	COMPARE("errno_threads"),
	COMPARE("sigmask_threads"),
	/* POSIX thread and signal contracts (issue 13) */
	COMPARE("posix_lock_signals"),     /* a handler runs inside a lock wait, which goes on */
	COMPARE("posix_async_cancel"),     /* asynchronous cancel ends a mutex wait, a computation */
	COMPARE("posix_mask_unblockable"), /* SIGKILL, SIGSTOP never in a mask */
	COMPARE("sigmask_before_record"), /* a mask set before the shim has a record of the thread */
	COMPARE("posix_pending_per_thread"), /* raise() pending in the raiser only */
	COMPARE("posix_join_detached"),    /* join/detach of an ended detached thread: EINVAL */
	COMPARE("posix_sigwait_handler"),  /* sigwaitinfo takes an unblocked signal, no handler */
	COMPARE("posix_sched_priority"),   /* SCHED_FIFO order: ready queue, mutex, cond, sem */
	COMPARE("posix_pshared"),          /* process-shared mutex/sem/barrier: park, own, glibc peer */
	COMPARE("posix_pshared", .env = { "PSHARED_NOWAITV=1" }), /* a kernel without FUTEX_WAITV */
	COMPARE("posix_pshared_robust"),   /* EOWNERDEAD when a process's non-main holder dies */
	COMPARE("posix_signal_edges"),     /* re-raise in a handler, handler wakes, cancel in relock */
	COMPARE("vfork_child"),            /* a vfork child's mask, close, sigaction stay its own */
	COMPARE("io_sendfile"),            /* sendfile/splice/tee into a socket or pipe a thread reads */
	COMPARE("signal_stale_pause"),     /* a handler main ran itself ends none of its later waits */
	COMPARE("signal_handler_thread"),  /* a thread a handler creates runs while the interrupted thread waits */
	COMPARE("signal_first_hub_altstack"), /* the first hub made by an SA_ONSTACK handler stays on its small stack */
	COMPARE("preempt_nopie"),          /* preemption in a non-PIE executable taking &free */
	/* thread-local storage: each green thread needs its own TLS block, DTV and TCB */
	COMPARE("tls_vars"),       /* __thread, also a dlopen'd library's; uselocale, strerror, flockfile */
	COMPARE("tls_cxx"),        /* thread_local: one per thread, destructors at each thread's exit */
	COMPARE("cxx_static_init"), /* function-local statics: others wait for a blocking initialiser */
	COMPARE("fd_stale_kind"),  /* a socket closed behind the shim, its number reused by a file/pipe */
	COMPARE("fd_swapped_kinds"), /* the real-call table hands out other kinds: a "socket" that is a
				      * file, a "pipe" a socketpair, a "memfd" a pipe (libfd_swap.so) */
	/* blocking calls no interposer sees, greened by the syscall trap: a raw
	 * syscall read, stdio into a full pipe, getpwnam, popen + pclose */
	COMPARE("trap_below_libc"),
	/* a handler's raw calls on a parked thread, per-thread sigaltstack,
	 * raw vfork and clone(SIGCHLD) with a stack */
	COMPARE("trap_signals"),
	/* io_uring_enter waiting for a completion, liburing's own system call */
	COMPARE("trap_uring"),
	COMPARE("syscall_routes"), /* blocking and fd-making calls through syscall(2): greened, with the
				    * kernel's timeouts, sigset sizes and errnos */
	COMPARE("tls_review"),     /* late dlopen of static TLS, alignment, setxid, held FILEs, fork */
	COMPARE("tls_reuse"),      /* a thread after a joined one: all its TLS fresh, across dlopen/dlclose */
	COMPARE("tls_identity"),   /* gettid per thread, tgkill/affinity/priority by tid, fork from a thread */
	COMPARE("malloc_cache_kept"),       /* pooled TCBs and hubs lose no malloc cache */
	COMPARE("malloc_cache_kept_nopie"), /* the same where malloc's address is a PLT entry */
	COMPARE("tls_probe_seccomp"),       /* the cache is looked for with calls every program may make */
	COMPARE("tls_probe_seccomp", .env = { "TLS_PROBE_SECCOMP=trap" }),
	COMPARE("timer_sigev_thread"),      /* glibc blocks its own signals around a clone, trapped too */
	COMPARE("real_tls_tools"), /* rg -j4, fdfind -j4 (Rust std's thread_local!s), sysbench */
	COMPARE("real_malloc_libs"), /* its threads, fork children, ls and a threaded sort on jemalloc,
				      * tcmalloc, tcmalloc_minimal */

	/* green I/O (issue 3).  Each program needs a thread to run while another
	 * blocks in the call under test, so with all threads on one OS thread
	 * it completes only if the shim greens that call (else: timeout). */
	COMPARE("io_echo"),       /* TCP echo v4/v6, thread per connection; socketpair */
	COMPARE("io_connect"),    /* ECONNREFUSED, EINPROGRESS, EISCONN, accept in a thread */
	COMPARE("io_nonblock"),   /* the program's own O_NONBLOCK: EAGAIN, F_GETFL, dups */
	COMPARE("io_nonblock_elsewhere"), /* O_NONBLOCK, SO_RCVTIMEO set via a dup, a child */
	COMPARE("io_fork_family"), /* a pipe shared across fork: O_NONBLOCK by the parent, by an
				    * executed or spawned program, while another thread runs */
	COMPARE("io_timeouts"),   /* SO_RCVTIMEO / SO_SNDTIMEO while another thread runs */
	COMPARE("io_poll"),       /* poll, ppoll, select, pselect, epoll_wait, epoll_pwait */
	COMPARE("io_pipe_relay"), /* 16 MiB through two pipes and three threads; a FIFO */
	COMPARE("io_fork_wait"),  /* waitpid family, SIGCHLD handler, a child's pipe */
	COMPARE("io_signals"),    /* pthread_kill vs blocked I/O, SA_RESTART, SO_RCVTIMEO */
	/* a process's only thread blocks in the kernel itself: O_NONBLOCK set by
	 * another process, SIGALRM, pthread_kill and pthread_cancel from a
	 * glibc-made timer thread, a thread started by a handler */
	COMPARE("io_lone"),
	/* ... and a siglongjmp out of the read (green threads only: README) */
	SHIM_ONLY("io_lone", "shim-only IO_LONE_LONGJMP", IO_LONE_OUT, .env = { "IO_LONE_LONGJMP=1" }),
	COMPARE("io_udp"),        /* recvfrom, sendmmsg/recvmmsg, MSG_PEEK, MSG_TRUNC */
	COMPARE("io_python_http", .timeout = 60), /* CPython's ThreadingHTTPServer, C clients */
	/* Closing an fd another thread waits on (close, dup2 onto it,
	 * close_range) wakes it with EBADF under the shim; natively Linux leaves
	 * the waiter blocked (the program gives up after 5 s), hence shim only. */
	SHIM_ONLY("trace_tree", "shim-only", TRACE_TREE_OUT, .timeout = 60), /* GREENSHIM_TRACE over process trees */
	SHIM_ONLY("io_close_wakes", "shim-only", IO_CLOSE_WAKES_OUT),
	/* ... also when the waiter is on another OS thread's hub */
	SHIM_ONLY("io_close_wakes", "shim-only GREENSHIM_THREAD=0", IO_CLOSE_WAKES_OUT,
		  .env = { "GREENSHIM_THREAD=0" }),
	/* Opt-outs.  A subsystem that is off leaves its calls to the kernel, so
	 * with green threads they would block the one OS thread: these runs add
	 * GREENSHIM_THREAD=0 (real threads; .env applies to every run, the
	 * native one included) and must still behave as natively. */
	ENTRY("io_echo", "compare GREENSHIM_SOCKET=0", .mode = M_COMPARE,
	      .env = { "GREENSHIM_SOCKET=0", "GREENSHIM_THREAD=0" }),
	ENTRY("io_timeouts", "compare GREENSHIM_SOCKET=0", .mode = M_COMPARE,
	      .env = { "GREENSHIM_SOCKET=0", "GREENSHIM_THREAD=0" }),
	ENTRY("io_pipe_relay", "compare GREENSHIM_OS=0", .mode = M_COMPARE,
	      .env = { "GREENSHIM_OS=0", "GREENSHIM_THREAD=0" }),
	ENTRY("io_fork_wait", "compare GREENSHIM_OS=0", .mode = M_COMPARE,
	      .env = { "GREENSHIM_OS=0", "GREENSHIM_THREAD=0" }),
	ENTRY("io_poll", "compare GREENSHIM_SELECT=0", .mode = M_COMPARE,
	      .env = { "GREENSHIM_SELECT=0", "GREENSHIM_THREAD=0" }),
	/* ... and the subsystems are independent: with green threads, turning
	 * off the ones a program does not use changes nothing (the relay uses
	 * pipes and a FIFO only: OS; the echo uses sockets only: SOCKET). */
	ENTRY("io_pipe_relay", "compare GREENSHIM_SOCKET=0 GREENSHIM_SELECT=0", .mode = M_COMPARE,
	      .env = { "GREENSHIM_SOCKET=0", "GREENSHIM_SELECT=0" }),
	ENTRY("io_echo", "compare GREENSHIM_OS=0 GREENSHIM_SELECT=0", .mode = M_COMPARE,
	      .env = { "GREENSHIM_OS=0", "GREENSHIM_SELECT=0" }),

	/* DNS (issue 5): lookups run on real worker threads while the green thread waits */
	COMPARE("dns_lookup"),
	ENTRY("dns_lookup", "compare GREENSHIM_TPOOL=1", .mode = M_COMPARE, /* one worker: a queue */
	      .env = { "GREENSHIM_TPOOL=1" }),
	ENTRY("dns_lookup", "compare GREENSHIM_SOCKET=0", .mode = M_COMPARE, /* lookups in place */
	      .env = { "GREENSHIM_SOCKET=0" }),
	STDERR_CONTAINS("dns_lookup", "warns GREENSHIM_TPOOL=0", DNS_LOOKUP_OUT, "GREENSHIM_TPOOL",
			.env = { "GREENSHIM_TPOOL=0" }),

	/* real binaries (issue 5): python3 and curl exec'd from a test program
	 * inherit the preload, so they run greened in the preload runs */
	COMPARE("real_python", .timeout = 60), /* threading, queue, futures (500 sleeps), socketserver */
	SHIM_ONLY("real_python", "shim-only os threads", /* 500 sleeping pool workers: 1 OS thread */
		  "lock: counter 80000\n"
		  "condition: consumed 200 sum 109900\n"
		  "event: passed before set 0 after 10\n"
		  "semaphore: most holders at once 3\n"
		  "queue: items 300 distinct 300 sum 44850\n"
		  "futures: results 500 sum 124750\n"
		  "500 sleeps done in under 3 s: yes\n"
		  "tcp echo: clients 8 lines echoed 40\n"
		  "threads left: 1\n"
		  "os threads: 1\n"
		  "python3 exit status: 0\n",
		  .timeout = 60, .env = { "REAL_PYTHON_SHOW_THREADS=1" }),
	COMPARE("real_curl", .timeout = 60), /* curl against a thread-per-connection server */
	/* real servers and runtimes keeping per-thread state in TLS (issue 9) */
	COMPARE("real_mariadb", .timeout = 90), /* mariadbd (defaults: io_uring AIO), sysbench oltp_read_write x16 */
	/* InnoDB's simulated AIO: its I/O threads' pread/pwrite */
	ENTRY("real_mariadb", "compare REAL_MARIADB_SIMULATED_AIO=1", .mode = M_COMPARE, .timeout = 90,
	      .env = { "REAL_MARIADB_SIMULATED_AIO=1" }),
	COMPARE("real_go", .timeout = 60), /* go build, then goroutines, timers, net/http: the trap */
	COMPARE("real_java", .timeout = 40), /* HotSpot: java -version, 8 threads, source launch */
	COMPARE("real_node"), /* worker_threads, an http server and its client, then fs after http */
	ENTRY("real_node", "compare REAL_NODE_CASES=fs", .mode = M_COMPARE, /* sync and libuv pool fs */
	      .env = { "REAL_NODE_CASES=fs" }),
	COMPARE("stdio_fgets"),       /* fgets/fread/getc/fscanf/getline on a slow pipe, a ticker */
	/* lines and freads that arrive in several writes (the shim fills the
	 * FILE's buffer itself); fscanf's second refill still blocks (README) */
	ENTRY("stdio_fgets", "compare spanning fgets", .mode = M_COMPARE,
	      .env = { "STDIO_FGETS_SPANNING=fgets" }),
	ENTRY("stdio_fgets", "compare spanning fread", .mode = M_COMPARE,
	      .env = { "STDIO_FGETS_SPANNING=fread" }),
	COMPARE("cancel_cleanup_io"), /* cancel in read, accept, poll: handlers, key destructor */

	/* greenshim only */
	SHIM_ONLY("many_green", "shim-only", "count 100000\nthreads 1\n", .timeout = 60),
	SHIM_ONLY("env_flags", "shim-only default",
		  "sleep lets other threads run: yes\nos threads while 2 run: 1\n"),
	SHIM_ONLY("env_flags", "shim-only GREENSHIM_TIME=0",
		  "sleep lets other threads run: no\nos threads while 2 run: 1\n",
		  .env = { "GREENSHIM_TIME=0" }),
	SHIM_ONLY("env_flags", "shim-only GREENSHIM_THREAD=0",
		  "sleep lets other threads run: yes\nos threads while 2 run: 3\n",
		  .env = { "GREENSHIM_THREAD=0" }),
	/* a bad value or an unknown GREENSHIM_ variable: a warning naming it,
	 * and the defaults stay */
	STDERR_CONTAINS("env_flags", "warns GREENSHIM_TIME=2",
			"sleep lets other threads run: yes\nos threads while 2 run: 1\n",
			"GREENSHIM_TIME", .env = { "GREENSHIM_TIME=2" }),
	STDERR_CONTAINS("env_flags", "warns GREENSHIM_THREAD=yes",
			"sleep lets other threads run: yes\nos threads while 2 run: 1\n",
			"GREENSHIM_THREAD", .env = { "GREENSHIM_THREAD=yes" }),
	STDERR_CONTAINS("preempt_spin", "warns GREENSHIM_PREEMPT_MS=soon", PREEMPT_SPIN_OUT,
			"GREENSHIM_PREEMPT_MS", .env = { "GREENSHIM_PREEMPT_MS=soon" }),
	STDERR_CONTAINS("preempt_spin", "warns GREENSHIM_PREEMPT_MS=1001", PREEMPT_SPIN_OUT,
			"GREENSHIM_PREEMPT_MS", .env = { "GREENSHIM_PREEMPT_MS=1001" }),
	STDERR_CONTAINS("env_flags", "warns GREENSHIM_FOO=1",
			"sleep lets other threads run: yes\nos threads while 2 run: 1\n",
			"GREENSHIM_FOO", .env = { "GREENSHIM_FOO=1" }),
};

/* ---- configuration from the command line ------------------------------ */

static const char *build_dir;
static const char *src_dir = "tests/programs";
static char lib_path[PATH_MAX]; /* absolute; empty when missing */

/* ---- one run of a program ----------------------------------------------- */

enum { R_EXITED, R_SIGNALED, R_TIMEOUT, R_ERROR };

struct run {
	const char *what;   /* "native", "preload", ... for messages */
	int how;            /* R_* */
	int code;           /* exit status or signal */
	char *out, *err;    /* NUL-terminated (may also contain NULs) */
	size_t out_len, err_len;
	double secs;
};

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static char *slurp(int fd, size_t *len)
{
	struct stat st;
	size_t cap = 0, n = 0;
	char *buf;
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		cap = (size_t)st.st_size;
	buf = malloc(cap + 1);
	if (!buf)
		return NULL;
	if (lseek(fd, 0, SEEK_SET) == 0) {
		while (n < cap) {
			ssize_t k = read(fd, buf + n, cap - n);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break;
			n += (size_t)k;
		}
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int temp_fd(void)
{
	char tmpl[] = "/tmp/run_programs.XXXXXX";
	int fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd >= 0)
		unlink(tmpl);
	return fd;
}

/* The inherited environment minus LD_PRELOAD and GREENSHIM_*, plus the
 * given additions (later ones win over earlier ones with the same name). */
static char **make_env(const char *const *add, size_t nadd)
{
	size_t n = 0;
	for (char **e = environ; *e; e++)
		n++;
	char **env = calloc(n + nadd + 1, sizeof *env);
	size_t k = 0;
	if (!env)
		return NULL;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11) != 0 && strncmp(*e, "GREENSHIM_", 10) != 0)
			env[k++] = *e;
	for (size_t i = 0; i < nadd; i++) {
		if (!add[i])
			continue;
		size_t name_len = strcspn(add[i], "=");
		size_t j;
		for (j = 0; j < k; j++)
			if (strncmp(env[j], add[i], name_len + 1) == 0)
				break;
		env[j] = (char *)add[i];
		if (j == k)
			k++;
	}
	env[k] = NULL;
	return env;
}

static void run_program(const char *path, char **env, int timeout, struct run *r)
{
	int out = temp_fd(), err = temp_fd();
	memset((char *)r + offsetof(struct run, how), 0, sizeof *r - offsetof(struct run, how));
	r->how = R_ERROR;
	if (out < 0 || err < 0) {
		r->err = strdup("run_programs: cannot create temp files");
		goto done;
	}
	fflush(NULL);
	double t0 = now_s();
	pid_t pid = fork();
	if (pid < 0) {
		r->err = strdup("run_programs: fork failed");
		goto done;
	}
	if (pid == 0) {
		sigset_t none;
		setpgid(0, 0);
		for (int s = 1; s < NSIG; s++)
			signal(s, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int in = open("/dev/null", O_RDONLY);
		if (in >= 0)
			dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		char *argv[] = { (char *)path, NULL };
		execve(path, argv, env);
		dprintf(2, "run_programs: cannot execute %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid); /* also done by the child: whoever is first */

	int exited = 0;
	for (long spins = 0;; spins++) {
		siginfo_t si;
		memset(&si, 0, sizeof si);
		if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid) {
			exited = 1;
			break;
		}
		if (now_s() - t0 >= timeout)
			break;
		struct timespec nap = { 0, spins < 200 ? 1000000L : 10000000L };
		nanosleep(&nap, NULL);
	}
	/* Leftovers of the group (none expected) go too, then reap. */
	kill(-pid, SIGKILL);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	r->secs = now_s() - t0;
	if (!exited) {
		r->how = R_TIMEOUT;
		r->code = timeout;
	} else if (WIFEXITED(st)) {
		r->how = R_EXITED;
		r->code = WEXITSTATUS(st);
	} else {
		r->how = R_SIGNALED;
		r->code = WTERMSIG(st);
	}
	r->out = slurp(out, &r->out_len);
	r->err = slurp(err, &r->err_len);
done:
	if (out >= 0)
		close(out);
	if (err >= 0)
		close(err);
	if (!r->out)
		r->out = strdup("");
	if (!r->err)
		r->err = strdup("");
}

static const char *status_text(const struct run *r, char *buf, size_t len)
{
	switch (r->how) {
	case R_EXITED:
		snprintf(buf, len, "exit status %d", r->code);
		break;
	case R_SIGNALED:
		snprintf(buf, len, "killed by signal %d (%s)", r->code, strsignal(r->code));
		break;
	case R_TIMEOUT:
		snprintf(buf, len, "TIMEOUT after %d s (process group killed)", r->code);
		break;
	default:
		snprintf(buf, len, "could not be run");
	}
	return buf;
}

static int same_status(const struct run *a, const struct run *b)
{
	return a->how == b->how && a->code == b->code;
}

/* ---- messages --------------------------------------------------------- */

/* One line of output, made printable, at most 240 characters. */
static void show_line(const char *tag, const char *s, size_t len)
{
	char buf[1024];
	size_t k = 0;
	if (!s) {
		print_error("    %s <end of output>\n", tag);
		return;
	}
	for (size_t i = 0; i < len && k < 240; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 32 && c < 127 && c != '\\')
			buf[k++] = (char)c;
		else
			k += (size_t)snprintf(buf + k, sizeof buf - k, "\\x%02x", c);
	}
	buf[k] = '\0';
	print_error("    %s \"%s\"%s\n", tag, buf, k >= 240 ? "..." : "");
}

/* Prints the first line where two outputs differ. */
static void show_diff(const char *name_a, const char *a, size_t alen, const char *name_b,
		      const char *b, size_t blen)
{
	size_t i = 0, line = 1, start = 0;
	while (i < alen && i < blen && a[i] == b[i]) {
		if (a[i] == '\n') {
			line++;
			start = i + 1;
		}
		i++;
	}
	size_t ae = start, be = start;
	while (ae < alen && a[ae] != '\n')
		ae++;
	while (be < blen && b[be] != '\n')
		be++;
	print_error("    first difference in line %zu (byte %zu); %zu vs %zu bytes in all\n", line,
		    i + 1, alen, blen);
	char ta[64], tb[64];
	snprintf(ta, sizeof ta, "%-8s:", name_a);
	snprintf(tb, sizeof tb, "%-8s:", name_b);
	show_line(ta, start < alen ? a + start : NULL, ae - start);
	show_line(tb, start < blen ? b + start : NULL, be - start);
}

static void show_stderr(const struct run *r)
{
	if (r->err_len == 0) {
		print_error("    (%s stderr empty)\n", r->what);
		return;
	}
	print_error("    --- %s stderr (%zu bytes) ---\n", r->what, r->err_len);
	if (r->err_len <= 4096)
		print_error("%s%s", r->err, r->err[r->err_len - 1] == '\n' ? "" : "\n");
	else
		print_error("%.2048s\n    [... %zu bytes ...]\n%s\n", r->err, r->err_len - 4096,
			    r->err + r->err_len - 2048);
	print_error("    ---\n");
}

static void describe(const struct entry *e, const struct run *r, const char *env_note)
{
	char st[128];
	print_error("  %s, %s%s: %s in %.2f s\n", e->prog, r->what, env_note,
		    status_text(r, st, sizeof st), r->secs);
}

/* ---- the test ------------------------------------------------------------ */

static void run_entry(void **state)
{
	const struct entry *e = *state;
	char path[PATH_MAX];
	int timeout = e->timeout ? e->timeout : DEFAULT_TIMEOUT;
	int failed = 0;
	char envnote[256] = "";

	snprintf(path, sizeof path, "%s/tests/programs/%s", build_dir, e->prog);
	if (access(path, X_OK) != 0)
		fail_msg("%s: program not built: %s", e->prog, path);
	if (!lib_path[0])
		fail_msg("%s: %s/libgreenshim.so not found", e->prog, build_dir);
	for (int i = 0; i < MAX_ENV && e->env[i]; i++) {
		size_t n = strlen(envnote);
		snprintf(envnote + n, sizeof envnote - n, " %s", e->env[i]);
	}

	char preload[PATH_MAX + 16];
	snprintf(preload, sizeof preload, "LD_PRELOAD=%s", lib_path);

	if (e->mode == M_COMPARE) {
		const char *add[MAX_ENV + 2];
		size_t n = 0;
		for (int i = 0; i < MAX_ENV && e->env[i]; i++)
			add[n++] = e->env[i];

		char **env_native = make_env(add, n);
		add[n] = preload;
		char **env_shim = make_env(add, n + 1);
		add[n + 1] = "GREENSHIM_THREAD=0";
		char **env_nothread = make_env(add, n + 2);
		if (!env_native || !env_shim || !env_nothread)
			fail_msg("out of memory");

		struct run native = { .what = "native" };
		run_program(path, env_native, timeout, &native);
		if (native.how != R_EXITED || native.code != e->status) {
			char st[128];
			status_text(&native, st, sizeof st);
			describe(e, &native, envnote);
			show_stderr(&native);
			print_error("  the native run must end with exit status %d: the program itself "
				    "is broken (or the machine is badly overloaded)\n",
				    e->status);
			run_free(&native);
			fail_msg("%s: native run failed (%s)", e->prog, st);
		}

		struct run shim[2] = { { .what = "preload" }, { .what = "preload GREENSHIM_THREAD=0" } };
		char **envs[2] = { env_shim, env_nothread };
		char summary[512] = "";
		int mismatch_out = 0;
		for (int k = 0; k < 2; k++) {
			run_program(path, envs[k], timeout, &shim[k]);
			int bad_status = !same_status(&native, &shim[k]);
			int bad_out = native.out_len != shim[k].out_len ||
				      memcmp(native.out, shim[k].out, native.out_len) != 0;
			if (shim[k].secs > timeout / 2.0 && !bad_status && !bad_out)
				print_message("  note: %s (%s) took %.1f s of its %d s timeout\n", e->prog,
					      shim[k].what, shim[k].secs, timeout);
			if (!bad_status && !bad_out)
				continue;
			failed = 1;
			describe(e, &shim[k], envnote);
			char st[128];
			size_t sl = strlen(summary);
			snprintf(summary + sl, sizeof summary - sl, "%s[%s] %s", sl ? "; " : "",
				 shim[k].what,
				 bad_status ? status_text(&shim[k], st, sizeof st) : "stdout differs");
			if (bad_status) {
				char a[128];
				print_error("    status differs: native %s, %s %s\n",
					    status_text(&native, a, sizeof a), shim[k].what, st);
			}
			if (bad_out) {
				mismatch_out |= shim[k].how == R_EXITED || shim[k].how == R_SIGNALED;
				print_error("    stdout differs from the native run%s:\n",
					     shim[k].how == R_TIMEOUT ? " (up to the timeout)" : "");
				show_diff("native", native.out, native.out_len, "shim", shim[k].out,
					  shim[k].out_len);
			}
			show_stderr(&shim[k]);
		}
		if (mismatch_out) {
			/* Is the program itself deterministic? */
			struct run again = { .what = "native (again)" };
			run_program(path, env_native, timeout, &again);
			if (!same_status(&native, &again) || again.out_len != native.out_len ||
			    memcmp(again.out, native.out, native.out_len) != 0) {
				print_error("  NOTE: a second native run differs from the first: the "
					    "program is not deterministic (a test bug, not necessarily "
					    "a shim bug)\n");
				show_diff("native", native.out, native.out_len, "again", again.out,
					  again.out_len);
			}
			run_free(&again);
		}
		run_free(&native);
		run_free(&shim[0]);
		run_free(&shim[1]);
		free(env_native);
		free(env_shim);
		free(env_nothread);
		if (failed)
			fail_msg("%s/compare: %s", e->prog, summary);
		return;
	}

	/* SHIM_ONLY and STDERR_CONTAINS */
	const char *add[MAX_ENV + 1];
	size_t n = 0;
	add[n++] = preload;
	for (int i = 0; i < MAX_ENV && e->env[i]; i++)
		add[n++] = e->env[i];
	char **env = make_env(add, n);
	if (!env)
		fail_msg("out of memory");
	struct run r = { .what = "preload" };
	run_program(path, env, timeout, &r);
	free(env);
	size_t want_len = strlen(e->expect_out);
	int bad_status = e->signal ? r.how != R_SIGNALED || r.code != e->signal
				   : r.how != R_EXITED || r.code != 0;
	int bad_out = r.out_len != want_len || memcmp(r.out, e->expect_out, want_len) != 0;
	int bad_err = e->mode == M_STDERR_CONTAINS &&
		      !memmem(r.err, r.err_len, e->stderr_has, strlen(e->stderr_has));
	if (bad_status || bad_out || bad_err) {
		describe(e, &r, envnote);
		if (bad_status && e->signal)
			print_error("    expected the run to end by signal %d\n", e->signal);
		else if (bad_status)
			print_error("    expected exit status 0\n");
		if (bad_out) {
			print_error("    stdout differs from the expected text:\n");
			show_diff("expected", e->expect_out, want_len, "shim", r.out, r.out_len);
		}
		if (bad_err)
			print_error("    stderr does not contain \"%s\"\n", e->stderr_has);
		show_stderr(&r);
		char st[128];
		status_text(&r, st, sizeof st);
		run_free(&r);
		fail_msg("%s [preload%s]: %s%s%s%s", e->prog, envnote, st,
			 bad_status ? (e->signal ? " (want a signal)" : " (want exit status 0)") : "", bad_out ? "; wrong stdout" : "",
			 bad_err ? "; warning missing from stderr" : "");
	}
	run_free(&r);
}

/* Every SRCDIR/NAME.c and NAME.cc has at least one table entry. */
static void check_table(void **state)
{
	DIR *d = opendir(src_dir);
	int missing = 0;
	if (!d)
		fail_msg("cannot open %s: %s", src_dir, strerror(errno));
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name), stem;
		if (len > 2 && strcmp(de->d_name + len - 2, ".c") == 0)
			stem = len - 2;
		else if (len > 3 && strcmp(de->d_name + len - 3, ".cc") == 0)
			stem = len - 3;
		else
			continue;
		if (strncmp(de->d_name, "tls_dso", 7) == 0 ||
		    (stem > 4 && strncmp(de->d_name + stem - 4, "_lib", 4) == 0))
			continue; /* not programs: libraries test programs dlopen or link */
		int found = 0;
		for (size_t i = 0; i < sizeof tests / sizeof tests[0] && !found; i++) {
			const struct entry *e = tests[i].initial_state;
			found = e && strlen(e->prog) == stem && strncmp(e->prog, de->d_name, stem) == 0;
		}
		if (!found) {
			print_error("  %s/%s has no entry in the table of %s\n", src_dir, de->d_name,
				    __FILE__);
			missing++;
		}
	}
	closedir(d);
	if (missing)
		fail_msg("%d program(s) not in the table", missing);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: %s BUILDDIR [SRCDIR [FILTER]]\n", argv[0]);
		return 2;
	}
	build_dir = argv[1];
	if (argc >= 3)
		src_dir = argv[2];
	if (argc >= 4)
		cmocka_set_test_filter(argv[3]);

	char lib[PATH_MAX];
	snprintf(lib, sizeof lib, "%s/libgreenshim.so", build_dir);
	if (!realpath(lib, lib_path))
		lib_path[0] = '\0';
	const char *pre = getenv("LD_PRELOAD");
	if (pre && strstr(pre, "greenshim"))
		fprintf(stderr, "run_programs: note: the runner itself runs under LD_PRELOAD=%s; "
				"that is not intended (children get their own environment)\n",
			pre);
	printf("run_programs: library %s, programs %s/tests/programs\n",
	       lib_path[0] ? lib_path : "(missing)", build_dir);
	fflush(stdout);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

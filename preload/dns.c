/* Name lookups (the socket subsystem): getaddrinfo, getnameinfo and the
 * gethostby* family run on a pool of real worker OS threads while the
 * calling green thread parks, as eventlet's tpool does.
 *
 * The resolver waits inside libc (its own sockets, __poll, files read
 * with internal calls) where no interposer sees it: run in place it would
 * block the hub and every green thread on it for the whole lookup.  Only
 * the wait moves: the worker makes the very same real call, with the
 * caller's errno and h_errno copied in and, once it returns, copied back,
 * so the results, the EAI_* codes, errno (EAI_SYSTEM, ERANGE) and h_errno
 * are what the caller would have got.  gethostbyname and gethostbyaddr
 * return glibc's static result, which is process-wide: the worker's
 * pointer is the one native code gets.
 *
 * A call stays in place, on the caller's OS thread, when it cannot wait
 * (numeric hosts and services), when no green thread can park (the hub, a
 * worker itself), and when no other green thread could run meanwhile: the
 * thread subsystem is off (GREENSHIM_THREAD=0: each thread is an OS
 * thread), or the caller's OS thread has no hub yet (a single-threaded
 * program stays so).  The wait is not interruptible and not a
 * cancellation point: the worker writes into the caller's stack until it
 * wakes it.
 *
 * The pool.  A job lives on the caller's stack and holds its waiter; it is
 * queued under a spinlock held for a few instructions (gs_spin_lock: never
 * across a park, a system call or a thread creation).  Idle workers sleep
 * on a futex (the queue's sequence number, bumped on every push) and a
 * push wakes one of them; when none is idle and fewer than the pool's
 * size (GREENSHIM_TPOOL, default GS_TPOOL_DEFAULT) exist, the caller
 * starts one with glibc's pthread_create (ours would make a green thread).
 * Workers block every signal, so the program's handlers keep running on
 * its own threads, and leave after IDLE_MS without work: glibc counts real
 * threads, and an idle pool must not keep alive a process whose main
 * thread called pthread_exit.  A fork child has no workers: its pool is
 * forgotten, and built again on its first lookup. */
#include <errno.h>
#include <linux/futex.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "config.h"
#include "rawsys.h"
#include "real.h"
#include "real_thread.h"

#define IDLE_MS 200

/* One call handed to a worker; on the caller's stack. */
struct job {
	struct job *next;       /* in the queue */
	void (*call)(void *);   /* makes the real call with args */
	void *args;             /* the call's arguments and result */
	int err, herr;          /* errno and h_errno: the caller's in, the worker's out */
	struct gs_waiter w;     /* the caller parks on it; the worker wakes it */
};

static struct {
	_Atomic int lock;          /* gs_spin_lock: everything below */
	struct job *head, *tail;   /* FIFO of jobs not taken yet */
	_Atomic unsigned seq;      /* bumped by every push; idle workers sleep on it */
	int threads;               /* workers alive (or being started) */
	int idle;                  /* workers between the unlock before their
				    * futex wait and the lock after it */
	int waking;                /* of those, how many a push has woken */
} pool;

static _Atomic int atfork_registered;
/* This OS thread is a worker: a lookup it makes (an NSS module's) stays in
 * place. */
static __thread int in_worker __attribute__((tls_model("initial-exec")));

/* Fork: the child has none of the parent's workers, and the queued jobs
 * belong to threads that do not run in it (the forking thread is not
 * waiting on one).  The lock may have been held by a worker. */
static void forget_pool(void)
{
	memset(&pool, 0, sizeof pool);
}

/* The real call, on the OS thread running it, with the caller's errno and
 * h_errno in and out. */
static void execute(struct job *j)
{
	errno = j->err;
	h_errno = j->herr;
	j->call(j->args);
	j->err = errno;
	j->herr = h_errno;
}

/* On a worker: the call, then the caller is woken (from then on the job
 * may be gone). */
static void run(struct job *j)
{
	execute(j);
	gs_waiter_wake(&j->w, GS_WOKEN);
}

static void *worker(void *unused)
{
	in_worker = 1;
	prctl(PR_SET_NAME, "greenshim-dns", 0, 0, 0);
	int timed_out = 0;
	gs_spin_lock(&pool.lock);
	for (;;) {
		struct job *j = pool.head;
		if (j) {
			pool.head = j->next;
			if (!pool.head)
				pool.tail = NULL;
			gs_spin_unlock(&pool.lock);
			run(j);
			timed_out = 0;
			gs_spin_lock(&pool.lock);
			continue;
		}
		if (timed_out) /* decided under the lock: a push now sees us gone */
			break;
		unsigned seq = atomic_load_explicit(&pool.seq, memory_order_relaxed);
		pool.idle++;
		gs_spin_unlock(&pool.lock);
		struct timespec idle = { IDLE_MS / 1000, IDLE_MS % 1000 * 1000000L };
		long r = gs__sys(SYS_futex, (long)&pool.seq, FUTEX_WAIT_PRIVATE, seq, (long)&idle, 0,
				 0);
		timed_out = r == -ETIMEDOUT;
		gs_spin_lock(&pool.lock);
		pool.idle--;
		if (pool.waking > 0)
			pool.waking--;
	}
	pool.threads--;
	gs_spin_unlock(&pool.lock);
	return NULL;
}

static int start_worker(void)
{
	return gs_start_real_thread(worker, NULL, 0);
}

/* No worker could be started.  If none is left, nobody would ever take
 * the queued jobs: they run here, on the caller's OS thread (blocking it,
 * as without the shim).  1 if the caller's own job `mine` was among them:
 * it is done, and must not wait. */
static int start_failed(struct job *mine)
{
	gs_spin_lock(&pool.lock);
	struct job *orphans = NULL;
	if (--pool.threads == 0) {
		orphans = pool.head;
		pool.head = pool.tail = NULL;
	}
	gs_spin_unlock(&pool.lock);
	int done = 0;
	while (orphans) {
		struct job *next = orphans->next;
		if (orphans == mine) {
			execute(mine); /* waking ourselves would queue the running thread */
			done = 1;
		} else {
			run(orphans);
		}
		orphans = next;
	}
	return done;
}

/* Queues j for a worker; 1 when it was made in place instead (no worker
 * could be started), 0 when the caller must wait for it. */
static int submit(struct job *j)
{
	int size = gs_tpool_threads > 0 ? gs_tpool_threads : GS_TPOOL_DEFAULT;
	gs_atfork_child_once(&atfork_registered, forget_pool);
	j->next = NULL;
	gs_spin_lock(&pool.lock);
	if (pool.tail)
		pool.tail->next = j;
	else
		pool.head = j;
	pool.tail = j;
	atomic_store_explicit(&pool.seq, atomic_load_explicit(&pool.seq, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	int wake = pool.idle > pool.waking;
	int start = !wake && pool.threads < size;
	pool.waking += wake;
	pool.threads += start;
	gs_spin_unlock(&pool.lock);
	if (wake)
		gs__sys(SYS_futex, (long)&pool.seq, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
	else if (start && start_worker() != 0)
		return start_failed(j);
	/* else every worker is busy: the first one free takes it */
	return 0;
}

/* Makes call(args) on a worker while the calling green thread parks: 1.
 * 0 when the caller's OS thread has no hub, hence no other green thread
 * that could run meanwhile: the caller makes the call in place (a
 * single-threaded program stays single-threaded). */
static int offload(void (*call)(void *), void *args)
{
	struct job j = { .call = call, .args = args, .err = errno, .herr = h_errno };
	gs_waiter_init(&j.w);
	gs_waiter_describe(&j.w, GS_PW_OFFLOAD, (const void *)call, 0);
	if (j.w.native) {
		errno = j.err;
		return 0;
	}
	if (!submit(&j))
		gs_wait(&j.w, NULL, GS_INTR_NEVER);
	errno = j.err;
	h_errno = j.herr;
	return 1;
}

/* Whether a lookup that may wait can go to the pool: green threads share
 * the caller's OS thread.  First: it fills gs_real on a call that comes
 * before our constructor. */
static int offloaded(void)
{
	return gs_socket_on() && gs_thread_on() && !in_worker && gs_can_park();
}

/* ---- the interposers ------------------------------------------------ */

struct gai_args {
	const char *node, *service;
	const struct addrinfo *hints;
	struct addrinfo **res;
	int ret;
};

static void call_getaddrinfo(void *p)
{
	struct gai_args *a = p;
	a->ret = GS_REAL(getaddrinfo)(a->node, a->service, a->hints, a->res);
}

GS_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
			  struct addrinfo **res)
{
	int flags = hints ? hints->ai_flags : 0;
	int numeric = (!node || (flags & AI_NUMERICHOST)) && (!service || (flags & AI_NUMERICSERV));
	struct gai_args a = { node, service, hints, res, 0 };
	if (!offloaded() || numeric || !offload(call_getaddrinfo, &a))
		return GS_REAL(getaddrinfo)(node, service, hints, res);
	return a.ret;
}

struct gni_args {
	const struct sockaddr *sa;
	socklen_t salen, hostlen, servlen;
	char *host, *serv;
	int flags, ret;
};

static void call_getnameinfo(void *p)
{
	struct gni_args *a = p;
	a->ret = GS_REAL(getnameinfo)(a->sa, a->salen, a->host, a->hostlen, a->serv, a->servlen,
				     a->flags);
}

GS_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen,
			  char *serv, socklen_t servlen, int flags)
{
	int numeric = (!host || !hostlen || (flags & NI_NUMERICHOST)) &&
		      (!serv || !servlen || (flags & NI_NUMERICSERV));
	struct gni_args a = { sa, salen, hostlen, servlen, host, serv, flags, 0 };
	if (!offloaded() || numeric || !offload(call_getnameinfo, &a))
		return GS_REAL(getnameinfo)(sa, salen, host, hostlen, serv, servlen, flags);
	return a.ret;
}

/* gethostbyname, gethostbyname2, gethostbyaddr: glibc's static result. */
struct hostent_args {
	const char *name;
	const void *addr;
	socklen_t len;
	int af;
	struct hostent *ret;
};

static void call_gethostbyname(void *p)
{
	struct hostent_args *a = p;
	a->ret = GS_REAL(gethostbyname)(a->name);
}

GS_EXPORT struct hostent *gethostbyname(const char *name)
{
	struct hostent_args a = { .name = name };
	if (!offloaded() || !offload(call_gethostbyname, &a))
		return GS_REAL(gethostbyname)(name);
	return a.ret;
}

static void call_gethostbyname2(void *p)
{
	struct hostent_args *a = p;
	a->ret = GS_REAL(gethostbyname2)(a->name, a->af);
}

GS_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
	struct hostent_args a = { .name = name, .af = af };
	if (!offloaded() || !offload(call_gethostbyname2, &a))
		return GS_REAL(gethostbyname2)(name, af);
	return a.ret;
}

static void call_gethostbyaddr(void *p)
{
	struct hostent_args *a = p;
	a->ret = GS_REAL(gethostbyaddr)(a->addr, a->len, a->af);
}

GS_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
	struct hostent_args a = { .addr = addr, .len = len, .af = type };
	if (!offloaded() || !offload(call_gethostbyaddr, &a))
		return GS_REAL(gethostbyaddr)(addr, len, type);
	return a.ret;
}

/* The reentrant ones: the result goes into the caller's buffers (on its
 * stack, parked meanwhile) and h_errno through their argument. */
struct hostent_r_args {
	const char *name;
	const void *addr;
	socklen_t len;
	int af;
	struct hostent *host;
	char *buf;
	size_t buflen;
	struct hostent **result;
	int *h_errnop;
	int ret;
};

static void call_gethostbyname_r(void *p)
{
	struct hostent_r_args *a = p;
	a->ret = GS_REAL(gethostbyname_r)(a->name, a->host, a->buf, a->buflen, a->result, a->h_errnop);
}

GS_EXPORT int gethostbyname_r(const char *name, struct hostent *host, char *buf, size_t buflen,
			      struct hostent **result, int *h_errnop)
{
	struct hostent_r_args a = { .name = name, .host = host, .buf = buf, .buflen = buflen,
				    .result = result, .h_errnop = h_errnop };
	if (!offloaded() || !offload(call_gethostbyname_r, &a))
		return GS_REAL(gethostbyname_r)(name, host, buf, buflen, result, h_errnop);
	return a.ret;
}

static void call_gethostbyname2_r(void *p)
{
	struct hostent_r_args *a = p;
	a->ret = GS_REAL(gethostbyname2_r)(a->name, a->af, a->host, a->buf, a->buflen, a->result,
					  a->h_errnop);
}

GS_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *host, char *buf,
			       size_t buflen, struct hostent **result, int *h_errnop)
{
	struct hostent_r_args a = { .name = name, .af = af, .host = host, .buf = buf,
				    .buflen = buflen, .result = result, .h_errnop = h_errnop };
	if (!offloaded() || !offload(call_gethostbyname2_r, &a))
		return GS_REAL(gethostbyname2_r)(name, af, host, buf, buflen, result, h_errnop);
	return a.ret;
}

static void call_gethostbyaddr_r(void *p)
{
	struct hostent_r_args *a = p;
	a->ret = GS_REAL(gethostbyaddr_r)(a->addr, a->len, a->af, a->host, a->buf, a->buflen,
					 a->result, a->h_errnop);
}

GS_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *host,
			      char *buf, size_t buflen, struct hostent **result, int *h_errnop)
{
	struct hostent_r_args a = { .addr = addr, .len = len, .af = type, .host = host, .buf = buf,
				    .buflen = buflen, .result = result, .h_errnop = h_errnop };
	if (!offloaded() || !offload(call_gethostbyaddr_r, &a))
		return GS_REAL(gethostbyaddr_r)(addr, len, type, host, buf, buflen, result, h_errnop);
	return a.ret;
}

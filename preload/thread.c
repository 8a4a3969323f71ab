/* The thread subsystem, part 1: thread life and identity.
 *
 * pthread_create makes a green thread on the calling OS thread's hub.  The
 * pthread_t we hand out points to our record, which glibc must never see:
 * every libc function that takes a pthread_t is interposed here, and only
 * a root record (an OS thread's own context) is ever forwarded to glibc,
 * with the real handle of that OS thread. */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "rawsys.h"
#include "real.h"

/* preload/'s part of a thread record (gs_thread_extra). */
struct thread_extra {
	char name[16];        /* pthread_setname_np; empty: not known yet */
	int policy;           /* scheduling policy and priority we report */
	int priority;
	pthread_t real;       /* roots: glibc's handle for the OS thread */
	size_t affinity_size; /* bytes of affinity set by pthread_setaffinity_np, 0: none */
	cpu_set_t affinity;   /* (kept here: the record is freed with the thread) */
};
_Static_assert(sizeof(struct thread_extra) <= GS_THREAD_EXTRA_SIZE, "extra area too small");

static struct thread_extra *extra_of(struct gs_thread *t)
{
	return gs_thread_extra(t);
}

static struct gs_thread *green(pthread_t th)
{
	return (struct gs_thread *)th;
}

static int is_root(struct gs_thread *t)
{
	struct gs_thread_info i;
	gs_thread_info(t, &i);
	return i.is_root;
}

/* The glibc handle of a root record: known for the calling OS thread. */
static int real_handle(struct gs_thread *t, pthread_t *out)
{
	struct thread_extra *x = extra_of(t);
	if (t == gs_self() && !x->real)
		x->real = GS_REAL(pthread_self)();
	if (!x->real)
		return ESRCH;
	*out = x->real;
	return 0;
}

/* A green thread starts with its creator's name, policy and priority, as a
 * kernel thread inherits them. */
static void inherit(struct gs_thread *child, struct gs_thread *parent)
{
	struct thread_extra *c = extra_of(child), *p = extra_of(parent);
	if (!p->name[0] && is_root(parent))
		prctl(PR_GET_NAME, p->name);
	memcpy(c->name, p->name, sizeof c->name);
	gs_thread_publish_name(child, c->name);
	c->policy = p->policy;
	c->priority = p->priority;
}

/* The scheduler orders threads by the real-time priority of what we
 * report: SCHED_FIFO and SCHED_RR by their priority, every other policy
 * below all of them. */
static void apply_sched(struct gs_thread *t)
{
	struct thread_extra *x = extra_of(t);
	int rt = x->policy == SCHED_FIFO || x->policy == SCHED_RR;
	gs_thread_set_sched(t, rt ? x->priority : 0);
}

static int read_attr_from(const pthread_attr_t *attr, struct gs_thread_attr *a, int *policy, int *prio)
{
	void *lo = NULL;
	size_t size = 0;
	int detach = 0, inherit_sched = PTHREAD_INHERIT_SCHED;
	pthread_attr_getstacksize(attr, &a->stacksize);
	pthread_attr_getguardsize(attr, &a->guardsize);
	/* glibc keeps the stack's top, NULL when unset, and reports top - size. */
	pthread_attr_getstack(attr, &lo, &size);
	pthread_attr_getdetachstate(attr, &detach);
	pthread_attr_getinheritsched(attr, &inherit_sched);
	a->stackaddr = (uintptr_t)lo + size == 0 ? NULL : lo;
	a->detached = detach == PTHREAD_CREATE_DETACHED;
	a->c11 = 0;
	*policy = -1;
	if (inherit_sched == PTHREAD_EXPLICIT_SCHED) {
		struct sched_param sp;
		pthread_attr_getschedpolicy(attr, policy);
		pthread_attr_getschedparam(attr, &sp);
		*prio = sp.sched_priority;
	}
	return 0;
}

/* What a NULL attr means: glibc's default attributes, read once (glibc
 * takes a lock and copies them: ~180 instructions a create) and again
 * after each pthread_setattr_default_np, the only call that changes them.
 * Under lock: valid says the copy is that of the current defaults;
 * changes counts pthread_setattr_default_np calls, so that a read that
 * raced with one is not kept. */
static struct {
	_Atomic int lock;
	int valid;
	unsigned changes;
	struct gs_thread_attr a;
	int policy, prio;
} default_attr;

static int read_default_attr(struct gs_thread_attr *a, int *policy, int *prio)
{
	gs_spin_lock(&default_attr.lock);
	if (gs_likely(default_attr.valid)) {
		*a = default_attr.a;
		*policy = default_attr.policy;
		*prio = default_attr.prio;
		gs_spin_unlock(&default_attr.lock);
		return 0;
	}
	unsigned changes = default_attr.changes;
	gs_spin_unlock(&default_attr.lock);
	pthread_attr_t def;
	if (pthread_getattr_default_np(&def) != 0)
		return EAGAIN;
	int rc = read_attr_from(&def, a, policy, prio);
	pthread_attr_destroy(&def);
	if (rc)
		return rc;
	gs_spin_lock(&default_attr.lock);
	if (default_attr.changes == changes) {
		default_attr.a = *a;
		default_attr.policy = *policy;
		default_attr.prio = *prio;
		default_attr.valid = 1;
	}
	gs_spin_unlock(&default_attr.lock);
	return 0;
}

GS_EXPORT int pthread_setattr_default_np(const pthread_attr_t *attr)
{
	int rc = GS_REAL(pthread_setattr_default_np)(attr);
	gs_spin_lock(&default_attr.lock);
	default_attr.changes++;
	default_attr.valid = 0;
	gs_spin_unlock(&default_attr.lock);
	return rc;
}

static int read_attr(const pthread_attr_t *attr, struct gs_thread_attr *a, int *policy, int *prio)
{
	if (!attr)
		return read_default_attr(a, policy, prio);
	return read_attr_from(attr, a, policy, prio);
}

void gs__segv_install(void); /* signal.c */
static int valid_sched(int policy, int prio);

int gs__create(pthread_t *out, const pthread_attr_t *attr, void *(*fn)(void *), void *arg, int c11)
{
	gs__segv_install(); /* green stacks exist from now on: report overflows */
	if (gs_preempt_ns) {
		gs_preempt_setup(); /* once */
		gs__urg_install();  /* the ticks start with the second thread */
	}
	struct gs_thread_attr a;
	int policy, prio = 0;
	int rc = read_attr(attr, &a, &policy, &prio);
	if (rc == 0 && policy >= 0)
		rc = valid_sched(policy, prio); /* glibc's EPERM or EINVAL */
	if (rc)
		return rc;
	a.c11 = c11;
	struct gs_thread *parent = gs_self(), *t;
	rc = gs_thread_create(&t, &a, fn, arg);
	if (rc)
		return -rc;
	inherit(t, parent);
	if (policy >= 0) {
		extra_of(t)->policy = policy;
		extra_of(t)->priority = prio;
	}
	apply_sched(t);
	*out = (pthread_t)t; /* before it runs, as glibc does */
	gs_thread_start(t);
	return 0;
}

GS_EXPORT int pthread_create(pthread_t *out, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_create)(out, attr, fn, arg);
	return gs__create(out, attr, fn, arg, 0);
}

GS_EXPORT _Noreturn void pthread_exit(void *ret)
{
	if (!gs_thread_on())
		GS_REAL(pthread_exit)(ret);
	gs_thread_exit_unwinding(ret);
}

GS_EXPORT pthread_t pthread_self(void)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_self)();
	return (pthread_t)gs_self();
}

GS_EXPORT int pthread_equal(pthread_t a, pthread_t b)
{
	return a == b;
}

/* Common to every join: glibc's order of checks, then the wait. */
static int join(pthread_t th, void **ret, int try, clockid_t clock, const struct timespec *abstime)
{
	struct gs_thread *t = green(th);
	if (!gs_is_thread(t))
		return ESRCH;
	struct gs_deadline d, *dp = NULL;
	if (abstime) {
		d.clock = clock;
		d.at = *abstime;
		dp = &d;
	}
	return -gs_thread_join(t, ret, try, dp);
}

GS_EXPORT int pthread_join(pthread_t th, void **ret)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_join)(th, ret);
	return join(th, ret, 0, CLOCK_REALTIME, NULL);
}

GS_EXPORT int pthread_tryjoin_np(pthread_t th, void **ret)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_tryjoin_np)(th, ret);
	return join(th, ret, 1, CLOCK_REALTIME, NULL);
}

/* glibc checks the clock, then waits; a tv_nsec out of range makes its
 * futex wait fail with EINVAL, which its loop ignores, so it waits until
 * the thread exits and returns 0.  We give the same result by waiting
 * without a deadline (and without glibc's busy loop). */
static int timed_join(pthread_t th, void **ret, clockid_t clock, const struct timespec *abstime)
{
	if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
		return EINVAL;
	if (!gs_timespec_valid(abstime))
		abstime = NULL;
	return join(th, ret, 0, clock, abstime);
}

GS_EXPORT int pthread_timedjoin_np(pthread_t th, void **ret, const struct timespec *abstime)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_timedjoin_np)(th, ret, abstime);
	return timed_join(th, ret, CLOCK_REALTIME, abstime);
}

GS_EXPORT int pthread_clockjoin_np(pthread_t th, void **ret, clockid_t clock, const struct timespec *abstime)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_clockjoin_np)(th, ret, clock, abstime);
	return timed_join(th, ret, clock, abstime);
}

GS_EXPORT int pthread_detach(pthread_t th)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_detach)(th);
	if (!gs_is_thread(green(th)))
		return ESRCH;
	return -gs_thread_detach(green(th));
}

GS_EXPORT int sched_yield(void)
{
	if (!gs_thread_on() || !gs_can_park())
		return GS_REAL(sched_yield)();
	/* The only runnable green thread yields the CPU as natively (to other
	 * processes, a SCHED_FIFO peer say), then lets the hub look at its
	 * loop as often as any yield does. */
	if (!gs_others_ready())
		GS_REAL(sched_yield)();
	gs_yield();
	return 0;
}

/* Old binaries still call pthread_yield, which glibc implements with an
 * internal call; the header redirects the name, so we define it by label. */
GS_EXPORT int gs_pthread_yield(void) __asm__("pthread_yield");
GS_EXPORT int gs_pthread_yield(void)
{
	return sched_yield();
}

/* ---- names ----------------------------------------------------------- */

GS_EXPORT int pthread_setname_np(pthread_t th, const char *name)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_setname_np)(th, name);
	struct gs_thread *t = green(th);
	if (!gs_is_thread(t))
		return ESRCH;
	size_t len = strlen(name);
	if (len >= sizeof extra_of(t)->name)
		return ERANGE;
	if (is_root(t)) {
		pthread_t real;
		int rc = real_handle(t, &real);
		if (rc == 0)
			rc = GS_REAL(pthread_setname_np)(real, name);
		if (rc)
			return rc;
	}
	memcpy(extra_of(t)->name, name, len + 1);
	gs_thread_publish_name(t, extra_of(t)->name);
	return 0;
}

GS_EXPORT int pthread_getname_np(pthread_t th, char *buf, size_t len)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_getname_np)(th, buf, len);
	struct gs_thread *t = green(th);
	if (!gs_is_thread(t))
		return ESRCH;
	if (len < 16) /* glibc: the buffer must hold any name (TASK_COMM_LEN) */
		return ERANGE;
	struct thread_extra *x = extra_of(t);
	if (is_root(t)) {
		pthread_t real;
		int rc = real_handle(t, &real);
		if (rc == 0)
			return GS_REAL(pthread_getname_np)(real, buf, len);
	}
	memcpy(buf, x->name, sizeof x->name);
	buf[15] = 0;
	return 0;
}

/* ---- attributes, clocks, signals --------------------------------------- */

GS_EXPORT int pthread_getattr_np(pthread_t th, pthread_attr_t *attr)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_getattr_np)(th, attr);
	struct gs_thread *t = green(th);
	if (!gs_is_thread(t))
		return ESRCH;
	if (is_root(t)) {
		pthread_t real;
		int rc = real_handle(t, &real);
		return rc ? rc : GS_REAL(pthread_getattr_np)(real, attr);
	}
	struct gs_thread_info i;
	gs_thread_info(t, &i);
	struct thread_extra *x = extra_of(t);
	int rc = pthread_attr_init(attr);
	if (rc)
		return rc;
	pthread_attr_setstack(attr, i.stack_lo, i.stack_size);
	pthread_attr_setguardsize(attr, i.guard_size);
	pthread_attr_setdetachstate(attr, i.detached ? PTHREAD_CREATE_DETACHED : PTHREAD_CREATE_JOINABLE);
	struct sched_param sp = { .sched_priority = x->priority };
	pthread_attr_setschedpolicy(attr, x->policy);
	pthread_attr_setschedparam(attr, &sp);
	return 0;
}

/* A green thread's CPU time is its OS thread's: the clock we give is that
 * thread's (the kernel's encoding of a per-thread CPU clock). */
GS_EXPORT int pthread_getcpuclockid(pthread_t th, clockid_t *clock)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_getcpuclockid)(th, clock);
	struct gs_thread *t = green(th);
	if (!gs_is_thread(t))
		return ESRCH;
	pid_t tid = (pid_t)gs__sys(SYS_gettid, 0, 0, 0, 0, 0, 0); /* the kernel's */
	*clock = (clockid_t)((~(unsigned)tid << 3) | 6); /* CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED */
	return 0;
}

int gs__sig_disposition(int sig); /* signal.c */

/* glibc keeps SIGCANCEL and SIGSETXID (32, 33) for itself: pthread_kill
 * and pthread_sigqueue refuse them. */
static int internal_signal(int sig)
{
	return sig == 32 || sig == 33;
}

static int signal_thread(struct gs_thread *t, int sig, const union sigval *value)
{
	if (sig < 0 || sig >= NSIG)
		return EINVAL;
	struct gs_thread_info i;
	gs_thread_info(t, &i);
	if (i.exited || sig == 0)
		return 0; /* glibc 2.34+: an exited, unjoined thread takes no signal */
	if (value && t == gs_self()) {
		/* To ourselves with a value: the kernel queues it with its
		 * siginfo, and a green thread's mask is the OS thread's. */
		siginfo_t si;
		memset(&si, 0, sizeof si);
		si.si_signo = sig;
		si.si_code = SI_QUEUE;
		si.si_pid = getpid();
		si.si_uid = getuid();
		si.si_value = *value;
		if (syscall(SYS_rt_tgsigqueueinfo, getpid(), (pid_t)gs__sys(SYS_gettid, 0, 0, 0, 0, 0, 0), sig, &si) < 0)
			return errno;
		return 0;
	}
	gs_signal_thread(t, sig, gs__sig_disposition(sig));
	return 0;
}

GS_EXPORT int pthread_kill(pthread_t th, int sig)
{
	gs_safe_point(); /* a call that never waits yields a spent slice */
	if (!gs_thread_on())
		return GS_REAL(pthread_kill)(th, sig);
	if (internal_signal(sig))
		return EINVAL;
	struct gs_thread *t = green(th);
	if (!gs_is_thread(t))
		return ESRCH;
	return signal_thread(t, sig, NULL);
}

/* raise is pthread_kill of the calling thread: a signal it blocks stays
 * pending on this green thread, not on the OS thread every green thread
 * shares (glibc's own raise would leave it to the kernel). */
GS_EXPORT int raise(int sig)
{
	if (!gs_thread_on() || !gs_can_park()) /* the hub's own context has no green record */
		return GS_REAL(raise)(sig);
	int rc = signal_thread(gs_self(), sig, NULL);
	if (rc) {
		errno = rc;
		return -1;
	}
	return 0;
}

GS_EXPORT int pthread_sigqueue(pthread_t th, int sig, const union sigval value)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_sigqueue)(th, sig, value);
	if (internal_signal(sig))
		return EINVAL;
	struct gs_thread *t = green(th);
	if (!gs_is_thread(t))
		return ESRCH;
	return signal_thread(t, sig, &value);
}

/* ---- scheduling parameters and affinity -------------------------------- */

/* Green threads share one OS thread: their policy and priority are kept
 * and reported, with the kernel's validation, and order the green threads
 * (apply_sched); the OS thread's own stays what it was.  A real-time
 * priority needs what the kernel asks for: root (CAP_SYS_NICE, which we
 * take root to mean) or an RLIMIT_RTPRIO that covers it. */
static int valid_sched(int policy, int prio)
{
	int lo = sched_get_priority_min(policy), hi = sched_get_priority_max(policy);
	if (lo < 0 || hi < 0 || prio < lo || prio > hi)
		return EINVAL;
	if ((policy == SCHED_FIFO || policy == SCHED_RR) && geteuid() != 0) {
		struct rlimit rl;
		if (getrlimit(RLIMIT_RTPRIO, &rl) != 0 || (rlim_t)prio > rl.rlim_cur)
			return EPERM;
	}
	return 0;
}

GS_EXPORT int pthread_setschedparam(pthread_t th, int policy, const struct sched_param *param)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_setschedparam)(th, policy, param);
	struct gs_thread *t = green(th);
	if (!gs_is_thread(t))
		return ESRCH;
	int rc = valid_sched(policy, param->sched_priority);
	if (rc)
		return rc;
	extra_of(t)->policy = policy;
	extra_of(t)->priority = param->sched_priority;
	apply_sched(t);
	gs_safe_point(); /* lowered below a ready thread: it runs now */
	return 0;
}

GS_EXPORT int pthread_getschedparam(pthread_t th, int *policy, struct sched_param *param)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_getschedparam)(th, policy, param);
	struct gs_thread *t = green(th);
	if (!gs_is_thread(t))
		return ESRCH;
	*policy = extra_of(t)->policy;
	memset(param, 0, sizeof *param);
	param->sched_priority = extra_of(t)->priority;
	return 0;
}

GS_EXPORT int pthread_setschedprio(pthread_t th, int prio)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_setschedprio)(th, prio);
	struct gs_thread *t = green(th);
	if (!gs_is_thread(t))
		return ESRCH;
	int rc = valid_sched(extra_of(t)->policy, prio);
	if (rc)
		return rc;
	extra_of(t)->priority = prio;
	apply_sched(t);
	gs_safe_point();
	return 0;
}

GS_EXPORT int pthread_setaffinity_np(pthread_t th, size_t size, const cpu_set_t *set)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_setaffinity_np)(th, size, set);
	struct gs_thread *t = green(th);
	if (!gs_is_thread(t))
		return ESRCH;
	/* The kernel's rule: the set must hold at least one CPU we may use. */
	cpu_set_t allowed;
	if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
		return errno;
	int usable = 0;
	for (size_t cpu = 0; cpu < size * 8 && cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET_S(cpu, size, set) && CPU_ISSET(cpu, &allowed))
			usable = 1;
	if (!usable)
		return EINVAL;
	struct thread_extra *x = extra_of(t);
	x->affinity_size = size < sizeof x->affinity ? size : sizeof x->affinity;
	memset(&x->affinity, 0, sizeof x->affinity);
	memcpy(&x->affinity, set, x->affinity_size); /* CPUs past CPU_SETSIZE are not kept */
	return 0;
}

GS_EXPORT int pthread_getaffinity_np(pthread_t th, size_t size, cpu_set_t *set)
{
	if (!gs_thread_on())
		return GS_REAL(pthread_getaffinity_np)(th, size, set);
	struct gs_thread *t = green(th);
	if (!gs_is_thread(t))
		return ESRCH;
	struct thread_extra *x = extra_of(t);
	if (!x->affinity_size) {
		if (sched_getaffinity(0, size, set) != 0)
			return errno;
		return 0;
	}
	memset(set, 0, size);
	memcpy(set, &x->affinity, size < x->affinity_size ? size : x->affinity_size);
	return 0;
}

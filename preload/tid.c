/* The kernel identity of a green thread: gettid() and the calls that take
 * a thread id (thread subsystem, with TLS per green thread).
 *
 * To the kernel every green thread of an OS thread is that one thread.
 * Programs, though, expect each thread its own id (CPython's
 * threading.get_native_id(), thread names in logs, per-thread maps keyed
 * by tid).  So a green thread's id is virtual: GS_VTID_BASE + its green id,
 * above PID_MAX_LIMIT (2^22), a number no kernel task can have, so a raw
 * system call given one fails with ESRCH instead of reaching another
 * task.  An OS thread's original context (main, or a thread the shim did
 * not create) keeps its kernel tid: main's gettid() is getpid().
 *
 * The calls below take a virtual id where the kernel takes a tid, as
 * functions and through syscall(2): tgkill/tkill/rt_tgsigqueueinfo send
 * the signal to that green thread (as pthread_kill; a queued value is not
 * carried); kill() signals the process, as the kernel does for a tid;
 * the scheduling and affinity calls act on the OS thread it runs on,
 * which is what the kernel can do.  An id of a green thread that does not
 * exist (any more) gets ESRCH, as natively.  What is not translated: raw
 * `syscall` instructions, /proc/thread-self and /proc/self/task (the OS
 * thread's), SO_PEERCRED-like kernel reports.
 *
 * With GREENSHIM_TLS=0 (diagnosis: everything per OS thread) gettid() is
 * the kernel's. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "real.h"
#include "rawsys.h"
#include "tid.h"

#define GS_VTID_BASE (1 << 22)

static int vtids_on(void)
{
	return gs_thread_on() && gs_tls_per_thread();
}

static pid_t kernel_tid(void)
{
	return (pid_t)gs__sys(SYS_gettid, 0, 0, 0, 0, 0, 0);
}

pid_t gs_gettid(void)
{
	if (vtids_on()) {
		struct gs_thread *t = gs_self();
		struct gs_thread_info i;
		gs_thread_info(t, &i);
		if (!i.is_root)
			return GS_VTID_BASE + gs_thread_id(t);
	}
	return kernel_tid();
}

/* The green thread whose virtual id is tid, on this OS thread's hub;
 * NULL if none.  *is_vtid: tid is in the virtual range. */
static struct gs_thread *by_vtid(pid_t tid, int *is_vtid)
{
	*is_vtid = vtids_on() && tid >= GS_VTID_BASE;
	return *is_vtid ? gs_hub_thread_by_id(tid - GS_VTID_BASE) : NULL;
}

int gs_tgkill(pid_t tgid, pid_t tid, int sig, int any_group)
{
	int v;
	struct gs_thread *t = by_vtid(tid, &v);
	if (!v)
		return any_group ? (int)gs__sys(SYS_tkill, tid, sig, 0, 0, 0, 0)
				 : (int)gs__sys(SYS_tgkill, tgid, tid, sig, 0, 0, 0);
	if (!t || (!any_group && tgid != getpid()))
		return -ESRCH;
	if (sig == 0)
		return 0; /* the existence check */
	return -pthread_kill((pthread_t)t, sig);
}

static int fail(int e)
{
	errno = e;
	return -1;
}

/* *k: the kernel id standing for id: id itself unless it is virtual; then
 * the process's (process) or this OS thread's tid.  0, or -1 for a
 * virtual id no living green thread has (the caller fails with ESRCH). */
static int translate(pid_t id, int process, pid_t *k)
{
	int v;
	struct gs_thread *t = by_vtid(id, &v);
	*k = !v ? id : process ? getpid() : kernel_tid();
	return v && !t ? -1 : 0;
}

/* kill() given a thread id signals the thread's process. */
GS_EXPORT int kill(pid_t pid, int sig)
{
	pid_t k;
	if (translate(pid, 1, &k))
		return fail(ESRCH);
	return GS_REAL(kill)(k, sig);
}

long gs_tid_syscall(long nr, const long *a, int *handled)
{
	*handled = 1;
	pid_t k;
	switch (nr) {
	case SYS_gettid:
		return gs_gettid();
	case SYS_tgkill:
	case SYS_tkill: {
		int r = nr == SYS_tkill ? gs_tgkill(0, (pid_t)a[0], (int)a[1], 1)
					: gs_tgkill((pid_t)a[0], (pid_t)a[1], (int)a[2], 0);
		return r < 0 ? fail(-r) : r;
	}
	case SYS_rt_tgsigqueueinfo: { /* to a green thread: its value is not carried */
		int v;
		by_vtid((pid_t)a[1], &v);
		if (!v)
			break;
		int r = gs_tgkill((pid_t)a[0], (pid_t)a[1], (int)a[2], 0);
		return r < 0 ? fail(-r) : r;
	}
	case SYS_kill:
	case SYS_sched_setaffinity:
	case SYS_sched_getaffinity:
	case SYS_sched_setscheduler:
	case SYS_sched_getscheduler:
	case SYS_sched_setparam:
	case SYS_sched_getparam:
		if (translate((pid_t)a[0], nr == SYS_kill, &k))
			return fail(ESRCH);
		return GS_REAL(syscall)(nr, (long)k, a[1], a[2], a[3], a[4], a[5]);
	case SYS_setpriority:
	case SYS_getpriority:
		if (a[0] != PRIO_PROCESS)
			break;
		if (translate((pid_t)a[1], 0, &k))
			return fail(ESRCH);
		return GS_REAL(syscall)(nr, a[0], (long)k, a[2], a[3], a[4], a[5]);
	}
	*handled = 0;
	return 0;
}

GS_EXPORT pid_t gettid(void)
{
	return gs_gettid();
}

GS_EXPORT int tgkill(pid_t tgid, pid_t tid, int sig)
{
	int r = gs_tgkill(tgid, tid, sig, 0);
	return r < 0 ? fail(-r) : 0;
}

#define TRANSLATED(ret, name, params, tidarg, ...)                                              \
	GS_EXPORT ret name params                                                                \
	{                                                                                        \
		pid_t k;                                                                         \
		if (translate(tidarg, 0, &k))                                                    \
			return fail(ESRCH);                                                      \
		return GS_REAL(name)(__VA_ARGS__);                                               \
	}

TRANSLATED(int, sched_setaffinity, (pid_t pid, size_t n, const cpu_set_t *set), pid, k, n, set)
TRANSLATED(int, sched_getaffinity, (pid_t pid, size_t n, cpu_set_t *set), pid, k, n, set)
TRANSLATED(int, sched_setscheduler, (pid_t pid, int policy, const struct sched_param *p), pid, k,
	   policy, p)
TRANSLATED(int, sched_getscheduler, (pid_t pid), pid, k)
TRANSLATED(int, sched_setparam, (pid_t pid, const struct sched_param *p), pid, k, p)
TRANSLATED(int, sched_getparam, (pid_t pid, struct sched_param *p), pid, k, p)

/* PRIO_PROCESS takes a tid on Linux (a thread's nice value). */
GS_EXPORT int setpriority(__priority_which_t which, id_t who, int prio)
{
	pid_t k = (pid_t)who;
	if (which == PRIO_PROCESS && translate((pid_t)who, 0, &k))
		return fail(ESRCH);
	return GS_REAL(setpriority)(which, (id_t)k, prio);
}

GS_EXPORT int getpriority(__priority_which_t which, id_t who)
{
	pid_t k = (pid_t)who;
	if (which == PRIO_PROCESS && translate((pid_t)who, 0, &k))
		return fail(ESRCH);
	return GS_REAL(getpriority)(which, (id_t)k);
}

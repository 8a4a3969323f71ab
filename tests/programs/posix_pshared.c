/*
 * posix_pshared — process-shared mutexes, semaphores and barriers: a
 * green thread that waits on one parks instead of blocking its OS thread,
 * ownership is per thread, and the objects keep glibc's protocol with a
 * process that does not run the shim.
 *
 * The objects live in a shared memfd mapping.  A peer process, re-executed
 * from this program without LD_PRELOAD (so plain glibc), maps it too.
 *  1. mutexes (normal, recursive, errorcheck, adaptive): main holds one,
 *     a thread W locks it (waits), main unlocks 100 ms later: W gets it;
 *     W's trylock of main's recursive mutex is EBUSY, its unlock of main's
 *     errorcheck mutex EPERM, main's relock of its errorcheck one EDEADLK;
 *     a timed lock of a held mutex times out;
 *  2. the peer holds a mutex 200 ms while W waits for it;
 *  3. semaphores: W waits on a pshared one, main posts; the peer posts
 *     one W waits on; sem_timedwait times out; a named sem_open one, posted
 *     by the peer;
 *  4. a barrier of three: main, W and the peer;
 *  5. a pshared condvar's timed wait with an errorcheck mutex: ETIMEDOUT,
 *     and the mutex is the caller's again (unlock: 0); W waits on the
 *     condvar, main signals it; W waits again, the peer signals it;
 *  6. rwlocks: main holds the write lock, W's read lock waits (it is not
 *     EDEADLK: W is another thread) until main unlocks; W's write lock
 *     waits for the peer's read lock; a timed write lock times out;
 *  7. W waits on the condvar; main holds the mutex 60 ms (across the
 *     shim's 20 ms wait slices) before it signals: W still wakes.
 * With PSHARED_NOWAITV=1 in the environment it first makes the kernel
 * refuse FUTEX_WAITV (a seccomp filter, as on kernels before 5.16), then
 * runs the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

struct shared {
	pthread_mutex_t m[4];
	pthread_mutex_t peer_m;
	sem_t s_main, s_peer, s_timed, go_peer, peer_ready;
	pthread_barrier_t bar;
	pthread_cond_t cv;
	pthread_mutex_t cv_m;
	int flag;
	pthread_rwlock_t rw;
	int peer_step;
};

static struct shared *sh;
static const char *types[] = { "normal", "recursive", "errorcheck", "adaptive" };
static const int type_of[] = { PTHREAD_MUTEX_NORMAL, PTHREAD_MUTEX_RECURSIVE, PTHREAD_MUTEX_ERRORCHECK,
			       PTHREAD_MUTEX_ADAPTIVE_NP };
static char sem_name[64];

static void wait_sem(sem_t *s)
{
	while (sem_wait(s) != 0)
		;
}

/* ---- the peer: plain glibc, no shim ---- */
static int peer(int fd)
{
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (sh == MAP_FAILED)
		die("peer mmap");
	/* 2: hold the mutex 200 ms while the other side waits */
	pthread_mutex_lock(&sh->peer_m);
	sem_post(&sh->peer_ready);
	sleep_ms(200);
	pthread_mutex_unlock(&sh->peer_m);
	/* 3: post a semaphore a green thread waits on, then a named one */
	wait_sem(&sh->go_peer);
	sleep_ms(50);
	sem_post(&sh->s_peer);
	sem_t *named = sem_open(sem_name, 0);
	if (named == SEM_FAILED)
		die("peer sem_open");
	wait_sem(&sh->go_peer);
	sleep_ms(50);
	sem_post(named);
	sem_close(named);
	/* 4: the third at the barrier */
	wait_sem(&sh->go_peer);
	sleep_ms(50);
	pthread_barrier_wait(&sh->bar);
	/* 5: signal the condvar the other side waits on */
	wait_sem(&sh->go_peer);
	sleep_ms(50);
	pthread_mutex_lock(&sh->cv_m);
	sh->flag = 2;
	pthread_cond_signal(&sh->cv);
	pthread_mutex_unlock(&sh->cv_m);
	/* 6: hold the rwlock for reading 200 ms */
	wait_sem(&sh->go_peer);
	pthread_rwlock_rdlock(&sh->rw);
	sem_post(&sh->peer_ready);
	sleep_ms(200);
	pthread_rwlock_unlock(&sh->rw);
	return 0;
}

/* ---- the greened side ---- */
static int which;
static int w_result, w_other;

static void *lock_it(void *arg)
{
	w_result = pthread_mutex_lock(&sh->m[which]);
	if (w_result == 0)
		pthread_mutex_unlock(&sh->m[which]);
	return NULL;
}

static void *probe_owner(void *arg)
{
	w_result = pthread_mutex_trylock(&sh->m[1]); /* main's recursive one */
	if (w_result == 0)
		pthread_mutex_unlock(&sh->m[1]);
	w_other = pthread_mutex_unlock(&sh->m[2]); /* main's errorcheck one */
	return NULL;
}

static void *lock_peer_held(void *arg)
{
	w_result = pthread_mutex_lock(&sh->peer_m);
	if (w_result == 0)
		pthread_mutex_unlock(&sh->peer_m);
	return NULL;
}

static void *wait_on(void *arg)
{
	w_result = sem_wait(arg) == 0 ? 0 : errno;
	return NULL;
}

static void *arrive(void *arg)
{
	int r = pthread_barrier_wait(&sh->bar);
	w_result = r == PTHREAD_BARRIER_SERIAL_THREAD ? 0 : r;
	return NULL;
}

static void *cond_waiter(void *arg)
{
	int want = (int)(intptr_t)arg;
	pthread_mutex_lock(&sh->cv_m);
	w_result = 0;
	while (sh->flag != want && w_result == 0)
		w_result = pthread_cond_wait(&sh->cv, &sh->cv_m);
	w_other = pthread_mutex_unlock(&sh->cv_m);
	return NULL;
}

static void *rw_reader(void *arg)
{
	w_result = pthread_rwlock_rdlock(&sh->rw);
	if (w_result == 0)
		pthread_rwlock_unlock(&sh->rw);
	return NULL;
}

static void *rw_writer(void *arg)
{
	w_result = pthread_rwlock_wrlock(&sh->rw);
	if (w_result == 0)
		w_other = pthread_rwlock_unlock(&sh->rw);
	return NULL;
}

static pthread_t start(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	must(pthread_create(&t, NULL, fn, arg), "pthread_create");
	return t;
}

/* The kernel answers FUTEX_WAITV (449) with ENOSYS from now on, in this
 * thread and the threads it makes. */
static void refuse_futex_waitv(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 449, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof f / sizeof f[0], f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		die("seccomp");
}

int main(int argc, char **argv)
{
	if (getenv("PSHARED_NOWAITV"))
		refuse_futex_waitv();
	if (argc == 4 && strcmp(argv[1], "peer") == 0) {
		snprintf(sem_name, sizeof sem_name, "%s", argv[3]);
		return peer(atoi(argv[2]));
	}
	snprintf(sem_name, sizeof sem_name, "/gs-pshared-%d", (int)getpid());
	int fd = memfd_create("pshared", 0);
	if (fd < 0 || ftruncate(fd, sizeof *sh) != 0)
		die("memfd");
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	for (int i = 0; i < 4; i++) {
		pthread_mutexattr_settype(&ma, type_of[i]);
		must(pthread_mutex_init(&sh->m[i], &ma), "mutex_init");
	}
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_NORMAL);
	must(pthread_mutex_init(&sh->peer_m, &ma), "mutex_init");
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
	must(pthread_mutex_init(&sh->cv_m, &ma), "mutex_init");
	sem_init(&sh->s_main, 1, 0);
	sem_init(&sh->s_peer, 1, 0);
	sem_init(&sh->s_timed, 1, 0);
	sem_init(&sh->go_peer, 1, 0);
	sem_init(&sh->peer_ready, 1, 0);
	pthread_barrierattr_t ba;
	pthread_barrierattr_init(&ba);
	pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED);
	must(pthread_barrier_init(&sh->bar, &ba, 3), "barrier_init");
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	must(pthread_cond_init(&sh->cv, &ca), "cond_init");
	pthread_rwlockattr_t ra;
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setpshared(&ra, PTHREAD_PROCESS_SHARED);
	must(pthread_rwlock_init(&sh->rw, &ra), "rwlock_init");
	sem_t *named = sem_open(sem_name, O_CREAT | O_EXCL, 0600, 0);
	if (named == SEM_FAILED)
		die("sem_open");

	/* 1. within this process */
	for (which = 0; which < 4; which++) {
		pthread_mutex_lock(&sh->m[which]);
		pthread_t t = start(lock_it, NULL);
		sleep_ms(100);
		pthread_mutex_unlock(&sh->m[which]);
		must(pthread_join(t, NULL), "join");
		printf("%-10s: the waiter got it after the unlock: %s\n", types[which], en(w_result));
	}
	pthread_mutex_lock(&sh->m[1]);
	pthread_mutex_lock(&sh->m[2]);
	pthread_t t = start(probe_owner, NULL);
	must(pthread_join(t, NULL), "join");
	printf("another thread: trylock of main's recursive %s, unlock of main's errorcheck %s\n",
	       en(w_result), en(w_other));
	int rec = pthread_mutex_lock(&sh->m[1]);
	int err = pthread_mutex_lock(&sh->m[2]);
	printf("main: relock of its recursive %s, of its errorcheck %s\n", en(rec), en(err));
	pthread_mutex_unlock(&sh->m[1]);
	pthread_mutex_unlock(&sh->m[1]);
	int first = pthread_mutex_unlock(&sh->m[2]);
	int again = pthread_mutex_unlock(&sh->m[2]);
	printf("main: unlock of its errorcheck %s, again %s\n", en(first), en(again));
	pthread_mutex_lock(&sh->m[0]);
	struct timespec soon = deadline_ms(CLOCK_REALTIME, 100);
	printf("timedlock of a held mutex: %s\n", en(pthread_mutex_timedlock(&sh->m[0], &soon)));
	pthread_mutex_unlock(&sh->m[0]);

	/* the peer: plain glibc */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		unsetenv("LD_PRELOAD");
		char fdarg[16];
		snprintf(fdarg, sizeof fdarg, "%d", fd);
		execl("/proc/self/exe", argv[0], "peer", fdarg, sem_name, (char *)NULL);
		_exit(127);
	}
	/* 2. */
	wait_sem(&sh->peer_ready);
	t = start(lock_peer_held, NULL);
	must(pthread_join(t, NULL), "join");
	printf("the peer's mutex, once it let go: %s\n", en(w_result));
	/* 3. */
	t = start(wait_on, &sh->s_main);
	sleep_ms(100);
	sem_post(&sh->s_main);
	must(pthread_join(t, NULL), "join");
	printf("sem posted by main: %s\n", en(w_result));
	t = start(wait_on, &sh->s_peer);
	sem_post(&sh->go_peer);
	must(pthread_join(t, NULL), "join");
	printf("sem posted by the peer: %s\n", en(w_result));
	t = start(wait_on, named);
	sem_post(&sh->go_peer);
	must(pthread_join(t, NULL), "join");
	printf("named sem posted by the peer: %s\n", en(w_result));
	soon = deadline_ms(CLOCK_REALTIME, 100);
	printf("sem_timedwait: %s\n", sem_timedwait(&sh->s_timed, &soon) == 0 ? "0" : en(errno));
	/* 4. */
	t = start(arrive, NULL);
	sem_post(&sh->go_peer);
	int r = pthread_barrier_wait(&sh->bar);
	must(pthread_join(t, NULL), "join");
	printf("barrier: main %s, thread %s\n", r == PTHREAD_BARRIER_SERIAL_THREAD || r == 0 ? "passed" : en(r),
	       en(w_result));
	/* 5. */
	pthread_mutex_lock(&sh->cv_m);
	soon = deadline_ms(CLOCK_REALTIME, 50);
	printf("pshared cond timedwait: %s\n", en(pthread_cond_timedwait(&sh->cv, &sh->cv_m, &soon)));
	printf("its errorcheck mutex unlocks: %s\n", en(pthread_mutex_unlock(&sh->cv_m)));
	t = start(cond_waiter, (void *)(intptr_t)1);
	sleep_ms(100);
	pthread_mutex_lock(&sh->cv_m);
	sh->flag = 1;
	pthread_cond_signal(&sh->cv);
	pthread_mutex_unlock(&sh->cv_m);
	must(pthread_join(t, NULL), "join");
	printf("cond signalled by main: wait %s, unlock after %s\n", en(w_result), en(w_other));
	t = start(cond_waiter, (void *)(intptr_t)2);
	sem_post(&sh->go_peer);
	must(pthread_join(t, NULL), "join");
	printf("cond signalled by the peer: wait %s, unlock after %s\n", en(w_result), en(w_other));
	/* 6. */
	pthread_rwlock_wrlock(&sh->rw);
	t = start(rw_reader, NULL);
	sleep_ms(100);
	pthread_rwlock_unlock(&sh->rw);
	must(pthread_join(t, NULL), "join");
	printf("rwlock: read lock after main's write lock: %s\n", en(w_result));
	sem_post(&sh->go_peer);
	wait_sem(&sh->peer_ready);
	soon = deadline_ms(CLOCK_REALTIME, 50);
	printf("rwlock: timed write lock while the peer reads: %s\n", en(pthread_rwlock_timedwrlock(&sh->rw, &soon)));
	t = start(rw_writer, NULL);
	must(pthread_join(t, NULL), "join");
	printf("rwlock: write lock once the peer let go: %s, unlock %s\n", en(w_result), en(w_other));
	int status = 0;
	waitpid(pid, &status, 0);
	printf("peer exit status %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	/* 7. */
	t = start(cond_waiter, (void *)(intptr_t)3);
	sleep_ms(50);
	pthread_mutex_lock(&sh->cv_m);
	sleep_ms(60);
	sh->flag = 3;
	pthread_cond_signal(&sh->cv);
	pthread_mutex_unlock(&sh->cv_m);
	must(pthread_join(t, NULL), "join");
	printf("cond signalled after holding the mutex 60 ms: wait %s\n", en(w_result));
	sem_close(named);
	sem_unlink(sem_name);
	return 0;
}

/*
 * sigmask_threads — per-thread signal masks and directed signals.
 *
 * - a thread inherits its creator's mask at pthread_create: A is created
 *   while main blocks SIGUSR1 (A starts with it blocked), B after main
 *   unblocked it (B starts with it unblocked);
 * - A then blocks SIGUSR2 as well; that does not leak into B or main;
 * - pthread_kill(A, SIGUSR1) while A blocks it: the signal stays pending
 *   in A (sigpending shows it, the handler has not run), and when A
 *   unblocks it the handler runs in A before pthread_sigmask returns;
 * - pthread_kill(B, SIGUSR1) while B sleeps in nanosleep(3 s): the
 *   handler runs in B and the sleep returns -1/EINTR early;
 * - the handler never runs in main.
 * The handler identifies its thread with pthread_self().
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

static pthread_t ta, tb, tmain;
static volatile sig_atomic_t in_a, in_b, in_main, in_other;
static pthread_barrier_t start, sent_to_a;

static void handler(int sig)
{
	pthread_t me = pthread_self();
	if (pthread_equal(me, ta))
		in_a++;
	else if (pthread_equal(me, tb))
		in_b++;
	else if (pthread_equal(me, tmain))
		in_main++;
	else
		in_other++;
}

static int blocked(int sig)
{
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, sig);
}

struct a_report {
	int usr1_inherited, pending, ran_before_unblock, ran_after_unblock, usr2_still;
};

static void *thread_a(void *arg)
{
	struct a_report *r = arg;
	r->usr1_inherited = blocked(SIGUSR1);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	pthread_barrier_wait(&start);
	pthread_barrier_wait(&sent_to_a);
	sigset_t p;
	sigpending(&p);
	r->pending = sigismember(&p, SIGUSR1);
	r->ran_before_unblock = in_a;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	r->ran_after_unblock = in_a;
	r->usr2_still = blocked(SIGUSR2);
	return NULL;
}

struct b_report {
	int usr1_inherited, usr2_leaked, sleep_ret, sleep_errno, early, ran;
};

static void *thread_b(void *arg)
{
	struct b_report *r = arg;
	r->usr1_inherited = blocked(SIGUSR1);
	pthread_barrier_wait(&start);
	r->usr2_leaked = blocked(SIGUSR2);
	struct timespec t0, t1, three = { 3, 0 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errno = 0;
	r->sleep_ret = nanosleep(&three, NULL);
	r->sleep_errno = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->early = t1.tv_sec - t0.tv_sec < 2;
	r->ran = in_b;
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	tmain = pthread_self();
	pthread_barrier_init(&start, NULL, 3);
	pthread_barrier_init(&sent_to_a, NULL, 2);

	struct a_report ra = { 0 };
	struct b_report rb = { 0 };
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	if (pthread_create(&ta, NULL, thread_a, &ra) != 0)
		return 1;
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	if (pthread_create(&tb, NULL, thread_b, &rb) != 0)
		return 1;

	pthread_barrier_wait(&start);
	int k1 = pthread_kill(ta, SIGUSR1);
	pthread_barrier_wait(&sent_to_a);
	usleep(100000); /* B is asleep by now */
	int k2 = pthread_kill(tb, SIGUSR1);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);

	printf("pthread_kill(A) = %d, pthread_kill(B) = %d\n", k1, k2);
	printf("A: SIGUSR1 blocked at start %s, pending while blocked %s, handler ran while "
	       "blocked %d, after unblocking %d, SIGUSR2 still blocked %s\n",
	       yesno(ra.usr1_inherited), yesno(ra.pending), ra.ran_before_unblock,
	       ra.ran_after_unblock, yesno(ra.usr2_still));
	printf("B: SIGUSR1 blocked at start %s, sees A's SIGUSR2 block %s, nanosleep = %d errno %s, "
	       "early %s, handler ran %d\n",
	       yesno(rb.usr1_inherited), yesno(rb.usr2_leaked), rb.sleep_ret,
	       rb.sleep_errno == EINTR ? "EINTR" : rb.sleep_errno ? "other" : "0", yesno(rb.early),
	       rb.ran);
	printf("main: SIGUSR1 blocked %s, SIGUSR2 blocked %s, handler ran in main %d, elsewhere %d\n",
	       yesno(blocked(SIGUSR1)), yesno(blocked(SIGUSR2)), (int)in_main, (int)in_other);
	return 0;
}

/*
 * yield_pingpong — strict alternation through a flag and sched_yield.
 *
 * Two threads take turns 2,000 times each: a thread spins with
 * sched_yield until the shared turn flag names it, appends its id to a
 * log, and hands the turn over.  Then three threads do the same round
 * robin 1,000 times each.  The log must alternate perfectly.  No locks
 * are involved: on one OS thread, this only terminates if sched_yield
 * really lets the other threads run.  Also: sched_yield returns 0.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXLOG 6000

static int turn, nthreads, per_thread;
static char log_[MAXLOG];
static int logged, yield_errors;

static void *player(void *arg)
{
	int me = (int)(long)arg;
	for (int i = 0; i < per_thread; i++) {
		while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != me)
			if (sched_yield() != 0)
				__atomic_fetch_add(&yield_errors, 1, __ATOMIC_RELAXED);
		log_[logged++] = (char)('a' + me);
		__atomic_store_n(&turn, (me + 1) % nthreads, __ATOMIC_RELEASE);
	}
	return NULL;
}

static int play(int n, int rounds)
{
	pthread_t t[3];
	nthreads = n;
	per_thread = rounds;
	turn = 0;
	logged = 0;
	for (long i = n - 1; i >= 0; i--) /* started in reverse order */
		if (pthread_create(&t[i], NULL, player, (void *)i) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			exit(1);
		}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	int ok = logged == n * rounds;
	for (int i = 0; ok && i < logged; i++)
		ok = log_[i] == 'a' + i % n;
	printf("%d threads x %d turns: %d entries, strictly alternating %s, starts \"%.6s\"\n", n,
	       rounds, logged, ok ? "yes" : "no", log_);
	return ok;
}

int main(void)
{
	int ok = play(2, 2000);
	ok &= play(3, 1000);
	printf("sched_yield errors: %d\n", yield_errors);
	return ok && !yield_errors ? 0 : 1;
}

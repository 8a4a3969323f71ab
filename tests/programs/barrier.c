/*
 * barrier — pthread barriers.
 *
 * - 5 threads x 20 rounds with varying small delays before each wait:
 *   per round exactly one thread gets PTHREAD_BARRIER_SERIAL_THREAD and
 *   the others 0, and nobody leaves a round before all 5 have arrived;
 * - who gets PTHREAD_BARRIER_SERIAL_THREAD: POSIX leaves it open; glibc
 *   gives it to the thread whose arrival completes the round (the last to
 *   arrive: `i % count == 0` on the arrival counter).  Three rounds with
 *   arrivals spaced 20 ms apart, a different thread last each time, check
 *   that;
 * - count 0 -> EINVAL; count 1 -> every wait is the serial thread;
 *   barrierattr pshared round trip; destroy -> 0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

#define N 5
#define ROUNDS 20
#define ORDERED 3

static pthread_barrier_t b;
static int serial[ROUNDS], zero[ROUNDS], other[ROUNDS], early[ROUNDS];
static int arrived;
static int serial_thread[ORDERED];

static void *worker(void *arg)
{
	int id = (int)(long)arg;
	for (int r = 0; r < ROUNDS; r++) {
		usleep(((id * 7 + r * 3) % 5) * 1000);
		__atomic_fetch_add(&arrived, 1, __ATOMIC_SEQ_CST);
		int v = pthread_barrier_wait(&b);
		if (__atomic_load_n(&arrived, __ATOMIC_SEQ_CST) < N * (r + 1))
			__atomic_fetch_add(&early[r], 1, __ATOMIC_SEQ_CST);
		if (v == PTHREAD_BARRIER_SERIAL_THREAD)
			__atomic_fetch_add(&serial[r], 1, __ATOMIC_SEQ_CST);
		else if (v == 0)
			__atomic_fetch_add(&zero[r], 1, __ATOMIC_SEQ_CST);
		else
			__atomic_fetch_add(&other[r], 1, __ATOMIC_SEQ_CST);
	}
	/* ordered rounds: thread (N-1-r) arrives last in round r */
	for (int r = 0; r < ORDERED; r++) {
		usleep(((id + r) % N) * 20000);
		if (pthread_barrier_wait(&b) == PTHREAD_BARRIER_SERIAL_THREAD)
			serial_thread[r] = id;
	}
	return NULL;
}

int main(void)
{
	pthread_t t[N];
	printf("init(count 5) = %s\n", en(pthread_barrier_init(&b, NULL, N)));
	for (long i = 0; i < N; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	int bad = 0;
	for (int r = 0; r < ROUNDS; r++) {
		if (serial[r] != 1 || zero[r] != N - 1 || other[r] || early[r]) {
			printf("round %d: serial %d, zero %d, other %d, left early %d\n", r, serial[r],
			       zero[r], other[r], early[r]);
			bad++;
		}
	}
	printf("%d rounds: one serial thread and %d zeros each, nobody early: %s\n", ROUNDS, N - 1,
	       bad ? "NO" : "yes");
	for (int r = 0; r < ORDERED; r++)
		printf("ordered round %d: last to arrive is thread %d, serial thread is %d\n", r,
		       (N - 1 - r + N) % N, serial_thread[r]);
	printf("destroy = %s\n", en(pthread_barrier_destroy(&b)));

	pthread_barrier_t z;
	printf("init(count 0) = %s\n", en(pthread_barrier_init(&z, NULL, 0)));
	printf("init(count 1) = %s", en(pthread_barrier_init(&z, NULL, 1)));
	int s = 0;
	for (int i = 0; i < 3; i++)
		s += pthread_barrier_wait(&z) == PTHREAD_BARRIER_SERIAL_THREAD;
	printf(", 3 waits all serial: %s, destroy = %s\n", s == 3 ? "yes" : "no",
	       en(pthread_barrier_destroy(&z)));

	pthread_barrierattr_t a;
	int ps = -1;
	pthread_barrierattr_init(&a);
	pthread_barrierattr_getpshared(&a, &ps);
	printf("barrierattr default private: %s", ps == PTHREAD_PROCESS_PRIVATE ? "yes" : "no");
	printf(", setpshared(42) = %s\n", en(pthread_barrierattr_setpshared(&a, 42)));
	pthread_barrierattr_setpshared(&a, PTHREAD_PROCESS_PRIVATE);
	printf("init with attr = %s", en(pthread_barrier_init(&z, &a, 2)));
	printf(", destroy = %s\n", en(pthread_barrier_destroy(&z)));
	pthread_barrierattr_destroy(&a);
	return bad ? 1 : 0;
}

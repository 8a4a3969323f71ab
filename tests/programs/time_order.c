/*
 * time_order — sleeping threads wake in the order of their deadlines.
 *
 * Round 1: eight threads, started in a scrambled order, sleep 50..400 ms
 * (50 ms apart) with a mix of nanosleep, usleep, clock_nanosleep relative
 * and clock_nanosleep TIMER_ABSTIME (CLOCK_MONOTONIC and CLOCK_REALTIME).
 * Round 2: eight threads sleep until absolute deadlines base + 40..320 ms
 * taken from one common base.  Each records its duration under a mutex
 * when it wakes; main prints the order after joining.  The 40-50 ms gaps
 * are far larger than scheduling noise, so the order is deterministic.
 *
 * Runs in about 0.8 s.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

#define N 8
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int order[N], norder;
static int failures;

struct job {
	int ms;     /* duration, also the thread's label */
	int how;    /* which sleep call */
	long long base_mono, base_real; /* round 2: common base */
};

static void record(int ms)
{
	pthread_mutex_lock(&lock);
	order[norder++] = ms;
	pthread_mutex_unlock(&lock);
}

static void *sleeper(void *p)
{
	struct job *j = p;
	struct timespec ts = ts_of(j->ms * MS);
	int r = 0;
	switch (j->how) {
	case 0:
		r = nanosleep(&ts, NULL);
		break;
	case 1:
		r = usleep(j->ms * 1000);
		break;
	case 2:
		r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
		break;
	case 3: {
		struct timespec at = ts_of(now_ns(CLOCK_REALTIME) + j->ms * MS);
		r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &at, NULL);
		break;
	}
	case 4: { /* round 2: common base, alternate clocks */
		int mono = (j->ms / 40) % 2;
		clockid_t c = mono ? CLOCK_MONOTONIC : CLOCK_REALTIME;
		long long base = mono ? j->base_mono : j->base_real;
		struct timespec at = ts_of(base + j->ms * MS);
		r = clock_nanosleep(c, TIMER_ABSTIME, &at, NULL);
		break;
	}
	}
	if (r != 0) {
		fprintf(stderr, "sleeper %d ms (how %d): %d errno %d\n", j->ms, j->how, r, errno);
		__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
	}
	record(j->ms);
	return NULL;
}

static void run(const char *label, struct job *jobs)
{
	pthread_t t[N];
	norder = 0;
	for (int i = 0; i < N; i++) {
		int e = pthread_create(&t[i], NULL, sleeper, &jobs[i]);
		if (e != 0) {
			fprintf(stderr, "pthread_create: %s\n", strerror(e));
			exit(1);
		}
	}
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	printf("%s wake order:", label);
	for (int i = 0; i < norder; i++)
		printf(" %d", order[i]);
	printf("\n");
}

int main(void)
{
	/* Creation order is scrambled on purpose. */
	static const int perm[N] = { 5, 2, 7, 0, 3, 6, 1, 4 };
	struct job jobs[N];
	for (int i = 0; i < N; i++)
		jobs[i] = (struct job){ .ms = (perm[i] + 1) * 50, .how = i % 4 };
	run("relative", jobs);

	long long bm = now_ns(CLOCK_MONOTONIC), br = now_ns(CLOCK_REALTIME);
	for (int i = 0; i < N; i++)
		jobs[i] = (struct job){ .ms = (perm[(i + 3) % N] + 1) * 40, .how = 4,
					.base_mono = bm, .base_real = br };
	run("absolute", jobs);

	printf("failures: %d\n", failures);
	return failures ? 1 : 0;
}

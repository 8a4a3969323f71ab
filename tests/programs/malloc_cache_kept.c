/*
 * malloc_cache_kept — a thread's malloc cache outlives the thread's TCB
 * being pooled and reused: no memory is lost per thread.
 *
 * Under the shim a green thread's TCB is pooled when it ends and handed to
 * the next thread or hub, with the ended thread's malloc cache (tcache,
 * found in libc's TLS at the first hub) carried over.  Each case runs
 * rounds and prints whether the heap in use (mallinfo2's uordblks) grew by
 * more than 1000 bytes a round past a warm-up:
 *   churn     threads that fill their caches (many sizes) and end
 *   timer     the same, each round followed by a SIGEV_THREAD timer's
 *             thread (a real OS thread: under the shim it makes a hub of
 *             its own, whose TCB comes from the pool) that sleeps
 * malloc_cache_kept_nopie is this program built as a non-PIE executable:
 * it takes malloc's address (a canonical PLT entry, as python3.11 has).
 */
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

#define WARMUP 20

static sem_t done;
static void *(*volatile alloc)(size_t) = malloc; /* malloc's address taken */

static void *fill_cache(void *arg)
{
	void *p[64][3];
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < 3; j++)
			if (!(p[i][j] = alloc(16 * i + 8)))
				die("malloc");
	for (int i = 0; i < 64; i++)
		for (int j = 0; j < 3; j++)
			free(p[i][j]);
	return NULL;
}

static void on_timer(union sigval v)
{
	usleep(100); /* a greened call on this OS thread */
	sem_post(&done);
}

static void run(const char *name, int rounds, timer_t *tm)
{
	size_t start = 0;
	for (int r = 0; r < rounds; r++) {
		pthread_t t;
		must(pthread_create(&t, NULL, fill_cache, NULL), "pthread_create");
		must(pthread_join(t, NULL), "pthread_join");
		if (tm) {
			struct itimerspec its = { .it_value = { 0, 100000 } };
			if (timer_settime(*tm, 0, &its, NULL) != 0)
				die("timer_settime");
			while (sem_wait(&done) != 0)
				;
			usleep(200); /* the timer's thread ends */
		}
		if (r == WARMUP)
			start = mallinfo2().uordblks;
	}
	long grow = ((long)mallinfo2().uordblks - (long)start) / (rounds - WARMUP - 1);
	printf("%s: heap growth per round over 1000 bytes: %s\n", name, yesno(grow > 1000));
}

int main(void)
{
	run("churn", 400, NULL);
	sem_init(&done, 0, 0);
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_timer };
	timer_t tm;
	if (timer_create(CLOCK_MONOTONIC, &sev, &tm) != 0)
		die("timer_create");
	run("timer", 200, &tm);
	return 0;
}

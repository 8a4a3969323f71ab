/*
 * stack_overflow_crowd — a thread recurses without end after 40,000 other
 * threads were made (greenshim only).  Natively it dies by SIGSEGV in its
 * guard page; under the shim it must too, after the report naming it,
 * however many stacks came before it (the map budget of PROT_NONE guards
 * ran out near 28,600 stacks: a later one had no guard page and ran into
 * the stack below it).  Expected: "started" on stdout, the report on
 * stderr, signal 11.  With CROWD_ENDED=1 in the environment, 5,000 threads
 * end and are joined instead, and the recursing thread reuses the stack
 * the last of them had, whose memory (and guard mark) the shim gave back
 * and must guard again.
 * The shim guards every stack only with the kernel's
 * guard markers (Linux 6.13); on an older kernel the crowd is kept small,
 * within the budget of PROT_NONE guards.
 *
 * Guard: if after the first 100 threads /proc/self/status already shows
 * more than one OS thread, threads are not green; the program then stops
 * at once with status 1 instead of eating the system-wide pid space.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "testutil.h"

#define CROWD 40000
#define SMALL_CROWD 1000
#define ENDED 5000
#define MADV_GUARD_INSTALL_ 102 /* Linux 6.13's MADV_GUARD_INSTALL */

static void *recurse(void *arg)
{
	return (void *)(long)recurse_forever(0);
}

static void *quick(void *arg)
{
	return NULL;
}

static void *waiting(void *arg)
{
	sleep(60); /* the process ends long before */
	return NULL;
}

static int kernel_has_guard_markers(void)
{
	long ps = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	int ok = madvise(p, ps, MADV_GUARD_INSTALL_) == 0;
	munmap(p, 2 * ps);
	return ok;
}

int main(void)
{
	pthread_t t;
	int crowd = kernel_has_guard_markers() ? CROWD : SMALL_CROWD;
	const char *ended = getenv("CROWD_ENDED");
	if (ended && atoi(ended)) {
		static pthread_t done[ENDED];
		for (int i = 0; i < ENDED; i++)
			if (pthread_create(&done[i], NULL, quick, NULL) != 0)
				return 1;
		for (int i = 0; i < ENDED; i++)
			pthread_join(done[i], NULL);
		crowd = 0;
	}
	for (int i = 0; i < crowd; i++) {
		int e = pthread_create(&t, NULL, waiting, NULL);
		if (e != 0) {
			fprintf(stderr, "pthread_create #%d: %s\n", i, strerror(e));
			return 1;
		}
		if (i == 99 && status_threads() > 1) {
			fprintf(stderr, "stack_overflow_crowd: threads are real OS threads, "
					"not creating %d of them\n", crowd);
			return 1;
		}
	}
	printf("started\n");
	fflush(stdout);
	pthread_create(&t, NULL, recurse, NULL);
	pthread_join(t, NULL);
	printf("not reached\n");
	return 0;
}

/*
 * preempt_libc — spinners inside malloc and stdio (allocator and FILE
 * lock safety of preemption).
 *
 * Two threads malloc/free blocks of varying sizes in a loop, two others
 * fprintf numbered lines to one shared FILE (a temporary file) and
 * snprintf into buffers, one more holds the FILE with flockfile across a
 * few lines at a time; main sleeps 100 ms, stops them, and checks every
 * line of the file: complete, in order per writer, none lost.  A thread
 * preempted inside malloc or holding a stdio lock would hang the process
 * (the next thread would block the OS thread on glibc's internal lock).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

static volatile int stop;
static FILE *out;
static long allocs[2], lines[3], bad_alloc;

static void *allocator(void *arg)
{
	long k = (long)arg;
	void *keep[64] = { 0 };
	unsigned r = 12345 + (unsigned)k;
	while (!stop) {
		r = r * 1103515245 + 12345;
		int slot = (r >> 8) & 63;
		free(keep[slot]);
		size_t n = 16 + ((r >> 16) % 4000);
		keep[slot] = malloc(n);
		if (!keep[slot])
			bad_alloc++;
		else
			memset(keep[slot], (int)k, n);
		allocs[k]++;
	}
	for (int i = 0; i < 64; i++)
		free(keep[i]);
	return NULL;
}

static void *writer(void *arg)
{
	long k = (long)arg;
	char buf[64];
	while (!stop) {
		if (k == 2) { /* several lines under one explicit lock */
			flockfile(out);
			for (int i = 0; i < 3; i++)
				fprintf(out, "w%ld %ld\n", k, lines[k]++);
			funlockfile(out);
		} else {
			snprintf(buf, sizeof buf, "%ld", lines[k]);
			fprintf(out, "w%ld %s\n", k, buf);
			lines[k]++;
		}
	}
	return NULL;
}

int main(void)
{
	out = tmpfile();
	if (!out)
		die("tmpfile");
	pthread_t a[2], w[3];
	for (long k = 0; k < 2; k++)
		must(pthread_create(&a[k], NULL, allocator, (void *)k), "pthread_create");
	for (long k = 0; k < 3; k++)
		must(pthread_create(&w[k], NULL, writer, (void *)k), "pthread_create");
	usleep(100000);
	stop = 1;
	for (int k = 0; k < 2; k++)
		must(pthread_join(a[k], NULL), "pthread_join");
	for (int k = 0; k < 3; k++)
		must(pthread_join(w[k], NULL), "pthread_join");
	rewind(out);
	long next[3] = { 0, 0, 0 }, wrong = 0;
	char line[128];
	while (fgets(line, sizeof line, out)) {
		long k, n;
		if (sscanf(line, "w%ld %ld", &k, &n) != 2 || k < 0 || k > 2 || n != next[k])
			wrong++;
		else
			next[k]++;
	}
	printf("allocators ran: %s, no failed malloc: %s\n", yesno(allocs[0] > 0 && allocs[1] > 0),
	       yesno(bad_alloc == 0));
	printf("writers ran: %s, every line whole and in order: %s, none lost: %s\n",
	       yesno(lines[0] > 0 && lines[1] > 0 && lines[2] > 0), yesno(wrong == 0),
	       yesno(next[0] == lines[0] && next[1] == lines[1] && next[2] == lines[2]));
	return 0;
}

/*
 * thread_guard_large — threads with a 4 GiB guard (pthread_attr_setguardsize).
 * Natively each guard is a PROT_NONE mapping: it costs no memory, and no
 * page tables.  Under the shim too: a guard marker costs a page-table entry
 * per page (4 GiB of guard, 8 MiB of page tables), so guards this large
 * must not be marked.  Expected: the threads run, the page tables grow by
 * less than 16 MiB, and pthread_getattr_np reports the guard asked for.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "testutil.h"

#define THREADS 8
#define GUARD ((size_t)4 << 30)

static long vm_pte_kb(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmPTE: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void *report(void *arg)
{
	pthread_attr_t a;
	size_t guard = 0;
	must(pthread_getattr_np(pthread_self(), &a), "pthread_getattr_np");
	pthread_attr_getguardsize(&a, &guard);
	pthread_attr_destroy(&a);
	return (void *)guard;
}

int main(void)
{
	pthread_attr_t a;
	pthread_t t[THREADS];
	pthread_attr_init(&a);
	must(pthread_attr_setguardsize(&a, GUARD), "pthread_attr_setguardsize");
	long before = vm_pte_kb();
	for (int i = 0; i < THREADS; i++)
		must(pthread_create(&t[i], &a, report, NULL), "pthread_create");
	long after = vm_pte_kb();
	int right = 0;
	for (int i = 0; i < THREADS; i++) {
		void *g;
		must(pthread_join(t[i], &g), "pthread_join");
		right += (size_t)g == GUARD;
	}
	printf("%d threads with a 4 GiB guard: page tables grew by less than 16 MiB: %s\n", THREADS,
	       yesno(before >= 0 && after - before < 16 * 1024));
	printf("guard reported as asked: %d of %d\n", right, THREADS);
	return 0;
}

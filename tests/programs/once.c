/*
 * once — pthread_once from many threads.
 *
 * Eight threads call pthread_once on one control whose init routine sleeps
 * 50 ms (so the others arrive while it runs) before setting a flag.  The
 * init must run exactly once, and every caller must return only after it
 * has finished (each records whether it saw the flag set).  A later call
 * from main does not run it again; a second control, used only by main,
 * runs its own init once.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define N 8

static pthread_once_t once = PTHREAD_ONCE_INIT, once2 = PTHREAD_ONCE_INIT;
static int init_runs, init_done, init2_runs;
static int saw_done[N];

static void init(void)
{
	__atomic_fetch_add(&init_runs, 1, __ATOMIC_SEQ_CST);
	usleep(50000);
	__atomic_store_n(&init_done, 1, __ATOMIC_SEQ_CST);
}

static void init2(void) { init2_runs++; }

static void *caller(void *arg)
{
	int i = (int)(long)arg;
	if (i % 2)
		usleep(5000); /* some arrive while init is sleeping */
	pthread_once(&once, init);
	saw_done[i] = __atomic_load_n(&init_done, __ATOMIC_SEQ_CST);
	return NULL;
}

int main(void)
{
	pthread_t t[N];
	for (long i = 0; i < N; i++)
		if (pthread_create(&t[i], NULL, caller, (void *)i) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	int all = 1;
	for (int i = 0; i < N; i++)
		all &= saw_done[i];
	printf("init ran %d time(s), every caller returned after it finished: %s\n", init_runs,
	       all ? "yes" : "no");
	int r = pthread_once(&once, init);
	printf("pthread_once again from main = %d, runs %d\n", r, init_runs);
	int r1 = pthread_once(&once2, init2);
	int r2 = pthread_once(&once2, init2);
	printf("second control: %d %d, runs %d\n", r1, r2, init2_runs);
	return init_runs == 1 && all ? 0 : 1;
}

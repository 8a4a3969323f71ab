/*
 * errno_threads — every thread has its own errno.
 *
 * Four threads each set errno to their own value and then, 200 times,
 * block or give up the CPU (usleep, sched_yield, a contended mutex, a
 * condvar timedwait that times out — none of which may touch errno on
 * success) and check errno is still theirs.  Thread 0 also makes calls
 * that fail (close(-1) -> EBADF, nanosleep with a bad timespec -> EINVAL)
 * right before yielding, and re-sets its own value after each; the others
 * must never see those values.  main's errno is checked the same way.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define N 4
#define ROUNDS 200

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void *worker(void *arg)
{
	long id = (long)arg;
	int mine = 1000 + (int)id, wrong = 0, saw_failure_errno = 1;
	errno = mine;
	for (int i = 0; i < ROUNDS; i++) {
		if (id == 0) {
			close(-1);
			saw_failure_errno &= errno == EBADF;
			struct timespec bad = { 0, -1 };
			nanosleep(&bad, NULL);
			saw_failure_errno &= errno == EINVAL;
			errno = mine;
		}
		switch ((i + id) % 4) {
		case 0:
			usleep(100);
			break;
		case 1:
			sched_yield();
			break;
		case 2:
			pthread_mutex_lock(&m);
			sched_yield();
			pthread_mutex_unlock(&m);
			break;
		case 3: {
			struct timespec dl;
			clock_gettime(CLOCK_REALTIME, &dl);
			dl.tv_nsec += 200000;
			if (dl.tv_nsec >= 1000000000L) {
				dl.tv_sec++;
				dl.tv_nsec -= 1000000000L;
			}
			pthread_mutex_lock(&m);
			pthread_cond_timedwait(&cv, &m, &dl);
			pthread_mutex_unlock(&m);
			break;
		}
		}
		if (errno != mine) {
			wrong++;
			errno = mine;
		}
	}
	return (void *)(long)(wrong * 2 + !saw_failure_errno);
}

int main(void)
{
	pthread_t t[N];
	errno = 77;
	for (long i = 0; i < N; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
	int main_wrong = 0;
	for (int i = 0; i < 50; i++) {
		usleep(200);
		if (errno != 77) {
			main_wrong++;
			errno = 77;
		}
	}
	int bad = 0;
	for (int i = 0; i < N; i++) {
		void *rv;
		pthread_join(t[i], &rv);
		long v = (long)rv;
		printf("thread %d: errno changed under it %ld times%s\n", i, v / 2,
		       v % 2 ? ", its own failing calls did NOT set errno" : "");
		bad += v != 0;
	}
	printf("main: errno changed under it %d times, still 77 after joins: %s\n", main_wrong,
	       errno == 77 ? "yes" : "no");
	return bad || main_wrong ? 1 : 0;
}

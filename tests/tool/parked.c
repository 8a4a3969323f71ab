/* parked: a plain pthread program whose threads all park in known waits,
 * for `greenshim ps` under the preload (tests/unit/test_tool.c).
 *
 *   parked [N]   N threads of each kind (default 100)
 *
 * One "holder" locks a mutex and sleeps; N "sleeper"s sleep; N "locker"s
 * wait for the holder's mutex; N "reader"s read each its own empty pipe.
 * Prints "ready" once every thread is parked, then reads stdin to EOF and
 * exits (so a test that dies takes this process with it). */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sem_t held, parked;

static void *holder(void *arg)
{
	pthread_setname_np(pthread_self(), "holder");
	pthread_mutex_lock(&lock);
	sem_post(&held);
	sleep(1000);
	return NULL;
}

static void *sleeper(void *arg)
{
	pthread_setname_np(pthread_self(), "sleeper");
	sem_post(&parked);
	sleep(1000);
	return NULL;
}

static void *locker(void *arg)
{
	pthread_setname_np(pthread_self(), "locker");
	sem_post(&parked);
	pthread_mutex_lock(&lock);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void *reader(void *arg)
{
	int fd = (int)(long)arg;
	char c;
	pthread_setname_np(pthread_self(), "reader");
	sem_post(&parked);
	if (read(fd, &c, 1) < 0)
		perror("read");
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100;
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	sem_init(&held, 0, 0);
	sem_init(&parked, 0, 0);
	if (pthread_create(&t, &attr, holder, NULL))
		return 1;
	sem_wait(&held);
	for (int i = 0; i < n; i++) {
		int p[2];
		if (pipe(p) || pthread_create(&t, &attr, sleeper, NULL) ||
		    pthread_create(&t, &attr, locker, NULL) ||
		    pthread_create(&t, &attr, reader, (void *)(long)p[0]))
			return 1;
	}
	for (int i = 0; i < 3 * n; i++)
		sem_wait(&parked);
	usleep(20000); /* the last ones from sem_post to their wait */
	printf("ready\n");
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof buf) > 0)
		;
	_exit(0);
}

/* pingpong: two threads, "ping" and "pong", hand a turn to each other
 * through a mutex and a condition variable, each turn taking a short
 * sleep, for `greenshim trace` under the preload (tests/unit/test_tool.c).
 *
 *   pingpong [SLEEP_US]   the sleep of each turn (default 200)
 *
 * Prints "ready" once both run, then reads stdin to EOF and exits. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turned = PTHREAD_COND_INITIALIZER;
static int turn; /* whose: 0 ping, 1 pong */
static useconds_t nap = 200;

static void *player(void *arg)
{
	int me = (int)(long)arg;
	pthread_setname_np(pthread_self(), me ? "pong" : "ping");
	for (;;) {
		pthread_mutex_lock(&lock);
		while (turn != me)
			pthread_cond_wait(&turned, &lock);
		turn = !me;
		pthread_cond_signal(&turned);
		pthread_mutex_unlock(&lock);
		usleep(nap);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		nap = (useconds_t)atoi(argv[1]);
	pthread_t a, b;
	if (pthread_create(&a, NULL, player, (void *)0L) || pthread_create(&b, NULL, player, (void *)1L))
		return 1;
	printf("ready\n");
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof buf) > 0)
		;
	_exit(0);
}

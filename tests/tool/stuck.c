/* stuck: a plain pthread program whose hub gets stuck, for `greenshim ps`
 * and `top` under the preload (tests/unit/test_tool.c).
 *
 * A "spinner" thread spins without ever making a call the shim greens (so
 * under the shim the hub never runs again), while a "napper" sleeps.  The
 * spinner prints "ready" itself once it spins, then spins until stdin
 * reaches EOF, looking with a raw zero-timeout poll system call the shim
 * never sees. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void *napper(void *arg)
{
	pthread_setname_np(pthread_self(), "napper");
	sleep(1000);
	return NULL;
}

static void *spinner(void *arg)
{
	pthread_setname_np(pthread_self(), "spinner");
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		struct timespec zero = { 0, 0 };
		if (syscall(SYS_ppoll, &p, 1, &zero, NULL, 8) > 0)
			_exit(0); /* stdin closed: the test is over */
	}
	return NULL;
}

int main(void)
{
	pthread_t n, s;
	pthread_create(&n, NULL, napper, NULL);
	usleep(20000); /* the napper is asleep */
	pthread_create(&s, NULL, spinner, NULL);
	pthread_join(s, NULL);
	return 0;
}

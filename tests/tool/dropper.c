/* dropper: a plain pthread program that publishes as root, then drops to
 * nobody (65534), as a server does after it bound its port, for `greenshim
 * ps` as root (tests/unit/test_tool.c): its file keeps root's uid in its
 * name while /proc says nobody.
 *
 * A "napper" thread sleeps (so the hub, and the file, exist), then the
 * process takes nobody's ids, prints "ready", reads stdin to EOF and
 * exits.  Run as root. */
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *napper(void *arg)
{
	pthread_setname_np(pthread_self(), "napper");
	sleep(1000);
	return NULL;
}

int main(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, napper, NULL))
		return 1;
	usleep(20000); /* napper parks: the hub is made, the file published */
	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)) {
		perror("dropper: dropping to nobody");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof buf) > 0)
		;
	_exit(0);
}

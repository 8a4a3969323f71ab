/*
 * kill_restart — pthread_kill of a thread blocked in an untimed sem_wait.
 * With an SA_RESTART handler the handler runs in the target and sem_wait
 * goes on waiting (Linux restarts the futex wait), then takes the unit
 * posted later; without SA_RESTART it fails with EINTR.  A signal with no
 * handler and a default action of "ignore" (SIGURG) changes nothing.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static sem_t s;
static pthread_t target;
static volatile int handled_in_target;

static void handler(int sig)
{
	handled_in_target = pthread_equal(pthread_self(), target);
}

static void *waiter(void *a)
{
	int r = sem_wait(&s);
	return (void *)(long)(r == 0 ? 0 : errno);
}

static void run(const char *name, int flags, int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	handled_in_target = 0;
	pthread_create(&target, NULL, waiter, NULL);
	usleep(50 * 1000);
	pthread_kill(target, sig);
	usleep(50 * 1000);
	sem_post(&s);
	void *r;
	pthread_join(target, &r);
	if (r != 0)
		sem_wait(&s); /* the waiter left early: the unit is still there */
	printf("%-22s sem_wait -> %s, handler ran in the target: %s\n", name,
	       r == 0 ? "0" : (long)r == EINTR ? "EINTR" : "other", handled_in_target ? "yes" : "no");
}

int main(void)
{
	sem_init(&s, 0, 0);
	run("SA_RESTART", SA_RESTART, SIGUSR1);
	run("no SA_RESTART", 0, SIGUSR1);
	run("SIGURG, no handler", SA_RESTART, SIGURG);
	return 0;
}

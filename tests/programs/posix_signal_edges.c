/*
 * posix_signal_edges — signal and cancellation cases found in review:
 *  1. a handler that sets SIG_DFL and raise()s its own signal ends the
 *     process by it (a child does it; the parent reports how it ended);
 *  2. a SIGALRM handler at 5 kHz posts a semaphore that main waits on
 *     2000 times, while another thread computes: every wait ends;
 *  3. a signal blocked everywhere and sent both to main's tid and to the
 *     process is pending in a second thread too (the process's part);
 *  4. an asynchronously cancelled condvar waiter, cancelled a second time
 *     while it waits to lock the mutex again, runs its cleanup handler
 *     only once it holds the (errorcheck) mutex: its unlock there is 0.
 */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

static void reraise(int sig)
{
	signal(sig, SIG_DFL);
	raise(sig);
}

static sem_t ticks;
static volatile int stop;

static void tick(int sig)
{
	sem_post(&ticks);
}

static void *compute(void *arg)
{
	volatile unsigned long n = 0;
	while (!stop)
		n++;
	return NULL;
}

static void *pending_reader(void *arg)
{
	sigset_t p;
	sigpending(&p);
	*(int *)arg = sigismember(&p, SIGUSR2);
	return NULL;
}

static pthread_mutex_t cm;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static volatile int waiting, cleanup_unlock = -1, main_unlocked;
static volatile int cleanup_saw_main_unlocked;

static void cond_cleanup(void *arg)
{
	cleanup_saw_main_unlocked = main_unlocked;
	cleanup_unlock = pthread_mutex_unlock(&cm);
}

static void *cond_victim(void *arg)
{
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	pthread_mutex_lock(&cm);
	pthread_cleanup_push(cond_cleanup, NULL);
	waiting = 1;
	for (;;)
		pthread_cond_wait(&cv, &cm);
	pthread_cleanup_pop(0);
	return NULL;
}

int main(void)
{
	/* 1 */
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		signal(SIGTERM, reraise);
		raise(SIGTERM);
		printf("child survived SIGTERM\n");
		_exit(0);
	}
	int st = 0;
	waitpid(c, &st, 0);
	printf("1. the child %s\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM ? "died of SIGTERM" : "did not die of SIGTERM");

	/* 2 */
	sem_init(&ticks, 0, 0);
	pthread_t busy;
	must(pthread_create(&busy, NULL, compute, NULL), "pthread_create");
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = tick;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	setitimer(ITIMER_REAL, &it, NULL);
	int done = 0;
	for (int i = 0; i < 2000; i++)
		if (sem_wait(&ticks) == 0)
			done++;
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	stop = 1;
	must(pthread_join(busy, NULL), "pthread_join");
	printf("2. %d of 2000 waits ended\n", done);

	/* 3 */
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	syscall(SYS_tgkill, getpid(), getpid(), SIGUSR2);
	kill(getpid(), SIGUSR2);
	int seen = -1;
	pthread_t r;
	must(pthread_create(&r, NULL, pending_reader, &seen), "pthread_create");
	must(pthread_join(r, NULL), "pthread_join");
	printf("3. the second thread sees it pending: %s\n", yesno(seen == 1));
	int sig;
	sigwait(&s, &sig);
	sigwait(&s, &sig);

	/* 4 */
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&cm, &ma);
	pthread_t v;
	must(pthread_create(&v, NULL, cond_victim, NULL), "pthread_create");
	while (!waiting)
		sleep_ms(1);
	pthread_mutex_lock(&cm);
	pthread_cancel(v);
	sleep_ms(50);
	pthread_cancel(v);
	sleep_ms(50);
	main_unlocked = 1;
	pthread_mutex_unlock(&cm);
	void *ret;
	must(pthread_join(v, &ret), "pthread_join");
	printf("4. canceled %s; cleanup ran after main's unlock %s, its unlock %s\n", yesno(ret == PTHREAD_CANCELED),
	       yesno(cleanup_saw_main_unlocked), en(cleanup_unlock));
	return 0;
}

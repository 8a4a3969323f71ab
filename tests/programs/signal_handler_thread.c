/*
 * signal_handler_thread — a thread a signal handler creates runs, while
 * the thread the handler interrupted waits.
 *
 * A SIGALRM handler (SA_RESTART) creates a thread while main is blocked:
 *   read_alone   main reads an empty pipe, with no other thread; the new
 *                thread writes the byte main waits for
 *   read_crowd   the same beside an idle thread that blocks SIGALRM (so
 *                natively main takes the signal)
 *   cond_crowd   main waits on a condition variable, beside the idle
 *                thread; the new thread signals it
 *   sleep_crowd  main sleeps 2 s, beside the idle thread: the handler
 *                ends the sleep with EINTR; main then joins the new thread
 * Each case prints what main got and whether the new thread ran.  Under
 * the shim a handler that runs while the hub polls created a thread that
 * never ran: main waited forever for it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "testutil.h"

static int fds[2];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int signalled;
static volatile sig_atomic_t ran;
static pthread_t made;
static void *(*make_what)(void *);

static void *write_byte(void *arg)
{
	ran = 1;
	if (write(fds[1], "x", 1) != 1)
		die("write");
	return NULL;
}

static void *signal_cond(void *arg)
{
	ran = 1;
	pthread_mutex_lock(&lock);
	signalled = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void *note_ran(void *arg)
{
	ran = 1;
	return NULL;
}

static void on_alarm(int sig)
{
	must(pthread_create(&made, NULL, make_what, NULL), "pthread_create in the handler");
}

/* Sleeps with SIGALRM blocked, so that natively main takes the signal. */
static void *idle(void *arg)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	sleep_ms(2500);
	return NULL;
}

static void arm(void *(*what)(void *))
{
	make_what = what;
	ran = 0;
	struct itimerval it = { .it_value = { .tv_usec = 100000 } };
	if (setitimer(ITIMER_REAL, &it, NULL) != 0)
		die("setitimer");
}

static void read_case(const char *name)
{
	char c = 0;
	arm(write_byte);
	ssize_t n = read(fds[0], &c, 1);
	pthread_join(made, NULL);
	printf("%s: read %zd '%c', new thread ran %s\n", name, n, n == 1 ? c : '-', yesno(ran));
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	if (pipe(fds) != 0)
		die("pipe");

	read_case("read_alone");

	pthread_t idler;
	must(pthread_create(&idler, NULL, idle, NULL), "pthread_create");
	read_case("read_crowd");

	arm(signal_cond);
	pthread_mutex_lock(&lock);
	while (!signalled)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	pthread_join(made, NULL);
	printf("cond_crowd: woken, new thread ran %s\n", yesno(ran));

	arm(note_ran);
	struct timespec two = { 2, 0 }, left = { 0, 0 };
	int r = nanosleep(&two, &left);
	int e = r ? errno : 0;
	pthread_join(made, NULL);
	printf("sleep_crowd: nanosleep %d %s, time left %s, new thread ran %s\n", r, en(e),
	       left.tv_sec || left.tv_nsec ? "yes" : "no", yesno(ran));
	pthread_join(idler, NULL);
	return 0;
}

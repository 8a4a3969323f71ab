/*
 * cancel — deferred cancellation and cleanup handlers.
 *
 * Cancels threads parked at each greened cancellation point (nanosleep,
 * pthread_cond_wait, pthread_join, sem_wait, pthread_testcancel), checks
 * that cleanup handlers run innermost first, that a condvar waiter holds
 * its mutex again when its handler runs, that a disabled thread is not
 * cancelled until it enables and tests, that pthread_exit runs handlers
 * too, and glibc's return values (cancel of an exited thread is 0; bad
 * state/type EINVAL).  Handlers log into a buffer that main prints after
 * each join, so output does not depend on scheduling.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char logbuf[512];

static void note(const char *s)
{
	strncat(logbuf, s, sizeof logbuf - strlen(logbuf) - 1);
	strncat(logbuf, " ", sizeof logbuf - strlen(logbuf) - 1);
}

static void handler(void *arg)
{
	note((const char *)arg);
}

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static pthread_t sleeper_t;

static void unlock_and_note(void *arg)
{
	/* POSIX: the mutex is held again when a condvar waiter's handler runs */
	int rc = pthread_mutex_trylock(&m);
	note(rc == EBUSY ? "cond-handler-holds-mutex" : "cond-handler-without-mutex");
	if (rc == 0)
		pthread_mutex_unlock(&m);
	pthread_mutex_unlock(&m);
}

static void *in_sleep(void *a)
{
	pthread_cleanup_push(handler, "outer");
	pthread_cleanup_push(handler, "inner");
	for (;;)
		sleep(10);
	pthread_cleanup_pop(0);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *in_cond(void *a)
{
	pthread_mutex_lock(&m);
	pthread_cleanup_push(unlock_and_note, NULL);
	for (;;)
		pthread_cond_wait(&c, &m);
	pthread_cleanup_pop(1);
	return NULL;
}

static void *in_join(void *a)
{
	pthread_cleanup_push(handler, "joiner");
	pthread_join(sleeper_t, NULL);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *in_sem(void *a)
{
	pthread_cleanup_push(handler, "sem");
	sem_wait(&sem);
	pthread_cleanup_pop(0);
	return NULL;
}

static volatile int spin_go;
static void *in_testcancel(void *a)
{
	pthread_cleanup_push(handler, "testcancel");
	while (!spin_go)
		sched_yield();
	pthread_testcancel();
	note("testcancel-returned");
	pthread_cleanup_pop(0);
	return NULL;
}

static void *disabled(void *a)
{
	int old = -1;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	note(old == PTHREAD_CANCEL_ENABLE ? "was-enabled" : "was-disabled");
	usleep(100 * 1000); /* a cancellation point, but disabled */
	note("survived-sleep");
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	pthread_cleanup_push(handler, "enabled-then-cancelled");
	pthread_testcancel();
	note("not-reached");
	pthread_cleanup_pop(0);
	return NULL;
}

static void *exits(void *a)
{
	pthread_cleanup_push(handler, "exit-outer");
	pthread_cleanup_push(handler, "exit-inner");
	pthread_exit((void *)7);
	pthread_cleanup_pop(0);
	pthread_cleanup_pop(0);
	return NULL;
}

static void *returns(void *a)
{
	return (void *)3;
}

static const char *res(void *r)
{
	static char buf[32];
	if (r == PTHREAD_CANCELED)
		return "PTHREAD_CANCELED";
	snprintf(buf, sizeof buf, "%ld", (long)r);
	return buf;
}

static void run(const char *name, void *(*fn)(void *), int cancel)
{
	pthread_t t;
	void *r;
	logbuf[0] = 0;
	pthread_create(&t, NULL, fn, NULL);
	usleep(50 * 1000);
	int rc = 0;
	if (cancel)
		rc = pthread_cancel(t);
	if (fn == in_testcancel)
		spin_go = 1;
	pthread_join(t, &r);
	printf("%-12s cancel=%d result=%s log: %s\n", name, rc, res(r), logbuf);
}

int main(void)
{
	sem_init(&sem, 0, 0);
	run("sleep", in_sleep, 1);
	run("cond_wait", in_cond, 1);
	run("sem_wait", in_sem, 1);
	run("testcancel", in_testcancel, 1);
	run("disabled", disabled, 1);
	run("exit", exits, 0);

	/* a joiner cancelled while waiting leaves its target joinable */
	pthread_create(&sleeper_t, NULL, in_sleep, NULL);
	run("join", in_join, 1);
	pthread_cancel(sleeper_t);
	void *r;
	printf("target still joinable: %s\n", pthread_join(sleeper_t, &r) == 0 ? "yes" : "no");

	pthread_t t;
	pthread_create(&t, NULL, returns, NULL);
	usleep(50 * 1000);
	printf("cancel of an exited thread = %d\n", pthread_cancel(t));
	pthread_join(t, &r);
	printf("its result = %s\n", res(r));

	int old;
	printf("setcancelstate(bad) = %s, setcanceltype(bad) = %s\n",
	       pthread_setcancelstate(7, &old) == EINVAL ? "EINVAL" : "?",
	       pthread_setcanceltype(7, &old) == EINVAL ? "EINVAL" : "?");
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
	printf("old type deferred: %s\n", old == PTHREAD_CANCEL_DEFERRED ? "yes" : "no");
	pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL);
	return 0;
}

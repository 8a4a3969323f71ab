/*
 * thread_misc — names, CPU-time clocks, pthread_kill(t, 0), scheduling
 * parameters and CPU affinity, on other threads and on self.
 *
 * names: a new thread is named after its creator (the program name, here
 *        "thread_misc"; after main renames itself, a new thread inherits
 *        the new name); setname_np/getname_np on another thread and on
 *        self; a 15-character name is fine, 16 is ERANGE (name unchanged);
 *        getname_np with a buffer under 16 bytes is ERANGE.
 * cpu clock: pthread_getcpuclockid returns 0 and a clock clock_gettime
 *        accepts, for self and for another thread.
 * pthread_kill(t, 0): 0 for a live thread, and still 0 for one that has
 *        finished but is not joined yet (glibc >= 2.34).
 * sched: setschedparam(SCHED_OTHER, 0) / getschedparam round trip,
 *        SCHED_BATCH and SCHED_IDLE round trips, setschedprio(0);
 *        EINVAL for a bad policy and for SCHED_OTHER with priority 1.
 * affinity: getaffinity_np / setaffinity_np round trip with the current
 *        set, for self and another thread; an empty set is EINVAL.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int released;

struct self_report {
	char name_before[32], name_after[32];
	int set_long, set_ok, get_small;
	int clock_ok;
	int sched_ok, affinity_ok;
};

/* Runs checks on itself, then waits until main releases it. */
static void *worker(void *arg)
{
	struct self_report *r = arg;
	pthread_t me = pthread_self();

	pthread_getname_np(me, r->name_before, sizeof r->name_before);
	r->set_long = pthread_setname_np(me, "0123456789abcdef");
	r->set_ok = pthread_setname_np(me, "self-named-1234");
	char small[8];
	r->get_small = pthread_getname_np(me, small, sizeof small);
	pthread_getname_np(me, r->name_after, sizeof r->name_after);

	clockid_t c;
	struct timespec ts;
	r->clock_ok = pthread_getcpuclockid(me, &c) == 0 && clock_gettime(c, &ts) == 0;

	struct sched_param sp = { 0 };
	int pol = -1;
	r->sched_ok = pthread_setschedparam(me, SCHED_OTHER, &sp) == 0 &&
		      pthread_getschedparam(me, &pol, &sp) == 0 && pol == SCHED_OTHER &&
		      sp.sched_priority == 0;

	cpu_set_t set, set2;
	r->affinity_ok = pthread_getaffinity_np(me, sizeof set, &set) == 0 &&
			 pthread_setaffinity_np(me, sizeof set, &set) == 0 &&
			 pthread_getaffinity_np(me, sizeof set2, &set2) == 0 && CPU_EQUAL(&set, &set2) &&
			 CPU_COUNT(&set) > 0;

	pthread_mutex_lock(&mu);
	while (!released)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *quick(void *arg) { return arg; }

static void release(void)
{
	pthread_mutex_lock(&mu);
	released = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct self_report rep;
	memset(&rep, 0, sizeof rep);
	pthread_t t;
	char name[32];

	must(pthread_create(&t, NULL, worker, &rep), "create");
	/* wait until the worker has finished its self checks */
	for (int i = 0; i < 5000; i++) {
		pthread_getname_np(t, name, sizeof name);
		if (strcmp(name, "self-named-1234") == 0)
			break;
		usleep(1000);
	}
	usleep(20000);

	printf("-- worker on itself\n");
	printf("default name: %s\n", rep.name_before);
	printf("setname(16 chars) = %s, setname(15 chars) = %s, getname(8-byte buffer) = %s\n",
	       en(rep.set_long), en(rep.set_ok), en(rep.get_small));
	printf("name now: %s\n", rep.name_after);
	printf("cpu clock ok %s, sched round trip %s, affinity round trip %s\n", yesno(rep.clock_ok),
	       yesno(rep.sched_ok), yesno(rep.affinity_ok));

	printf("-- main on the worker\n");
	printf("getname = %s, name %s\n", en(pthread_getname_np(t, name, sizeof name)), name);
	printf("setname(\"worker\") = %s", en(pthread_setname_np(t, "worker")));
	pthread_getname_np(t, name, sizeof name);
	printf(", name %s\n", name);
	printf("setname(16 chars) = %s", en(pthread_setname_np(t, "ABCDEFGHIJKLMNOP")));
	pthread_getname_np(t, name, sizeof name);
	printf(", name %s\n", name);
	printf("getname(15-byte buffer) = %s, getname(16-byte buffer) = %s\n",
	       en(pthread_getname_np(t, name, 15)), en(pthread_getname_np(t, name, 16)));

	clockid_t c;
	struct timespec ts;
	int r = pthread_getcpuclockid(t, &c);
	printf("getcpuclockid = %s, clock_gettime on it = %d\n", en(r), clock_gettime(c, &ts));
	printf("pthread_kill(live, 0) = %s\n", en(pthread_kill(t, 0)));

	struct sched_param sp = { 0 };
	int pol = -1;
	printf("setschedparam(OTHER, 0) = %s", en(pthread_setschedparam(t, SCHED_OTHER, &sp)));
	printf(", getschedparam = %s", en(pthread_getschedparam(t, &pol, &sp)));
	printf(" -> policy OTHER %s, priority %d\n", yesno(pol == SCHED_OTHER), sp.sched_priority);
	sp.sched_priority = 0;
	printf("setschedparam(BATCH, 0) = %s", en(pthread_setschedparam(t, SCHED_BATCH, &sp)));
	pthread_getschedparam(t, &pol, &sp);
	printf(" -> policy BATCH %s\n", yesno(pol == SCHED_BATCH));
	printf("setschedparam(IDLE, 0) = %s", en(pthread_setschedparam(t, SCHED_IDLE, &sp)));
	pthread_getschedparam(t, &pol, &sp);
	printf(" -> policy IDLE %s\n", yesno(pol == SCHED_IDLE));
	printf("setschedparam(OTHER, 0) again = %s", en(pthread_setschedparam(t, SCHED_OTHER, &sp)));
	pthread_getschedparam(t, &pol, &sp);
	printf(" -> policy OTHER %s\n", yesno(pol == SCHED_OTHER));
	sp.sched_priority = 1;
	printf("setschedparam(OTHER, 1) = %s\n", en(pthread_setschedparam(t, SCHED_OTHER, &sp)));
	sp.sched_priority = 0;
	printf("setschedparam(policy 12345) = %s\n", en(pthread_setschedparam(t, 12345, &sp)));
	pthread_getschedparam(t, &pol, &sp);
	printf("after the failures: policy OTHER %s, priority %d\n", yesno(pol == SCHED_OTHER),
	       sp.sched_priority);
	printf("setschedprio(0) = %s\n", en(pthread_setschedprio(t, 0)));

	cpu_set_t set, set2, empty;
	CPU_ZERO(&empty);
	printf("getaffinity = %s", en(pthread_getaffinity_np(t, sizeof set, &set)));
	printf(", setaffinity(same) = %s", en(pthread_setaffinity_np(t, sizeof set, &set)));
	pthread_getaffinity_np(t, sizeof set2, &set2);
	printf(", unchanged %s\n", yesno(CPU_EQUAL(&set, &set2)));
	printf("setaffinity(empty) = %s\n", en(pthread_setaffinity_np(t, sizeof empty, &empty)));
	pthread_getaffinity_np(t, sizeof set2, &set2);
	printf("after the failure unchanged %s\n", yesno(CPU_EQUAL(&set, &set2)));

	printf("-- main on itself\n");
	pthread_t me = pthread_self();
	pthread_getname_np(me, name, sizeof name);
	printf("main's name: %s\n", name);
	printf("setname(self, \"main-renamed\") = %s", en(pthread_setname_np(me, "main-renamed")));
	pthread_getname_np(me, name, sizeof name);
	printf(", name %s\n", name);
	r = pthread_getcpuclockid(me, &c);
	printf("getcpuclockid(self) = %s, clock_gettime on it = %d\n", en(r), clock_gettime(c, &ts));
	printf("pthread_kill(self, 0) = %s\n", en(pthread_kill(me, 0)));
	sp.sched_priority = 0;
	printf("setschedparam(self, OTHER, 0) = %s", en(pthread_setschedparam(me, SCHED_OTHER, &sp)));
	pthread_getschedparam(me, &pol, &sp);
	printf(" -> OTHER %s, priority %d\n", yesno(pol == SCHED_OTHER), sp.sched_priority);
	printf("getaffinity(self) = %s", en(pthread_getaffinity_np(me, sizeof set, &set)));
	printf(", setaffinity(self, same) = %s\n", en(pthread_setaffinity_np(me, sizeof set, &set)));

	/* a thread created now inherits main's new name */
	pthread_t t2;
	must(pthread_create(&t2, NULL, quick, NULL), "create");
	pthread_getname_np(t2, name, sizeof name);
	printf("thread created after the rename is named: %s\n", name);
	must(pthread_join(t2, NULL), "join");

	release();
	must(pthread_join(t, NULL), "join");

	/* finished but not joined */
	must(pthread_create(&t2, NULL, quick, NULL), "create");
	usleep(50000);
	printf("pthread_kill(finished, not joined, 0) = %s\n", en(pthread_kill(t2, 0)));
	must(pthread_join(t2, NULL), "join");
	return 0;
}

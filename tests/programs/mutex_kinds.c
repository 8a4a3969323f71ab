/*
 * mutex_kinds — normal, recursive, errorcheck (and adaptive) mutexes, made
 * with an attribute and with the static initialisers.
 *
 * For each mutex: lock; trylock by the owner (normal/adaptive EBUSY,
 * recursive 0 with the count going up, errorcheck EBUSY); lock by the
 * owner (recursive 0, errorcheck EDEADLK; normal would deadlock and is not
 * tried); from another thread: trylock EBUSY and unlock (errorcheck and
 * recursive EPERM); the owner unlocks (recursive: as many times as it
 * locked, then EPERM); unlock of an unlocked mutex (errorcheck and
 * recursive EPERM); destroy of a locked mutex EBUSY, of an unlocked one 0.
 * Also: a thread blocked in lock gets the mutex when the owner unlocks; the
 * attribute type round trip and settype(bad) EINVAL; errno is never
 * touched.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

enum kind { NORMAL, RECURSIVE, ERRORCHECK, ADAPTIVE };

struct other_report {
	pthread_mutex_t *m;
	int try_unlock; /* only for kinds that check the owner */
	int trylock, unlock;
};

static void *other_thread(void *arg)
{
	struct other_report *r = arg;
	r->trylock = pthread_mutex_trylock(r->m);
	if (r->try_unlock)
		r->unlock = pthread_mutex_unlock(r->m);
	return NULL;
}

/* Takes the mutex in a thread (blocking) and says so. */
static int blocked_got_it;
static void *blocker(void *arg)
{
	pthread_mutex_t *m = arg;
	int r = pthread_mutex_lock(m);
	__atomic_store_n(&blocked_got_it, 1, __ATOMIC_SEQ_CST);
	if (r == 0)
		r = pthread_mutex_unlock(m);
	return (void *)(long)r;
}

static void exercise(const char *label, pthread_mutex_t *m, enum kind k)
{
	printf("-- %s\n", label);
	errno = 4242;
	printf("lock = %s\n", en(pthread_mutex_lock(m)));
	printf("owner trylock = %s\n", en(pthread_mutex_trylock(m)));
	if (k == RECURSIVE || k == ERRORCHECK)
		printf("owner lock again = %s\n", en(pthread_mutex_lock(m)));

	/* glibc does not check the owner of a normal or adaptive mutex on
	 * unlock (it would simply unlock it), so only the others try. */
	struct other_report rep = { .m = m, .try_unlock = k == RECURSIVE || k == ERRORCHECK };
	pthread_t t;
	if (pthread_create(&t, NULL, other_thread, &rep) != 0) {
		fprintf(stderr, "pthread_create failed\n");
		exit(1);
	}
	pthread_join(t, NULL);
	printf("other thread: trylock = %s", en(rep.trylock));
	if (rep.try_unlock)
		printf(", unlock = %s", en(rep.unlock));
	printf("\n");

	printf("destroy while locked = %s\n", en(pthread_mutex_destroy(m)));

	int unlocks = 0;
	for (;;) {
		int r = pthread_mutex_unlock(m);
		if (r != 0) {
			printf("unlocks that succeeded: %d, then %s\n", unlocks, en(r));
			break;
		}
		unlocks++;
		if (k == NORMAL || k == ADAPTIVE) {
			printf("unlocks that succeeded: %d\n", unlocks);
			break;
		}
		if (unlocks > 10) {
			fprintf(stderr, "unlock keeps succeeding\n");
			exit(1);
		}
	}

	/* unlocked now: another thread can take it; a blocked one gets it */
	printf("trylock when free = %s", en(pthread_mutex_trylock(m)));
	blocked_got_it = 0;
	if (pthread_create(&t, NULL, blocker, m) != 0) {
		fprintf(stderr, "pthread_create failed\n");
		exit(1);
	}
	usleep(20000);
	printf(", blocked thread waits %s", yesno(!__atomic_load_n(&blocked_got_it, __ATOMIC_SEQ_CST)));
	pthread_mutex_unlock(m);
	void *rv;
	pthread_join(t, &rv);
	printf(", then gets it %s (its lock/unlock = %s)\n", yesno(blocked_got_it), en((int)(long)rv));
	printf("errno kept: %s\n", yesno(errno == 4242));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_mutexattr_t a;
	pthread_mutex_t m;
	int type;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_gettype(&a, &type);
	printf("default attr type is PTHREAD_MUTEX_DEFAULT %s (== NORMAL %s)\n",
	       yesno(type == PTHREAD_MUTEX_DEFAULT), yesno(type == PTHREAD_MUTEX_NORMAL));
	printf("settype(42) = %s\n", en(pthread_mutexattr_settype(&a, 42)));

	static const struct {
		int type;
		enum kind k;
		const char *name;
	} kinds[] = {
		{ PTHREAD_MUTEX_NORMAL, NORMAL, "attr NORMAL" },
		{ PTHREAD_MUTEX_DEFAULT, NORMAL, "attr DEFAULT" },
		{ PTHREAD_MUTEX_RECURSIVE, RECURSIVE, "attr RECURSIVE" },
		{ PTHREAD_MUTEX_ERRORCHECK, ERRORCHECK, "attr ERRORCHECK" },
		{ PTHREAD_MUTEX_ADAPTIVE_NP, ADAPTIVE, "attr ADAPTIVE_NP" },
	};
	for (unsigned i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		pthread_mutexattr_settype(&a, kinds[i].type);
		pthread_mutexattr_gettype(&a, &type);
		if (type != kinds[i].type) {
			fprintf(stderr, "gettype mismatch\n");
			return 1;
		}
		printf("init = %s\n", en(pthread_mutex_init(&m, &a)));
		exercise(kinds[i].name, &m, kinds[i].k);
		printf("destroy = %s\n", en(pthread_mutex_destroy(&m)));
	}
	pthread_mutexattr_destroy(&a);

	printf("init with NULL attr = %s\n", en(pthread_mutex_init(&m, NULL)));
	exercise("NULL attr", &m, NORMAL);
	printf("destroy = %s\n", en(pthread_mutex_destroy(&m)));

	static pthread_mutex_t s_normal = PTHREAD_MUTEX_INITIALIZER;
	static pthread_mutex_t s_rec = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
	static pthread_mutex_t s_err = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
	static pthread_mutex_t s_adapt = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
	exercise("PTHREAD_MUTEX_INITIALIZER", &s_normal, NORMAL);
	exercise("PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP", &s_rec, RECURSIVE);
	exercise("PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP", &s_err, ERRORCHECK);
	exercise("PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP", &s_adapt, ADAPTIVE);

	/* a mutex on the stack, initialised by assignment */
	pthread_mutex_t s_auto = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
	exercise("automatic RECURSIVE initialiser", &s_auto, RECURSIVE);
	return 0;
}

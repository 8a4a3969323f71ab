/*
 * tls_vars — every thread has its own thread-local storage: __thread
 * variables of the program and of a dlopen'd library, and the per-thread
 * state glibc keeps in TLS or in the thread's TCB.
 *
 * 100 threads each check that a __thread variable in .tdata starts at its
 * initial value and one in .tbss at zero (fresh in every new thread; main
 * has changed its own copies), store their own values, then block: usleep,
 * a read on their own pipe that a feeder thread fills, pthread_cond_wait;
 * after each they check their values survived.  errno is checked across a
 * usleep.  While all 100 wait on the condvar (their TLS set up), main
 * dlopen()s libtls_dso.so (tls_dso.c, found next to /proc/self/exe); after
 * the wake-up each thread checks the library's __thread variable starts
 * fresh, stores its own value, sleeps, rereads.  The threads stay alive (a
 * barrier) until all are done, so every copy is live at once and their
 * addresses must all differ.  Only counts are printed, never addresses.
 *
 * Then pairs of threads, A and B, for glibc state a shim must switch:
 * - uselocale: A takes a locale of its own (newlocale "C"); B, after
 *   that, must still be in LC_GLOBAL_LOCALE, then takes another (a
 *   duplocale); each keeps its own across a sleep, and main stays global;
 * - strerror of an unknown number formats into a per-thread buffer: A's
 *   "Unknown error 1234" must survive B's strerror(4321) during A's sleep;
 * - flockfile(stdout) is owned by a thread: A holds it across a 50 ms
 *   sleep while B printf()s, so natively B's lines come after A's.
 * With one TLS block and TCB per OS thread (green threads sharing them)
 * nearly every line differs.  Results go to stdout; a failed one also goes
 * to stderr and the exit status is 1.
 */
#include <dlfcn.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

#define N 100
#define INIT 4242

/* volatile: every check really reads the thread's TLS */
static __thread volatile long tv_data = INIT; /* .tdata */
static __thread volatile long tv_bss;         /* .tbss */

/* per-thread results, printed in this order */
enum { DATA_FRESH, BSS_FRESH, DATA_SLEEP, BSS_SLEEP, DATA_PIPE, BSS_PIPE, DATA_COND, BSS_COND,
       ERRNO_KEPT, DSO_FRESH, DSO_KEPT, NRES };
static const char *const res_name[NRES] = {
	"tdata: initial value fresh in new threads", "tbss: initial zero in new threads",
	"tdata: kept across usleep", "tbss: kept across usleep",
	"tdata: kept across a pipe read", "tbss: kept across a pipe read",
	"tdata: kept across pthread_cond_wait", "tbss: kept across pthread_cond_wait",
	"errno: kept across usleep",
	"dso: initial value fresh (loaded after the threads started)", "dso: kept across usleep",
};
static int res[N][NRES];
static void *addr_data[N + 1], *addr_dso[N + 1];
static int pipes[N][2];

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int about_to_read, arrived, go, step;
static pthread_barrier_t all_done;

static long (*dso_initial)(void);
static void (*dso_set)(long);
static int (*dso_check)(long);
static void *(*dso_addr)(void);
static int failures;

/* *v += add under mu, waking whoever waits; then waits until *v >= until */
static void bump_wait(int *v, int add, int until)
{
	pthread_mutex_lock(&mu);
	*v += add;
	pthread_cond_broadcast(&cv);
	while (*v < until)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

static void kept(int *r, int what, long mine)
{
	r[what] = tv_data == mine;
	r[what + 1] = tv_bss == -mine;
}

static void *worker(void *arg)
{
	long i = (long)arg, mine = 1000 + i;
	int *r = res[i];
	char c;
	r[DATA_FRESH] = tv_data == INIT;
	r[BSS_FRESH] = tv_bss == 0;
	tv_data = mine;
	tv_bss = -mine;
	addr_data[i] = (void *)&tv_data;
	errno = 2000 + (int)i;
	usleep(1000 + (i % 7) * 300);
	r[ERRNO_KEPT] = errno == 2000 + i;
	kept(r, DATA_SLEEP, mine);

	bump_wait(&about_to_read, 1, 0);
	if (read(pipes[i][0], &c, 1) != 1)
		die("read");
	kept(r, DATA_PIPE, mine);

	bump_wait(&arrived, 1, 0);
	bump_wait(&go, 0, 1);
	kept(r, DATA_COND, mine);

	r[DSO_FRESH] = dso_initial() == 77;
	dso_set(mine);
	addr_dso[i] = dso_addr();
	usleep(1000 + (i % 5) * 400);
	r[DSO_KEPT] = dso_check(mine);
	pthread_barrier_wait(&all_done); /* every copy stays live until all are counted */
	return NULL;
}

/* Fills every worker's pipe once all of them are about to read it. */
static void *feeder(void *arg)
{
	bump_wait(&about_to_read, 0, N);
	usleep(20000); /* let them block in read (natively too) */
	for (int i = N - 1; i >= 0; i--)
		if (write(pipes[i][1], "x", 1) != 1)
			die("write");
	return NULL;
}

static void report(const char *what, int got, int want)
{
	if (want == 1)
		printf("%s: %s\n", what, yesno(got));
	else
		printf("%s: %d of %d\n", what, got, want);
	if (got != want) {
		fprintf(stderr, "tls_vars: FAILED: %s (%d, want %d)\n", what, got, want);
		failures++;
	}
}

static int cmp_ptr(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	return x < y ? -1 : x > y;
}

/* how many of the n pointers are different from all others */
static int distinct(void **p, int n)
{
	int k = 0;
	qsort(p, (size_t)n, sizeof *p, cmp_ptr);
	for (int i = 0; i < n; i++)
		k += (i == 0 || p[i] != p[i - 1]) && (i == n - 1 || p[i] != p[i + 1]);
	return k;
}

static void *load_dso(void)
{
	char exe[PATH_MAX], lib[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n < 0)
		die("readlink /proc/self/exe");
	exe[n] = 0;
	snprintf(lib, sizeof lib, "%s/libtls_dso.so", dirname(exe));
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "tls_vars: dlopen: %s\n", dlerror());
		exit(1);
	}
	if (!(dso_initial = (long (*)(void))dlsym(h, "tls_dso_initial")) ||
	    !(dso_set = (void (*)(long))dlsym(h, "tls_dso_set")) ||
	    !(dso_check = (int (*)(long))dlsym(h, "tls_dso_check")) ||
	    !(dso_addr = (void *(*)(void))dlsym(h, "tls_dso_addr"))) {
		fprintf(stderr, "tls_vars: dlsym: %s\n", dlerror());
		exit(1);
	}
	return h;
}

/* ---- pairs of threads: B goes on once A has reached step 1 ------------ */

static locale_t loc_a, loc_b;
static int a_ok, b_fresh, b_ok;

static void *locale_a(void *arg)
{
	uselocale(loc_a);
	bump_wait(&step, 1, 0);
	usleep(40000); /* B switches to its own meanwhile */
	a_ok = uselocale((locale_t)0) == loc_a;
	return NULL;
}

static void *locale_b(void *arg)
{
	bump_wait(&step, 0, 1);
	b_fresh = uselocale((locale_t)0) == LC_GLOBAL_LOCALE;
	uselocale(loc_b);
	usleep(20000);
	b_ok = uselocale((locale_t)0) == loc_b;
	return NULL;
}

static void *strerror_a(void *arg)
{
	const char *s = strerror(1234);
	bump_wait(&step, 1, 0);
	usleep(30000); /* B calls strerror(4321) meanwhile */
	a_ok = strstr(s, "1234") != NULL;
	return NULL;
}

static void *strerror_b(void *arg)
{
	bump_wait(&step, 0, 1);
	const char *s = strerror(4321);
	usleep(10000);
	b_ok = strstr(s, "4321") != NULL;
	return NULL;
}

static void *flock_a(void *arg)
{
	flockfile(stdout);
	bump_wait(&step, 1, 0);
	printf("flockfile: A line 1\n");
	usleep(50000); /* B's printf must wait for the lock */
	printf("flockfile: A line 2\n");
	funlockfile(stdout);
	return NULL;
}

static void *flock_b(void *arg)
{
	bump_wait(&step, 0, 1);
	printf("flockfile: B line 1\n");
	printf("flockfile: B line 2\n");
	return NULL;
}

static void pair(void *(*a)(void *), void *(*b)(void *))
{
	pthread_t ta, tb;
	step = a_ok = b_fresh = b_ok = 0;
	must(pthread_create(&ta, NULL, a, NULL), "pthread_create");
	must(pthread_create(&tb, NULL, b, NULL), "pthread_create");
	must(pthread_join(ta, NULL), "pthread_join");
	must(pthread_join(tb, NULL), "pthread_join");
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_t t[N], feed;
	tv_data = -1; /* new threads still start from the initial image */
	tv_bss = -2;
	must(pthread_barrier_init(&all_done, NULL, N), "pthread_barrier_init");
	for (int i = 0; i < N; i++)
		if (pipe(pipes[i]) != 0)
			die("pipe");
	for (long i = 0; i < N; i++)
		must(pthread_create(&t[i], NULL, worker, (void *)i), "pthread_create");
	must(pthread_create(&feed, NULL, feeder, NULL), "pthread_create");

	bump_wait(&arrived, 0, N);
	void *h = load_dso(); /* after every worker's TLS exists */
	dso_set(-5);
	addr_dso[N] = dso_addr();
	bump_wait(&go, 1, 0);
	for (int i = 0; i < N; i++)
		must(pthread_join(t[i], NULL), "pthread_join");
	must(pthread_join(feed, NULL), "pthread_join");

	for (int k = 0; k < NRES; k++) {
		int n = 0;
		for (int i = 0; i < N; i++)
			n += res[i][k];
		report(res_name[k], n, N);
	}
	addr_data[N] = (void *)&tv_data;
	report("tdata: distinct addresses, main included", distinct(addr_data, N + 1), N + 1);
	report("main: tdata and tbss kept", tv_data == -1 && tv_bss == -2, 1);
	report("dso: distinct addresses, main included", distinct(addr_dso, N + 1), N + 1);
	report("dso: main kept its value", dso_check(-5), 1);

	/* two different objects ("C" twice would be glibc's one static C locale) */
	loc_a = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	loc_b = duplocale(LC_GLOBAL_LOCALE);
	if (!loc_a || !loc_b || loc_a == loc_b)
		die("newlocale/duplocale");
	pair(locale_a, locale_b);
	report("uselocale: B starts in the global locale after A switched", b_fresh, 1);
	report("uselocale: A keeps its locale across a sleep", a_ok, 1);
	report("uselocale: B keeps its locale across a sleep", b_ok, 1);
	report("uselocale: main still in the global locale",
	       uselocale((locale_t)0) == LC_GLOBAL_LOCALE, 1);
	pair(strerror_a, strerror_b);
	report("strerror: A's message still names 1234", a_ok, 1);
	report("strerror: B's message names 4321", b_ok, 1);
	pair(flock_a, flock_b);
	freelocale(loc_a);
	freelocale(loc_b);
	dlclose(h);
	return failures ? 1 : 0;
}

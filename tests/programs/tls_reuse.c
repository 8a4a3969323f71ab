/*
 * tls_reuse — a new thread's thread-local state is fresh even when the
 * thread before it, created and joined just before, dirtied all of it and
 * the new one reuses its memory (glibc's stack cache; a shim's pool).
 *
 * Rounds of four threads, one at a time.  Each thread checks what it
 * finds: __thread variables of the program (.tdata at its initial value,
 * .tbss zero), of the libraries loaded so far (dynamic TLS, static TLS),
 * errno 0, no pending dlerror message, the global locale; then it changes
 * every one of them, leaves a dlerror message unread and switches to a
 * locale of its own, and ends.  Between rounds main changes the loaded
 * modules:
 *   1. nothing loaded;
 *   2. libtls_dso.so dlopened (dynamic TLS: the threads allocate blocks);
 *   3. libtls_dso_ie.so dlopened (initial-exec: static TLS);
 *   4. that one closed and libtls_reuse_ie.so opened (static TLS, maybe
 *      where the closed block was, another initial value);
 *   5. libtls_dso.so closed and opened again;
 *   6. libtls_reuse_dep.so opened, its variable untouched (dynamic TLS);
 *   7. libtls_reuse_user.so opened, whose initial-exec reference moves
 *      that variable into static TLS, with no TLS of its own (so glibc's
 *      generation stays): both libraries must see one variable, at its
 *      initial value.
 * One line per round, yes/no for each check over its four threads.
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

#define THREADS 4
#define INIT 4242

static __thread volatile long tv_data = INIT; /* .tdata */
static __thread volatile long tv_bss;         /* .tbss */

static char dir[PATH_MAX];

/* what is loaded, and its functions (NULL: not loaded) */
static void *dso, *ie, *ie2, *dep, *user;
static long (*dso_initial)(void);
static void (*dso_set)(long);
static void *(*dso_addr)(void);
static int (*ie_get)(void);
static void (*ie_set)(int);
static int (*ie2_get)(void);
static void (*ie2_set)(int);
static int (*dep_get)(void);
static void (*dep_set)(int);
static void *(*dep_addr)(void);
static int (*user_get)(void);
static void *(*user_addr)(void);

enum { MAIN, ERRNO, DLERROR, LOCALE, DSO, IE, IE2, LATE, NCHECK };
static const char *const check_name[NCHECK] = { "main", "errno", "dlerror", "locale",
						"dynamic", "ie", "ie2", "late-static" };
static int ok[NCHECK];
static locale_t other_locale; /* the one each thread switches to */
static int failures;

static void *thread(void *arg)
{
	int fresh[NCHECK] = { 0 };
	fresh[ERRNO] = errno == 0;
	fresh[MAIN] = tv_data == INIT && tv_bss == 0;
	fresh[DLERROR] = dlerror() == NULL;
	fresh[LOCALE] = uselocale((locale_t)0) == LC_GLOBAL_LOCALE;
	fresh[DSO] = !dso || (dso_initial() == 77 && *(long *)dso_addr() == 0);
	fresh[IE] = !ie || ie_get() == 42;
	fresh[IE2] = !ie2 || ie2_get() == 99;
	fresh[LATE] = !user || (user_get() == 55 && dep_get() == 55 && user_addr() == dep_addr());
	for (int c = 0; c < NCHECK; c++)
		ok[c] &= fresh[c];

	/* Dirty everything for the next thread. */
	tv_data = 1;
	tv_bss = 2;
	if (dso)
		dso_set(5);
	if (ie)
		ie_set(7);
	if (ie2)
		ie2_set(8);
	if (user)
		dep_set(9);
	uselocale(other_locale);
	dlsym(RTLD_DEFAULT, "tls_reuse_no_such_symbol"); /* a message left unread */
	errno = EBADF;
	return arg;
}

static void round_of(const char *what)
{
	for (int c = 0; c < NCHECK; c++)
		ok[c] = 1;
	for (int i = 0; i < THREADS; i++) {
		pthread_t t;
		must(pthread_create(&t, NULL, thread, NULL), "pthread_create");
		must(pthread_join(t, NULL), "pthread_join");
	}
	printf("%s:", what);
	for (int c = 0; c < NCHECK; c++) {
		printf(" %s=%s", check_name[c], yesno(ok[c]));
		if (!ok[c]) {
			fprintf(stderr, "tls_reuse: %s: %s not fresh\n", what, check_name[c]);
			failures++;
		}
	}
	printf("\n");
}

static void *open_lib(const char *name, int flags)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	void *h = dlopen(path, flags);
	if (!h) {
		fprintf(stderr, "tls_reuse: dlopen %s: %s\n", name, dlerror());
		exit(1);
	}
	return h;
}

static void *sym(void *h, const char *name)
{
	void *p = dlsym(h, name);
	if (!p) {
		fprintf(stderr, "tls_reuse: dlsym %s: %s\n", name, dlerror());
		exit(1);
	}
	return p;
}

static void open_dso(void)
{
	dso = open_lib("libtls_dso.so", RTLD_NOW | RTLD_LOCAL);
	dso_initial = (long (*)(void))sym(dso, "tls_dso_initial");
	dso_set = (void (*)(long))sym(dso, "tls_dso_set");
	dso_addr = (void *(*)(void))sym(dso, "tls_dso_addr");
}

int main(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n < 0)
		die("readlink /proc/self/exe");
	exe[n] = 0;
	snprintf(dir, sizeof dir, "%s", dirname(exe));
	other_locale = duplocale(LC_GLOBAL_LOCALE);
	if (!other_locale)
		die("duplocale");
	/* main's own copies differ: a new thread must not inherit them */
	tv_data = -1;
	tv_bss = -2;

	round_of("nothing loaded");

	open_dso();
	round_of("dynamic TLS library loaded");

	ie = open_lib("libtls_dso_ie.so", RTLD_NOW | RTLD_LOCAL);
	ie_get = (int (*)(void))sym(ie, "ie_get");
	ie_set = (void (*)(int))sym(ie, "ie_set");
	round_of("initial-exec library loaded");

	dlclose(ie);
	ie = NULL;
	ie2 = open_lib("libtls_reuse_ie.so", RTLD_NOW | RTLD_LOCAL);
	ie2_get = (int (*)(void))sym(ie2, "ie2_get");
	ie2_set = (void (*)(int))sym(ie2, "ie2_set");
	round_of("it closed, another initial-exec library loaded");

	dlclose(dso);
	dso = NULL;
	open_dso();
	round_of("dynamic TLS library closed and loaded again");

	dep = open_lib("libtls_reuse_dep.so", RTLD_NOW | RTLD_GLOBAL);
	dep_get = (int (*)(void))sym(dep, "dep_get");
	dep_set = (void (*)(int))sym(dep, "dep_set");
	dep_addr = (void *(*)(void))sym(dep, "dep_addr");
	round_of("a dynamic TLS library loaded, its variable untouched");
	user = open_lib("libtls_reuse_user.so", RTLD_NOW | RTLD_LOCAL);
	user_get = (int (*)(void))sym(user, "user_get");
	user_addr = (void *(*)(void))sym(user, "user_addr");
	round_of("a dynamic TLS variable moved into static TLS");

	return failures ? 1 : 0;
}

/*
 * tls_review — what a review of per-thread TLS broke, checked against
 * the native run:
 * - a library with initial-exec TLS dlopen'd by a thread while others
 *   exist: the opener sees its initial value at once, main and every
 *   other existing thread too, then each its own;
 * - a thread_local aligned to 128 bytes is aligned in every thread;
 * - setresuid() from a thread once the process has a second real thread
 *   (a name lookup starts the shim's resolver threads): glibc signals
 *   every thread to change ids, and waited for ever on one;
 * - stdio calls on a FILE another thread holds with flockfile (ftell,
 *   fseek, setvbuf, fflush(NULL), fputws, fgetpos): they wait for it,
 *   they do not hang;
 * - fork() from a thread: in the child that thread starts another and
 *   ends with pthread_exit before it; the other ends the child (status 0).
 */
#include <dlfcn.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wchar.h>

#include "testutil.h"

#define N 4

static pthread_barrier_t loaded, done;
static int (*ie_get)(void);
static void (*ie_set)(int);
static int ie_fresh, ie_kept, misaligned;
static _Thread_local _Alignas(128) char aligned[128];

static char lib_path[PATH_MAX];
static int opener_fresh;

static void *user(void *arg)
{
	int me = (int)(intptr_t)arg;
	if ((uintptr_t)aligned % 128)
		misaligned++;
	if (me == 0) { /* the library is loaded by a thread, not main */
		usleep(10000); /* every other thread exists and waits */
		void *h = dlopen(lib_path, RTLD_NOW);
		if (!h)
			die("dlopen");
		ie_get = (int (*)(void))dlsym(h, "ie_get");
		ie_set = (void (*)(int))dlsym(h, "ie_set");
		opener_fresh = ie_get() == 42; /* its own block, before any switch */
	}
	pthread_barrier_wait(&loaded);
	if (ie_get() == 42)
		ie_fresh++;
	ie_set(100 + me);
	usleep(2000);
	if (ie_get() == 100 + me)
		ie_kept++;
	pthread_barrier_wait(&done);
	return NULL;
}

static void dlopen_late(const char *self)
{
	snprintf(lib_path, sizeof lib_path, "%.*s/libtls_dso_ie.so", (int)(strrchr(self, '/') - self),
		 self);
	pthread_t t[N];
	pthread_barrier_init(&loaded, NULL, N + 1);
	pthread_barrier_init(&done, NULL, N + 1);
	for (int i = 0; i < N; i++)
		pthread_create(&t[i], NULL, user, (void *)(intptr_t)i);
	pthread_barrier_wait(&loaded);
	int main_fresh = ie_get() == 42;
	pthread_barrier_wait(&done);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	printf("initial-exec TLS dlopen'd late by a thread: fresh in it: %s, in main: %s, "
	       "in %d of %d threads after, kept in %d\n", opener_fresh ? "yes" : "no",
	       main_fresh ? "yes" : "no", ie_fresh, N, ie_kept);
	printf("thread_local aligned to 128: misaligned in %d threads\n", misaligned);
}

static void *change_ids(void *arg)
{
	uid_t u = getuid();
	gid_t g = getgid();
	printf("setresgid/setresuid from a thread: %d %d\n", setresgid(g, g, g), setresuid(u, u, u));
	return NULL;
}

static void ids_with_real_threads(void)
{
	struct addrinfo *ai = NULL, hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	int e = getaddrinfo("localhost", "80", &hints, &ai); /* not numeric: offloaded */
	printf("getaddrinfo(localhost): %s\n", e ? gai_strerror(e) : "ok");
	if (ai)
		freeaddrinfo(ai);
	pthread_t t;
	pthread_create(&t, NULL, change_ids, NULL);
	pthread_join(t, NULL);
}

static const char *what;

static void *holder(void *arg)
{
	flockfile(stdout);
	printf("holder has stdout (%s)\n", what);
	usleep(30000);
	printf("holder lets go\n");
	funlockfile(stdout);
	return NULL;
}

static void *other(void *arg)
{
	usleep(5000);
	fpos_t pos;
	if (!strcmp(what, "ftell"))
		(void)ftell(stdout);
	else if (!strcmp(what, "fseek"))
		fseek(stdout, 0, SEEK_CUR);
	else if (!strcmp(what, "setvbuf"))
		setvbuf(stdout, NULL, _IOFBF, BUFSIZ);
	else if (!strcmp(what, "fflush(NULL)"))
		fflush(NULL);
	else if (!strcmp(what, "fgetpos"))
		fgetpos(stdout, &pos);
	else if (!strcmp(what, "fputws"))
		fputws(L"", stdout);
	printf("%s waited for the holder\n", what);
	return NULL;
}

static void held_file(void)
{
	const char *calls[] = { "ftell", "fseek", "setvbuf", "fflush(NULL)", "fgetpos", "fputws" };
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
		what = calls[i];
		pthread_t a, b;
		pthread_create(&a, NULL, holder, NULL);
		pthread_create(&b, NULL, other, NULL);
		pthread_join(a, NULL);
		pthread_join(b, NULL);
	}
}

static void *child_last(void *arg)
{
	usleep(10000); /* the forking thread has ended */
	printf("child: the second thread ends the child\n");
	return NULL;
}

static void *forker(void *arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		pthread_t t;
		pthread_create(&t, NULL, child_last, NULL);
		pthread_detach(t);
		pthread_exit(NULL);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	printf("fork child: %s %d\n", WIFEXITED(st) ? "exit" : "signal",
	       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return NULL;
}

int main(int argc, char **argv)
{
	dlopen_late(argv[0]);
	ids_with_real_threads();
	held_file();
	pthread_t t;
	pthread_create(&t, NULL, forker, NULL);
	pthread_join(t, NULL);
	return 0;
}

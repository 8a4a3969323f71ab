/*
 * main_exit_foreign — main calls pthread_exit while an OS thread the shim
 * did not create (reached through dlsym on libc's pthread_create) still
 * runs: POSIX keeps the process alive until that thread ends, then it
 * exits with status 0 (found by review: the shim used to exit at once).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

static void *outlives_main(void *a)
{
	usleep(100 * 1000);
	printf("foreign thread finished after main's pthread_exit\n");
	fflush(stdout);
	return NULL;
}

int main(void)
{
	create_fn real_create = (create_fn)dlsym(dlopen("libc.so.6", RTLD_NOW), "pthread_create");
	if (!real_create)
		return 1;
	printf("main exits first\n");
	fflush(stdout);
	pthread_t os;
	real_create(&os, NULL, outlives_main, NULL);
	pthread_exit(NULL);
}

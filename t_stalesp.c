#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "raw.h"
static int p[2];
static void h(int s) { stack_t o; long r = syscall(SYS_sigaltstack, 0, &o); stack_t n = {.ss_sp = malloc(65536), .ss_size = 65536};
	long r2 = syscall(SYS_sigaltstack, &n, 0);
	printf("B handler: syscall() query r=%ld flags=%x; set while on it r=%ld\n", r, o.ss_flags, r2); }
static void *A(void *a) { char c; rsys(SYS_read, p[0], &c, 1); return 0; }
static void *B(void *a) { usleep(50000); stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536}; sigaltstack(&ss, 0);
	pthread_kill(pthread_self(), SIGUSR1); write(p[1], "x", 1); return 0; }
int main(void)
{
	setvbuf(stdout, 0, _IONBF, 0); pipe(p);
	struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = h; sa.sa_flags = SA_ONSTACK; sigaction(SIGUSR1, &sa, 0);
	pthread_t a, b; pthread_create(&a, 0, A, 0); pthread_create(&b, 0, B, 0); pthread_join(a, 0); pthread_join(b, 0); puts("done"); return 0;
}

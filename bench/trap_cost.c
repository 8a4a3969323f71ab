/* bench/trap_cost.c — what the syscall trap costs, per call, with a second
 * thread alive (so that under the shim the trap is armed):
 *
 *   trap_cost N getpid    N raw `syscall` instructions (getpid): a
 *                         non-blocking call made outside the shim, which
 *                         traps and goes to the kernel from the handler
 *   trap_cost N stat      N stat("/") through libc (not interposed: libc's
 *                         newfstatat traps the same way)
 *   trap_cost N rawpipe   N round trips between two threads over two pipes,
 *                         each read and write a raw `syscall` instruction:
 *                         blocking calls the trap greens (the reader parks)
 *   trap_cost N pipe      the same through libc's read and write, which the
 *                         interposers take (the trap never sees them)
 *
 * Prints "result ns_per_op=X mode=M" (ns per call, or per round trip). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long raw3(long nr, long a, long b, long c)
{
	long r;
	register long rdi __asm__("rdi") = a;
	register long rsi __asm__("rsi") = b;
	register long rdx __asm__("rdx") = c;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "r"(rdi), "r"(rsi), "r"(rdx) : "rcx", "r11", "memory");
	return r;
}

static long n;
static int raw;
static int ab[2], ba[2];

static long rd(int fd, char *c) { return raw ? raw3(SYS_read, fd, (long)c, 1) : read(fd, c, 1); }
static long wr(int fd, char *c) { return raw ? raw3(SYS_write, fd, (long)c, 1) : write(fd, c, 1); }

static void *echo(void *arg)
{
	(void)arg;
	char c;
	for (long i = 0; i < n; i++)
		if (rd(ab[0], &c) != 1 || wr(ba[1], &c) != 1)
			exit(2);
	return NULL;
}

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done;

static void *idle(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	while (!done)
		pthread_cond_wait(&cv, &m);
	pthread_mutex_unlock(&m);
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: trap_cost N getpid|stat|rawpipe|pipe\n");
		return 2;
	}
	n = atol(argv[1]);
	const char *mode = argv[2];
	pthread_t t;
	double t0, t1;
	if (!strcmp(mode, "getpid") || !strcmp(mode, "stat")) {
		pthread_create(&t, NULL, idle, NULL);
		struct stat st;
		int is_stat = !strcmp(mode, "stat");
		t0 = now();
		for (long i = 0; i < n; i++)
			if (is_stat ? stat("/", &st) != 0 : raw3(SYS_getpid, 0, 0, 0) <= 0)
				return 2;
		t1 = now();
		pthread_mutex_lock(&m);
		done = 1;
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&m);
	} else if (!strcmp(mode, "rawpipe") || !strcmp(mode, "pipe")) {
		raw = !strcmp(mode, "rawpipe");
		if (pipe(ab) || pipe(ba))
			return 2;
		pthread_create(&t, NULL, echo, NULL);
		char c = 'x';
		t0 = now();
		for (long i = 0; i < n; i++)
			if (wr(ab[1], &c) != 1 || rd(ba[0], &c) != 1)
				return 2;
		t1 = now();
	} else {
		fprintf(stderr, "trap_cost: unknown mode %s\n", mode);
		return 2;
	}
	pthread_join(t, NULL);
	printf("result ns_per_op=%.1f mode=%s\n", (t1 - t0) / n, mode);
	return 0;
}

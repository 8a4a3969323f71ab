/*
 * trap_below_libc — blocking system calls that no interposer sees: made
 * inside libc (stdio's write into a full pipe, pclose's wait, NSS's file
 * reads) and by a raw syscall instruction.  Natively each blocks only its
 * own thread; under the preload the syscall trap parks the green thread,
 * so a ticker thread keeps ticking meanwhile.  Without the trap these
 * cases block the one OS thread (the raw read would never end: its writer
 * could not run).
 *
 * And a raw futex wait that a real OS thread (glibc's SIGEV_THREAD timer
 * thread) ends with a raw wake, which a parked green waiter never sees
 * from the kernel: the trap's futex waits look at the word again.
 *
 * Each case prints one line; "ticker ticked" says the ticker ran at least
 * 5 times (of about 20 natively) while the call was blocked.
 */
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testutil.h"

static _Atomic long ticks;
static _Atomic int stop;

static void *ticker(void *arg)
{
	(void)arg;
	struct timespec ts = { 0, 5 * MS };
	while (!atomic_load(&stop)) {
		nanosleep(&ts, NULL);
		atomic_fetch_add(&ticks, 1);
	}
	return NULL;
}

/* ---- a raw syscall instruction: read on a pipe another thread fills ---- */

static long raw_read(int fd, void *buf, size_t n)
{
	return raw_syscall(SYS_read, fd, (long)buf, (long)n, 0, 0, 0);
}

static int fds[2];

static void *late_writer(void *arg)
{
	(void)arg;
	sleep_ms(150);
	if (write(fds[1], "filled", 6) != 6)
		die("write");
	return NULL;
}

static void raw_read_case(void)
{
	if (pipe(fds))
		die("pipe");
	pthread_t w;
	must(pthread_create(&w, NULL, late_writer, NULL), "pthread_create");
	long before = atomic_load(&ticks);
	char buf[16] = { 0 };
	long r = raw_read(fds[0], buf, sizeof buf - 1);
	long during = atomic_load(&ticks) - before;
	must(pthread_join(w, NULL), "pthread_join");
	printf("raw syscall read: %ld \"%s\", ticker ticked: %s\n", r, r > 0 ? buf : "",
	       yesno(during >= 5));
	close(fds[0]);
	close(fds[1]);
}

/* ---- a raw futex wait that a real OS thread ends with a raw wake ---- */

static _Atomic int word;

static long raw_futex(_Atomic int *addr, int op, int val)
{
	return raw_syscall(SYS_futex, (long)addr, op, val, 0, 0, 0);
}

/* Runs on the thread glibc makes for a SIGEV_THREAD timer: a real OS
 * thread under the preload too, whose wake goes to the kernel. */
static void timer_fired(union sigval v)
{
	(void)v;
	atomic_store(&word, 1);
	raw_futex(&word, 1 /* FUTEX_WAKE */ | 128 /* PRIVATE */, 1);
}

static void futex_real_waker_case(void)
{
	timer_t tm;
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD, .sigev_notify_function = timer_fired };
	if (timer_create(CLOCK_MONOTONIC, &sev, &tm))
		die("timer_create");
	struct itimerspec its = { .it_value = { 0, 100 * MS } };
	if (timer_settime(tm, 0, &its, NULL))
		die("timer_settime");
	long before = atomic_load(&ticks);
	while (atomic_load(&word) == 0)
		raw_futex(&word, 0 /* FUTEX_WAIT */ | 128, 0);
	long during = atomic_load(&ticks) - before;
	timer_delete(tm);
	printf("raw futex wait, woken by a real thread's raw wake: yes, ticker ticked: %s\n",
	       yesno(during >= 5));
}

/* ---- stdio writing into a full pipe while another thread drains it ---- */

#define BIG (1 << 20)

static void *drainer(void *arg)
{
	long *got = arg;
	sleep_ms(150); /* the writer fills the pipe and blocks first */
	char buf[65536];
	ssize_t n;
	while ((n = read(fds[0], buf, sizeof buf)) > 0)
		*got += n;
	return NULL;
}

static void stdio_pipe_case(void)
{
	if (pipe(fds))
		die("pipe");
	long got = 0;
	pthread_t d;
	must(pthread_create(&d, NULL, drainer, &got), "pthread_create");
	FILE *f = fdopen(fds[1], "w");
	if (!f)
		die("fdopen");
	char *big = malloc(BIG + 1);
	memset(big, 'x', BIG);
	big[BIG] = 0;
	long before = atomic_load(&ticks);
	int r = fputs(big, f);
	int c = fclose(f); /* flushes the rest, closes: the drainer sees EOF */
	long during = atomic_load(&ticks) - before;
	must(pthread_join(d, NULL), "pthread_join");
	printf("fputs into a full pipe: %s, fclose %d, drained %ld, ticker ticked: %s\n",
	       r >= 0 ? "ok" : "failed", c, got, yesno(during >= 5));
	free(big);
	close(fds[0]);
}

/* ---- NSS: getpwnam while the ticker runs ---- */

static void getpwnam_case(void)
{
	int same = 1;
	uid_t uid = (uid_t)-1;
	for (int i = 0; i < 50; i++) {
		struct passwd *pw = getpwnam("root");
		if (!pw) {
			same = 0;
			break;
		}
		if (i == 0)
			uid = pw->pw_uid;
		same &= pw->pw_uid == uid && strcmp(pw->pw_name, "root") == 0;
	}
	struct passwd *none = getpwnam("no-such-user-greenshim");
	printf("getpwnam(\"root\") x50: uid %d, all the same: %s; unknown user: %s\n", (int)uid,
	       yesno(same), none ? "found" : "NULL");
}

/* ---- popen and pclose of a slow command ---- */

static void popen_case(void)
{
	FILE *p = popen("echo started; sleep 0.25; echo done", "r");
	if (!p)
		die("popen");
	char line[64] = { 0 };
	if (!fgets(line, sizeof line, p))
		die("fgets");
	line[strcspn(line, "\n")] = 0;
	long before = atomic_load(&ticks);
	int status = pclose(p); /* waits for the command: about 250 ms */
	long during = atomic_load(&ticks) - before;
	printf("popen: first line \"%s\", pclose status %d, ticker ticked: %s\n", line, status,
	       yesno(during >= 5));
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	pthread_t t;
	must(pthread_create(&t, NULL, ticker, NULL), "pthread_create");
	sleep_ms(10);
	raw_read_case();
	futex_real_waker_case();
	stdio_pipe_case();
	getpwnam_case();
	popen_case();
	atomic_store(&stop, 1);
	must(pthread_join(t, NULL), "pthread_join");
	return 0;
}

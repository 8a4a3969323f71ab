/*
 * io_fork_family — a pipe shared across fork, read by a thread that waits
 * while another thread of its process runs.
 *
 * A shim may remember that a description blocks ("O_NONBLOCK is clear")
 * while the processes holding it are its own fork children and parents,
 * which tell each other of every change; it must look again once the
 * description may have reached a program that does not.  The parent makes
 * a pipe and forks a reader child with two threads: main reads the pipe,
 * a ticker sleeps in 5 ms steps (so main's read has to let it run).  Then:
 *   - three hand-offs: the parent writes, the child's read waited for it;
 *   - the parent sets O_NONBLOCK on the pipe: the child's read -> EAGAIN;
 *     the parent clears it: the read waits for the parent's write again;
 *   - a program the parent's fork child executes (this program again,
 *     "setnb FD": a new process image, outside the family) sets
 *     O_NONBLOCK: EAGAIN; it clears it again (posix_spawn'ed): the read
 *     waits again.
 * The child asks for each step on a control pipe and hears "go" when it
 * is done.  A read that should fail but waits is rescued by a process
 * that writes "rescued" 1.5 s later, so a wrong answer shows as that text,
 * never as a hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

extern char **environ;

static int data[2], ask[2], go[2];
static volatile int ticking = 1;
static int ticks;

static void *ticker(void *arg)
{
	while (ticking) {
		sleep_ms(5);
		ticks++;
	}
	return NULL;
}

static void say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) < 0)
		die("write");
}

static void hear(int fd)
{
	char c[16];
	if (read(fd, c, sizeof c) <= 0)
		die("read");
}

static pid_t write_later(int fd, int ms, const char *text)
{
	pid_t p = fork();
	if (p == 0) {
		sleep_ms(ms);
		say(fd, text);
		_exit(0);
	}
	return p;
}

/* The child: asks for a step, waits for it to be done, reads once. */
static void step(const char *what, int rescue)
{
	say(ask[1], "?");
	hear(go[0]);
	pid_t r = rescue ? write_later(data[1], 1500, "rescued") : 0;
	char buf[64];
	errno = 0;
	ssize_t n = read(data[0], buf, sizeof buf - 1);
	int e = errno;
	buf[n > 0 ? n : 0] = 0;
	printf("%s: %zd %s \"%s\"\n", what, n, n < 0 ? en(e) : "", buf);
	fflush(stdout);
	if (r) {
		kill(r, SIGKILL);
		waitpid(r, NULL, 0);
	}
}

static void reader(void)
{
	pthread_t t;
	must(pthread_create(&t, NULL, ticker, NULL), "pthread_create");
	for (int i = 0; i < 3; i++)
		step("hand-off", 0);
	step("O_NONBLOCK set by the parent", 1);
	step("O_NONBLOCK cleared by the parent", 0);
	step("O_NONBLOCK set by an executed program", 1);
	step("O_NONBLOCK cleared by a spawned program", 0);
	ticking = 0;
	pthread_join(t, NULL);
	printf("ticker ticked meanwhile: %s\n", yesno(ticks > 0));
}

static void exec_setnb(int on)
{
	char fd[16];
	snprintf(fd, sizeof fd, "%d", data[0]);
	char *argv[] = { "/proc/self/exe", on ? "setnb" : "clearnb", fd, NULL };
	if (on) {
		pid_t p = fork();
		if (p == 0) {
			execv("/proc/self/exe", argv);
			_exit(127);
		}
		waitpid(p, NULL, 0);
	} else {
		pid_t p;
		if (posix_spawn(&p, "/proc/self/exe", NULL, NULL, argv, environ) != 0)
			die("posix_spawn");
		waitpid(p, NULL, 0);
	}
}

/* The parent: does each step the child asks for. */
static void steps(void)
{
	for (int i = 0; i < 3; i++) {
		hear(ask[0]);
		say(go[1], "go");
		sleep_ms(30);
		say(data[1], "data");
	}
	hear(ask[0]);
	fcntl(data[0], F_SETFL, O_NONBLOCK);
	say(go[1], "go");
	hear(ask[0]);
	fcntl(data[0], F_SETFL, 0);
	say(go[1], "go");
	sleep_ms(30);
	say(data[1], "waited");
	hear(ask[0]);
	exec_setnb(1);
	say(go[1], "go");
	hear(ask[0]);
	exec_setnb(0);
	say(go[1], "go");
	sleep_ms(30);
	say(data[1], "waited again");
}

int main(int argc, char **argv)
{
	if (argc == 3) { /* the executed program */
		fcntl(atoi(argv[2]), F_SETFL, strcmp(argv[1], "setnb") == 0 ? O_NONBLOCK : 0);
		return 0;
	}
	if (pipe(data) || pipe(ask) || pipe(go))
		die("pipe");
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		reader();
		fflush(stdout);
		_exit(0);
	}
	steps();
	int st;
	waitpid(child, &st, 0);
	printf("reader exited: %s\n", yesno(WIFEXITED(st) && WEXITSTATUS(st) == 0));
	return 0;
}

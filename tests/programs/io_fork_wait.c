/*
 * io_fork_wait — waiting for children while other threads keep running.
 *
 * A ticker thread counts 10 ms usleeps for the whole run.  The program's
 * own SIGCHLD handler (SA_RESTART) counts deliveries.  Children only sleep,
 * write and _exit.
 *   - waitpid(pid, 0) for a child that sleeps 200 ms and exits 7: the
 *     ticker ran meanwhile (on the shim's one OS thread this needs waitpid
 *     greened), WIFEXITED, status 7;
 *   - wait() for a child exiting 3;
 *   - wait4(pid) with rusage for a child exiting 4: ru_maxrss filled;
 *   - waitid(P_PID, pid, WEXITED) for a child exiting 5: si_pid, CLD_EXITED,
 *     si_status 5;
 *   - waitpid(-1) for a child exiting 6;
 *   - WNOHANG while the child still sleeps: 0, then it is reaped;
 *   - a child killed by SIGTERM while it sleeps: WIFSIGNALED, SIGTERM;
 *   - with no children left: waitpid, wait and waitid give ECHILD;
 *   - a child writes three pieces 50 ms apart into a pipe that a thread of
 *     the parent reads to EOF, while main waits for the child in waitpid;
 *   - the SIGCHLD handler ran (at least once: signals coalesce).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

static volatile int stop;
static volatile long ticks;
static volatile sig_atomic_t sigchld_count;

static void on_sigchld(int sig) { sigchld_count++; }

static void *ticker(void *arg)
{
	while (!stop) {
		usleep(10 * 1000);
		ticks++;
	}
	return NULL;
}

/* A child that sleeps ms then exits with code. */
static pid_t child(long ms, int code)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		usleep((useconds_t)ms * 1000);
		_exit(code);
	}
	return pid;
}

static const char *status_str(int st)
{
	static char buf[64];
	if (WIFEXITED(st))
		snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, sizeof buf, "killed by %s", sigabbrev_np(WTERMSIG(st)));
	else
		snprintf(buf, sizeof buf, "status 0x%x", st);
	return buf;
}

struct pipe_reader {
	int fd;
	char text[128];
	size_t len;
	long reads;
};

static void *read_to_eof(void *arg)
{
	struct pipe_reader *r = arg;
	for (;;) {
		ssize_t k = read(r->fd, r->text + r->len, sizeof r->text - 1 - r->len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("read");
		if (k == 0)
			break;
		r->len += (size_t)k;
		r->reads++;
	}
	r->text[r->len] = '\0';
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigchld;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);

	pthread_t tick;
	must(pthread_create(&tick, NULL, ticker, NULL), "pthread_create");
	int st;
	pid_t pid, r;

	pid = child(200, 7);
	long t0 = ticks;
	r = waitpid(pid, &st, 0);
	printf("waitpid: right pid %s, %s, other thread ran meanwhile: %s\n", yesno(r == pid),
	       status_str(st), yesno(ticks - t0 >= 5));

	pid = child(100, 3);
	t0 = ticks;
	r = wait(&st);
	printf("wait: right pid %s, %s, other thread ran meanwhile: %s\n", yesno(r == pid),
	       status_str(st), yesno(ticks - t0 >= 2));

	pid = child(100, 4);
	struct rusage ru;
	memset(&ru, 0, sizeof ru);
	r = wait4(pid, &st, 0, &ru);
	printf("wait4: right pid %s, %s, rusage filled: %s\n", yesno(r == pid), status_str(st),
	       yesno(ru.ru_maxrss > 0));

	pid = child(100, 5);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	int w = waitid(P_PID, (id_t)pid, &si, WEXITED);
	printf("waitid: %d, si_pid right %s, CLD_EXITED %s, si_status %d\n", w,
	       yesno(si.si_pid == pid), yesno(si.si_code == CLD_EXITED), si.si_status);

	pid = child(100, 6);
	r = waitpid(-1, &st, 0);
	printf("waitpid(-1): right pid %s, %s\n", yesno(r == pid), status_str(st));

	pid = child(300, 0);
	usleep(50 * 1000);
	r = waitpid(pid, &st, WNOHANG);
	printf("WNOHANG while the child lives: %d\n", (int)r);
	r = waitpid(pid, &st, 0);
	printf("  then waitpid: right pid %s, %s\n", yesno(r == pid), status_str(st));

	pid = child(3000, 0);
	usleep(50 * 1000);
	kill(pid, SIGTERM);
	r = waitpid(pid, &st, 0);
	printf("killed child: right pid %s, %s, WIFSIGNALED %s\n", yesno(r == pid),
	       status_str(st), yesno(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM));

	errno = 0;
	r = waitpid(-1, &st, 0);
	printf("no children: waitpid %d %s", (int)r, en(errno));
	errno = 0;
	r = wait(&st);
	printf(", wait %d %s", (int)r, en(errno));
	errno = 0;
	w = waitid(P_ALL, 0, &si, WEXITED);
	printf(", waitid %d %s\n", w, en(errno));

	/* a child writes into a pipe a thread reads, main waits for the child */
	int p[2];
	if (pipe(p) != 0)
		die("pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		static const char *piece[] = { "hello ", "from ", "the child" };
		close(p[0]);
		for (int i = 0; i < 3; i++) {
			usleep(50 * 1000);
			if (write(p[1], piece[i], strlen(piece[i])) < 0)
				_exit(1);
		}
		_exit(9);
	}
	close(p[1]);
	struct pipe_reader pr = { p[0], "", 0, 0 };
	pthread_t rt;
	must(pthread_create(&rt, NULL, read_to_eof, &pr), "pthread_create");
	r = waitpid(pid, &st, 0);
	must(pthread_join(rt, NULL), "pthread_join");
	close(p[0]);
	printf("child through a pipe: \"%s\", read in pieces: %s; child %s\n", pr.text,
	       yesno(pr.reads >= 2), status_str(st));

	stop = 1;
	must(pthread_join(tick, NULL), "pthread_join");
	printf("SIGCHLD handler ran: %s\n", yesno(sigchld_count > 0));
	return 0;
}

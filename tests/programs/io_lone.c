/*
 * io_lone — blocking pipe calls of a process's only thread.
 *
 * With nobody else to run, the shim may let the call block in the kernel
 * itself; everything around it must stay as natively.  Each case runs in
 * a child process of its own whose main thread is its only pthread (as in
 * stress-ng's pipe and switch workers), blocking in read (or write) on a
 * pipe while
 *   - another process writes 50 ms later (reads) or reads (a full pipe's
 *     write);
 *   - another process sets O_NONBLOCK on the shared description: EAGAIN;
 *     clears it: the read waits again;
 *   - SIGALRM arrives: EINTR without SA_RESTART, the read goes on with it;
 *   - a timer's SIGEV_THREAD callback (an OS thread glibc made, not the
 *     program) calls pthread_kill(main, SIGUSR1): EINTR without
 *     SA_RESTART, the read goes on with it;
 *   - that callback calls pthread_cancel(main): the read is a
 *     cancellation point, main's cleanup handler runs;
 *   - the SIGALRM handler starts a thread, which writes to the pipe: the
 *     read gets that;
 *   - with IO_LONE_LONGJMP set: the SIGALRM handler leaves the read with
 *     siglongjmp; the pipe is closed and made again (the same numbers),
 *     and read twice, each time written 50 ms later by another process.
 *     (Only with green threads: with GREENSHIM_THREAD=0 the read parks,
 *     the handler runs in the hub's context, and a siglongjmp from there
 *     is a known gap of the parked way.)
 * A call that should end but stays blocked is rescued by a process that
 * writes "rescued" 2 s later, so a wrong answer shows as that text, never
 * as a hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

static volatile sig_atomic_t handled;
static pthread_t main_thread;
static int pipe_fds[2];

static void on_signal(int sig) { handled++; }

static void install(int sig, void (*fn)(int), int restart)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0)
		die("sigaction");
}

/* A process that writes text to fd after ms milliseconds. */
static pid_t write_later(int fd, int ms, const char *text)
{
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		sleep_ms(ms);
		if (write(fd, text, strlen(text)) < 0)
			_exit(2);
		_exit(0);
	}
	return p;
}

static void reap(pid_t p)
{
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
}

/* One read of the pipe, reported: its result, errno, what it got. */
static void report_read(const char *what, int fd)
{
	char buf[64];
	errno = 0;
	ssize_t r = read(fd, buf, sizeof buf - 1);
	int e = errno;
	buf[r > 0 ? r : 0] = 0;
	printf("%s: %zd %s \"%s\", handler ran: %s\n", what, r, r < 0 ? en(e) : "", buf,
	       yesno(handled > 0));
}

static void alarm_in(int ms)
{
	struct itimerval it = { .it_value = { 0, ms * 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

static void case_writer(void)
{
	pid_t w = write_later(pipe_fds[1], 50, "hello");
	report_read("read, a process writes 50 ms later", pipe_fds[0]);
	reap(w);
}

static void case_full_pipe(void)
{
	static char block[65536];
	fcntl(pipe_fds[1], F_SETFL, O_NONBLOCK);
	while (write(pipe_fds[1], block, sizeof block) > 0 || write(pipe_fds[1], block, 1) > 0)
		;
	fcntl(pipe_fds[1], F_SETFL, 0);
	pid_t r = fork();
	if (r == 0) {
		close(pipe_fds[1]);
		sleep_ms(50);
		while (read(pipe_fds[0], block, sizeof block) > 0)
			;
		_exit(0);
	}
	ssize_t n = write(pipe_fds[1], block, 4096);
	printf("write 4096 into a full pipe, a process drains it 50 ms later: %zd\n", n);
	close(pipe_fds[1]); /* the drainer sees the end */
	waitpid(r, NULL, 0);
}

/* A process sets (or clears) O_NONBLOCK on the description we share. */
static void flags_elsewhere(int fd, int nonblock)
{
	pid_t p = fork();
	if (p == 0) {
		fcntl(fd, F_SETFL, nonblock ? O_NONBLOCK : 0);
		_exit(0);
	}
	waitpid(p, NULL, 0);
}

static void case_nonblock_elsewhere(void)
{
	pid_t rescue = write_later(pipe_fds[1], 2000, "rescued");
	flags_elsewhere(pipe_fds[0], 1);
	report_read("read, O_NONBLOCK set by another process", pipe_fds[0]);
	reap(rescue);
	flags_elsewhere(pipe_fds[0], 0);
	pid_t w = write_later(pipe_fds[1], 50, "waited");
	report_read("read, O_NONBLOCK cleared by another process", pipe_fds[0]);
	reap(w);
}

static void case_alarm(int restart)
{
	install(SIGALRM, on_signal, restart);
	pid_t w = write_later(pipe_fds[1], restart ? 200 : 2000, restart ? "after the alarm" : "rescued");
	alarm_in(50);
	report_read(restart ? "read, SIGALRM with SA_RESTART" : "read, SIGALRM without SA_RESTART",
		    pipe_fds[0]);
	reap(w);
}

/* ---- requests from an OS thread glibc made (a SIGEV_THREAD timer) ----- */

static int request_cancel;

static void from_timer_thread(union sigval v)
{
	if (request_cancel)
		pthread_cancel(main_thread);
	else
		pthread_kill(main_thread, SIGUSR1);
}

static void timer_in(int ms)
{
	struct sigevent ev;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_THREAD;
	ev.sigev_notify_function = from_timer_thread;
	timer_t t;
	if (timer_create(CLOCK_MONOTONIC, &ev, &t) != 0)
		die("timer_create");
	struct itimerspec its = { .it_value = { 0, ms * 1000000L } };
	timer_settime(t, 0, &its, NULL);
}

static void case_kill_from_thread(int restart)
{
	install(SIGUSR1, on_signal, restart);
	pid_t w = write_later(pipe_fds[1], restart ? 300 : 2000, restart ? "after the signal" : "rescued");
	timer_in(50);
	report_read(restart ? "read, pthread_kill from a timer thread, SA_RESTART"
			    : "read, pthread_kill from a timer thread, no SA_RESTART",
		    pipe_fds[0]);
	reap(w);
}

static void cleanup(void *arg)
{
	printf("read, pthread_cancel from a timer thread: cancelled, cleanup ran\n");
	fflush(stdout);
	_exit(0);
}

static void case_cancel_from_thread(void)
{
	request_cancel = 1;
	pid_t w = write_later(pipe_fds[1], 2000, "rescued");
	timer_in(50);
	pthread_cleanup_push(cleanup, NULL);
	report_read("read, pthread_cancel from a timer thread: not cancelled", pipe_fds[0]);
	pthread_cleanup_pop(0);
	reap(w);
}

/* ---- a handler starts a thread ---------------------------------------- */

static void *writer_thread(void *arg)
{
	if (write(pipe_fds[1], "from a thread", 13) < 0)
		die("write");
	return NULL;
}

static void start_writer(int sig)
{
	pthread_t t;
	handled++;
	pthread_create(&t, NULL, writer_thread, NULL);
	pthread_detach(t);
}

static void case_thread_from_handler(void)
{
	sleep_ms(1); /* as a program that waited before */
	install(SIGALRM, start_writer, 1);
	pid_t w = write_later(pipe_fds[1], 2000, "rescued");
	alarm_in(50);
	report_read("read, the SIGALRM handler starts a writer thread", pipe_fds[0]);
	reap(w);
}

/* ---- a handler leaves the call ------------------------------------------ */

static sigjmp_buf out_of_read;

static void jump_out(int sig)
{
	handled++;
	siglongjmp(out_of_read, 1);
}

static void case_longjmp(void)
{
	install(SIGALRM, jump_out, 0);
	pid_t w = write_later(pipe_fds[1], 2000, "rescued");
	if (sigsetjmp(out_of_read, 1) == 0) {
		alarm_in(50);
		report_read("read, left by siglongjmp: not left", pipe_fds[0]);
	} else {
		printf("read, left by siglongjmp from the SIGALRM handler\n");
	}
	reap(w);
	int old[2] = { pipe_fds[0], pipe_fds[1] };
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	if (pipe(pipe_fds) != 0)
		die("pipe");
	printf("the pipe made again, same numbers: %s\n",
	       yesno(pipe_fds[0] == old[0] && pipe_fds[1] == old[1]));
	handled = 0;
	for (int i = 0; i < 2; i++) {
		w = write_later(pipe_fds[1], 50, "again");
		report_read("  read it, a process writes 50 ms later", pipe_fds[0]);
		reap(w);
	}
}

static void run(void (*fn)(void))
{
	fflush(stdout);
	pid_t p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		main_thread = pthread_self();
		if (pipe(pipe_fds) != 0)
			die("pipe");
		fn();
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		printf("  (case process ended with status %#x)\n", st);
}

static void alarm_plain(void) { case_alarm(0); }
static void alarm_restart(void) { case_alarm(1); }
static void kill_plain(void) { case_kill_from_thread(0); }
static void kill_restart(void) { case_kill_from_thread(1); }

int main(void)
{
	run(case_writer);
	run(case_full_pipe);
	run(case_nonblock_elsewhere);
	run(alarm_plain);
	run(alarm_restart);
	run(kill_plain);
	run(kill_restart);
	run(case_cancel_from_thread);
	run(case_thread_from_handler);
	if (getenv("IO_LONE_LONGJMP"))
		run(case_longjmp);
	return 0;
}

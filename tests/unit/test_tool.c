/* The greenshim command: `run` sets LD_PRELOAD and the opt-out flags and
 * execs the command; bad usage is a clear error with exit status 2.
 * `ps`, `top` and `trace` read what a process publishes: first a fake one
 * (tests/tool/fake_pub: known content, every wait kind, scripted trace
 * rings), then real programs under the preload (tests/tool/parked,
 * tests/tool/pingpong).
 *
 * Then what a user reads: --help and --version, the manual pages, the
 * bash completion; and other users (as root, as CI runs them): root's ps
 * of a process of nobody's, nobody refused for root's.
 *
 * Every test runs under alarm(); targets read stdin until EOF, so a test
 * that dies takes its target with it, and the teardown kills it anyway. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "published.h"

static char tool[PATH_MAX + 32], lib[PATH_MAX + 32], targets[PATH_MAX + 32];
/* The source tree (man/, tools/greenshim.bash-completion): the directory
 * the tests run from (make check's), or $GS_SRCDIR. */
static char srcdir[PATH_MAX];

/* Runs cmd through sh, returns its exit status and stdout+stderr. */
static int run(const char *cmd, char *out, size_t size)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	size_t n = fread(out, 1, size - 1, p);
	out[n] = 0;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_run_sets_preload_and_flags(void **state)
{
	char cmd[2 * PATH_MAX + 128], out[65536], want[PATH_MAX + 64];
	snprintf(cmd, sizeof cmd, "env -u LD_PRELOAD %s run --no-thread --no-time -- env 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	snprintf(want, sizeof want, "LD_PRELOAD=%s\n", lib);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "GREENSHIM_THREAD=0\n"));
	assert_non_null(strstr(out, "GREENSHIM_TIME=0\n"));
	assert_null(strstr(out, "GREENSHIM_SOCKET="));
}

/* --preempt-ms N sets GREENSHIM_PREEMPT_MS=N (both forms; 0 is off). */
static void test_run_sets_preempt_ms(void **state)
{
	char cmd[2 * PATH_MAX + 128], out[65536];
	const char *forms[][2] = { { "--preempt-ms 5", "GREENSHIM_PREEMPT_MS=5\n" },
				   { "--preempt-ms=0", "GREENSHIM_PREEMPT_MS=0\n" },
				   { "--no-tls --preempt-ms 1000 --no-os",
				     "GREENSHIM_PREEMPT_MS=1000\n" } };
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		snprintf(cmd, sizeof cmd, "env -u GREENSHIM_PREEMPT_MS %s run %s env 2>&1", tool,
			 forms[i][0]);
		assert_int_equal(run(cmd, out, sizeof out), 0);
		if (!strstr(out, forms[i][1]))
			fail_msg("run %s: no %s in:\n%s", forms[i][0], forms[i][1], out);
	}
	snprintf(cmd, sizeof cmd, "env -u GREENSHIM_PREEMPT_MS %s run -- env 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	assert_null(strstr(out, "GREENSHIM_PREEMPT_MS="));
}

/* --no-trap sets GREENSHIM_SYSCALLS=off; without it the variable is left
 * alone (the library's default: the trap). */
static void test_run_no_trap(void **state)
{
	char cmd[2 * PATH_MAX + 128], out[65536];
	snprintf(cmd, sizeof cmd, "env -u GREENSHIM_SYSCALLS %s run --no-trap --no-os env 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	assert_non_null(strstr(out, "GREENSHIM_SYSCALLS=off\n"));
	assert_non_null(strstr(out, "GREENSHIM_OS=0\n"));
	snprintf(cmd, sizeof cmd, "env -u GREENSHIM_SYSCALLS %s run -- env 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	assert_null(strstr(out, "GREENSHIM_SYSCALLS="));
}

static void test_run_keeps_existing_preload(void **state)
{
	char cmd[2 * PATH_MAX + 128], out[65536], want[PATH_MAX + 64];
	snprintf(cmd, sizeof cmd, "LD_PRELOAD=libfoo.so %s run -- env 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	snprintf(want, sizeof want, "LD_PRELOAD=%s:libfoo.so\n", lib);
	assert_non_null(strstr(out, want));
}

static void test_bad_usage_is_a_clear_error(void **state)
{
	char cmd[2 * PATH_MAX + 128], out[4096];
	snprintf(cmd, sizeof cmd, "%s run --no-such-flag -- true 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 2);
	assert_non_null(strstr(out, "unknown option --no-such-flag"));
	const char *bad_ms[] = { "--preempt-ms 1001", "--preempt-ms -1", "--preempt-ms=5x",
				 "--preempt-ms=", "--preempt-ms" };
	const char *ms_says = "greenshim: --preempt-ms takes milliseconds from 0 (off) to 1000\n";
	for (size_t i = 0; i < sizeof bad_ms / sizeof bad_ms[0]; i++) {
		snprintf(cmd, sizeof cmd, "%s run %s -- true 2>&1", tool, bad_ms[i]);
		int st = run(cmd, out, sizeof out);
		if (st != 2 || strncmp(out, ms_says, strlen(ms_says)))
			fail_msg("run %s: status %d: %s", bad_ms[i], st, out);
	}
	snprintf(cmd, sizeof cmd, "%s run --no-os 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 2);
	assert_non_null(strstr(out, "no command given"));
	snprintf(cmd, sizeof cmd, "%s frobnicate 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 2);
	assert_non_null(strstr(out, "unknown command 'frobnicate'"));
	snprintf(cmd, sizeof cmd, "%s run -- /nonexistent/program 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 127);
	assert_non_null(strstr(out, "/nonexistent/program"));
}

/* ---- targets: a child with its stdin and stdout on pipes ---- */

static pid_t target = -1;      /* the running target, killed by the teardown */
static int target_in = -1;     /* its stdin: closing it ends the target */

/* Starts DIR/NAME ARG (under the preload LIB if lib), as nobody if
 * as_nobody (through setpriv), waits for its "ready" line; returns its
 * pid. */
static pid_t start_target_in(const char *dir, const char *name, const char *arg,
			     const char *preload_lib, int as_nobody)
{
	int in[2], out[2];
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	char path[PATH_MAX + 64], env[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(env, sizeof env, "LD_PRELOAD=%s", preload_lib ? preload_lib : "");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		unsetenv("LD_PRELOAD");
		if (as_nobody) /* setpriv itself without the preload: env sets it */
			execlp("setpriv", "setpriv", "--reuid=nobody", "--regid=nogroup",
			       "--clear-groups", "env", env, path, arg, (char *)NULL);
		else if (preload_lib)
			setenv("LD_PRELOAD", preload_lib, 1);
		execl(path, name, arg, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	target = pid;
	target_in = in[1];
	char line[64] = "";
	ssize_t n = 0, r;
	while (n < (ssize_t)sizeof line - 1 && (r = read(out[0], line + n, 1)) == 1 && line[n] != '\n')
		n++;
	close(out[0]);
	line[n] = 0;
	assert_string_equal(line, "ready");
	return pid;
}

/* Starts BUILD/tests/tool/NAME ARG (under the preload if preload). */
static pid_t start_target(const char *name, const char *arg, int preload)
{
	return start_target_in(targets, name, arg, preload ? lib : NULL, 0);
}

/* Ends the target (EOF on its stdin; SIGKILL if that is not enough). */
static int stop_target(void **state)
{
	if (target_in >= 0)
		close(target_in);
	target_in = -1;
	if (target > 0) {
		for (int i = 0; i < 200 && waitpid(target, NULL, WNOHANG) == 0; i++)
			usleep(10000);
		if (kill(target, SIGKILL) == 0)
			waitpid(target, NULL, 0);
	}
	target = -1;
	alarm(0);
	return 0;
}

/* The published header of uid's pid, mapped (for what the tool leaves
 * behind). */
static struct gs_pub_header *map_header_of(uid_t uid, pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, GS_PUB_PATH_FMT, (unsigned)uid, (int)pid);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	void *p = mmap(NULL, GS_PUB_HEADER_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(p != MAP_FAILED);
	return p;
}

static struct gs_pub_header *map_header(pid_t pid)
{
	return map_header_of(getuid(), pid);
}

/* The line of `ps` output for thread id (its first column), or NULL;
 * the thread table ends where the hubs' begins. */
static const char *thread_line(const char *out, int id, char *line, size_t size)
{
	const char *hubs = strstr(out, "\nHUB ");
	for (const char *p = out; *p && (!hubs || p <= hubs);) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *tail;
		long v = strtol(p, &tail, 10);
		if (tail != p && v == id && *tail == ' ' && len < size) {
			memcpy(line, p, len);
			line[len] = 0;
			return line;
		}
		p += len + (end != NULL);
	}
	return NULL;
}

static void assert_line_has(const char *out, int id, const char *what)
{
	char line[512];
	if (!thread_line(out, id, line, sizeof line))
		fail_msg("no line for thread %d in:\n%s", id, out);
	if (!strstr(line, what))
		fail_msg("thread %d: expected '%s' in: %s", id, what, line);
}

/* Runs the trace checker on a JSON file: parses it with python3's json,
 * checks every tid's "B"/"E" alternate and end closed, prints the counts. */
static int check_json(const char *path, char *out, size_t size)
{
	static const char script[] =
		"import json, sys\n"
		"d = json.load(open(sys.argv[1]))\n"
		"assert d['otherData']['greenshim_trace'] == 1\n"
		"opened, runs, names = {}, {}, {}\n"
		"for e in d['traceEvents']:\n"
		"    t = e['tid']\n"
		"    if e['ph'] == 'M' and e['name'] == 'thread_name': names[t] = e['args']['name']\n"
		"    if e['ph'] == 'B':\n"
		"        assert not opened.get(t), ('B inside B', e)\n"
		"        opened[t] = True; runs[t] = runs.get(t, 0) + 1\n"
		"    if e['ph'] == 'E':\n"
		"        assert opened.get(t), ('E without B', e)\n"
		"        opened[t] = False\n"
		"assert not any(opened.values()), 'unclosed'\n"
		"for t in sorted(runs): print('tid %d runs %d name %s' % (t, runs[t], names.get(t)))\n"
		"print('balanced')\n";
	char spath[] = "/tmp/test_tool_check_XXXXXX";
	int fd = mkstemp(spath);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, script, sizeof script - 1), (ssize_t)sizeof script - 1);
	close(fd);
	char cmd[PATH_MAX + 128];
	snprintf(cmd, sizeof cmd, "timeout 60 python3 %s %s 2>&1", spath, path);
	int st = run(cmd, out, size);
	unlink(spath);
	return st;
}

/* ---- bad input ---- */

static void test_bad_input(void **state)
{
	char cmd[2 * PATH_MAX + 128], out[8192];
	alarm(60);
	/* A pid that surely is free: a child that has been reaped. */
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	snprintf(cmd, sizeof cmd, "%s ps %d 2>&1", tool, (int)dead);
	assert_int_equal(run(cmd, out, sizeof out), 1);
	char want[128];
	snprintf(want, sizeof want, "greenshim: no process %d\n", (int)dead);
	assert_string_equal(out, want);
	/* A live process without the shim. */
	pid_t sleeper = fork();
	if (sleeper == 0) {
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	target = sleeper;
	const char *cmds[] = { "ps", "top --iterations 1", "trace -o /tmp/test_tool_never.json" };
	for (int i = 0; i < 3; i++) {
		snprintf(cmd, sizeof cmd, "%s %s %d 2>&1", tool, cmds[i], (int)sleeper);
		assert_int_equal(run(cmd, out, sizeof out), 1);
		snprintf(want, sizeof want,
			 "greenshim: process %d does not run greenshim (no /dev/shm/greenshim-%u-%d)\n",
			 (int)sleeper, (unsigned)getuid(), (int)sleeper);
		assert_string_equal(out, want);
	}
	assert_int_equal(access("/tmp/test_tool_never.json", F_OK), -1);
	stop_target(NULL);
	/* Usage errors: status 2 and one line saying what. */
	const struct {
		const char *args, *says;
	} usage[] = {
		{ "ps abc", "not a PID: 'abc'" },
		{ "ps --frob 1", "unknown option --frob" },
		{ "ps --sample -1 1", "--sample takes seconds" },
		{ "ps 1 2", "one PID at a time" },
		{ "top", "top needs a PID" },
		{ "top --interval 0 1", "--interval takes seconds" },
		{ "top --sort size 1", "--sort takes cpu or switches" },
		{ "top --iterations x 1", "--iterations takes a count" },
		{ "trace 1", "trace needs -o FILE.json" },
		{ "trace -o x.json", "trace needs a PID" },
		{ "trace --seconds many 1 -o x.json", "--seconds takes seconds" },
		{ "trace --summary", "--summary needs a file" },
		{ "trace --bogus", "unknown option --bogus" },
	};
	for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
		snprintf(cmd, sizeof cmd, "%s %s 2>&1", tool, usage[i].args);
		int st = run(cmd, out, sizeof out);
		if (st != 2 || !strstr(out, usage[i].says) || strncmp(out, "greenshim: ", 11))
			fail_msg("greenshim %s: status %d, output:\n%s", usage[i].args, st, out);
	}
}

/* Files the tool must refuse, each with one line and status 1. */
static void test_incompatible_files(void **state)
{
	const char *modes[] = { "--bad-magic", "--bad-version", "--bad-size" };
	const char *why[] = { "(bad magic)", "(layout version 2, this greenshim reads 1)",
			      "record sizes" };
	char cmd[PATH_MAX + 64], out[4096], want[128];
	alarm(60);
	for (int i = 0; i < 3; i++) {
		pid_t pid = start_target("fake_pub", modes[i], 0);
		snprintf(cmd, sizeof cmd, "%s ps %d 2>&1", tool, (int)pid);
		assert_int_equal(run(cmd, out, sizeof out), 1);
		snprintf(want, sizeof want,
			 "greenshim: /dev/shm/greenshim-%u-%d was written by an incompatible greenshim",
			 (unsigned)getuid(), (int)pid);
		if (strncmp(out, want, strlen(want)) || !strstr(out, why[i]) || strchr(out, '\n')[1])
			fail_msg("%s: %s", modes[i], out);
		stop_target(NULL);
	}
}

/* Files left by processes that are gone (or by an earlier process with a
 * pid that lives again) are removed. */
static void test_stale_files_removed(void **state)
{
	char cmd[PATH_MAX + 64], out[4096], path[64];
	alarm(60);
	pid_t dead = fork();
	if (dead == 0)
		_exit(0);
	waitpid(dead, NULL, 0);
	snprintf(path, sizeof path, GS_PUB_PATH_FMT, (unsigned)getuid(), (int)dead);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof cmd, "%s ps 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	assert_non_null(strstr(out, "PID"));
	assert_int_equal(access(path, F_OK), -1);

	/* A live pid that does not map its file: a complete header, so only
	 * the mapping check can tell. */
	pid_t sleeper = fork();
	if (sleeper == 0) {
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	target = sleeper;
	snprintf(path, sizeof path, GS_PUB_PATH_FMT, (unsigned)getuid(), (int)sleeper);
	struct gs_pub_header h = {
		.magic = GS_PUB_MAGIC, .version = GS_PUB_VERSION, .header_size = GS_PUB_HEADER_SIZE,
		.pid = sleeper, .hub_size = sizeof(struct gs_pub_hub),
		.event_size = sizeof(struct gs_pub_event), .thread_size = sizeof(struct gs_pub_thread),
		.max_hubs = 1, .ring_events = 1, .rings_offset = GS_PUB_HEADER_SIZE,
		.threads_offset = GS_PUB_HEADER_SIZE + sizeof(struct gs_pub_event),
	};
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &h, sizeof h, 0), (ssize_t)sizeof h);
	assert_int_equal(ftruncate(fd, (off_t)h.threads_offset), 0);
	close(fd);
	snprintf(cmd, sizeof cmd, "%s ps %d 2>&1", tool, (int)sleeper);
	assert_int_equal(run(cmd, out, sizeof out), 1);
	assert_non_null(strstr(out, "does not run greenshim (removed"));
	assert_int_equal(access(path, F_OK), -1);
	stop_target(NULL);
}

/* ---- ps, top, trace against the fake ---- */

static void test_ps_fake_every_wait_kind(void **state)
{
	char cmd[PATH_MAX + 64], out[65536], line[512];
	alarm(60);
	pid_t pid = start_target("fake_pub", "", 0);
	snprintf(cmd, sizeof cmd, "%s ps --sample 0.3 %d 2>&1", tool, (int)pid);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	snprintf(line, sizeof line, "process %d (/fake/exe): 21 green threads on 2 hubs, figures over 0.3",
		 (int)pid);
	if (strncmp(out, line, strlen(line)))
		fail_msg("title: %s", out);
	static const struct {
		int id;
		const char *has[4];
	} want[] = {
		{ 1, { " - ", "waiting", "read fd 0 (pipe)", " main " } },
		{ 2, { "sleeper", "waiting", "s left", "12K/64K" } },
		{ 3, { "runner", "running", "fn_runner", "/64K" } },
		{ 4, { "readyone-longnm", "ready", "fn_ready", NULL } },
		{ 5, { "locker", "waiting", "mutex 0x55d0c0 held by 3", "fn_locker" } },
		{ 6, { "cond 0x1000", "fn_waiter", NULL } },
		{ 7, { "rwlock 0x2000 held by 5", NULL } },
		{ 8, { "sem 0x3000", NULL } },
		{ 9, { "barrier 0x4000", NULL } },
		{ 10, { "once 0x5000", NULL } },
		{ 11, { "join 5", NULL } },
		{ 12, { "futex 0x6000, ", "s left", NULL } },
		{ 13, { "read fd ", "(socket)", NULL } },
		{ 14, { "write fd ", "(eventfd, via syscall)", NULL } },
		{ 15, { "poll fd ", "(/dev/null)", NULL } },
		{ 16, { "waitpid 1234", NULL } },
		{ 17, { "waitpid any", NULL } },
		{ 18, { "exited", NULL } },
		{ 19, { "ready", "yield", NULL } },
		{ 20, { "running", "(OS thread)", NULL } },
		{ 21, { "read fd 999 (closed)", "fake_pub+0x", NULL } },
		{ 22, { "waiting", "sleep ", "puts", NULL } },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		for (int k = 0; k < 4 && want[i].has[k]; k++)
			assert_line_has(out, want[i].id, want[i].has[k]);
	assert_null(thread_line(out, 0, line, sizeof line)); /* the free slot */
	/* The sleeper's deadline is 30 s after the fake started. */
	thread_line(out, 2, line, sizeof line);
	assert_true(strstr(line, "sleep 29.") || strstr(line, "sleep 30.0s"));
	/* Figures of the window: the fake counts while we are attached. */
	int id, sw;
	char name[32], st[16];
	thread_line(out, 3, line, sizeof line);
	assert_int_equal(sscanf(line, "%d %31s %15s", &id, name, st), 3);
	char *p = strstr(line, "fn_runner") + strlen("fn_runner");
	assert_int_equal(sscanf(p, "%d", &sw), 1);
	assert_true(sw > 0);
	assert_non_null(strstr(p, "ms"));
	/* Hubs. */
	snprintf(line, sizeof line, "  0 %8d", (int)pid);
	assert_non_null(strstr(out, "HUB   OS TID  SWITCHES/S"));
	assert_non_null(strstr(out, line));
	assert_non_null(strstr(out, "1.5ms by 3"));
	/* No warnings: all is well.  (A fake kept off the CPU for 100 ms by a
	 * loaded machine looks like a stuck hub: look again then.) */
	for (int tries = 0; strstr(out, "! ") && tries < 3; tries++) {
		snprintf(cmd, sizeof cmd, "%s ps --sample 0.3 %d 2>&1", tool, (int)pid);
		assert_int_equal(run(cmd, out, sizeof out), 0);
	}
	if (strstr(out, "! "))
		fail_msg("warnings about the fake:\n%s", out);
	/* Detached: the count went back. */
	struct gs_pub_header *h = map_header(pid);
	assert_int_equal(atomic_load(&h->inspectors), 0);
	munmap(h, GS_PUB_HEADER_SIZE);
	/* Listed among this user's greened processes. */
	snprintf(cmd, sizeof cmd, "%s ps 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	assert_non_null(strstr(out, "    PID USER        HUBS  THREADS        UP  EXE\n"));
	if (!thread_line(out, pid, line, sizeof line))
		fail_msg("pid %d not listed:\n%s", (int)pid, out);
	char user[64], exe[64];
	unsigned hubs, threads;
	struct passwd *pw = getpwuid(geteuid());
	assert_int_equal(sscanf(line, "%d %63s %u %u %*s %63s", &id, user, &hubs, &threads, exe), 5);
	assert_string_equal(user, pw ? pw->pw_name : "?");
	assert_int_equal(hubs, 2);
	assert_int_equal(threads, 21);
	assert_string_equal(exe, "/fake/exe");
}

static void test_top_plain_warnings_and_sort(void **state)
{
	char cmd[PATH_MAX + 128], out[65536], want[160];
	alarm(60);
	pid_t pid = start_target("fake_pub", "--stuck", 0);
	snprintf(cmd, sizeof cmd,
		 "%s top --iterations 2 --interval 0.1 --sort switches %d </dev/null 2>&1", tool,
		 (int)pid);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	snprintf(want, sizeof want, "process %d (/fake/exe)", (int)pid);
	char *second = strstr(out, want);
	assert_non_null(second);
	assert_non_null(strstr(second + 1, want)); /* two frames */
	assert_null(strstr(strstr(second + 1, want) + 1, want));
	assert_null(strchr(out, '\033')); /* plain: no screen control */
	assert_non_null(strstr(out, "! thread 3 (runner) has run 2"));
	assert_non_null(strstr(out, " ms without yielding"));
	snprintf(want, sizeof want, "! hub of OS thread %d blocked for 2.", (int)pid);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "thread 3 is in a call the shim does not green, or computing"));
	/* Sorted by switches: thread 3, then 2, lead. */
	char *rows = strstr(out, "     ID NAME");
	assert_non_null(rows);
	rows = strchr(rows, '\n') + 1;
	assert_int_equal(atoi(rows), 3);
	assert_int_equal(atoi(strchr(rows, '\n') + 1), 2);
	struct gs_pub_header *h = map_header(pid);
	assert_int_equal(atomic_load(&h->inspectors), 0);
	munmap(h, GS_PUB_HEADER_SIZE);
}

/* The line of out that starts with prefix, from `from` on (NULL: none),
 * copied into line. */
static const char *line_from(const char *from, const char *prefix, char *line, size_t size)
{
	for (const char *p = from; p && *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (!strncmp(p, prefix, strlen(prefix)) && len < size) {
			memcpy(line, p, len);
			line[len] = 0;
			return line;
		}
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

/* The figure of row under the right-aligned column `col` of header: the
 * word of row that ends where the column's name ends. */
static long long column_value(const char *header, const char *row, const char *col)
{
	const char *at = strstr(header, col);
	if (!at)
		fail_msg("no column %s in: %s", col, header);
	size_t end = (size_t)(at - header) + strlen(col);
	if (strlen(row) < end || (row[end] && row[end] != ' '))
		fail_msg("column %s (ends at %zu) not aligned in:\n%s\n%s", col, end, header, row);
	size_t start = end;
	while (start > 0 && row[start - 1] != ' ')
		start--;
	char *tail;
	long long v = strtoll(row + start, &tail, 10);
	if (tail != row + end)
		fail_msg("column %s: not a number in:\n%s\n%s", col, header, row);
	return v;
}

/* Thread and hub preemptions (counted by the process always): ps and top
 * show each thread's in PREEMPT and the hub's total in its line; a trace
 * whose runs ended by preemption sums them up as "preempted".  The counts
 * are written into the fake's file, as the process would. */
static void test_ps_top_preemptions(void **state)
{
	char cmd[PATH_MAX + 128], out[65536], header[512], row[512], prefix[16];
	alarm(60);
	pid_t pid = start_target("fake_pub", "", 0);
	char path[64];
	snprintf(path, sizeof path, GS_PUB_PATH_FMT, (unsigned)getuid(), (int)pid);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	char *file = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(file != MAP_FAILED);
	struct gs_pub_header *h = (struct gs_pub_header *)file;
	struct gs_pub_thread *slots = (struct gs_pub_thread *)(file + h->threads_offset);
	assert_int_equal(atomic_load(&slots[2].id), 3); /* the runner */
	assert_int_equal(atomic_load(&slots[1].id), 2); /* the sleeper */
	atomic_store(&slots[2].preemptions, 42);
	atomic_store(&slots[1].preemptions, 1234567);
	atomic_store(&h->hubs[0].preemptions, 1234617);
	const struct {
		int id;
		long long preempted;
	} threads[] = { { 1, 0 }, { 2, 1234567 }, { 3, 42 }, { 4, 0 }, { 18, 0 }, { 20, 0 } };
	const long long hubs[] = { 1234617, 0 };
	const char *commands[] = { "ps --sample 0.1", "top --iterations 1 --interval 0.1" };
	for (int c = 0; c < 2; c++) {
		snprintf(cmd, sizeof cmd, "%s %s %d </dev/null 2>&1", tool, commands[c], (int)pid);
		assert_int_equal(run(cmd, out, sizeof out), 0);
		/* Threads: the column after CPU, before STACK. */
		const char *table = line_from(out, "     ID NAME ", header, sizeof header);
		if (!table || !strstr(header, " SWITCHES      CPU  PREEMPT       STACK"))
			fail_msg("%s: thread header:\n%s", commands[c], out);
		const char *rows = strstr(out, header);
		for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++) {
			snprintf(prefix, sizeof prefix, "%7d ", threads[i].id);
			if (!line_from(rows, prefix, row, sizeof row))
				fail_msg("%s: no thread %d in:\n%s", commands[c], threads[i].id, out);
			if (column_value(header, row, "PREEMPT") != threads[i].preempted)
				fail_msg("%s: thread %d: expected %lld preemptions: %s", commands[c],
					 threads[i].id, threads[i].preempted, row);
		}
		/* Hubs: the total, after LIVE. */
		if (!line_from(out, "HUB ", header, sizeof header) ||
		    !strstr(header, "   LIVE  PREEMPT   LAST POLL  LONGEST RUN"))
			fail_msg("%s: hub header:\n%s", commands[c], out);
		rows = strstr(out, header);
		for (unsigned i = 0; i < 2; i++) {
			snprintf(prefix, sizeof prefix, "%3u ", i);
			if (!line_from(rows, prefix, row, sizeof row))
				fail_msg("%s: no hub %u in:\n%s", commands[c], i, out);
			if (column_value(header, row, "PREEMPT") != hubs[i])
				fail_msg("%s: hub %u: expected %lld preemptions: %s", commands[c], i,
					 hubs[i], row);
		}
		if (strstr(out, "! "))
			fail_msg("%s: preemptions are no warning:\n%s", commands[c], out);
	}
	munmap(file, (size_t)st.st_size);

	/* A trace with runs ended by preemption. */
	const char *json = "/tmp/test_tool_preempted.json";
	static const char trace[] =
		"{\"traceEvents\":[\n"
		"{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":7,\"tid\":7,\"args\":{\"name\":\"x\"}},\n"
		"{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":7,\"tid\":2,\"args\":{\"name\":\"a (2)\"}},\n"
		"{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":7,\"tid\":3,\"args\":{\"name\":\"b (3)\"}},\n"
		"{\"ph\":\"B\",\"pid\":7,\"tid\":2,\"ts\":0.000,\"name\":\"run\"},\n"
		"{\"ph\":\"E\",\"pid\":7,\"tid\":2,\"ts\":10000.000,\"name\":\"run\","
		"\"args\":{\"reason\":\"preempted\"}},\n"
		"{\"ph\":\"B\",\"pid\":7,\"tid\":3,\"ts\":10000.000,\"name\":\"run\"},\n"
		"{\"ph\":\"E\",\"pid\":7,\"tid\":3,\"ts\":20000.000,\"name\":\"run\","
		"\"args\":{\"reason\":\"preempted\"}},\n"
		"{\"ph\":\"B\",\"pid\":7,\"tid\":2,\"ts\":20000.000,\"name\":\"run\"},\n"
		"{\"ph\":\"E\",\"pid\":7,\"tid\":2,\"ts\":25000.000,\"name\":\"run\","
		"\"args\":{\"reason\":\"sleep\"}}\n"
		"],\"displayTimeUnit\":\"ns\",\"otherData\":{\"greenshim_trace\":1,\"pid\":7}}\n";
	fd = open(json, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, trace, sizeof trace - 1), (ssize_t)sizeof trace - 1);
	close(fd);
	snprintf(cmd, sizeof cmd, "%s trace --summary %s 2>&1", tool, json);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	unlink(json);
	if (!line_from(out, "a (2) ", row, sizeof row) || !strstr(row, "  sleep 1, preempted 1") ||
	    !line_from(out, "b (3) ", row, sizeof row) || !strstr(row, "  preempted 1") ||
	    !line_from(out, "total ", row, sizeof row) || !strstr(row, "  preempted 2, sleep 1") ||
	    strstr(out, "other"))
		fail_msg("summary of preempted runs:\n%s", out);
}

/* top without --iterations ends on SIGTERM, detached. */
static void test_top_signal_detaches(void **state)
{
	char path[PATH_MAX + 64], pidarg[16];
	alarm(60);
	pid_t pid = start_target("fake_pub", "", 0);
	snprintf(pidarg, sizeof pidarg, "%d", (int)pid);
	snprintf(path, sizeof path, "%s", tool);
	pid_t top = fork();
	if (top == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		execl(path, "greenshim", "top", "--interval", "0.1", pidarg, (char *)NULL);
		_exit(127);
	}
	struct gs_pub_header *h = map_header(pid);
	for (int i = 0; i < 500 && atomic_load(&h->inspectors) == 0; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&h->inspectors), 1);
	usleep(300000);
	kill(top, SIGTERM);
	int st;
	assert_int_equal(waitpid(top, &st, 0), top);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(atomic_load(&h->inspectors), 0);
	munmap(h, GS_PUB_HEADER_SIZE);
}

static void test_trace_fake(void **state)
{
	char cmd[PATH_MAX + 128], out[65536];
	const char *json = "/tmp/test_tool_fake.json";
	alarm(60);
	pid_t pid = start_target("fake_pub", "", 0);
	snprintf(cmd, sizeof cmd, "%s trace %d -o %s --seconds 0.5 2>&1", tool, (int)pid, json);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	assert_non_null(strstr(out, "greenshim: 34 switches written to /tmp/test_tool_fake.json"));
	assert_null(strstr(out, "lost"));
	struct gs_pub_header *h = map_header(pid);
	assert_int_equal(atomic_load(&h->trace), 0);
	assert_int_equal(atomic_load(&h->trace_drainer), 0);
	assert_int_equal(atomic_load(&h->inspectors), 0);
	munmap(h, GS_PUB_HEADER_SIZE);
	if (check_json(json, out, sizeof out) != 0)
		fail_msg("%s", out);
	assert_non_null(strstr(out, " runs 2 name hub 1\n"));
	assert_non_null(strstr(out, " runs 15 name sleeper (2)\n"));
	assert_non_null(strstr(out, " runs 14 name runner (3)\n"));
	assert_non_null(strstr(out, " runs 1 name quo\"te\\x (19)\n"));
	assert_non_null(strstr(out, " runs 1 name OS thread (20)\n"));
	assert_non_null(strstr(out, " runs 1 name bad\xef\xbf\xbdutf8 (21)\n"));
	/* The args of a run's end, as they fit its reason. */
	char text[65536];
	int fd = open(json, O_RDONLY);
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	assert_true(n > 0);
	text[n] = 0;
	assert_non_null(strstr(text, "{\"traceEvents\":[\n{\"ph\":\"M\",\"name\":\"process_name\""));
	assert_non_null(strstr(text, "\"args\":{\"reason\":\"mutex\",\"obj\":\"0x1002\",\"holder\":7}}"));
	assert_non_null(strstr(text, "\"args\":{\"reason\":\"read\",\"fd\":5}}"));
	assert_non_null(strstr(text, "\"args\":{\"reason\":\"waitpid\",\"pid\":-1}}"));
	assert_non_null(strstr(text, "\"args\":{\"reason\":\"join\",\"holder\":4}}"));
	assert_non_null(strstr(text, "\"ts\":0.000,\"name\":\"run\"}"));
	char tail[128];
	snprintf(tail, sizeof tail,
		 "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"greenshim_trace\":1,\"pid\":%d}}\n",
		 (int)pid);
	assert_string_equal(text + n - strlen(tail), tail);

	snprintf(cmd, sizeof cmd, "%s trace --summary %s 2>&1", tool, json);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	char want[160];
	snprintf(want, sizeof want, "greenshim trace of pid %d, 30us", (int)pid);
	assert_non_null(strstr(out, want));
	/* Sorted by run time: the hub 1 context, then 2 and 3. */
	char *sleeper = strstr(out, "\nsleeper (2) "), *runner = strstr(out, "\nrunner (3) ");
	assert_non_null(sleeper);
	assert_non_null(runner);
	assert_true(strstr(out, "\nhub 1 ") < sleeper && sleeper < runner);
	assert_non_null(strstr(sleeper, "   15  yield 2, mutex 2, rwlock 2, barrier 2, join 2, read 2, "
					"poll 2, sleep 1\n"));
	assert_non_null(strstr(runner, "   14  sleep 2, cond 2, sem 2, once 2, futex 2, write 2, "
				       "waitpid 2\n"));
	assert_non_null(strstr(out, "\ntotal "));
	assert_non_null(strstr(out, "   34  sleep 3, poll 3,"));
	unlink(json);
}

static void test_trace_refuses_self_traced(void **state)
{
	char cmd[PATH_MAX + 128], out[4096], want[160];
	const char *json = "/tmp/test_tool_self.json";
	alarm(60);
	int fd = open(json, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	pid_t pid = start_target("fake_pub", "--self-trace", 0);
	snprintf(cmd, sizeof cmd, "%s trace %d -o %s --seconds 0.2 2>&1", tool, (int)pid, json);
	assert_int_equal(run(cmd, out, sizeof out), 1);
	snprintf(want, sizeof want,
		 "greenshim: process %d records its own trace (GREENSHIM_TRACE is set)", (int)pid);
	assert_non_null(strstr(out, want));
	struct stat st;
	assert_int_equal(stat(json, &st), 0);
	assert_int_equal(st.st_size, 4); /* left alone */
	struct gs_pub_header *h = map_header(pid);
	assert_int_equal(atomic_load(&h->trace_drainer), 1);
	assert_int_equal(atomic_load(&h->inspectors), 0);
	munmap(h, GS_PUB_HEADER_SIZE);
	unlink(json);
}

/* The fake publishes ring_events + 1000 events at once: the oldest 1000
 * were overwritten (and the oldest left may be under the writer's pen). */
static void test_trace_counts_lost_events(void **state)
{
	char cmd[PATH_MAX + 128], out[65536];
	const char *json = "/tmp/test_tool_burst.json";
	alarm(60);
	pid_t pid = start_target("fake_pub", "--burst", 0);
	snprintf(cmd, sizeof cmd, "%s trace %d -o %s --seconds 0.3 2>&1", tool, (int)pid, json);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	if (!strstr(out, "greenshim: 1000 events were lost") &&
	    !strstr(out, "greenshim: 1001 events were lost"))
		fail_msg("%s", out);
	if (check_json(json, out, sizeof out) != 0)
		fail_msg("%s", out);
	unlink(json);
}

static void test_summary_rejects_other_files(void **state)
{
	char cmd[PATH_MAX + 128], out[4096];
	alarm(60);
	const struct {
		const char *text, *says;
	} files[] = {
		{ "hello\n", "is not a greenshim trace (not JSON: " },
		{ "{\"traceEvents\":[{\"ph\":\"B\",\"tid\":1,\"ts\":0}],}",
		  "is not a greenshim trace (not JSON: " },
		{ "{\"traceEvents\":[]}\n",
		  "is not a greenshim trace (JSON without otherData.greenshim_trace)" },
		{ "{\"traceEvents\":[],\"otherData\":{\"version\":\"x\"}}",
		  "is not a greenshim trace (JSON without otherData.greenshim_trace)" },
		{ "", "is not a greenshim trace (not JSON: " },
	};
	const char *path = "/tmp/test_tool_other.json";
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		size_t len = strlen(files[i].text);
		assert_int_equal(write(fd, files[i].text, len), (ssize_t)len);
		close(fd);
		snprintf(cmd, sizeof cmd, "%s trace --summary %s 2>&1", tool, path);
		int st = run(cmd, out, sizeof out);
		if (st != 1 || !strstr(out, files[i].says) || strchr(out, '\n')[1])
			fail_msg("file %zu: status %d: %s", i, st, out);
	}
	unlink(path);
	snprintf(cmd, sizeof cmd, "%s trace --summary /nonexistent/t.json 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 1);
	assert_string_equal(out, "greenshim: /nonexistent/t.json: No such file or directory\n");
}

/* ---- real programs under the preload ---- */

static void test_ps_real_parked_threads(void **state)
{
	static char out[1 << 20];
	char cmd[PATH_MAX + 64], line[8192];
	alarm(60);
	pid_t pid = start_target("parked", "100", 1);
	snprintf(cmd, sizeof cmd, "%s ps %d 2>&1", tool, (int)pid);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	char *hubs = strstr(out, "\nHUB ");
	assert_non_null(hubs);
	hubs[1] = 0; /* the threads' table only */
	/* The holder's id, then every thread by its name. */
	int holder = 0, sleepers = 0, lockers = 0, readers = 0, main_seen = 0;
	for (char *p = out; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
		int id;
		char name[32], st[16];
		if (sscanf(p, "%d %31s %15s", &id, name, st) == 3 && !strcmp(name, "holder"))
			holder = id;
	}
	assert_true(holder > 0);
	char held[32];
	snprintf(held, sizeof held, " held by %d ", holder);
	for (char *p = out; *p;) {
		char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		snprintf(line, sizeof line, "%.*s", (int)len, p);
		p += len + (end != NULL);
		int id;
		char name[32], st[16];
		if (sscanf(line, "%d %31s %15s", &id, name, st) != 3)
			continue;
		if (!strcmp(name, "sleeper") && strstr(line, "waiting sleep 99") &&
		    strstr(line, " sleeper "))
			sleepers++;
		else if (!strcmp(name, "locker") && strstr(line, "waiting mutex 0x") &&
			 strstr(line, held))
			lockers++;
		else if (!strcmp(name, "reader") && strstr(line, "waiting read fd ") &&
			 strstr(line, " (pipe) ") && strstr(line, "/256K"))
			readers++;
		else if (!strcmp(name, "holder"))
			assert_non_null(strstr(line, "waiting sleep 99"));
		else if (!strcmp(name, "-") && strstr(line, "read fd 0 (pipe)") &&
			 strstr(line, " main "))
			main_seen++;
		else
			fail_msg("unexpected thread line: %s", line);
	}
	assert_int_equal(sleepers, 100);
	assert_int_equal(lockers, 100);
	assert_int_equal(readers, 100);
	assert_int_equal(main_seen, 1);
	snprintf(line, sizeof line, "process %d (%s/parked): 302 green threads on 1 hub", (int)pid,
		 targets);
	if (strncmp(out, line, strlen(line)))
		fail_msg("title: %.200s", out);
}

static void test_trace_real_pingpong(void **state)
{
	static char out[1 << 16];
	char cmd[PATH_MAX + 128];
	const char *json = "/tmp/test_tool_pingpong.json";
	alarm(60);
	pid_t pid = start_target("pingpong", "200", 1);
	snprintf(cmd, sizeof cmd, "%s trace %d -o %s --seconds 0.5 2>&1", tool, (int)pid, json);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	assert_non_null(strstr(out, "switches written to /tmp/test_tool_pingpong.json"));
	if (check_json(json, out, sizeof out) != 0)
		fail_msg("%s", out);
	assert_non_null(strstr(out, " name ping ("));
	assert_non_null(strstr(out, " name pong ("));
	assert_non_null(strstr(out, " name hub\n"));
	snprintf(cmd, sizeof cmd, "%s trace --summary %s 2>&1", tool, json);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	assert_non_null(strstr(out, "\nping ("));
	assert_non_null(strstr(out, "\npong ("));
	assert_non_null(strstr(out, "  sleep "));
	struct gs_pub_header *h = map_header(pid);
	assert_int_equal(atomic_load(&h->trace), 0);
	assert_int_equal(atomic_load(&h->trace_drainer), 0);
	assert_int_equal(atomic_load(&h->inspectors), 0);
	munmap(h, GS_PUB_HEADER_SIZE);
	unlink(json);
}

/* The published file of pid: is it there? */
static int published(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, GS_PUB_PATH_FMT, (unsigned)getuid(), (int)pid);
	return access(path, F_OK) == 0;
}

/* Closes the target's stdin and reaps it; its exit status. */
static int end_target(void)
{
	close(target_in);
	target_in = -1;
	int st = -1;
	assert_int_equal(waitpid(target, &st, 0), target);
	target = -1;
	return st;
}

/* A hub kept from running (a thread spins in calls the shim does not
 * green): ps and top still read every thread from the published state,
 * top warns about the spinner and the blocked hub; the target then ends
 * with _exit, and its published file is gone all the same. */
static void test_ps_top_stuck_hub(void **state)
{
	static char out[1 << 16];
	char cmd[PATH_MAX + 128];
	alarm(60);
	/* Preempted, the spinner would not keep its hub stuck. */
	setenv("GREENSHIM_PREEMPT_MS", "0", 1);
	pid_t pid = start_target("stuck", NULL, 1);
	unsetenv("GREENSHIM_PREEMPT_MS");
	usleep(300 * 1000); /* past top's 100 ms thresholds */
	snprintf(cmd, sizeof cmd, "%s ps %d 2>&1", tool, (int)pid);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	char line[512];
	int spinner = 0, napper = 0;
	for (char *p = out; *p;) {
		char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		snprintf(line, sizeof line, "%.*s", (int)len, p);
		p += len + (end != NULL);
		if (strstr(line, " spinner ") && strstr(line, " running "))
			spinner++;
		if (strstr(line, " napper ") && strstr(line, "waiting sleep 99"))
			napper++;
	}
	if (spinner != 1 || napper != 1)
		fail_msg("ps of a stuck hub:\n%s", out);
	snprintf(cmd, sizeof cmd, "%s top %d --iterations 1 --interval 0.2 2>&1", tool, (int)pid);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	if (!strstr(out, "(spinner) has run ") || !strstr(out, " ms without yielding") ||
	    !strstr(out, "blocked for "))
		fail_msg("top of a stuck hub:\n%s", out);
	assert_true(published(pid));
	assert_int_equal(end_target(), 0); /* the spinner's _exit(0) */
	assert_false(published(pid));
}

/* A clean exit (exit from main) leaves nothing in /dev/shm. */
static void test_nothing_left_after_exit(void **state)
{
	alarm(60);
	pid_t pid = start_target("parked", "3", 1);
	assert_true(published(pid));
	end_target(); /* its parked threads are still there at exit */
	assert_false(published(pid));
}

/* A shell that waited for a child (so it published) and then execs a
 * command that is not under the shim leaves nothing behind either: exec
 * runs no atexit, and the new program would not remove the file. */
static void test_nothing_left_after_exec(void **state)
{
	alarm(60);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		setenv("LD_PRELOAD", lib, 1);
		execl("/bin/sh", "sh", "-c", "sleep 0.05 & wait; LD_PRELOAD= exec sleep 0.2",
		      (char *)NULL);
		_exit(127);
	}
	usleep(150 * 1000);
	assert_false(published(pid)); /* the exec'd sleep runs: the shell's file is gone */
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_false(published(pid));
}

/* GREENSHIM_TRACE=FILE: the process records itself from its start; the
 * file is written at exit and is a trace Perfetto opens. */
static void test_greenshim_trace_env(void **state)
{
	static char out[1 << 16];
	const char *json = "/tmp/test_tool_env_trace.json";
	alarm(60);
	unlink(json);
	setenv("GREENSHIM_TRACE", json, 1);
	start_target("pingpong", "200", 1);
	unsetenv("GREENSHIM_TRACE");
	usleep(100 * 1000);
	end_target();
	if (check_json(json, out, sizeof out) != 0)
		fail_msg("%s", out);
	assert_non_null(strstr(out, " name ping ("));
	assert_non_null(strstr(out, " name pong ("));
	assert_non_null(strstr(out, " name main ("));
	unlink(json);
}

/* ---- what a user reads: --help, --version, the manual, the completion ---- */

/* Runs cmd through sh with stdout and stderr apart; its exit status. */
static int run_split(const char *cmd, char *out, size_t outsize, char *err, size_t errsize)
{
	char epath[] = "/tmp/test_tool_err_XXXXXX";
	int fd = mkstemp(epath);
	assert_true(fd >= 0);
	char full[4 * PATH_MAX];
	snprintf(full, sizeof full, "%s 2>%s", cmd, epath);
	int st = run(full, out, outsize);
	ssize_t n = read(fd, err, errsize - 1);
	err[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(epath);
	return st;
}

static void test_help_of_each_command(void **state)
{
	static char out[3][16384], err[16384];
	char cmd[PATH_MAX + 128], want[64];
	alarm(60);
	const char *commands[] = { "run", "ps", "top", "trace" };
	for (size_t i = 0; i < 4; i++) {
		/* X --help, X -h and help X: the same usage, on stdout, status 0. */
		const char *forms[] = { "%s %s --help", "%s %s -h", "%s help %s" };
		snprintf(want, sizeof want, "usage: greenshim %s ", commands[i]);
		for (int f = 0; f < 3; f++) {
			snprintf(cmd, sizeof cmd, forms[f], tool, commands[i]);
			int st = run_split(cmd, out[f], sizeof out[f], err, sizeof err);
			if (st != 0 || strncmp(out[f], want, strlen(want)) || err[0])
				fail_msg("%s: status %d, stdout:\n%s\nstderr:\n%s", cmd, st, out[f], err);
		}
		assert_string_equal(out[0], out[1]);
		assert_string_equal(out[0], out[2]);
		/* An unknown option: one line, then the usage, on stderr; status 2. */
		snprintf(cmd, sizeof cmd, "%s %s --frob 1", tool, commands[i]);
		int st = run_split(cmd, out[0], sizeof out[0], err, sizeof err);
		if (st != 2 || out[0][0] || strncmp(err, "greenshim: unknown option --frob\n", 33) ||
		    strncmp(err + 33, want, strlen(want)))
			fail_msg("%s: status %d, stdout:\n%s\nstderr:\n%s", cmd, st, out[0], err);
	}
	/* The command's own: greenshim --help, -h, help. */
	const char *top[] = { "--help", "-h", "help" };
	for (int f = 0; f < 3; f++) {
		snprintf(cmd, sizeof cmd, "%s %s", tool, top[f]);
		int st = run_split(cmd, out[f], sizeof out[f], err, sizeof err);
		if (st != 0 || strncmp(out[f], "usage: greenshim COMMAND", 24) || err[0])
			fail_msg("%s: status %d:\n%s%s", cmd, st, out[f], err);
		for (size_t i = 0; i < 4; i++) {
			snprintf(want, sizeof want, "\n  %s ", commands[i]);
			assert_non_null(strstr(out[f], want));
		}
		assert_non_null(strstr(out[f], "Exit status: 0 done;"));
	}
	const struct {
		const char *args, *says;
	} bad[] = {
		{ "", "usage: greenshim COMMAND" },
		{ "--frob", "greenshim: unknown option --frob\nusage: greenshim COMMAND" },
		{ "help frob", "greenshim: unknown command 'frob'\nusage: greenshim COMMAND" },
		{ "help ps top", "greenshim: help takes one command\n" },
		{ "run --lib", "greenshim: --lib needs the path of libgreenshim.so\n" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(cmd, sizeof cmd, "%s %s", tool, bad[i].args);
		int st = run_split(cmd, out[0], sizeof out[0], err, sizeof err);
		if (st != 2 || out[0][0] || strncmp(err, bad[i].says, strlen(bad[i].says)))
			fail_msg("%s: status %d, stdout:\n%s\nstderr:\n%s", cmd, st, out[0], err);
	}
	/* After the command, --help is the command's. */
	snprintf(cmd, sizeof cmd, "%s run -- printf '%%s\\n' --help", tool);
	assert_int_equal(run_split(cmd, out[0], sizeof out[0], err, sizeof err), 0);
	assert_string_equal(out[0], "--help\n");
	snprintf(cmd, sizeof cmd, "%s run echo -h", tool);
	assert_int_equal(run_split(cmd, out[0], sizeof out[0], err, sizeof err), 0);
	assert_string_equal(out[0], "-h\n");
	/* A command that exists but cannot be executed: 126, as a shell. */
	snprintf(cmd, sizeof cmd, "%s run -- /dev/null", tool);
	assert_int_equal(run_split(cmd, out[0], sizeof out[0], err, sizeof err), 126);
	assert_string_equal(err, "greenshim: /dev/null: Permission denied\n");
}

/* What this test was built with: the Makefile gives the tool's build the
 * same context switch (GS_CTX=ucontext defines GS_CTX_UCONTEXT for both). */
#if defined(__x86_64__) && !defined(GS_CTX_UCONTEXT)
static const char build_ctx[] = "context switch:  assembly (scheduler/ctx_x86_64.S)\n";
#else
static const char build_ctx[] = "context switch:  ucontext (scheduler/ctx_ucontext.c)\n";
#endif

static void test_version(void **state)
{
	char cmd[PATH_MAX + 64], out[8192], err[4096];
	alarm(60);
	snprintf(cmd, sizeof cmd, "%s --version", tool);
	int st = run_split(cmd, out, sizeof out, err, sizeof err);
	if (st != 0 || strncmp(out, "greenshim ", 10) || !(out[10] >= '0' && out[10] <= '9') || err[0])
		fail_msg("status %d:\n%s%s", st, out, err);
	const char *keys[] = { "\ncontext switch:  ", "\nthread-local:    ", "\ninspector:       ",
			       "\nvalgrind hooks:  ", "\nlibev:           ", "\ncompiler:        ",
			       "\nCFLAGS:          " };
	const char *at = out;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *p = strstr(at, keys[i]);
		if (!p)
			fail_msg("no '%s' (in this order) in:\n%s", keys[i] + 1, out);
		at = p + 1;
	}
	assert_non_null(strstr(out, build_ctx));
	/* The library beside it publishes: the inspector is compiled in. */
	assert_non_null(strstr(out, "\ninspector:       published in /dev/shm/greenshim-UID-PID"));
	char ev[64];
	snprintf(ev, sizeof ev, "\nlibev:           %d.%d (headers)\n", EV_VERSION_MAJOR,
		 EV_VERSION_MINOR);
	assert_non_null(strstr(out, ev));
	/* One line per key, nothing else. */
	int lines = 0;
	for (const char *p = out; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 8);
}

/* The source file srcdir/rel, whole (NUL-terminated, malloc'ed), or NULL. */
static char *source_file(const char *rel)
{
	char path[2 * PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", srcdir, rel);
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	static char buf[1 << 18];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	return strdup(buf);
}

/* A source file the test needs, or skip (not run from the source tree). */
static char *need_source(const char *rel)
{
	char *text = source_file(rel);
	if (!text) {
		print_message("skipped: no %s/%s (run from the source tree, or set GS_SRCDIR)\n",
			      srcdir, rel);
		skip();
	}
	return text;
}

/* Both pages render through man(1) without a warning, and say what the
 * code does: every option of every command's --help is in greenshim(1),
 * every GREENSHIM_ variable in both. */
static void test_manual_pages(void **state)
{
	static char out[1 << 17];
	char cmd[2 * PATH_MAX + 256];
	alarm(120);
	char *pages[2] = { need_source("man/greenshim.1"), need_source("man/libgreenshim.7") };
	if (run("command -v man >/dev/null 2>&1", out, sizeof out) != 0) {
		free(pages[0]);
		free(pages[1]);
		print_message("skipped: no man(1) (install man-db: bash .ci/install-deps)\n");
		skip();
	}
	const char *names[] = { "man/greenshim.1", "man/libgreenshim.7" };
	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof cmd,
			 "cd %s && LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -l %s 2>&1 "
			 ">/dev/null",
			 srcdir, names[i]);
		int st = run(cmd, out, sizeof out);
		if (st != 0 || out[0])
			fail_msg("%s: status %d, warnings:\n%s", names[i], st, out);
		snprintf(cmd, sizeof cmd, "cd %s && LC_ALL=C.UTF-8 MANWIDTH=80 man -l %s 2>/dev/null",
			 srcdir, names[i]);
		assert_int_equal(run(cmd, out, sizeof out), 0);
		const char *sections[] = { "\nNAME\n", "\nSYNOPSIS\n", "\nDESCRIPTION\n",
					   "\nENVIRONMENT\n", "\nFILES\n", "\nEXAMPLES\n",
					   "\nSEE ALSO\n" };
		for (size_t k = 0; k < sizeof sections / sizeof sections[0]; k++)
			if (!strstr(out, sections[k]))
				fail_msg("%s has no %s section", names[i], sections[k] + 1);
		/* Lines fit 80 columns (a UTF-8 character counted once). */
		for (char *p = out, *end; *p; p = *end ? end + 1 : end) {
			end = p + strcspn(p, "\n");
			size_t cols = 0;
			for (char *c = p; c < end; c++)
				cols += ((unsigned char)*c & 0xc0) != 0x80;
			if (cols > 80)
				fail_msg("%s: a line of %zu columns: %.*s", names[i], cols,
					 (int)(end - p), p);
		}
	}
	assert_non_null(strstr(out, "LIMITS"));
	snprintf(cmd, sizeof cmd, "cd %s && LC_ALL=C.UTF-8 MANWIDTH=80 man -l %s 2>/dev/null", srcdir,
		 names[0]);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	assert_non_null(strstr(out, "\nEXIT STATUS\n"));
	assert_non_null(strstr(out, "\nOTHER USERS\n"));
	/* Every option each --help shows, in greenshim(1) (as \-\- in roff). */
	const char *commands[] = { "run", "ps", "top", "trace" };
	for (size_t i = 0; i < 4; i++) {
		snprintf(cmd, sizeof cmd, "%s %s --help", tool, commands[i]);
		assert_int_equal(run(cmd, out, sizeof out), 0);
		for (char *p = strstr(out, "--"); p; p = strstr(p + 2, "--")) {
			char opt[64], roff[160];
			size_t n = strspn(p, "-abcdefghijklmnopqrstuvwxyz");
			if (n <= 2 || n >= sizeof opt)
				continue;
			memcpy(opt, p, n);
			opt[n] = 0;
			size_t r = 0;
			for (size_t k = 0; k < n; k++) {
				if (opt[k] == '-')
					roff[r++] = '\\';
				roff[r++] = opt[k];
			}
			roff[r] = 0;
			if (!strstr(pages[0], roff))
				fail_msg("greenshim %s --help shows %s: not in man/greenshim.1", commands[i],
					 opt);
		}
	}
	snprintf(cmd, sizeof cmd, "%s --version", tool);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	assert_non_null(strstr(pages[0], ".B \\-\\-version"));
	/* Every variable the library reads (preload/init.c), in both pages. */
	const char *vars[] = { "TIME", "THREAD", "SOCKET", "OS", "SELECT", "TLS", "TPOOL",
			       "DEADLOCK", "TRACE", "BLOCK_WARN_MS", "PREEMPT_MS", "SYSCALLS" };
	char *init = source_file("preload/init.c");
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
		char quoted[64], var[64];
		snprintf(quoted, sizeof quoted, "\"%s\"", vars[i]);
		if (init)
			assert_non_null(strstr(init, quoted));
		snprintf(var, sizeof var, "GREENSHIM_%s", vars[i]);
		for (int k = 0; k < 2; k++)
			if (!strstr(pages[k], var))
				fail_msg("%s is not in %s", var, names[k]);
	}
	free(init);
	free(pages[0]);
	free(pages[1]);
}

/* The bash completion: commands, each command's options and values, the
 * pids of greened processes.  Each case is the words of a command line
 * (shell-quoted), the last one being completed. */
static void test_bash_completion(void **state)
{
	static char out[1 << 16];
	char cmd[2 * PATH_MAX + 256];
	alarm(60);
	free(need_source("tools/greenshim.bash-completion"));
	static const char script[] =
		"source \"$GS_COMPLETION\"\n"
		"COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1))\n"
		"_greenshim\n"
		"echo \"${COMPREPLY[*]}\"\n";
	char spath[] = "/tmp/test_tool_complete_XXXXXX";
	int fd = mkstemp(spath);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, script, sizeof script - 1), (ssize_t)sizeof script - 1);
	close(fd);
	pid_t pid = start_target("fake_pub", "", 0);
	char pids[32];
	snprintf(pids, sizeof pids, " %d ", (int)pid);
	const struct {
		const char *words, *want;
	} cases[] = {
		{ "greenshim ''", "run ps top trace help" },
		{ "greenshim t", "top trace" },
		{ "greenshim --v", "--version" },
		{ "greenshim help ''", "run ps top trace" },
		{ "greenshim run --no-t", "--no-time --no-thread --no-tls --no-trap" },
		{ "greenshim run --l", "--lib" },
		{ "greenshim run --p", "--preempt-ms" },
		{ "greenshim run --preempt-ms ''", "" },
		{ "greenshim run --preempt-ms 5 --no-s", "--no-socket --no-select" },
		{ "greenshim ps --", "--sample --help" },
		{ "greenshim top --sort ''", "cpu switches" },
		{ "greenshim top --i", "--interval --iterations" },
		{ "greenshim trace --s", "--seconds --summary" },
		{ "greenshim trace --seconds ''", "" },
		{ "greenshim run -- truetrue", "" },
		{ "greenshim ps ''", pids }, /* the fake's pid among those offered */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(cmd, sizeof cmd,
			 "GS_COMPLETION=%s/tools/greenshim.bash-completion bash --norc --noprofile %s %s "
			 "2>&1",
			 srcdir, spath, cases[i].words);
		assert_int_equal(run(cmd, out, sizeof out), 0);
		out[strcspn(out, "\n")] = 0;
		char padded[sizeof out + 2];
		snprintf(padded, sizeof padded, " %s ", out);
		if (cases[i].want == pids ? !strstr(padded, pids) : strcmp(out, cases[i].want) != 0)
			fail_msg("%s: completed '%s', expected '%s'", cases[i].words, out, cases[i].want);
	}
	unlink(spath);
}

/* ---- other users (as root: CI runs the tests so) ---- */

/* A world-readable copy of the tool, the library and the targets, for
 * nobody to run (the build directory may be in root's home). */
static char world[64];

static void need_root(void)
{
	char out[256];
	if (geteuid() != 0) {
		print_message("skipped: needs root (CI runs the tool's tests as root)\n");
		skip();
	}
	if (!getpwnam("nobody") || run("command -v setpriv >/dev/null 2>&1", out, sizeof out)) {
		print_message("skipped: needs user nobody and setpriv (util-linux)\n");
		skip();
	}
	if (world[0])
		return;
	snprintf(world, sizeof world, "/tmp/test_tool_world_XXXXXX");
	assert_non_null(mkdtemp(world));
	assert_int_equal(chmod(world, 0755), 0);
	char cmd[6 * PATH_MAX];
	snprintf(cmd, sizeof cmd, "cp %s %s %s/parked %s/dropper %s/ && chmod 0755 %s/*", tool, lib,
		 targets, targets, world, world);
	assert_int_equal(run(cmd, out, sizeof out), 0);
}

static int remove_world(void **state)
{
	char cmd[128], out[64];
	if (world[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf %s", world);
		run(cmd, out, sizeof out);
	}
	world[0] = 0;
	return 0;
}

/* "setpriv ... WORLD/greenshim ARGS 2>&1": the tool as nobody. */
static int run_as_nobody(const char *args, char *out, size_t size)
{
	char cmd[3 * PATH_MAX + 256];
	snprintf(cmd, sizeof cmd,
		 "setpriv --reuid=nobody --regid=nogroup --clear-groups %s/greenshim %s 2>&1", world,
		 args);
	return run(cmd, out, size);
}

/* Root's ps, top and trace of a greened process running as nobody; nobody
 * sees its own too. */
static void test_root_sees_other_users(void **state)
{
	static char out[1 << 16];
	char cmd[2 * PATH_MAX + 128], path[64], wlib[PATH_MAX];
	alarm(60);
	need_root();
	snprintf(wlib, sizeof wlib, "%s/libgreenshim.so", world);
	pid_t pid = start_target_in(world, "parked", "2", wlib, 1);
	struct passwd *nobody = getpwnam("nobody");
	snprintf(path, sizeof path, GS_PUB_PATH_FMT, (unsigned)nobody->pw_uid, (int)pid);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, nobody->pw_uid);
	assert_int_equal(st.st_mode & 0777, 0600);

	snprintf(cmd, sizeof cmd, "%s ps %d 2>&1", tool, (int)pid);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	char title[PATH_MAX + 128];
	snprintf(title, sizeof title, "process %d (%s/parked): 8 green threads on 1 hub", (int)pid,
		 world);
	if (strncmp(out, title, strlen(title)))
		fail_msg("root's ps of nobody's process:\n%s", out);
	assert_line_has(out, 3, "holder");
	assert_line_has(out, 3, "waiting sleep 99");
	char held[32];
	snprintf(held, sizeof held, "held by 3");
	assert_non_null(strstr(out, held));

	/* Listed, with its user. */
	snprintf(cmd, sizeof cmd, "%s ps 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	char line[512], user[64];
	if (!thread_line(out, pid, line, sizeof line))
		fail_msg("root's ps does not list %d:\n%s", (int)pid, out);
	int id;
	unsigned hubs, threads;
	assert_int_equal(sscanf(line, "%d %63s %u %u", &id, user, &hubs, &threads), 4);
	assert_string_equal(user, "nobody");
	assert_int_equal(threads, 8);

	snprintf(cmd, sizeof cmd, "%s top --iterations 1 --interval 0.1 %d </dev/null 2>&1", tool,
		 (int)pid);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	assert_non_null(strstr(out, title));

	const char *json = "/tmp/test_tool_other_user.json";
	unlink(json);
	snprintf(cmd, sizeof cmd, "%s trace %d -o %s --seconds 0.2 2>&1", tool, (int)pid, json);
	if (run(cmd, out, sizeof out) != 0 || !strstr(out, " switches written to "))
		fail_msg("root's trace of nobody's process:\n%s", out);
	assert_int_equal(access(json, F_OK), 0);
	unlink(json);
	struct gs_pub_header *h = map_header_of(nobody->pw_uid, pid);
	assert_int_equal(atomic_load(&h->inspectors), 0);
	assert_int_equal(atomic_load(&h->trace_drainer), 0);
	munmap(h, GS_PUB_HEADER_SIZE);

	/* nobody sees its own process, and only its own. */
	snprintf(cmd, sizeof cmd, "ps %d", (int)pid);
	assert_int_equal(run_as_nobody(cmd, out, sizeof out), 0);
	assert_int_equal(strncmp(out, title, strlen(title)), 0);
	assert_int_equal(run_as_nobody("ps", out, sizeof out), 0);
	assert_non_null(thread_line(out, pid, line, sizeof line));
	for (char *p = strchr(out, '\n'); p && p[1]; p = strchr(p + 1, '\n'))
		if (!strstr(p, " nobody "))
			fail_msg("nobody's ps lists another user's process:\n%s", out);
}

/* nobody may not look at root's greened process: ps, top and trace fail
 * with status 3 and say whose it is; nobody's list leaves it out; the
 * process never saw an inspector. */
static void test_other_user_refused(void **state)
{
	static char out[1 << 16];
	char args[PATH_MAX], want[256];
	alarm(60);
	need_root();
	pid_t pid = start_target("parked", "2", 1);
	snprintf(want, sizeof want,
		 "greenshim: process %d belongs to user root (uid 0): only that user or root can "
		 "inspect it\n",
		 (int)pid);
	const char *cmds[] = { "ps", "top --iterations 1" };
	for (int i = 0; i < 2; i++) {
		snprintf(args, sizeof args, "%s %d", cmds[i], (int)pid);
		int st = run_as_nobody(args, out, sizeof out);
		if (st != 3 || strcmp(out, want))
			fail_msg("nobody's %s: status %d:\n%s", args, st, out);
	}
	/* trace refuses the same way (its status is the open's once trace.c
	 * returns it: nonzero in any case), and writes nothing. */
	const char *json = "/tmp/test_tool_refused.json";
	unlink(json);
	snprintf(args, sizeof args, "trace %d -o %s --seconds 0.2", (int)pid, json);
	int st = run_as_nobody(args, out, sizeof out);
	if (st == 0 || strcmp(out, want))
		fail_msg("nobody's trace: status %d:\n%s", st, out);
	assert_int_equal(access(json, F_OK), -1);
	assert_int_equal(run_as_nobody("ps", out, sizeof out), 0);
	char line[512];
	assert_null(thread_line(out, pid, line, sizeof line));
	struct gs_pub_header *h = map_header(pid);
	assert_int_equal(atomic_load(&h->inspectors), 0);
	assert_int_equal(atomic_load(&h->trace), 0);
	munmap(h, GS_PUB_HEADER_SIZE);
}

/* A process that published as root and then became nobody (a server that
 * drops privileges): its file keeps uid 0 in its name; root finds it from
 * the process's maps; nobody is refused by the file's owner. */
static void test_ps_after_privilege_drop(void **state)
{
	static char out[1 << 16];
	char cmd[PATH_MAX + 64], path[64], want[256];
	alarm(60);
	need_root();
	pid_t pid = start_target("dropper", NULL, 1);
	snprintf(path, sizeof path, GS_PUB_PATH_FMT, 0u, (int)pid);
	assert_int_equal(access(path, F_OK), 0);
	snprintf(cmd, sizeof cmd, "%s ps %d 2>&1", tool, (int)pid);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	assert_line_has(out, 3, "napper");
	assert_line_has(out, 3, "waiting sleep 99");
	snprintf(cmd, sizeof cmd, "ps %d", (int)pid);
	snprintf(want, sizeof want,
		 "greenshim: process %d publishes its threads as user root (uid 0): only that user "
		 "or root can inspect it\n",
		 (int)pid);
	int st = run_as_nobody(cmd, out, sizeof out);
	if (st != 3 || strcmp(out, want))
		fail_msg("nobody's ps of the dropped process: status %d:\n%s", st, out);
	stop_target(NULL);
	/* As nobody it could not remove root's file at exit. */
	unlink(path);
}

int main(int argc, char **argv)
{
	/* This binary is BUILD/tests/unit/test_tool; the tool is BUILD/greenshim. */
	char self[PATH_MAX];
	if (!realpath(argv[0], self))
		return 1;
	for (int i = 0; i < 3; i++)
		*strrchr(self, '/') = 0;
	snprintf(tool, sizeof tool, "%s/greenshim", self);
	snprintf(lib, sizeof lib, "%s/libgreenshim.so", self);
	snprintf(targets, sizeof targets, "%s/tests/tool", self);
	const char *src = getenv("GS_SRCDIR");
	if (!(src && realpath(src, srcdir)) && !getcwd(srcdir, sizeof srcdir))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_sets_preload_and_flags),
		cmocka_unit_test(test_run_sets_preempt_ms),
		cmocka_unit_test(test_run_no_trap),
		cmocka_unit_test(test_run_keeps_existing_preload),
		cmocka_unit_test(test_bad_usage_is_a_clear_error),
		cmocka_unit_test_teardown(test_bad_input, stop_target),
		cmocka_unit_test_teardown(test_incompatible_files, stop_target),
		cmocka_unit_test_teardown(test_stale_files_removed, stop_target),
		cmocka_unit_test_teardown(test_ps_fake_every_wait_kind, stop_target),
		cmocka_unit_test_teardown(test_top_plain_warnings_and_sort, stop_target),
		cmocka_unit_test_teardown(test_ps_top_preemptions, stop_target),
		cmocka_unit_test_teardown(test_top_signal_detaches, stop_target),
		cmocka_unit_test_teardown(test_trace_fake, stop_target),
		cmocka_unit_test_teardown(test_trace_refuses_self_traced, stop_target),
		cmocka_unit_test_teardown(test_trace_counts_lost_events, stop_target),
		cmocka_unit_test_teardown(test_summary_rejects_other_files, stop_target),
		cmocka_unit_test_teardown(test_ps_real_parked_threads, stop_target),
		cmocka_unit_test_teardown(test_trace_real_pingpong, stop_target),
		cmocka_unit_test_teardown(test_ps_top_stuck_hub, stop_target),
		cmocka_unit_test_teardown(test_nothing_left_after_exit, stop_target),
		cmocka_unit_test_teardown(test_nothing_left_after_exec, stop_target),
		cmocka_unit_test_teardown(test_greenshim_trace_env, stop_target),
		cmocka_unit_test(test_help_of_each_command),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_manual_pages),
		cmocka_unit_test_teardown(test_bash_completion, stop_target),
		cmocka_unit_test_teardown(test_root_sees_other_users, stop_target),
		cmocka_unit_test_teardown(test_other_user_refused, stop_target),
		cmocka_unit_test_teardown(test_ps_after_privilege_drop, stop_target),
	};
	return cmocka_run_group_tests(tests, NULL, remove_world);
}

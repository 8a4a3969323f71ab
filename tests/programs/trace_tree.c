/*
 * trace_tree — GREENSHIM_TRACE=FILE over a process tree: one valid trace
 * file for every process that inherits the variable, each process its own
 * track, wake-ups as flow events.  Under the shim only (there is no trace
 * natively): the runner's shim-only entry.
 *
 * It runs itself (in "work" mode: a few threads hand a mutex, a condvar,
 * a semaphore and a join to each other, then print "work PID") under
 * GREENSHIM_TRACE:
 *   - timeout 20 trace_tree work        timeout exits last: it must not
 *                                       overwrite the work's part
 *   - sh -c 'work; work'                two parts written one after the other
 *   - make -f Makefile                  two recipe lines, each its own shell
 *   - sh -c 'work & ... & wait'         six parts ending at once
 *   - trace_tree server                 a forking server: 4 workers, each
 *                                       accepting one connection and serving
 *                                       it on a thread of its own
 *   - trace_tree execwork               work, then exec of the work: the
 *                                       same pid, two images, both in the file
 *   - GREENSHIM_TRACE=p-%p.json         one file per process
 *   - env X=1 true                      a process that never switched leaves
 *                                       an existing FILE alone
 * and checks each file with python3: valid JSON, "B"/"E" balanced per
 * track with matching names, time never going back on a track, one pid
 * and one process_name per process (an exec'd pid: one per image), every
 * flow start paired with a flow end of the same id and name, and the
 * expected processes present with their wake-ups.  Every command runs
 * with a deadline; the whole takes about a second.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runcmd.h"

#define PROG "trace_tree"
#define PYTHON "/usr/bin/python3"
#define RUN_MS 20000 /* each command's deadline */

/* ---- work: one wake-up of each kind ---------------------------------- */

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static int flag;

static void *take_mutex(void *arg)
{
	pthread_mutex_lock(&m); /* held by the creator: a hand-over */
	pthread_mutex_unlock(&m);
	usleep(1000); /* still running when the creator joins */
	return NULL;
}

static void *wait_cond(void *arg)
{
	pthread_mutex_lock(&m);
	while (!flag)
		pthread_cond_wait(&cv, &m);
	pthread_mutex_unlock(&m);
	return NULL;
}

static void *wait_sem(void *arg)
{
	sem_wait(&sem);
	return NULL;
}

static void work(void)
{
	pthread_t a, b, c;
	pthread_mutex_lock(&m);
	must(pthread_create(&a, NULL, take_mutex, NULL), "pthread_create");
	usleep(1000);
	pthread_mutex_unlock(&m);
	must(pthread_join(a, NULL), "pthread_join");
	must(pthread_create(&b, NULL, wait_cond, NULL), "pthread_create");
	usleep(1000);
	pthread_mutex_lock(&m);
	flag = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&m);
	must(pthread_join(b, NULL), "pthread_join");
	sem_init(&sem, 0, 0);
	must(pthread_create(&c, NULL, wait_sem, NULL), "pthread_create");
	usleep(1000);
	sem_post(&sem);
	must(pthread_join(c, NULL), "pthread_join");
}

static int work_main(void)
{
	work();
	printf("work %d\n", (int)getpid());
	return 0;
}

/* Work, then the same work in a new image of this process. */
static int execwork_main(const char *self)
{
	work();
	printf("work %d\n", (int)getpid());
	fflush(stdout);
	execl(self, self, "work", (char *)NULL);
	die("execl");
	return 1;
}

/* ---- server: 4 forked workers, a thread per connection --------------- */

#define WORKERS 4

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[64];
	ssize_t n = read(fd, buf, sizeof buf);
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
	if (n > 0 && write(fd, "ok\n", 3) != 3)
		die("write");
	close(fd);
	return NULL;
}

static void worker(int lfd)
{
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept");
	pthread_t t;
	must(pthread_create(&t, NULL, serve, (void *)(intptr_t)fd), "pthread_create");
	must(pthread_join(t, NULL), "pthread_join");
	work();
	exit(0);
}

static struct sockaddr_in server_addr;

static void *client(void *arg)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr) != 0)
		die("connect");
	char buf[16];
	if (write(fd, "hi\n", 3) != 3 || read(fd, buf, sizeof buf) != 3)
		die("client");
	close(fd);
	return NULL;
}

static int server_main(void)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	server_addr.sin_family = AF_INET;
	server_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof server_addr;
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&server_addr, sizeof server_addr) != 0 ||
	    listen(lfd, 16) != 0 || getsockname(lfd, (struct sockaddr *)&server_addr, &len) != 0)
		die("listen");
	pid_t pids[WORKERS];
	fflush(stdout);
	for (int i = 0; i < WORKERS; i++)
		if ((pids[i] = fork()) == 0)
			worker(lfd);
		else if (pids[i] < 0)
			die("fork");
	close(lfd);
	pthread_t c[WORKERS];
	for (int i = 0; i < WORKERS; i++)
		must(pthread_create(&c[i], NULL, client, NULL), "pthread_create");
	for (int i = 0; i < WORKERS; i++)
		must(pthread_join(c[i], NULL), "pthread_join");
	for (int i = 0; i < WORKERS; i++) {
		int st = reap(pids[i]);
		if (exit_code(st) != 0)
			return 1;
		printf("work %d\n", (int)pids[i]);
	}
	printf("server %d\n", (int)getpid());
	return 0;
}

/* ---- the checks ------------------------------------------------------- */

/* argv: FILE [--images PID N] PID...: prints one line about FILE. */
static const char checker[] =
	"import json, sys\n"
	"args = sys.argv[1:]\n"
	"path = args.pop(0)\n"
	"images = {}\n"
	"while args and args[0] == '--images':\n"
	"    images[int(args[1])] = int(args[2]); del args[:3]\n"
	"want = [int(p) for p in args]\n"
	"d = json.load(open(path))\n"
	"assert d['otherData']['greenshim_trace'] == 1, 'not ours'\n"
	"pnames, tname, tpid, opened, last, starts, ends, runs = {}, {}, {}, {}, {}, {}, {}, {}\n"
	"for e in d['traceEvents']:\n"
	"    ph, pid, tid = e['ph'], e['pid'], e['tid']\n"
	"    if ph == 'M':\n"
	"        if e['name'] == 'process_name': pnames[pid] = pnames.get(pid, 0) + 1\n"
	"        if e['name'] == 'thread_name':\n"
	"            assert tid not in tname, ('a tid named twice', e)\n"
	"            tname[tid] = e['args']['name']\n"
	"        continue\n"
	"    assert pid in pnames, ('an event before its process_name', e)\n"
	"    assert tpid.setdefault(tid, pid) == pid, ('a tid in two processes', e)\n"
	"    assert e['ts'] >= last.get(tid, e['ts']), ('time goes back on a track', e)\n"
	"    last[tid] = e['ts']\n"
	"    if ph == 'B':\n"
	"        assert tid not in opened, ('B in B', e)\n"
	"        opened[tid] = e['name']; runs[pid] = runs.get(pid, 0) + 1\n"
	"    elif ph == 'E':\n"
	"        assert opened.pop(tid, None) == e['name'], ('E without its B', e)\n"
	"    elif ph in 'sf':\n"
	"        assert e['cat'] == 'wake', e\n"
	"        if ph == 's': assert tid in opened, ('a flow start outside a slice', e)\n"
	"        side = starts if ph == 's' else ends\n"
	"        assert e['id'] not in side, ('a flow id twice', e)\n"
	"        side[e['id']] = (pid, e['name'])\n"
	"    else:\n"
	"        assert False, ('unexpected event', e)\n"
	"assert not opened, ('slices left open', opened)\n"
	"assert starts == ends, 'flow starts and ends do not pair'\n"
	"for p, n in pnames.items():\n"
	"    assert n == images.get(p, 1), ('process_name events of pid %d: %d' % (p, n))\n"
	"missing = [p for p in want if not runs.get(p)]\n"
	"assert not missing, ('processes missing', missing, sorted(pnames))\n"
	"kinds = sorted({n for p, n in starts.values() if p in want} & {'mutex', 'cond', 'sem', 'join'})\n"
	"print('valid, %d of %d processes traced, wake-ups: %s' % (len(want) - len(missing), len(want), ' '.join(kinds)))\n";

static char self[PATH_MAX], dir[PATH_MAX];
static int failed;

/* Runs argv (GREENSHIM_TRACE=trace for it, unless NULL) to its end or
 * its deadline; its stdout (the caller frees), NULL if it failed. */
static char *run(const char *label, const char *trace, char *const argv[])
{
	if (trace)
		setenv("GREENSHIM_TRACE", trace, 1);
	int st;
	char *out = run_capture(&(struct runcmd){ .argv = argv, .fd = 1, .own_group = 1,
						  .deadline = deadline_after(RUN_MS, now_ns(CLOCK_MONOTONIC) +
										      RUN_MS * MS) },
				&st);
	unsetenv("GREENSHIM_TRACE");
	if (report_status(PROG, label, st, out)) {
		free(out);
		failed = 1;
		return NULL;
	}
	return out;
}

/* The pids of "work PID" and "server PID" lines, as arguments. */
static int pids_of(const char *out, char pids[][16], int max)
{
	int n = 0;
	for (const char *p = out; p && *p && n < max; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		int pid;
		if (sscanf(p, "work %d", &pid) == 1 || sscanf(p, "server %d", &pid) == 1)
			snprintf(pids[n++], sizeof pids[0], "%d", pid);
	}
	return n;
}

/* Checks file with the checker, expecting the processes whose pids out
 * names; prints "LABEL: WHAT THE CHECKER SAYS". */
static void check(const char *label, const char *file, const char *out, char *const extra[])
{
	char pids[16][16];
	int n = pids_of(out, pids, 16);
	char *argv[48] = { "env", "-u", "LD_PRELOAD", PYTHON, "-c", (char *)checker, (char *)file };
	int k = 7;
	for (int i = 0; extra && extra[i]; i++)
		argv[k++] = extra[i];
	for (int i = 0; i < n; i++)
		argv[k++] = pids[i];
	argv[k] = NULL;
	char *verdict = run(label, NULL, argv);
	printf("%s: %s", label, verdict ? verdict : "checker failed\n");
	free(verdict);
}

static void path_in_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static void case_plain(const char *label, const char *name, char *const argv[])
{
	char file[PATH_MAX + 64];
	path_in_dir(file, sizeof file, name);
	char *out = run(label, file, argv);
	if (out)
		check(label, file, out, NULL);
	free(out);
}

static void case_make(void)
{
	char makefile[PATH_MAX + 64], file[PATH_MAX + 64];
	path_in_dir(makefile, sizeof makefile, "Makefile");
	path_in_dir(file, sizeof file, "make.json");
	FILE *f = fopen(makefile, "w");
	if (!f)
		die("Makefile");
	fprintf(f, "all:\n\t%s work\n\t%s work\n", self, self);
	fclose(f);
	char *out = run("make -f", file, (char *[]){ "make", "-s", "-f", makefile, NULL });
	if (out)
		check("make -f", file, out, NULL);
	free(out);
}

static void case_exec(void)
{
	char file[PATH_MAX + 64];
	path_in_dir(file, sizeof file, "exec.json");
	char *out = run("exec", file, (char *[]){ self, "execwork", NULL });
	if (out) {
		char pids[2][16];
		if (pids_of(out, pids, 2) == 2 && !strcmp(pids[0], pids[1]))
			check("exec", file, "", (char *[]){ "--images", pids[0], "2", pids[0], NULL });
		else
			printf("exec: the pid changed across exec:\n%s", out);
	}
	free(out);
}

/* "%p": a file per process, each the trace of that process alone. */
static void case_per_pid(void)
{
	char file[PATH_MAX + 64], script[2 * PATH_MAX + 64];
	path_in_dir(file, sizeof file, "p-%p.json");
	snprintf(script, sizeof script, "%s work; %s work", self, self);
	char *out = run("%p", file, (char *[]){ "sh", "-c", script, NULL });
	if (!out)
		return;
	char pids[2][16];
	int n = pids_of(out, pids, 2);
	for (int i = 0; i < n; i++) {
		char one[PATH_MAX + 64], label[64], line[32];
		snprintf(one, sizeof one, "%s/p-%s.json", dir, pids[i]);
		snprintf(label, sizeof label, "%%p, work %d", i + 1);
		snprintf(line, sizeof line, "work %s\n", pids[i]);
		check(label, one, line, NULL);
	}
	free(out);
}

/* A process that never switched leaves an existing file alone. */
static void case_nothing(void)
{
	char file[PATH_MAX + 64], text[64] = "";
	path_in_dir(file, sizeof file, "nothing.json");
	FILE *f = fopen(file, "w");
	if (!f || fputs("not a trace\n", f) < 0 || fclose(f) != 0)
		die("nothing.json");
	free(run("nothing", file, (char *[]){ "env", "X=1", "true", NULL }));
	f = fopen(file, "r");
	if (!f || !fgets(text, sizeof text, f))
		die("nothing.json");
	fclose(f);
	printf("env X=1 true: the file is %s\n", strcmp(text, "not a trace\n") ? "changed" : "untouched");
}

int main(int argc, char **argv)
{
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		die("readlink");
	self[n] = 0;
	if (argc > 1 && !strcmp(argv[1], "work"))
		return work_main();
	if (argc > 1 && !strcmp(argv[1], "execwork"))
		return execwork_main(self);
	if (argc > 1 && !strcmp(argv[1], "server"))
		return server_main();
	if (access(PYTHON, X_OK) != 0) {
		fprintf(stderr, PROG ": %s not found: install the Debian package python3\n", PYTHON);
		return 1;
	}
	make_tmpdir(dir, sizeof dir, PROG);
	char twice[2 * PATH_MAX + 64], six[8 * PATH_MAX];
	snprintf(twice, sizeof twice, "%s work; %s work", self, self);
	snprintf(six, sizeof six, "for i in 1 2 3 4 5 6; do %s work & done; wait", self);
	case_plain("timeout 20", "timeout.json", (char *[]){ "timeout", "20", self, "work", NULL });
	case_plain("sh -c", "sh.json", (char *[]){ "sh", "-c", twice, NULL });
	case_make();
	case_plain("concurrent", "concurrent.json", (char *[]){ "sh", "-c", six, NULL });
	case_plain("server", "server.json", (char *[]){ self, "server", NULL });
	case_exec();
	case_per_pid();
	case_nothing();
	rm_tree(dir);
	return failed;
}

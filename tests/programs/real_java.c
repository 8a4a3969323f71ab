/*
 * real_java — the HotSpot JVM (OpenJDK 17), exec'd from here, so in the
 * preload runs it inherits LD_PRELOAD and all of its threads run greened:
 * the launcher's main thread, the GC and JIT compiler threads, the VM
 * thread, and the program's own.  HotSpot finds its Thread object in
 * native TLS (Thread::current(), a __thread variable) on every VM entry,
 * safepoint poll and allocation, so each green thread needing its own TLS
 * block is exercised on nearly every instruction.
 *
 *   - `java -version`: its exit status and whether the first line (on
 *     stderr) starts with "openjdk version" (the version itself is not
 *     printed);
 *   - ThreadedHello, whose source is below: written to a mkdtemp
 *     directory and run in source-file mode (`java ThreadedHello.java`:
 *     javac compiles it inside the same JVM first).  8 threads wait on a
 *     CountDownLatch, then count in a ThreadLocal, under a synchronized
 *     block and in an AtomicInteger, with Thread.sleep now and then; main
 *     joins them and prints each thread's ThreadLocal count and the
 *     totals; then 100 rounds of wait/notifyAll ping-pong with another
 *     thread.  Everything printed is deterministic.
 * To stderr only: each run's time and the JVM's most OS threads seen
 * (/proc/PID/status Threads:, sampled every 100 ms).
 * Each java gets at most 20 s (its process group is then SIGKILLed), and
 * both together at most 25 s; the runner entry allows 40 s.  The temp
 * directory is removed before exit, whatever happened (but on SIGKILL).
 */
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

#define BUDGET_MS 25000LL

static const char java_src[] =
	"import java.util.concurrent.CountDownLatch;\n"
	"import java.util.concurrent.atomic.AtomicInteger;\n"
	"\n"
	"public class ThreadedHello {\n"
	"    static final int THREADS = 8, ROUNDS = 1000;\n"
	"    static final ThreadLocal<int[]> local = ThreadLocal.withInitial(() -> new int[1]);\n"
	"    static final Object lock = new Object();\n"
	"    static long shared = 0;\n"
	"    static final AtomicInteger atomic = new AtomicInteger();\n"
	"\n"
	"    public static void main(String[] args) throws Exception {\n"
	"        CountDownLatch start = new CountDownLatch(1), done = new CountDownLatch(THREADS);\n"
	"        int[] mine = new int[THREADS];\n"
	"        Thread[] t = new Thread[THREADS];\n"
	"        for (int i = 0; i < THREADS; i++) {\n"
	"            final int id = i;\n"
	"            t[i] = new Thread(() -> {\n"
	"                try { start.await(); } catch (InterruptedException e) { throw new RuntimeException(e); }\n"
	"                for (int r = 0; r < ROUNDS * (id + 1); r++) {\n"
	"                    local.get()[0]++;\n"
	"                    synchronized (lock) { shared++; }\n"
	"                    atomic.incrementAndGet();\n"
	"                    if (r % 500 == 0)\n"
	"                        try { Thread.sleep(1); } catch (InterruptedException e) { throw new RuntimeException(e); }\n"
	"                }\n"
	"                mine[id] = local.get()[0];\n"
	"                done.countDown();\n"
	"            }, \"worker-\" + i);\n"
	"            t[i].start();\n"
	"        }\n"
	"        Thread.sleep(50);\n"
	"        start.countDown();\n"
	"        done.await();\n"
	"        for (Thread x : t) x.join();\n"
	"        StringBuilder sb = new StringBuilder();\n"
	"        for (int i = 0; i < THREADS; i++) sb.append(i == 0 ? \"\" : \" \").append(mine[i]);\n"
	"        System.out.println(\"threadlocal counts: \" + sb);\n"
	"        System.out.println(\"synchronized total: \" + shared + \", atomic total: \" + atomic.get());\n"
	"        System.out.println(\"main's threadlocal untouched: \" + (local.get()[0] == 0));\n"
	"        boolean alive = false;\n"
	"        for (Thread x : t) alive |= x.isAlive();\n"
	"        System.out.println(\"all joined: \" + !alive);\n"
	"        final int[] turn = {0};\n"
	"        Thread pong = new Thread(() -> {\n"
	"            for (int k = 0; k < 100; k++) synchronized (lock) {\n"
	"                while (turn[0] != 1) try { lock.wait(); } catch (InterruptedException e) { return; }\n"
	"                turn[0] = 0; lock.notifyAll();\n"
	"            }\n"
	"        });\n"
	"        pong.start();\n"
	"        int rounds = 0;\n"
	"        for (int k = 0; k < 100; k++) synchronized (lock) {\n"
	"            turn[0] = 1; lock.notifyAll();\n"
	"            while (turn[0] != 0) lock.wait();\n"
	"            rounds++;\n"
	"        }\n"
	"        pong.join();\n"
	"        System.out.println(\"wait/notify rounds: \" + rounds);\n"
	"    }\n"
	"}\n";

static long long start_ns;
static int failures;

static long threads_of(pid_t pid)
{
	char p[64], line[256];
	long n = -1;
	snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "Threads:", 8) == 0)
			n = strtol(line + 8, NULL, 10);
	fclose(f);
	return n;
}

/* Runs argv (in its own process group) with fd `which` (1 or 2) into a
 * pipe, the other one left as ours; returns that output, *status the exit
 * status or -1 when the group was SIGKILLed after timeout_ms. */
static char *capture(const char *label, char *const argv[], int which, long long timeout_ms,
		     int *status)
{
	long long t0 = now_ns(CLOCK_MONOTONIC);
	long long deadline = t0 + timeout_ms * MS, end = start_ns + BUDGET_MS * MS;
	if (deadline > end)
		deadline = end;
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		die("pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		setpgid(0, 0);
		dup2(p[1], which);
		execvp(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid);
	close(p[1]);
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	int timed_out = 0;
	long most = 0;
	for (;;) {
		long n = threads_of(pid);
		if (n > most)
			most = n;
		long long left = (deadline - now_ns(CLOCK_MONOTONIC)) / MS;
		if (left <= 0) {
			timed_out = 1;
			kill(-pid, SIGKILL);
			break;
		}
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		int r = poll(&pfd, 1, left < 100 ? (int)left : 100);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("poll");
		if (r == 0)
			continue;
		if (len + 4096 > cap && !(buf = realloc(buf, cap *= 2)))
			die("realloc");
		ssize_t k = read(p[0], buf + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
	}
	buf[len] = 0;
	close(p[0]);
	siginfo_t si; /* not reaped yet, so its group cannot be reused: */
	while (waitid(P_PID, pid, &si, WEXITED | WNOWAIT) < 0)
		if (errno != EINTR)
			die("waitid");
	kill(-pid, SIGKILL); /* whatever it left behind */
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	double secs = (now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
	if (timed_out) {
		fprintf(stderr, "real_java: %s: killed after %.1f s\n", label, secs);
		*status = -1;
	} else {
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		fprintf(stderr, "real_java: %s: %.2f s, most OS threads seen: %ld\n", label, secs,
			most);
	}
	if (*status != 0) {
		fprintf(stderr, "real_java: %s ended with status %d; its output:\n%s", label, *status,
			buf);
		failures++;
	}
	return buf;
}

static int on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char d[4096], full[4200];
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(d, sizeof d, "%.*s", (int)n, path);
		snprintf(full, sizeof full, "%s/%s", n ? d : ".", prog);
		if (access(full, X_OK) == 0)
			return 1;
		path += n + (path[n] == ':');
	}
	return 0;
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	start_ns = now_ns(CLOCK_MONOTONIC);
	if (!on_path("java")) {
		fprintf(stderr, "real_java: java not found in PATH: install the Debian package "
				"openjdk-17-jdk-headless (bash .ci/install-deps does)\n");
		return 1;
	}

	int st;
	char *out = capture("java -version", (char *[]){ "java", "-version", NULL }, 2, 20000, &st);
	printf("java -version: status %d, first line starts with \"openjdk version\": %s\n", st,
	       yesno(strncmp(out, "openjdk version", 15) == 0));
	if (strncmp(out, "openjdk version", 15) != 0) {
		fprintf(stderr, "real_java: java -version printed:\n%s", out);
		failures++;
	}
	free(out);

	const char *tmp = getenv("TMPDIR");
	char dir[256], src[300];
	snprintf(dir, sizeof dir, "%s/real_java.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(src, sizeof src, "%s/ThreadedHello.java", dir);
	FILE *f = fopen(src, "w");
	if (!f || fputs(java_src, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "real_java: writing %s: %s\n", src, strerror(errno));
		failures++;
	} else {
		/* java.io.tmpdir: our directory; -XX:-UsePerfData: no
		 * /tmp/hsperfdata_USER/PID file, which a killed JVM leaves */
		char tmpdir_opt[300];
		snprintf(tmpdir_opt, sizeof tmpdir_opt, "-Djava.io.tmpdir=%s", dir);
		out = capture("java ThreadedHello.java",
			      (char *[]){ "java", "-XX:-UsePerfData", tmpdir_opt, src, NULL }, 1,
			      20000, &st);
		printf("java ThreadedHello.java: status %d, output:\n%s", st, out);
		free(out);
	}
	if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		fprintf(stderr, "real_java: removing %s: %s\n", dir, strerror(errno));
		failures++;
	}
	return failures ? 1 : 0;
}

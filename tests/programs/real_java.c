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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runcmd.h"

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

/* Runs argv (in its own process group) with fd `which` (1 or 2) into a
 * pipe, the other one left as ours; returns that output, *status the exit
 * status or -1 when the group was SIGKILLed after timeout_ms. */
static char *capture(const char *label, char *const argv[], int which, long long timeout_ms,
		     int *status)
{
	char *out = capture_sampled("real_java", label, argv, which,
				    deadline_after(timeout_ms, start_ns + BUDGET_MS * MS), 100,
				    status);
	failures += *status != 0;
	return out;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	start_ns = now_ns(CLOCK_MONOTONIC);
	if (missing_programs("real_java", (const char *[][2]){ { "java", "openjdk-17-jdk-headless" } },
			     1, " in PATH"))
		return 1;

	int st;
	char *out = capture("java -version", (char *[]){ "java", "-version", NULL }, 2, 20000, &st);
	printf("java -version: status %d, first line starts with \"openjdk version\": %s\n", st,
	       yesno(strncmp(out, "openjdk version", 15) == 0));
	if (strncmp(out, "openjdk version", 15) != 0) {
		fprintf(stderr, "real_java: java -version printed:\n%s", out);
		failures++;
	}
	free(out);

	char dir[256], src[300];
	make_tmpdir(dir, sizeof dir, "real_java");
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
	if (rm_tree(dir) != 0) {
		fprintf(stderr, "real_java: removing %s: %s\n", dir, strerror(errno));
		failures++;
	}
	return failures ? 1 : 0;
}

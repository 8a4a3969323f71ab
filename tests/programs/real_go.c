/*
 * real_go — a Go program (golang-go, the default cgo build), built here
 * with `go build` and then run, so in the preload runs it inherits
 * LD_PRELOAD: the Go runtime's threads (sysmon, the Ms that run
 * goroutines, the template thread) are green threads, and everything the
 * runtime does with raw system calls -- futex sleeps and wakes between
 * Ms, nanosleep, epoll_wait in the netpoller, accept4, read and write on
 * non-blocking sockets, rt_sigreturn from its own restorer -- goes through
 * the syscall trap.  Before the trap the first green M looped on raw
 * usleep/futex calls and the program hung.
 *
 * The program: 100 goroutines with sleeps and a channel, a timer and a
 * ticker, then a net/http server on 127.0.0.1 port 0 and 20 concurrent
 * GETs to it from the same process.  Each line it prints is
 * deterministic.  The build runs without the preload (it is the test's
 * tool, not its subject), in a private directory with its own GOCACHE,
 * removed before exit.  Each step gets at most 25 s (its process group is
 * then SIGKILLed), all together at most 50 s.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "runcmd.h"

#define BUDGET_MS 50000LL

static const char go_src[] =
	"package main\n"
	"\n"
	"import (\n"
	"\t\"fmt\"\n"
	"\t\"io\"\n"
	"\t\"net\"\n"
	"\t\"net/http\"\n"
	"\t\"sync\"\n"
	"\t\"time\"\n"
	")\n"
	"\n"
	"func main() {\n"
	"\t// goroutines and a channel\n"
	"\tvar wg sync.WaitGroup\n"
	"\tresults := make(chan int, 100)\n"
	"\tfor i := 0; i < 100; i++ {\n"
	"\t\twg.Add(1)\n"
	"\t\tgo func(n int) { defer wg.Done(); time.Sleep(time.Duration(n%5) * time.Millisecond); results <- n * n }(i)\n"
	"\t}\n"
	"\twg.Wait()\n"
	"\tclose(results)\n"
	"\tsum := 0\n"
	"\tfor r := range results {\n"
	"\t\tsum += r\n"
	"\t}\n"
	"\tfmt.Println(\"goroutines: sum of squares\", sum)\n"
	"\t// timers\n"
	"\tstart := time.Now()\n"
	"\tt := time.NewTimer(50 * time.Millisecond)\n"
	"\t<-t.C\n"
	"\ttick := time.NewTicker(10 * time.Millisecond)\n"
	"\tn := 0\n"
	"\tfor range tick.C {\n"
	"\t\tn++\n"
	"\t\tif n == 5 {\n"
	"\t\t\tbreak\n"
	"\t\t}\n"
	"\t}\n"
	"\ttick.Stop()\n"
	"\tfmt.Println(\"timers: fired, ticker 5 ticks, at least 90 ms:\", time.Since(start) >= 90*time.Millisecond)\n"
	"\t// net/http server and client on loopback\n"
	"\tln, err := net.Listen(\"tcp\", \"127.0.0.1:0\")\n"
	"\tif err != nil {\n"
	"\t\tpanic(err)\n"
	"\t}\n"
	"\tmux := http.NewServeMux()\n"
	"\tmux.HandleFunc(\"/hello\", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, \"hello %s\", r.URL.Query().Get(\"n\")) })\n"
	"\tsrv := &http.Server{Handler: mux}\n"
	"\tgo srv.Serve(ln)\n"
	"\tok := 0\n"
	"\tvar cw sync.WaitGroup\n"
	"\tvar mu sync.Mutex\n"
	"\tfor i := 0; i < 20; i++ {\n"
	"\t\tcw.Add(1)\n"
	"\t\tgo func(i int) {\n"
	"\t\t\tdefer cw.Done()\n"
	"\t\t\tresp, err := http.Get(fmt.Sprintf(\"http://%s/hello?n=%d\", ln.Addr(), i))\n"
	"\t\t\tif err != nil {\n"
	"\t\t\t\tfmt.Println(\"get:\", err)\n"
	"\t\t\t\treturn\n"
	"\t\t\t}\n"
	"\t\t\tb, _ := io.ReadAll(resp.Body)\n"
	"\t\t\tresp.Body.Close()\n"
	"\t\t\tif string(b) == fmt.Sprintf(\"hello %d\", i) {\n"
	"\t\t\t\tmu.Lock()\n"
	"\t\t\t\tok++\n"
	"\t\t\t\tmu.Unlock()\n"
	"\t\t\t}\n"
	"\t\t}(i)\n"
	"\t}\n"
	"\tcw.Wait()\n"
	"\tsrv.Close()\n"
	"\tfmt.Println(\"net/http: 20 requests, answered right:\", ok)\n"
	"}\n"
	"\n";

static const char go_mod[] = "module gsgotest\ngo 1.19\n";

static long long start_ns;
static int failures;

static char *capture(const char *label, char *const argv[], long long timeout_ms, int *status)
{
	char *out = capture_sampled("real_go", label, argv, 1,
				    deadline_after(timeout_ms, start_ns + BUDGET_MS * MS), 100, status);
	failures += *status != 0;
	return out;
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[400];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "real_go: writing %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	start_ns = now_ns(CLOCK_MONOTONIC);
	if (missing_programs("real_go", (const char *[][2]){ { "go", "golang-go" } }, 1, " in PATH"))
		return 1;
	char dir[256];
	make_tmpdir(dir, sizeof dir, "real_go");
	if (write_file(dir, "main.go", go_src) || write_file(dir, "go.mod", go_mod)) {
		failures++;
	} else {
		/* The build: go's own tools, without the preload. */
		char *preload = getenv("LD_PRELOAD") ? strdup(getenv("LD_PRELOAD")) : NULL;
		unsetenv("LD_PRELOAD");
		char cache[300], gopath[300], bin[300], dir_opt[300];
		snprintf(cache, sizeof cache, "%s/cache", dir);
		snprintf(gopath, sizeof gopath, "%s/gopath", dir);
		snprintf(bin, sizeof bin, "%s/gotest", dir);
		snprintf(dir_opt, sizeof dir_opt, "%s", dir);
		setenv("GOCACHE", cache, 1);
		setenv("GOPATH", gopath, 1);
		setenv("GOFLAGS", "-mod=mod", 1);
		setenv("GO111MODULE", "on", 1);
		int st;
		char here[4096];
		if (!getcwd(here, sizeof here) || chdir(dir_opt) != 0)
			die("chdir");
		char *out = capture("go build", (char *[]){ "go", "build", "-o", bin, ".", NULL }, 25000,
				    &st);
		if (chdir(here) != 0)
			die("chdir back");
		printf("go build: status %d\n", st);
		free(out);
		if (preload)
			setenv("LD_PRELOAD", preload, 1);
		free(preload);
		if (st == 0) {
			out = capture("the Go program", (char *[]){ bin, NULL }, 25000, &st);
			printf("the Go program: status %d, output:\n%s", st, out);
			free(out);
		}
	}
	if (rm_tree(dir) != 0) {
		fprintf(stderr, "real_go: removing %s: %s\n", dir, strerror(errno));
		failures++;
	}
	return failures ? 1 : 0;
}

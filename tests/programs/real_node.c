/*
 * real_node — Node.js (V8 and libuv), exec'd from here, so in the preload
 * runs node inherits LD_PRELOAD and all of its threads run greened: the
 * main event loop, V8's platform workers (GC, compiler), libuv's thread
 * pool (fs, dns) and worker_threads, each of which is a whole V8 isolate
 * and libuv loop of its own, found by V8 through native TLS.
 *
 * The cases, each a `node -e` script (below), each printing deterministic
 * lines; REAL_NODE_CASES names the ones to run (default "workers http"),
 * so the runner can give the fs case an entry of its own:
 *   workers  4 worker_threads each sum a different series and postMessage
 *            the result; each also adds to a SharedArrayBuffer with
 *            Atomics.add; main prints the results in worker order
 *   http     an http server on 127.0.0.1 port 0 and, in the same process,
 *            20 GETs through a keep-alive agent of 4 sockets (one for a
 *            path the server answers 404): status and body of each, in
 *            request order, then the server closing
 *   fs       50 fs.writeFileSync into a mkdtemp directory made here, read
 *            back with readdirSync/readFileSync and counted; then the same
 *            with fs.promises (libuv's thread pool), all 50 at once
 * Each node gets at most 15 s (its process group is then SIGKILLed) and
 * all cases together at most 18 s, inside the runner's default 20 s.  The
 * temp directory is removed before exit, whatever happened (but SIGKILL).
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

#define BUDGET_MS 18000LL

static const char workers_js[] =
	"const { Worker } = require('worker_threads');\n"
	"const body = `const { parentPort, workerData } = require('worker_threads');\n"
	"  const shared = new Int32Array(workerData.sab);\n"
	"  let s = 0;\n"
	"  for (let i = 1; i <= 100000 * (workerData.id + 1); i++) s = (s + i * i) % 1000000007;\n"
	"  Atomics.add(shared, 0, workerData.id + 1);\n"
	"  parentPort.postMessage({ id: workerData.id, sum: s });`;\n"
	"const sab = new SharedArrayBuffer(4), shared = new Int32Array(sab);\n"
	"const res = [];\n"
	"let left = 4;\n"
	"for (let id = 0; id < 4; id++) {\n"
	"  const w = new Worker(body, { eval: true, workerData: { id, sab } });\n"
	"  w.on('message', m => { res[m.id] = m.sum; });\n"
	"  w.on('error', e => { console.log(`worker ${id} error: ${e}`); process.exitCode = 1; });\n"
	"  w.on('exit', code => {\n"
	"    if (code) { console.log(`worker ${id} exit code ${code}`); process.exitCode = 1; }\n"
	"    if (--left) return;\n"
	"    res.forEach((s, i) => console.log(`worker ${i}: sum ${s}`));\n"
	"    console.log(`workers exited: 4, shared counter: ${Atomics.load(shared, 0)}`);\n"
	"  });\n"
	"}\n";

static const char http_js[] =
	"const http = require('http');\n"
	"const srv = http.createServer((req, res) => {\n"
	"  res.writeHead(req.url === '/missing' ? 404 : 200, { 'Content-Type': 'text/plain' });\n"
	"  res.end(`path ${req.url} method ${req.method}\\n`);\n"
	"});\n"
	"srv.listen(0, '127.0.0.1', async () => {\n"
	"  const port = srv.address().port;\n"
	"  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });\n"
	"  const get = p => new Promise((ok, bad) => {\n"
	"    http.get({ host: '127.0.0.1', port, path: p, agent }, r => {\n"
	"      let b = '';\n"
	"      r.setEncoding('utf8');\n"
	"      r.on('data', d => b += d);\n"
	"      r.on('end', () => ok(`${r.statusCode} ${b.trim()}`));\n"
	"    }).on('error', bad);\n"
	"  });\n"
	"  const paths = [];\n"
	"  for (let i = 0; i < 20; i++) paths.push(i === 7 ? '/missing' : `/r${i}`);\n"
	"  try {\n"
	"    const out = await Promise.all(paths.map(get));\n"
	"    out.forEach((l, i) => console.log(`request ${i}: ${l}`));\n"
	"  } catch (e) { console.log(`request failed: ${e}`); process.exitCode = 1; }\n"
	"  agent.destroy();\n"
	"  srv.close(() => console.log('server closed'));\n"
	"});\n";

static const char fs_js[] =
	"const fs = require('fs'), path = require('path');\n"
	"const dir = process.argv[1];\n"
	"const check = (label, names, bodies) => {\n"
	"  let bytes = 0, right = 0;\n"
	"  names.forEach((f, i) => { bytes += bodies[i].length;\n"
	"    if (bodies[i] === `${label} ${f.slice(f.indexOf('-') + 1)}\\n`) right++; });\n"
	"  console.log(`${label}: files ${names.length}, bytes ${bytes}, contents right ${right}`);\n"
	"};\n"
	"for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(dir, `sync-${i}`), `sync ${i}\\n`);\n"
	"let names = fs.readdirSync(dir).filter(f => f.startsWith('sync-')).sort();\n"
	"check('sync', names, names.map(f => fs.readFileSync(path.join(dir, f), 'utf8')));\n"
	"(async () => {\n"
	"  const p = fs.promises;\n"
	"  await Promise.all([...Array(50).keys()].map(i =>\n"
	"    p.writeFile(path.join(dir, `async-${i}`), `async ${i}\\n`)));\n"
	"  const names = (await p.readdir(dir)).filter(f => f.startsWith('async-')).sort();\n"
	"  check('async', names, await Promise.all(names.map(f => p.readFile(path.join(dir, f), 'utf8'))));\n"
	"})().catch(e => { console.log(`async failed: ${e}`); process.exitCode = 1; });\n";

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

/* Runs argv (in its own process group) with stdout into a pipe; returns
 * its output, *status the exit status or -1 when the group was SIGKILLed
 * after timeout_ms. */
static char *capture(const char *label, char *const argv[], long long timeout_ms, int *status)
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
		dup2(p[1], 1);
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
		int r = poll(&pfd, 1, left < 50 ? (int)left : 50);
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
		fprintf(stderr, "real_node: %s: killed after %.1f s\n", label, secs);
		*status = -1;
	} else {
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		fprintf(stderr, "real_node: %s: %.2f s, most OS threads seen: %ld\n", label, secs,
			most);
	}
	if (*status != 0) {
		fprintf(stderr, "real_node: %s ended with status %d; its output:\n%s", label, *status,
			buf);
		failures++;
	}
	return buf;
}

static void run_case(const char *name, const char *script, const char *arg)
{
	int st;
	char *out = capture(name, (char *[]){ "node", "-e", (char *)script, (char *)arg, NULL },
			    15000, &st);
	printf("%s: status %d, output:\n%s", name, st, out);
	free(out);
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	return remove(path);
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

static int wanted(const char *cases, const char *name)
{
	size_t n = strlen(name);
	for (const char *s = cases; (s = strstr(s, name)); s += n)
		if ((s == cases || s[-1] == ' ' || s[-1] == ',') &&
		    (s[n] == 0 || s[n] == ' ' || s[n] == ','))
			return 1;
	return 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	start_ns = now_ns(CLOCK_MONOTONIC);
	if (!on_path("node")) {
		fprintf(stderr, "real_node: node not found in PATH: install the Debian package "
				"nodejs (bash .ci/install-deps does)\n");
		return 1;
	}
	const char *cases = getenv("REAL_NODE_CASES");
	if (!cases || !*cases)
		cases = "workers http";
	if (wanted(cases, "workers"))
		run_case("workers", workers_js, NULL);
	if (wanted(cases, "http"))
		run_case("http", http_js, NULL);
	if (wanted(cases, "fs")) {
		const char *tmp = getenv("TMPDIR");
		char dir[256];
		snprintf(dir, sizeof dir, "%s/real_node.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir))
			die("mkdtemp");
		run_case("fs", fs_js, dir);
		if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
			fprintf(stderr, "real_node: removing %s: %s\n", dir, strerror(errno));
			failures++;
		}
	}
	return failures ? 1 : 0;
}

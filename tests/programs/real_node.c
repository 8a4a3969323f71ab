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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "runcmd.h"

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

static void run_case(const char *name, const char *script, const char *arg)
{
	int st;
	char *out = capture_sampled("real_node", name,
				    (char *[]){ "node", "-e", (char *)script, (char *)arg, NULL }, 1,
				    deadline_after(15000, start_ns + BUDGET_MS * MS), 50, &st);
	failures += st != 0;
	printf("%s: status %d, output:\n%s", name, st, out);
	free(out);
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
	if (missing_programs("real_node", (const char *[][2]){ { "node", "nodejs" } }, 1, " in PATH"))
		return 1;
	const char *cases = getenv("REAL_NODE_CASES");
	if (!cases || !*cases)
		cases = "workers http";
	if (wanted(cases, "workers"))
		run_case("workers", workers_js, NULL);
	if (wanted(cases, "http"))
		run_case("http", http_js, NULL);
	if (wanted(cases, "fs")) {
		char dir[256];
		make_tmpdir(dir, sizeof dir, "real_node");
		run_case("fs", fs_js, dir);
		if (rm_tree(dir) != 0) {
			fprintf(stderr, "real_node: removing %s: %s\n", dir, strerror(errno));
			failures++;
		}
	}
	return failures ? 1 : 0;
}

/*
 * real_node — Node.js (V8 and libuv), exec'd from here, so in the preload
 * runs node inherits LD_PRELOAD and all of its threads run greened: the
 * main event loop, V8's platform workers (GC, compiler), libuv's thread
 * pool (fs, dns) and worker_threads, each of which is a whole V8 isolate
 * and libuv loop of its own, found by V8 through native TLS.
 *
 * The cases, each a `node -e` script (below), each printing deterministic
 * lines; REAL_NODE_CASES names the ones to run (default "workers http
 * httpfs"), so the runner can give the fs case an entry of its own:
 *   workers  4 worker_threads each sum a different series and postMessage
 *            the result; each also adds to a SharedArrayBuffer with
 *            Atomics.add; main prints the results in worker order
 *   http     an http server on 127.0.0.1 port 0 and, in the same process,
 *            20 GETs through a keep-alive agent of 4 sockets (one for a
 *            path the server answers 404): status and body of each, in
 *            request order, then the server closing
 *   httpfs   an issue's "http traffic, then every fs.writeFileSync fails
 *            with ENOTSOCK" (libuv closes with syscall(SYS_close), and
 *            the shim took what next got a closed socket's number, a file
 *            or an eventfd, for that socket): in one node, an http server
 *            on 127.0.0.1 port 0 and 20 requests (even ones through a
 *            keep-alive agent of 2 sockets, odd ones each on a fresh
 *            connection, agent: false; every 5th a POST with a body, one
 *            a 404): status and body of each, the connections counted;
 *            the agent destroyed and the server closed, until every
 *            socket of both sides has closed.  Then a probe openSync,
 *            checked to get a number a socket had, and 50
 *            fs.writeFileSync into a mkdtemp directory made here, read
 *            back with readFileSync: the first failure of each kind and
 *            the counts (against the library before e5bade2: 50 ENOTSOCK
 *            writes and reads)
 *   fs       50 fs.writeFileSync into a mkdtemp directory made here, read
 *            back with readdirSync/readFileSync and counted; then the same
 *            with fs.promises (libuv's thread pool), all 50 at once
 * Each node gets at most 15 s (its process group is then SIGKILLed) and
 * all cases together at most 18 s, inside the runner's default 20 s.  The
 * temp directories are removed before exit, whatever happened (but
 * SIGKILL).
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

static const char httpfs_js[] =
	"const http = require('http'), fs = require('fs'), path = require('path');\n"
	"const dir = process.argv[1];\n"
	"const fail = m => { console.log(m); process.exitCode = 1; };\n"
	"const closed = [], sockFds = new Set();\n"
	"const track = s => {\n"
	"  if (s._handle && s._handle.fd >= 0) sockFds.add(s._handle.fd);\n"
	"  closed.push(new Promise(ok => s.once('close', ok)));\n"
	"};\n"
	"let conns = 0;\n"
	"const srv = http.createServer((req, res) => {\n"
	"  let b = '';\n"
	"  req.setEncoding('utf8');\n"
	"  req.on('data', d => b += d);\n"
	"  req.on('end', () => {\n"
	"    res.writeHead(req.url === '/missing' ? 404 : 200, { 'Content-Type': 'text/plain' });\n"
	"    res.end(`${req.method} ${req.url} body ${b.length} conn ${req.headers.connection}\\n`);\n"
	"  });\n"
	"});\n"
	"srv.on('connection', s => { conns++; track(s); });\n"
	"srv.listen(0, '127.0.0.1', async () => {\n"
	"  const port = srv.address().port;\n"
	"  sockFds.add(srv._handle.fd);\n"
	"  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });\n"
	"  const kaSocks = new Set();\n"
	"  const ask = i => new Promise((ok, bad) => {\n"
	"    const ka = i % 2 === 0, post = i % 5 === 0;\n"
	"    const req = http.request({ host: '127.0.0.1', port, agent: ka ? agent : false,\n"
	"        method: post ? 'POST' : 'GET', path: i === 7 ? '/missing' : `/r${i}` }, r => {\n"
	"      let b = '';\n"
	"      r.setEncoding('utf8');\n"
	"      r.on('data', d => b += d);\n"
	"      r.on('end', () => ok(`${ka ? 'keep-alive' : 'fresh'} ${r.statusCode} ${b.trim()}`));\n"
	"    }).on('error', bad);\n"
	"    req.on('socket', s => { if (ka) { if (!kaSocks.has(s)) { kaSocks.add(s); track(s); } }\n"
	"                            else track(s); });\n"
	"    req.end(post ? 'x'.repeat(100 * i + 1) : undefined);\n"
	"  });\n"
	"  try {\n"
	"    const out = await Promise.all([...Array(20).keys()].map(ask));\n"
	"    out.forEach((l, i) => console.log(`request ${i}: ${l}`));\n"
	"  } catch (e) { fail(`request failed: ${e}`); }\n"
	"  console.log(`server connections ${conns}, keep-alive sockets ${kaSocks.size}`);\n"
	"  agent.destroy();\n"
	"  await new Promise(ok => srv.close(ok));\n"
	"  await Promise.all(closed);\n"
	"  console.log(`server closed, sockets closed ${closed.length}`);\n"
	"  const probe = fs.openSync(path.join(dir, 'probe'), 'w');\n"
	"  fs.closeSync(probe);\n"
	"  console.log(`probe fd was a socket's: ${sockFds.has(probe)}`);\n"
	"  let errs = 0;\n"
	"  for (let i = 0; i < 50; i++)\n"
	"    try { fs.writeFileSync(path.join(dir, `f-${i}`), `httpfs ${i} ${'y'.repeat(i)}\\n`); }\n"
	"    catch (e) { if (!errs++) fail(`writeFileSync ${i} failed: ${e.code || e}`); }\n"
	"  const names = fs.readdirSync(dir).filter(f => f.startsWith('f-')).sort();\n"
	"  let bytes = 0, right = 0, rerrs = 0;\n"
	"  for (const f of names) {\n"
	"    const i = +f.slice(2);\n"
	"    let b = '';\n"
	"    try { b = fs.readFileSync(path.join(dir, f), 'utf8'); }\n"
	"    catch (e) { if (!rerrs++) fail(`readFileSync ${f} failed: ${e.code || e}`); }\n"
	"    bytes += b.length;\n"
	"    if (b === `httpfs ${i} ${'y'.repeat(i)}\\n`) right++;\n"
	"  }\n"
	"  console.log(`writeFileSync errors ${errs}, files ${names.length}, readFileSync errors ${rerrs},`\n"
	"    + ` bytes ${bytes}, contents right ${right}`);\n"
	"});\n";

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

/* run_case with a new temporary directory as the script's argument,
 * removed afterwards. */
static void run_case_in_tmpdir(const char *name, const char *script)
{
	char dir[256];
	make_tmpdir(dir, sizeof dir, "real_node");
	run_case(name, script, dir);
	if (rm_tree(dir) != 0) {
		fprintf(stderr, "real_node: removing %s: %s\n", dir, strerror(errno));
		failures++;
	}
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
		cases = "workers http httpfs";
	if (wanted(cases, "workers"))
		run_case("workers", workers_js, NULL);
	if (wanted(cases, "http"))
		run_case("http", http_js, NULL);
	if (wanted(cases, "httpfs"))
		run_case_in_tmpdir("httpfs", httpfs_js);
	if (wanted(cases, "fs"))
		run_case_in_tmpdir("fs", fs_js);
	return failures ? 1 : 0;
}

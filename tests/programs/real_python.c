/*
 * real_python — an unmodified CPython, forked and exec'd, under the shim.
 *
 * Forks and execs `python3 -c SCRIPT` (the preload, if any, is inherited,
 * so the whole interpreter runs greened: its GIL, its locks, its sleeps and
 * its sockets) and waits for it with waitpid.  The script exercises:
 *   - threading.Thread + Lock: 8 threads x 10000 locked increments;
 *   - Condition: a bounded buffer (4 slots), 2 producers, 2 consumers;
 *   - Event: 10 threads wait on one Event, one set() releases them all;
 *   - Semaphore: 10 threads through a BoundedSemaphore(3), never more than
 *     3 holders at once, and 3 reached;
 *   - queue.Queue: 3 producers, 4 consumers, 300 items, None sentinels;
 *   - concurrent.futures.ThreadPoolExecutor(500): 500 tasks that each
 *     time.sleep(0.5), all done in under 3 s (500 real threads natively,
 *     500 green threads on one OS thread under the shim);
 *   - socketserver.ThreadingTCPServer on 127.0.0.1 port 0, a thread per
 *     connection echoing lines upper-cased, 8 client threads x 5 lines over
 *     socket.create_connection (timeouts 10 s), then shutdown/server_close.
 *     Its listen backlog is raised from socketserver's 5: under the shim all
 *     8 clients connect before the server thread runs accept (the clients
 *     run first, I/O is polled when every green thread waits), so with 5 the
 *     7th and 8th SYN are dropped and retried by the kernel after 1 s (the
 *     same happens natively with ~30 clients).  Output would not change,
 *     only the time.
 * Only facts are printed (counts, sums, yes/no), after the joins.
 *
 * With REAL_PYTHON_SHOW_THREADS=1 the script also prints the Threads: line
 * of /proc/self/status read while the 500 pool workers sleep: many natively,
 * 1 under the shim (see the SHIM_ONLY entry), so not printed by default.
 * python3 missing is an error (exit 1), not a silent pass.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char script[] =
	"import os, threading, queue, time, socket, socketserver\n"
	"import concurrent.futures as cf\n"
	"\n"
	"# Thread + Lock\n"
	"lock = threading.Lock(); total = [0]\n"
	"def add(n):\n"
	"    for _ in range(n):\n"
	"        with lock: total[0] += 1\n"
	"ts = [threading.Thread(target=add, args=(10000,)) for _ in range(8)]\n"
	"[t.start() for t in ts]; [t.join() for t in ts]\n"
	"print('lock: counter', total[0])\n"
	"\n"
	"# Condition: bounded buffer\n"
	"cond = threading.Condition(); buf = []; eaten = []\n"
	"def produce(base):\n"
	"    for i in range(100):\n"
	"        with cond:\n"
	"            cond.wait_for(lambda: len(buf) < 4, timeout=10)\n"
	"            buf.append(base + i); cond.notify_all()\n"
	"def consume():\n"
	"    for _ in range(100):\n"
	"        with cond:\n"
	"            cond.wait_for(lambda: buf, timeout=10)\n"
	"            eaten.append(buf.pop(0)); cond.notify_all()\n"
	"ts = [threading.Thread(target=produce, args=(b,)) for b in (0, 1000)]\n"
	"ts += [threading.Thread(target=consume) for _ in range(2)]\n"
	"[t.start() for t in ts]; [t.join() for t in ts]\n"
	"print('condition: consumed', len(eaten), 'sum', sum(eaten))\n"
	"\n"
	"# Event\n"
	"gate = threading.Event(); passed = []\n"
	"def at_gate(i):\n"
	"    if gate.wait(timeout=10): passed.append(i)\n"
	"ts = [threading.Thread(target=at_gate, args=(i,)) for i in range(10)]\n"
	"[t.start() for t in ts]; time.sleep(0.05)\n"
	"before = len(passed); gate.set(); [t.join() for t in ts]\n"
	"print('event: passed before set', before, 'after', len(passed))\n"
	"\n"
	"# Semaphore\n"
	"sem = threading.BoundedSemaphore(3); go = threading.Event()\n"
	"held = [0]; most = [0]; mlock = threading.Lock()\n"
	"def holder():\n"
	"    go.wait(10)\n"
	"    with sem:\n"
	"        with mlock:\n"
	"            held[0] += 1; most[0] = max(most[0], held[0])\n"
	"        time.sleep(0.05)\n"
	"        with mlock: held[0] -= 1\n"
	"ts = [threading.Thread(target=holder) for _ in range(10)]\n"
	"[t.start() for t in ts]; go.set(); [t.join() for t in ts]\n"
	"print('semaphore: most holders at once', most[0])\n"
	"\n"
	"# queue.Queue\n"
	"q = queue.Queue(maxsize=10); got = []; glock = threading.Lock()\n"
	"def qprod(k):\n"
	"    for i in range(100): q.put(k * 100 + i)\n"
	"def qcons():\n"
	"    while True:\n"
	"        v = q.get()\n"
	"        if v is None: break\n"
	"        with glock: got.append(v)\n"
	"ps = [threading.Thread(target=qprod, args=(k,)) for k in range(3)]\n"
	"cs = [threading.Thread(target=qcons) for _ in range(4)]\n"
	"[t.start() for t in ps + cs]; [p.join() for p in ps]\n"
	"for _ in cs: q.put(None)\n"
	"[c.join() for c in cs]\n"
	"print('queue: items', len(got), 'distinct', len(set(got)), 'sum', sum(got))\n"
	"\n"
	"# ThreadPoolExecutor: 500 sleeps\n"
	"def nap(i):\n"
	"    time.sleep(0.5); return i\n"
	"threads_seen = -1\n"
	"t0 = time.monotonic()\n"
	"with cf.ThreadPoolExecutor(max_workers=500) as ex:\n"
	"    futs = [ex.submit(nap, i) for i in range(500)]\n"
	"    time.sleep(0.1)\n"
	"    with open('/proc/self/status') as f:\n"
	"        for line in f:\n"
	"            if line.startswith('Threads:'): threads_seen = int(line.split()[1])\n"
	"    res = [f.result(timeout=30) for f in futs]\n"
	"el = time.monotonic() - t0\n"
	"print('futures: results', len(res), 'sum', sum(res))\n"
	"print('500 sleeps done in under 3 s:', 'yes' if el < 3.0 else 'no')\n"
	"\n"
	"# socketserver.ThreadingTCPServer echo\n"
	"class Echo(socketserver.StreamRequestHandler):\n"
	"    def handle(self):\n"
	"        for line in self.rfile:\n"
	"            self.wfile.write(line.upper())\n"
	"class Server(socketserver.ThreadingTCPServer):\n"
	"    request_queue_size = 64  # the default 5 makes the 7th connect wait 1 s for a SYN retry\n"
	"srv = Server(('127.0.0.1', 0), Echo)\n"
	"port = srv.server_address[1]\n"
	"st = threading.Thread(target=srv.serve_forever, kwargs={'poll_interval': 0.05}); st.start()\n"
	"echoed = []\n"
	"def client(k):\n"
	"    ok = 0\n"
	"    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:\n"
	"        f = s.makefile('rwb')\n"
	"        for i in range(5):\n"
	"            msg = b'client %d line %d\\n' % (k, i)\n"
	"            f.write(msg); f.flush()\n"
	"            ok += f.readline() == msg.upper()\n"
	"        f.close()\n"
	"    with glock: echoed.append(ok)\n"
	"cl = [threading.Thread(target=client, args=(k,)) for k in range(8)]\n"
	"[c.start() for c in cl]; [c.join() for c in cl]\n"
	"srv.shutdown(); srv.server_close(); st.join()\n"
	"print('tcp echo: clients', len(echoed), 'lines echoed', sum(echoed))\n"
	"print('threads left:', threading.active_count())\n"
	"if os.environ.get('REAL_PYTHON_SHOW_THREADS') == '1':\n"
	"    print('os threads:', threads_seen)\n";

int main(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		execlp("python3", "python3", "-c", script, (char *)NULL);
		fprintf(stderr, "real_python: cannot run python3: %s\n", strerror(errno));
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			perror("waitpid");
			return 1;
		}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
		fprintf(stderr, "real_python: python3 is missing (install it: .ci/install-deps)\n");
		return 1;
	}
	if (WIFEXITED(st))
		printf("python3 exit status: %d\n", WEXITSTATUS(st));
	else
		printf("python3 killed by signal %d\n", WTERMSIG(st));
	return 0;
}

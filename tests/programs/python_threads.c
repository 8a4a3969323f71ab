/*
 * python_threads — CPython's threading on top of the shim.
 *
 * Execs python3 (the preload, if any, is inherited) on a script that uses
 * threading (Thread, Lock, Condition, Event, Semaphore, Barrier), queue,
 * concurrent.futures' ThreadPoolExecutor and time.sleep, and prints
 * results only after joins.  CPython's GIL is a mutex plus a condition
 * variable waited on with timeouts, so this exercises timed waits hard.
 * Prints "python3 missing" the same way natively if there is none.
 */
#include <stdio.h>
#include <unistd.h>

static const char script[] =
	"import threading, queue, time, concurrent.futures as cf\n"
	"lock = threading.Lock(); total = [0]\n"
	"def add(n):\n"
	"    for _ in range(n):\n"
	"        with lock: total[0] += 1\n"
	"ts = [threading.Thread(target=add, args=(2000,)) for _ in range(8)]\n"
	"[t.start() for t in ts]; [t.join() for t in ts]\n"
	"print('locked counter', total[0])\n"
	"q = queue.Queue(); out = []\n"
	"def consumer():\n"
	"    while True:\n"
	"        v = q.get()\n"
	"        if v is None: break\n"
	"        out.append(v * v)\n"
	"c = threading.Thread(target=consumer); c.start()\n"
	"for i in range(100): q.put(i)\n"
	"q.put(None); c.join()\n"
	"print('queue', len(out), sum(out))\n"
	"with cf.ThreadPoolExecutor(max_workers=16) as ex:\n"
	"    print('pool', sum(ex.map(lambda x: x * 2, range(1000))))\n"
	"t0 = time.monotonic()\n"
	"ts = [threading.Thread(target=time.sleep, args=(0.3,)) for _ in range(200)]\n"
	"[t.start() for t in ts]; [t.join() for t in ts]\n"
	"el = time.monotonic() - t0\n"
	"print('200 sleeps of 0.3 s overlapped:', 0.3 <= el < 2.0)\n"
	"ev = threading.Event(); cond = threading.Condition(); got = []\n"
	"def waiter():\n"
	"    with cond:\n"
	"        cond.wait_for(lambda: ev.is_set(), timeout=5)\n"
	"        got.append(ev.is_set())\n"
	"ws = [threading.Thread(target=waiter) for _ in range(5)]; [w.start() for w in ws]\n"
	"time.sleep(0.05)\n"
	"with cond: ev.set(); cond.notify_all()\n"
	"[w.join() for w in ws]\n"
	"print('condition woke', got.count(True))\n"
	"sem = threading.Semaphore(0)\n"
	"print('semaphore timeout', sem.acquire(timeout=0.1))\n"
	"b = threading.Barrier(4); ids = []\n"
	"def at_barrier(): ids.append(b.wait())\n"
	"bs = [threading.Thread(target=at_barrier) for _ in range(4)]; [x.start() for x in bs]; [x.join() for x in bs]\n"
	"print('barrier ids', sorted(ids))\n";

int main(void)
{
	fflush(stdout);
	execlp("python3", "python3", "-c", script, (char *)NULL);
	printf("python3 missing\n");
	return 0;
}

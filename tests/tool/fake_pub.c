/* fake_pub: a process that publishes a made-up but known green-thread
 * state in /dev/shm/greenshim-<uid>-<pid> (scheduler/published.h), for
 * the tests of `greenshim ps/top/trace` (tests/unit/test_tool.c).
 *
 *   fake_pub [--stuck | --self-trace | --burst | --bad-magic | --bad-version | --bad-size]
 *
 * Prints "ready" once the file is complete, then plays the process's part
 * until stdin reaches EOF (the test closes it, or dies): while an
 * inspector is attached it moves the switch and CPU counters; when a
 * tracer turns tracing on it writes a scripted sequence of switches into
 * the rings, once per trace.  Its thread slots point at real things of
 * this process: start routines are functions of this file (and puts of
 * libc), fds are a socket, an eventfd, /dev/null and stdin, and thread 2's
 * stack is a real mapping with its top 3 pages touched. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "published.h"

#define SLOTS 64
#define STACK_SIZE (64 * 1024)

/* Start routines: distinct bodies so no two are folded into one. */
__attribute__((noinline)) void *fn_sleeper(void *a) { return (char *)a + 1; }
__attribute__((noinline)) void *fn_runner(void *a) { return (char *)a + 2; }
__attribute__((noinline)) void *fn_ready(void *a) { return (char *)a + 3; }
__attribute__((noinline)) void *fn_locker(void *a) { return (char *)a + 4; }
__attribute__((noinline)) void *fn_waiter(void *a) { return (char *)a + 5; }
char data_blob[64] = "not code: a start routine here has no FUNC symbol";

static struct gs_pub_header *hd;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static struct gs_pub_thread *slot(unsigned i)
{
	return (struct gs_pub_thread *)((char *)hd + hd->threads_offset) + i;
}

static struct gs_pub_event *ring(unsigned hub)
{
	return (struct gs_pub_event *)((char *)hd + hd->rings_offset) + (size_t)hub * hd->ring_events;
}

/* Slot i holds thread id on hub, waiting as told. */
static struct gs_pub_thread *thread(unsigned i, int id, int hub, const char *name, void *routine,
				    unsigned kind, int arg, uint64_t obj, uint64_t until)
{
	struct gs_pub_thread *t = slot(i);
	t->hub = hub;
	t->wait_kind = kind;
	t->wait_arg = arg;
	t->wait_obj = obj;
	t->wait_until_ns = until;
	t->start_routine = (uint64_t)(uintptr_t)routine;
	snprintf(t->name, sizeof t->name, "%s", name);
	t->id = id;
	if (i + 1 > hd->threads_used)
		hd->threads_used = i + 1;
	return t;
}

static void fill(const char *mode)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		exit(1);
	int efd = eventfd(0, 0), null = open("/dev/null", O_RDONLY);
	char *stacks = mmap(NULL, 32 * STACK_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (efd < 0 || null < 0 || stacks == MAP_FAILED)
		exit(1);
	memset(stacks + STACK_SIZE - 3 * 4096, 1, 3 * 4096); /* thread 2: top 3 pages */
	uint64_t now = now_ns();

	hd->version = GS_PUB_VERSION;
	hd->header_size = GS_PUB_HEADER_SIZE;
	hd->pid = getpid();
	hd->hub_size = sizeof(struct gs_pub_hub);
	hd->event_size = sizeof(struct gs_pub_event);
	hd->thread_size = sizeof(struct gs_pub_thread);
	hd->max_hubs = GS_PUB_MAX_HUBS;
	hd->ring_events = GS_PUB_RING_EVENTS;
	hd->rings_offset = GS_PUB_HEADER_SIZE;
	hd->threads_offset = GS_PUB_HEADER_SIZE +
			     (uint64_t)GS_PUB_MAX_HUBS * GS_PUB_RING_EVENTS * sizeof(struct gs_pub_event);
	hd->threads_cap = SLOTS;
	hd->started_ns = now - 5000000000ULL;
	snprintf(hd->exe, sizeof hd->exe, "/fake/exe");
	hd->hubs_used = 2;

	struct gs_pub_hub *h0 = &hd->hubs[0], *h1 = &hd->hubs[1];
	h0->tid = getpid();
	h0->running = 3;
	h0->ready = 2;
	h0->timers = 2;
	h0->fds = 4;
	h0->live = 19;
	h0->last_poll_ns = now;
	h0->running_since_ns = now;
	h0->longest_run_ns = 1500000;
	h0->longest_run_id = 3;
	h1->tid = getpid() + 1;
	h1->running = 20;
	h1->live = 3;
	h1->last_poll_ns = now;
	if (!strcmp(mode, "--stuck")) { /* thread 3 has held hub 0 for 2.3 s */
		h0->last_poll_ns = now - 2300000000ULL;
		h0->running_since_ns = now - 2300000000ULL;
	}

	struct gs_pub_thread *t;
	t = thread(0, 1, 0, "", NULL, GS_PW_READ, 0, 0, 0);
	t->flags = GS_PUBT_ROOT | GS_PUBT_MAIN;
	t = thread(1, 2, 0, "sleeper", fn_sleeper, GS_PW_SLEEP, 0, 0, now + 30000000000ULL);
	t->stack_lo = (uint64_t)(uintptr_t)stacks;
	t->stack_size = STACK_SIZE;
	thread(2, 3, 0, "runner", fn_runner, GS_PW_NONE, 0, 0, 0);
	thread(3, 4, 0, "readyone-longnm", fn_ready, GS_PW_NONE, 0, 0, 0);
	/* slot 4 stays free (id 0) */
	thread(5, 5, 0, "locker", fn_locker, GS_PW_MUTEX, 3, 0x55d0c0, 0);
	thread(6, 6, 0, "", fn_waiter, GS_PW_COND, 0, 0x1000, 0);
	thread(7, 7, 0, "", fn_waiter, GS_PW_RWLOCK, 5, 0x2000, 0);
	thread(8, 8, 0, "", fn_waiter, GS_PW_SEM, 0, 0x3000, 0);
	thread(9, 9, 0, "", fn_waiter, GS_PW_BARRIER, 0, 0x4000, 0);
	thread(10, 10, 0, "", fn_waiter, GS_PW_ONCE, 0, 0x5000, 0);
	thread(11, 11, 0, "", fn_waiter, GS_PW_JOIN, 5, 0, 0);
	thread(12, 12, 0, "", fn_waiter, GS_PW_FUTEX, 0, 0x6000, now + 10000000000ULL);
	thread(13, 13, 0, "", fn_waiter, GS_PW_READ, sv[0], 0, 0);
	t = thread(14, 14, 0, "", fn_waiter, GS_PW_WRITE, efd, 0, 0);
	t->flags = GS_PUBT_SYSCALL; /* a write the syscall trap took */
	thread(15, 15, 0, "", fn_waiter, GS_PW_POLL, null, 0, 0);
	thread(16, 16, 0, "", fn_waiter, GS_PW_CHILD, 1234, 0, 0);
	thread(17, 17, 0, "", fn_waiter, GS_PW_CHILD, -1, 0, 0);
	t = thread(18, 18, 0, "", fn_waiter, GS_PW_EXIT, 0, 0, 0);
	t->flags = GS_PUBT_EXITED;
	thread(19, 19, 0, "quo\"te\\x", fn_waiter, GS_PW_YIELD, 0, 0, 0);
	t = thread(20, 20, 1, "", NULL, GS_PW_NONE, 0, 0, 0);
	t->flags = GS_PUBT_ROOT;
	thread(21, 21, 1, "bad\xff" "utf8", data_blob, GS_PW_READ, 999, 0, 0);
	thread(22, 22, 1, "", (void *)puts, GS_PW_SLEEP, 0, 0, 0);
	for (unsigned i = 1; i < 22; i++) /* every green thread has a stack */
		if (!(slot(i)->flags & GS_PUBT_ROOT) && slot(i)->id && i != 1) {
			slot(i)->stack_lo = (uint64_t)(uintptr_t)(stacks + (size_t)i * STACK_SIZE);
			slot(i)->stack_size = STACK_SIZE;
		}

	if (!strcmp(mode, "--self-trace"))
		hd->trace_drainer = 1;
	if (!strcmp(mode, "--bad-version"))
		hd->version = GS_PUB_VERSION + 1;
	if (!strcmp(mode, "--bad-size"))
		hd->thread_size = sizeof(struct gs_pub_thread) + 8;
	atomic_store(&hd->magic, !strcmp(mode, "--bad-magic") ? 0x1234 : GS_PUB_MAGIC);
}

/* Appends an event to hub h's ring; publish: make it visible now. */
static void event(unsigned h, uint64_t t_ns, int from, int to, unsigned reason, int arg,
		  uint64_t obj, int publish)
{
	static uint64_t pending[2];
	struct gs_pub_hub *hub = &hd->hubs[h];
	uint64_t n = atomic_load(&hub->ring_head) + pending[h];
	ring(h)[n & (hd->ring_events - 1)] = (struct gs_pub_event){ t_ns, from, to, reason, arg, obj };
	pending[h]++;
	if (publish) {
		atomic_store_explicit(&hub->ring_head, n + 1, memory_order_release);
		pending[h] = 0;
	}
}

/* The scripted trace: on hub 0, 2 and 3 ping-pong 28 times, switch i
 * ending with reason 1 + i % 14 (yield ... waitpid: each twice), then 2
 * sleeps and the yielder 19 runs; on hub 1, the OS thread 20 and 21 take
 * turns with the hub's own context.  --burst: ring_events + 1000 switches
 * published at once, so exactly 1000 are lost. */
static void script(int burst)
{
	uint64_t t = now_ns();
	if (burst) {
		uint64_t n = hd->ring_events + 1000ULL;
		for (uint64_t i = 0; i < n; i++)
			event(0, t + i * 100, i % 2 ? 3 : 2, i % 2 ? 2 : 3, GS_PW_YIELD, 0, 0,
			      i + 1 == n);
		return;
	}
	event(0, t, 0, 2, GS_PW_NONE, 0, 0, 1);
	for (int i = 0; i < 28; i++) {
		unsigned reason = 1 + (unsigned)i % 14;
		int arg = reason == GS_PW_CHILD ? -1
			: reason >= GS_PW_READ  ? 5
			: reason == GS_PW_JOIN  ? 4
						: 7;
		event(0, t + 1000 * (uint64_t)(i + 1), i % 2 ? 3 : 2, i % 2 ? 2 : 3, reason, arg,
		      0x1000 + (uint64_t)i, 1);
	}
	event(0, t + 30000, 2, 19, GS_PW_SLEEP, 0, 0, 1);
	event(1, t + 500, 0, 20, GS_PW_NONE, 0, 0, 1);
	event(1, t + 1500, 20, 0, GS_PW_POLL, 7, 0, 1);
	event(1, t + 2500, 0, 21, GS_PW_NONE, 0, 0, 1);
	event(1, t + 3500, 21, 0, GS_PW_EXIT, 0, 0, 1);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	char path[64];
	snprintf(path, sizeof path, GS_PUB_PATH_FMT, (unsigned)getuid(), (int)getpid());
	unlink(path);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t size = GS_PUB_HEADER_SIZE +
		      (size_t)GS_PUB_MAX_HUBS * GS_PUB_RING_EVENTS * sizeof(struct gs_pub_event) +
		      SLOTS * sizeof(struct gs_pub_thread);
	if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
		return 1;
	hd = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (hd == MAP_FAILED)
		return 1;
	fill(mode);
	printf("ready\n");
	fflush(stdout);

	int traced = 0;
	for (;;) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		char buf[64];
		if (poll(&p, 1, 5) > 0 && read(0, buf, sizeof buf) <= 0)
			break;
		uint64_t now = now_ns();
		if (strcmp(mode, "--stuck") != 0) {
			hd->hubs[0].last_poll_ns = now;
			hd->hubs[0].running_since_ns = now;
		}
		hd->hubs[1].last_poll_ns = now;
		if (atomic_load(&hd->inspectors) > 0) { /* measured only while watched */
			slot(2)->switches += 10;
			slot(2)->cpu_ns += 4000000;
			slot(1)->switches += 1;
			slot(1)->cpu_ns += 10000;
			hd->hubs[0].switches += 11;
		}
		if (atomic_load(&hd->trace) && atomic_load(&hd->trace_drainer) == 2 && !traced) {
			script(!strcmp(mode, "--burst"));
			traced = 1;
		}
		if (!atomic_load(&hd->trace))
			traced = 0;
	}
	unlink(path);
	return 0;
}

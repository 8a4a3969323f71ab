/*
 * tls_cxx — C++ thread_local in std::threads.
 *
 * 50 std::threads each touch a thread_local object with a non-trivial
 * constructor and destructor (its guard variable is thread-local too, so
 * it must be constructed once per thread), a thread_local std::string
 * (dynamically initialised; the thread stores a string too long for the
 * small-string buffer) and a function's static thread_local counter.  Each
 * checks everything starts fresh, stores its own values, blocks
 * (std::this_thread::sleep_for, then a std::condition_variable wait until
 * all 50 are there) and checks its values after each; the counter must
 * count exactly its own thread's increments across 20
 * std::this_thread::yield() calls.
 *
 * The destructors of thread_local objects run at thread exit (glibc's
 * __call_tls_dtors, from the list __cxa_thread_atexit_impl keeps in TLS),
 * so once join() has returned, all 50 have run, each seeing its own
 * thread's value; main's own object is destroyed at exit(), before the
 * atexit handler registered at the start, which checks that.
 * With TLS shared by the green threads of an OS thread, the object is
 * constructed once, every thread sees main's values, and the destructors
 * are only run at exit().  Output only from main; a wrong count also goes
 * to stderr and the exit status is 1.
 */
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace std::chrono_literals;

static const int N = 50;
static std::atomic<int> ctors{0}, dtors{0}, dtors_own{0};
static int failures;

static std::string tag_of(int id)
{
	return "thread " + std::to_string(id) + ", a tag too long for the SSO buffer";
}

struct Tracker {
	int id = -1;
	std::string tag;
	Tracker() { ctors++; }
	~Tracker()
	{
		if (id >= 0 && id < N && tag == tag_of(id))
			dtors_own++;
		dtors++;
	}
};

thread_local Tracker tracker;
thread_local std::string name = std::string("initial ") + "name";

static int bump()
{
	static thread_local int counter = 100;
	return ++counter;
}

struct Res {
	bool fresh, after_sleep, after_cond, counter;
};
static Res res[N];

static std::mutex m;
static std::condition_variable cv;
static int arrived;
static bool go;

static bool mine(int i)
{
	return tracker.id == i && tracker.tag == tag_of(i) && name == "name of " + tag_of(i);
}

static void worker(int i)
{
	Res &r = res[i];
	r.fresh = tracker.id == -1 && tracker.tag.empty() && name == "initial name" && bump() == 101;
	tracker.id = i;
	tracker.tag = tag_of(i);
	name = "name of " + tag_of(i);
	std::this_thread::sleep_for(std::chrono::milliseconds(1 + i % 5));
	r.after_sleep = mine(i);
	{
		std::unique_lock<std::mutex> lk(m);
		arrived++;
		cv.notify_all();
		cv.wait(lk, [] { return go; });
	}
	r.after_cond = mine(i);
	for (int k = 0; k < 20; k++) {
		bump();
		std::this_thread::yield();
	}
	r.counter = bump() == 122 && mine(i); /* 101, then 20, then this one */
}

static void report(const char *what, int got, int want)
{
	std::printf("%s: %d of %d\n", what, got, want);
	if (got != want) {
		std::fprintf(stderr, "tls_cxx: FAILED: %s: %d of %d\n", what, got, want);
		failures++;
	}
}

static void yes(const char *what, bool ok)
{
	std::printf("%s: %s\n", what, ok ? "yes" : "no");
	if (!ok) {
		std::fprintf(stderr, "tls_cxx: FAILED: %s\n", what);
		failures++;
	}
}

/* Runs after main's thread_local destructors (registered before they were). */
static void at_exit()
{
	report("destructors run once main exited (main's too)", dtors.load(), N + 1);
	report("destructors that saw their own thread's value (main's too)", dtors_own.load(), N + 1);
	std::fflush(stdout);
	if (failures)
		_exit(1);
}

int main()
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	std::atexit(at_exit);
	tracker.id = 0; /* main's own: thread 0's tag, to be told apart by id only */
	tracker.tag = tag_of(0);
	name = "main's name";
	bump();
	std::vector<std::thread> ts;
	for (int i = 0; i < N; i++)
		ts.emplace_back(worker, i);
	{
		std::unique_lock<std::mutex> lk(m);
		cv.wait(lk, [] { return arrived == N; });
		go = true;
		cv.notify_all();
	}
	for (auto &t : ts)
		t.join();

	int fresh = 0, sleep = 0, cond = 0, counter = 0;
	for (const Res &r : res) {
		fresh += r.fresh;
		sleep += r.after_sleep;
		cond += r.after_cond;
		counter += r.counter;
	}
	report("fresh thread_locals in new threads", fresh, N);
	report("kept across sleep_for", sleep, N);
	report("kept across a condition_variable wait", cond, N);
	report("static thread_local counter counted its own 20 yields", counter, N);
	report("constructors run (main's and the threads')", ctors.load(), N + 1);
	report("destructors run by the time join returned", dtors.load(), N);
	report("destructors that saw their own thread's value", dtors_own.load(), N);
	yes("main's thread_locals kept",
	    tracker.id == 0 && tracker.tag == tag_of(0) && name == "main's name" && bump() == 102);
	return failures ? 1 : 0;
}

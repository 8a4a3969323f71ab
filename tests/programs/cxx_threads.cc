/*
 * cxx_threads — libstdc++'s threads on top of the shim.
 *
 * std::thread, std::mutex, std::lock_guard/unique_lock,
 * std::condition_variable (wait, wait_for timing out, notify_all),
 * std::async, std::this_thread::sleep_for, std::call_once,
 * std::shared_mutex, std::timed_mutex::try_lock_for, and a C++ destructor
 * run by pthread_exit from inside a std::thread (forced unwinding).
 * Output only after joins.  (C++20 semaphores, latches and atomic waits
 * use the futex system call directly: issue 5.)
 */
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <numeric>
#include <shared_mutex>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

static std::atomic<int> destroyed{0};
struct Tracked {
	~Tracked() { destroyed++; }
};

int main()
{
	std::mutex m;
	long counter = 0;
	std::vector<std::thread> ts;
	for (int i = 0; i < 8; i++)
		ts.emplace_back([&] {
			for (int k = 0; k < 1000; k++) {
				std::lock_guard<std::mutex> g(m);
				counter++;
				if (k % 100 == 0)
					std::this_thread::yield();
			}
		});
	for (auto &t : ts)
		t.join();
	std::printf("counter %ld\n", counter);

	std::condition_variable cv;
	bool ready = false;
	int woke = 0;
	ts.clear();
	for (int i = 0; i < 4; i++)
		ts.emplace_back([&] {
			std::unique_lock<std::mutex> l(m);
			cv.wait(l, [&] { return ready; });
			woke++;
		});
	std::this_thread::sleep_for(20ms);
	{
		std::lock_guard<std::mutex> g(m);
		ready = true;
	}
	cv.notify_all();
	for (auto &t : ts)
		t.join();
	std::printf("notify_all woke %d\n", woke);

	{
		std::unique_lock<std::mutex> l(m);
		auto t0 = std::chrono::steady_clock::now();
		bool r = cv.wait_for(l, 50ms, [] { return false; });
		auto el = std::chrono::steady_clock::now() - t0;
		std::printf("wait_for timed out %s, not early %s\n", r ? "no" : "yes", el >= 50ms ? "yes" : "no");
	}

	std::vector<std::future<int>> fs;
	for (int i = 0; i < 10; i++)
		fs.push_back(std::async(std::launch::async, [i] {
			std::this_thread::sleep_for(10ms);
			return i * i;
		}));
	int sum = 0;
	for (auto &f : fs)
		sum += f.get();
	std::printf("async sum %d\n", sum);

	std::once_flag once;
	int inits = 0;
	ts.clear();
	for (int i = 0; i < 6; i++)
		ts.emplace_back([&] { std::call_once(once, [&] { std::this_thread::sleep_for(20ms); inits++; }); });
	for (auto &t : ts)
		t.join();
	std::printf("call_once ran %d\n", inits);

	std::shared_mutex sm;
	std::atomic<int> readers{0}, max_readers{0};
	ts.clear();
	for (int i = 0; i < 5; i++)
		ts.emplace_back([&] {
			std::shared_lock<std::shared_mutex> l(sm);
			int n = ++readers;
			int prev = max_readers.load();
			while (n > prev && !max_readers.compare_exchange_weak(prev, n))
				;
			std::this_thread::sleep_for(20ms);
			readers--;
		});
	for (auto &t : ts)
		t.join();
	std::printf("shared readers together %s\n", max_readers.load() > 1 ? "yes" : "no");

	std::timed_mutex tm;
	tm.lock();
	bool got = false;
	std::thread tt([&] { got = tm.try_lock_for(30ms); });
	tt.join();
	tm.unlock();
	std::printf("try_lock_for held mutex %s\n", got ? "got it" : "timed out");

	std::thread ex([] {
		Tracked t;
		pthread_exit(nullptr);
	});
	ex.join();
	std::printf("destructor ran on pthread_exit %d\n", destroyed.load());
	return 0;
}

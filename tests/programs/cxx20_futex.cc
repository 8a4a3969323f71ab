/*
 * cxx20_futex — C++20 synchronisation that libstdc++ builds on the futex
 * system call (through libc's syscall()), not on pthreads:
 * std::counting_semaphore, std::binary_semaphore (with try_acquire_for),
 * std::latch, std::barrier and std::atomic<T>::wait/notify.  Output only
 * after joins.
 */
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <latch>
#include <semaphore>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

int main()
{
	std::counting_semaphore<8> slots(0);
	std::atomic<int> done{0};
	std::vector<std::thread> ts;
	for (int i = 0; i < 6; i++)
		ts.emplace_back([&] {
			slots.acquire();
			done++;
		});
	std::this_thread::sleep_for(20ms);
	slots.release(6);
	for (auto &t : ts)
		t.join();
	std::printf("semaphore released %d\n", done.load());

	std::binary_semaphore bin(0);
	auto t0 = std::chrono::steady_clock::now();
	bool got = bin.try_acquire_for(50ms);
	auto el = std::chrono::steady_clock::now() - t0;
	std::printf("try_acquire_for: %s, not early %s\n", got ? "got" : "timed out", el >= 50ms ? "yes" : "no");

	std::latch gate(4);
	std::atomic<int> passed{0};
	ts.clear();
	for (int i = 0; i < 4; i++)
		ts.emplace_back([&] {
			gate.arrive_and_wait();
			passed++;
		});
	for (auto &t : ts)
		t.join();
	std::printf("latch passed %d\n", passed.load());

	std::atomic<int> phases{0};
	std::barrier sync(3, [&]() noexcept { phases++; });
	ts.clear();
	for (int i = 0; i < 3; i++)
		ts.emplace_back([&] {
			for (int r = 0; r < 5; r++)
				sync.arrive_and_wait();
		});
	for (auto &t : ts)
		t.join();
	std::printf("barrier phases %d\n", phases.load());

	std::atomic<int> flag{0};
	std::thread waiter([&] {
		flag.wait(0);
		flag.store(2);
		flag.notify_one();
	});
	std::this_thread::sleep_for(20ms);
	flag.store(1);
	flag.notify_one();
	waiter.join();
	std::printf("atomic wait/notify final %d\n", flag.load());
	return 0;
}

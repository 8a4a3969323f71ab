/*
 * cxx_static_init — C++ function-local statics initialised by several
 * threads at once, as natively.
 *
 *   wait       a static whose initialiser sleeps 50 ms; 4 more threads
 *              reach it meanwhile: they wait, the initialiser runs once,
 *              all see its value (under the shim they made the program
 *              abort with recursive_init_error: glibc's single-threaded
 *              flag stays set while all threads run on one OS thread)
 *   throw      an initialiser that throws the first time: the thread
 *              waiting meanwhile runs it again (the guard is aborted)
 */
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <thread>
#include <vector>

static int runs_slow, runs_flaky;

static int slow_init()
{
	runs_slow++;
	std::this_thread::sleep_for(std::chrono::milliseconds(50));
	return 42;
}
static int slow_value()
{
	static int v = slow_init();
	return v;
}

static int flaky_init()
{
	std::this_thread::sleep_for(std::chrono::milliseconds(20));
	if (runs_flaky++ == 0)
		throw std::runtime_error("first time");
	return 7;
}
static int flaky_value()
{
	static int v = flaky_init();
	return v;
}

int main()
{
	std::vector<int> seen(5);
	std::vector<std::thread> ts;
	ts.emplace_back([&] { seen[0] = slow_value(); });
	std::this_thread::sleep_for(std::chrono::milliseconds(10));
	for (int i = 1; i < 5; i++)
		ts.emplace_back([&, i] { seen[i] = slow_value(); });
	for (auto &t : ts)
		t.join();
	std::printf("wait: values %d %d %d %d %d, initialiser ran %d time(s)\n", seen[0], seen[1], seen[2],
		    seen[3], seen[4], runs_slow);

	int first = -1, second = -1;
	std::thread a([&] {
		try {
			first = flaky_value();
		} catch (const std::exception &) {
			first = -2;
		}
	});
	std::this_thread::sleep_for(std::chrono::milliseconds(5));
	std::thread b([&] { second = flaky_value(); });
	a.join();
	b.join();
	std::printf("throw: first %s, second got %d, initialiser ran %d times\n",
		    first == -2 ? "threw" : "did not throw", second, runs_flaky);
	return 0;
}

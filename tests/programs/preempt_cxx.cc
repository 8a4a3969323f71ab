// preempt_cxx — C++ exceptions thrown and caught while other threads spin.
//
// Unwinding looks up frames through the loader (dl_iterate_phdr or
// _dl_find_object) and libgcc_s: a thread preempted while it holds the
// loader's lock would make the next throwing thread block the OS thread.
// Three threads throw and catch until main, after 100 ms, says stop; two
// spin beside them.  Every throw must be caught, by the right handler.
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <string>

static std::atomic<int> stop{0};
static long thrown[3], caught[3];
static std::atomic<long> spun[2];

static void deep(int n, long k)
{
	if (n == 0)
		throw std::runtime_error("t" + std::to_string(k));
	deep(n - 1, k);
}

static void *thrower(void *arg)
{
	long k = (long)arg;
	while (!stop.load(std::memory_order_relaxed)) {
		try {
			thrown[k]++;
			deep(5 + (int)(thrown[k] % 7), k);
		} catch (const std::runtime_error &e) {
			if (e.what() == "t" + std::to_string(k))
				caught[k]++;
		}
	}
	return nullptr;
}

static void *spinner(void *arg)
{
	long k = (long)arg;
	while (!stop.load(std::memory_order_relaxed))
		spun[k].fetch_add(1, std::memory_order_relaxed);
	return nullptr;
}

int main()
{
	pthread_t t[3], s[2];
	for (long k = 0; k < 2; k++)
		pthread_create(&s[k], nullptr, spinner, (void *)k);
	for (long k = 0; k < 3; k++)
		pthread_create(&t[k], nullptr, thrower, (void *)k);
	usleep(100000);
	stop = 1;
	for (auto &x : t)
		pthread_join(x, nullptr);
	for (auto &x : s)
		pthread_join(x, nullptr);
	bool all = true, ran = true;
	for (int k = 0; k < 3; k++) {
		all = all && thrown[k] == caught[k];
		ran = ran && thrown[k] > 0;
	}
	std::printf("throwers ran: %s, every throw caught by its handler: %s, spinners ran: %s\n",
		    ran ? "yes" : "no", all ? "yes" : "no", spun[0] > 0 && spun[1] > 0 ? "yes" : "no");
	return 0;
}

/* short_sleep — what a 100 us usleep really takes.
 *
 * Runs usleep(100) N times (argv[1], default 2000) and prints the mean
 * time per call.  Natively the kernel's timer slack (50 us by default)
 * adds to it; under the shim the hub's timerfd does.  It must never be
 * below 100 us.
 *
 * Output: `result ns_per_op=<ns> ops=<N>` on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000;
	if (n < 1)
		n = 1;
	double t0 = now_ns();
	for (long i = 0; i < n; i++)
		usleep(100);
	double per = (now_ns() - t0) / n;
	fprintf(stderr, "short_sleep: usleep(100) takes %.1f us\n", per / 1000);
	printf("result ns_per_op=%.1f ops=%ld\n", per, n);
	return 0;
}

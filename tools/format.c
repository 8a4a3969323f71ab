/* Figures in words: see format.h. */
#include <stdio.h>

#include "format.h"

char *gs_fmt_duration(uint64_t ns, char *buf, size_t size)
{
	if (ns >= 100000000ULL)
		snprintf(buf, size, "%.1fs", (double)ns / 1e9);
	else if (ns >= 1000000ULL)
		snprintf(buf, size, "%.1fms", (double)ns / 1e6);
	else
		snprintf(buf, size, "%lluus", (unsigned long long)(ns / 1000));
	return buf;
}

char *gs_fmt_cpu(uint64_t ns, char *buf, size_t size)
{
	if (ns == 0)
		snprintf(buf, size, "0");
	else if (ns < 1000000ULL)
		snprintf(buf, size, "%lluus", (unsigned long long)(ns / 1000));
	else if (ns < 10000000000ULL)
		snprintf(buf, size, "%.1fms", (double)ns / 1e6);
	else
		snprintf(buf, size, "%.1fs", (double)ns / 1e9);
	return buf;
}

char *gs_fmt_size(uint64_t bytes, char *buf, size_t size)
{
	const uint64_t K = 1024, M = K * K;
	if (bytes >= M && bytes % M == 0)
		snprintf(buf, size, "%lluM", (unsigned long long)(bytes / M));
	else if (bytes >= M)
		snprintf(buf, size, "%.1fM", (double)bytes / (double)M);
	else if (bytes >= K)
		snprintf(buf, size, "%lluK", (unsigned long long)((bytes + K - 1) / K));
	else if (bytes)
		snprintf(buf, size, "%lluB", (unsigned long long)bytes);
	else
		snprintf(buf, size, "0");
	return buf;
}

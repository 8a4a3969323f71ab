/* Figures in words a person reads quickly: durations and sizes. */
#ifndef GS_FORMAT_H
#define GS_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* "0.8s", "35.2ms", "120us": seconds with one decimal from 100 ms up. */
char *gs_fmt_duration(uint64_t ns, char *buf, size_t size);
/* CPU time, precise below 10 s: "0", "35us", "160.2ms", "12.3s". */
char *gs_fmt_cpu(uint64_t ns, char *buf, size_t size);
/* "8M", "12K", "1.5M", "512B", "0". */
char *gs_fmt_size(uint64_t bytes, char *buf, size_t size);

#endif

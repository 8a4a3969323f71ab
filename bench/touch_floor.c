/*
 * touch_floor — what N sleeping threads cost in memory alone, with no
 * scheduler: the floor under the sleepers figures.
 *
 * A parked green thread with its own TLS owns, at the least:
 *   - the top page of its stack (its record and first frames), each stack
 *     a default-size slot (8 MiB and a guard page) of a chunk of 64, so
 *     every top page has a page table of its own, as stack.c lays them;
 *   - its thread control block and static TLS: one block of glibc's
 *     static TLS size (struct pthread, the modules' blocks and the
 *     surplus glibc keeps for dlopen), blocks packed one after another;
 *   - its DTV, calloc'ed by glibc's loader (MODULES + 16 entries of 16
 *     bytes).
 * This program makes and touches exactly that for N threads on one OS
 * thread and reports the time the touches took (page faults: the kernel
 * zeroes a page, and on a virtual machine the host may back it for the
 * first time) and the peak RSS.  A sleepers run cannot finish faster than
 * its sleep plus these touches, nor use less memory.
 *
 * usage:  touch_floor [N]          default 100000
 * output: stdout  "result seconds=S rss_mib=R us_per_thread=U"
 *         stderr  human-readable summary
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "benchutil.h"

#define STACK_SIZE (8u << 20)
#define GUARD 4096u
#define SLOT (STACK_SIZE + GUARD)
#define CHUNK_SLOTS 64
#define TCB_CHUNK 256
#define MODULES 4

extern void _dl_get_tls_static_info(size_t *size, size_t *align);

static long peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

static void *map(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED) {
        perror("touch_floor: mmap");
        exit(1);
    }
    return p;
}

int main(int argc, char **argv)
{
    long n = parse_count(argc > 1 ? argv[1] : NULL, 100000);
    size_t tls_size, tls_align;
    _dl_get_tls_static_info(&tls_size, &tls_align);
    if (tls_align < 64)
        tls_align = 64;
    size_t block = (tls_size + tls_align - 1) & ~(tls_align - 1);
    size_t dtv_bytes = (MODULES + 16) * 16;
    void **dtvs = calloc((size_t)n, sizeof *dtvs);
    if (!dtvs) {
        perror("touch_floor: calloc");
        return 1;
    }
    char *stacks = NULL, *tcbs = NULL;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        if (i % CHUNK_SLOTS == 0)
            stacks = map((size_t)SLOT * CHUNK_SLOTS);
        if (i % TCB_CHUNK == 0)
            tcbs = map(block * TCB_CHUNK);
        /* the stack's top page: its record and first frames */
        char *top = stacks + (size_t)(i % CHUNK_SLOTS + 1) * SLOT;
        memset(top - 2048, 1, 2048);
        /* the TCB block: every byte glibc's initialisation may write */
        memset(tcbs + (size_t)(i % TCB_CHUNK) * block, 1, block);
        dtvs[i] = calloc(1, dtv_bytes);
        if (!dtvs[i]) {
            perror("touch_floor: calloc");
            return 1;
        }
    }
    double secs = now_s() - t0;
    double rss = peak_rss_kib() / 1024.0;
    double per = secs * 1e6 / (double)n;
    fprintf(stderr, "touch_floor: %ld threads' pages (stack top, %zu-byte TCB block, DTV) "
                    "touched in %.3f s (%.2f us per thread), peak RSS %.1f MiB\n",
            n, block, secs, per, rss);
    printf("result seconds=%.3f rss_mib=%.1f us_per_thread=%.2f\n", secs, rss, per);
    return 0;
}

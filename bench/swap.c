/*
 * swap — the floor under every hand-off: the bare register swap.
 *
 * Two contexts on one OS thread hand control back and forth with the shim's
 * own gs__ctx_switch (scheduler/ctx_x86_64.S, linked in: push the
 * callee-saved registers, save MXCSR and the x87 control word, swap the
 * stack pointer, pop), and nothing else: no scheduler, no run queue, no
 * lock, no TLS switch.  A round trip is two switches (main -> peer ->
 * main), as a condvar ping-pong round trip is two switches under the shim.
 * bench/run.sh prints every hand-off figure as a multiple of this one.
 *
 * With the argument "fs" the switch also installs the thread pointer
 * (gs__ctx_switch_fs with wrfsbase, as the shim does between green threads
 * with their own TLS), each side its own: main's TCB and a copy of it.  It
 * is skipped (ns_per_op=0 is not printed; exit status 3) where the CPU or
 * kernel lacks FSGSBASE.
 *
 * usage:  swap N [fs]      N round trips
 * output: stdout  "result ns_per_op=<ns per round trip> ops=<N>"
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>

#include "scheduler/ctx.h"

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

#define WARMUP 10000L
#define STACK_SIZE (64 * 1024)

static struct gs_ctx main_ctx, peer_ctx;
static void *main_tp, *peer_tp;
static int use_fs;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *read_tp(void)
{
    void *tp;
    __asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
    return tp;
}

/* The peer only ever switches back: one round trip per pass. */
static void peer(void *arg)
{
    (void)arg;
    for (;;) {
        if (use_fs)
            gs__ctx_switch_fs(&peer_ctx, &main_ctx, main_tp);
        else
            gs__ctx_switch(&peer_ctx, &main_ctx);
    }
}

static void round_trip(void)
{
    if (use_fs)
        gs__ctx_switch_fs(&main_ctx, &peer_ctx, peer_tp);
    else
        gs__ctx_switch(&main_ctx, &peer_ctx);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: swap N [fs]\n");
        return 2;
    }
    char *end;
    errno = 0;
    long n = strtol(argv[1], &end, 10);
    if (errno || *end || n <= 0) {
        fprintf(stderr, "swap: bad count '%s'\n", argv[1]);
        return 2;
    }
    use_fs = argc > 2 && strcmp(argv[2], "fs") == 0;
    if (use_fs) {
        if (!(getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE)) {
            fprintf(stderr, "swap: no FSGSBASE here\n");
            return 3;
        }
        /* The peer's thread pointer: a copy of main's TCB header, whose
         * first word points at itself, as a real TCB's does.  Nothing in
         * the peer reads TLS, so the copy need not be complete. */
        main_tp = read_tp();
        static void *peer_tcb[64];
        memcpy(peer_tcb, main_tp, sizeof peer_tcb);
        peer_tcb[0] = peer_tcb;
        peer_tcb[2] = peer_tcb;
        peer_tp = peer_tcb;
    }

    char *stack = malloc(STACK_SIZE);
    if (!stack) {
        perror("swap: malloc");
        return 1;
    }
    gs__ctx_make(&peer_ctx, stack + STACK_SIZE, STACK_SIZE, peer, NULL);

    for (long i = 0; i < WARMUP; i++)
        round_trip();
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        round_trip();
    double t1 = now_ns();

    double per = (t1 - t0) / n;
    fprintf(stderr, "swap%s: %ld round trips in %.3f s, %.1f ns per round trip\n",
            use_fs ? " (with wrfsbase)" : "", n, (t1 - t0) / 1e9, per);
    printf("result ns_per_op=%.1f ops=%ld\n", per, n);
    return 0;
}

/*
 * sleepers — the flagship example: lots of threads that mostly sleep.
 *
 * main starts N threads with default attributes; each one nanosleeps 1 s,
 * then locks a shared mutex and increments a shared counter.  Right after
 * the last pthread_create, main reads the "Threads:" line of
 * /proc/self/status (how many OS threads the process really has while the
 * threads sleep), then joins them all and reports:
 *
 *   count    the counter (= number of threads that ran to completion)
 *   seconds  wall time from the first pthread_create to the last join
 *   threads  the Threads: value read while they slept
 *   rss_mib  peak RSS (VmHWM from /proc/self/status), MiB
 *
 * Natively N=100000 cannot work: every thread is a kernel task and
 * pid_max / vm.max_map_count stop pthread_create near 32k (EAGAIN).  In
 * that case the program reports how many it created and the error, joins
 * those, still prints the figures, and exits with status 3.  Under
 * greenshim all N should be green threads on one OS thread, done in ~1 s.
 *
 * usage:  sleepers [N]          N threads, default 100000
 * output: stdout  "result count=C seconds=S threads=T rss_mib=R
 *                  created=K requested=N error=E"  (E is "none" or e.g. EAGAIN)
 *         stderr  human-readable summary
 * exit:   0 all N created, 3 some pthread_create failed, 1/2 other errors
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

/* Value of a "Key:  <number> ..." line of /proc/self/status, or -1. */
static long proc_status_value(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    size_t klen = strlen(key);
    long v = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtol(line + klen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static void *sleeper(void *arg)
{
    struct timespec ts = { 1, 0 };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
    pthread_mutex_lock(&counter_lock);
    counter++;
    pthread_mutex_unlock(&counter_lock);
    return NULL;
}

int main(int argc, char **argv)
{
    long n = parse_count(argc > 1 ? argv[1] : NULL, 100000);
    pthread_t *tids = malloc(n * sizeof *tids);
    if (!tids) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }

    double t0 = now_s();
    long created = 0;
    int err = 0;
    for (; created < n; created++) {
        err = pthread_create(&tids[created], NULL, sleeper, NULL);
        if (err)
            break;
    }
    double t_created = now_s();
    long threads = proc_status_value("Threads");

    if (err)
        fprintf(stderr, "sleepers: pthread_create failed after %ld of %ld threads: %s\n",
                created, n, strerror(err));

    for (long i = 0; i < created; i++) {
        int rc = pthread_join(tids[i], NULL);
        if (rc) {
            fprintf(stderr, "pthread_join #%ld: %s\n", i, strerror(rc));
            return 1;
        }
    }
    double t1 = now_s();
    long hwm_kib = proc_status_value("VmHWM");
    double rss_mib = hwm_kib / 1024.0;

    fprintf(stderr, "sleepers: %ld/%ld threads created in %.3f s, counter %ld, "
            "%.3f s total, Threads: %ld while sleeping, peak RSS %.1f MiB\n",
            created, n, t_created - t0, counter, t1 - t0, threads, rss_mib);
    printf("result count=%ld seconds=%.3f threads=%ld rss_mib=%.1f created=%ld "
           "requested=%ld error=%s\n",
           counter, t1 - t0, threads, rss_mib, created, n,
           !err ? "none" : strerrorname_np(err) ? strerrorname_np(err) : "unknown");
    free(tids);
    return err ? 3 : 0;
}

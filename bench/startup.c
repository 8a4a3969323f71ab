/*
 * startup — what loading the shim adds to each exec of a program.
 *
 * Runs one command (default /bin/true) in batches, alternately without and
 * with LD_PRELOAD=LIB in its environment (which of the two goes first
 * alternates too), and prints the median over the batches of each mode:
 * wall time per exec and CPU time per exec (the children's user + system
 * time from wait4).  Other programs share the CPU: the alternation puts
 * both modes under the same load, and the CPU time is the figure a busy
 * neighbour disturbs least.
 *
 * The bench program itself never runs under the shim (run it without
 * LD_PRELOAD); only the command does.
 *
 * Several libraries may be given (say an older build and this one): each
 * round then runs native and every library once, in rotating order, so
 * all are compared under the same load.
 *
 * usage:  startup ROUNDS BATCH LIB... [-- COMMAND ARG...]
 *         COMMAND defaults to /bin/true; e.g.
 *         build/bench/startup 21 50 build/libgreenshim.so
 *         build/bench/startup 21 20 old.so build/libgreenshim.so -- /bin/bash -c true
 * output: stdout  "native: ..." then per library one line
 *                 "result lib=<LIB> native_us=<wall> shim_us=<wall> ratio=<shim/native>
 *                  native_cpu_us=<cpu> shim_cpu_us=<cpu> cpu_ratio=<...>
 *                  min_ratio=<...> min_cpu_ratio=<...>"
 *         (min_: the fastest batch of each, the least disturbed by load)
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

/* One mode's environment: the process's own without LD_PRELOAD, plus var
 * (LD_PRELOAD=lib, or for native a variable of about the same length that
 * nothing reads, so both modes copy as much). */
static char **environment_with(const char *var)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 2, sizeof *env);
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			env[k++] = environ[i];
	env[k++] = (char *)var;
	env[k] = NULL;
	return env;
}

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static double rusage_us(const struct rusage *r)
{
	return (r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1e6 + r->ru_utime.tv_usec +
	       r->ru_stime.tv_usec;
}

/* Runs argv batch times in env; adds the wall and CPU time per exec.
 * Returns 0, or -1 if a run could not start or did not exit with 0. */
static int run_batch(char **argv, char **env, int batch, double *wall_us, double *cpu_us)
{
	double cpu = 0, start = now_us();
	for (int i = 0; i < batch; i++) {
		pid_t pid;
		int err = posix_spawn(&pid, argv[0], NULL, NULL, argv, env);
		if (err) {
			fprintf(stderr, "startup: %s: %s\n", argv[0], strerror(err));
			return -1;
		}
		int status;
		struct rusage ru;
		if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "startup: %s did not exit with 0\n", argv[0]);
			return -1;
		}
		cpu += rusage_us(&ru);
	}
	*wall_us = (now_us() - start) / batch;
	*cpu_us = cpu / batch;
	return 0;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof *v, by_value);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: startup ROUNDS BATCH LIB... [-- COMMAND ARG...]\n");
		return 2;
	}
	int rounds = atoi(argv[1]), batch = atoi(argv[2]);
	if (rounds < 1 || batch < 1) {
		fprintf(stderr, "startup: ROUNDS and BATCH must be positive\n");
		return 2;
	}
	static char *default_cmd[] = { "/bin/true", NULL };
	char **cmd = default_cmd;
	int nlibs = 0;
	while (3 + nlibs < argc && strcmp(argv[3 + nlibs], "--") != 0)
		nlibs++;
	if (3 + nlibs + 1 < argc)
		cmd = argv + 3 + nlibs + 1;
	if (nlibs < 1) {
		fprintf(stderr, "startup: no library given\n");
		return 2;
	}

	/* mode 0: native; mode m >= 1: under argv[2 + m] */
	int nmodes = nlibs + 1;
	char ***modes = calloc(nmodes, sizeof *modes);
	double **wall = calloc(nmodes, sizeof *wall), **cpu = calloc(nmodes, sizeof *cpu);
	if (!modes || !wall || !cpu)
		return 2;
	for (int m = 0; m < nmodes; m++) {
		const char *lib = argv[3 + (m ? m - 1 : 0)];
		size_t len = strlen(lib) + 12;
		char *var = malloc(len);
		if (!var)
			return 2;
		snprintf(var, len, "%s=%s", m ? "LD_PRELOAD" : "GS_NOTHING", lib);
		modes[m] = environment_with(var);
		wall[m] = calloc(rounds, sizeof(double));
		cpu[m] = calloc(rounds, sizeof(double));
		if (!modes[m] || !wall[m] || !cpu[m])
			return 2;
	}

	/* A warm-up batch of each, so page cache and branch history are warm. */
	double w, c;
	for (int m = 0; m < nmodes; m++)
		if (run_batch(cmd, modes[m], batch, &w, &c))
			return 1;
	/* Each round runs every mode once, starting with a different one. */
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < nmodes; k++) {
			int m = (r + k) % nmodes;
			if (run_batch(cmd, modes[m], batch, &wall[m][r], &cpu[m][r]))
				return 1;
		}

	/* median() sorts: the fastest batch is then the first. */
	double nw = median(wall[0], rounds), nc = median(cpu[0], rounds);
	printf("native: %.1f us/exec wall, %.1f us/exec cpu (fastest batch %.1f, %.1f)\n", nw, nc,
	       wall[0][0], cpu[0][0]);
	for (int m = 1; m < nmodes; m++) {
		double sw = median(wall[m], rounds), sc = median(cpu[m], rounds);
		printf("result lib=%s native_us=%.1f shim_us=%.1f ratio=%.3f native_cpu_us=%.1f "
		       "shim_cpu_us=%.1f cpu_ratio=%.3f min_ratio=%.3f min_cpu_ratio=%.3f\n",
		       argv[2 + m], nw, sw, sw / nw, nc, sc, sc / nc, wall[m][0] / wall[0][0],
		       cpu[m][0] / cpu[0][0]);
	}
	return 0;
}

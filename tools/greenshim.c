/* greenshim: the command.
 *
 *   greenshim run [OPTIONS] -- CMD [ARGS...]   run CMD with its threads greened
 *   greenshim ps [--sample S] [PID]            green threads of PID, or the greened processes
 *   greenshim top [OPTIONS] PID                the same, refreshed
 *   greenshim trace PID -o FILE [--seconds S]  record every switch as a trace (Perfetto)
 *   greenshim trace --summary FILE             sum a trace up per thread
 *
 * Here: the dispatch, and what the subcommands share (tool.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool.h"

volatile sig_atomic_t gs_tool_stopping;

static void usage(FILE *f)
{
	fprintf(f, "usage: greenshim run [--no-time] [--no-thread] [--no-socket] [--no-os] "
		   "[--no-select] [--lib PATH] -- CMD [ARGS...]\n"
		   "       greenshim ps [--sample SECONDS] [PID]\n"
		   "       greenshim top [--interval SECONDS] [--sort cpu|switches] "
		   "[--iterations N] PID\n"
		   "       greenshim trace PID -o FILE.json [--seconds SECONDS]\n"
		   "       greenshim trace --summary FILE.json\n");
}

void gs_tool_error(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	fprintf(stderr, "greenshim: %s\n", buf);
}

static void on_stop_signal(int sig)
{
	gs_tool_stopping = sig;
}

void gs_tool_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal }; /* no SA_RESTART: sleeps end */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int gs_tool_sleep(unsigned long long ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) };
	while (!gs_tool_stopping && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return gs_tool_stopping ? -1 : 0;
}

int gs_parse_pid(const char *s, int *pid)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v <= 0 || v > 0x7fffffff || s[0] == '+' || s[0] == ' ')
		return -1;
	*pid = (int)v;
	return 0;
}

int gs_parse_seconds(const char *s, double *secs)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(v) || v < 0 || v > 1e6)
		return -1;
	*secs = v;
	return 0;
}

int gs_tool_arg(int argc, char **argv, int *i, const char *opt, const char *example,
		double *secs, int *pid, void (*usage)(FILE *f))
{
	const char *a = argv[*i];
	size_t n = strlen(opt);
	if (!strncmp(a, opt, n) && (a[n] == 0 || a[n] == '=')) {
		const char *v = a[n] == '=' ? a + n + 1 : *i + 1 < argc ? argv[++*i] : NULL;
		if (!v || gs_parse_seconds(v, secs) != 0) {
			gs_tool_error("%s takes seconds, as %s", opt, example);
			return 2;
		}
		return -1;
	}
	if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
		usage(stdout);
		return 0;
	}
	if (a[0] == '-')
		gs_tool_error("unknown option %s", a);
	else if (*pid)
		gs_tool_error("one PID at a time");
	else if (gs_parse_pid(a, pid) != 0)
		gs_tool_error("not a PID: '%s'", a);
	else
		return -1;
	usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	static const struct {
		const char *name;
		int (*run)(int, char **);
	} commands[] = {
		{ "run", gs_cmd_run },
		{ "ps", gs_cmd_ps },
		{ "top", gs_cmd_top },
		{ "trace", gs_cmd_trace },
	};
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 2, argv + 2);
	fprintf(stderr, "greenshim: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

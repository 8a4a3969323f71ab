/* greenshim: the command.
 *
 *   greenshim run [OPTIONS] [--] CMD [ARGS...] run CMD with its threads greened
 *   greenshim ps [--sample S] [PID]            green threads of PID, or the greened processes
 *   greenshim top [OPTIONS] PID                the same, refreshed
 *   greenshim trace PID -o FILE [--seconds S]  record every switch as a trace (Perfetto)
 *   greenshim trace --summary FILE             sum a trace up per thread
 *   greenshim help [COMMAND], greenshim --version
 *
 * Here: the dispatch, and what the subcommands share (tool.h).  The
 * manual (man/greenshim.1) and the completion
 * (tools/greenshim.bash-completion) follow these options: change them
 * together. */
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
	fprintf(f,
		"usage: greenshim COMMAND [ARGS...]\n"
		"\n"
		"Runs programs with their threads greened (libgreenshim.so preloaded) and\n"
		"shows the green threads of running processes.\n"
		"\n"
		"commands:\n"
		"  run [OPTIONS] [--] CMD [ARGS...]      run CMD with its threads greened\n"
		"  ps [--sample SECONDS] [PID]           every green thread of PID and what it\n"
		"                                        waits on; without PID, the greened\n"
		"                                        processes\n"
		"  top [OPTIONS] PID                     the same, refreshed\n"
		"  trace PID -o FILE.json [--seconds S]  record every switch of PID, for\n"
		"                                        ui.perfetto.dev or chrome://tracing\n"
		"  trace --summary FILE.json             run time, runs and waits per thread\n"
		"  help [COMMAND]                        COMMAND's options (COMMAND --help)\n"
		"\n"
		"options:\n"
		"  -h, --help                            this help\n"
		"  --version                             the version and build configuration\n"
		"\n"
		"Exit status: 0 done; 1 the process or a file is not what it should be;\n"
		"2 bad usage; 3 the process belongs to another user.  run exits with CMD's\n"
		"status, or 126 (CMD cannot be executed) or 127 (no such CMD).\n"
		"See greenshim(1) and libgreenshim(7).\n");
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
			return GS_EXIT_USAGE;
		}
		return -1;
	}
	if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
		usage(stdout);
		return GS_EXIT_OK;
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
	return GS_EXIT_USAGE;
}

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "run", gs_cmd_run },
	{ "ps", gs_cmd_ps },
	{ "top", gs_cmd_top },
	{ "trace", gs_cmd_trace },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

/* `greenshim help [COMMAND]`: the command's own --help. */
static int help(int argc, char **argv)
{
	if (argc == 0) {
		usage(stdout);
		return GS_EXIT_OK;
	}
	const struct command *c = argc == 1 ? find_command(argv[0]) : NULL;
	if (argc > 1)
		gs_tool_error("help takes one command");
	else if (!c)
		gs_tool_error("unknown command '%s'", argv[0]);
	if (!c) {
		usage(stderr);
		return GS_EXIT_USAGE;
	}
	char *args[] = { (char *)"--help", NULL };
	return c->run(1, args);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return GS_EXIT_USAGE;
	}
	const char *a = argv[1];
	if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
		usage(stdout);
		return GS_EXIT_OK;
	}
	if (!strcmp(a, "--version")) {
		gs_print_version(stdout);
		return GS_EXIT_OK;
	}
	if (!strcmp(a, "help"))
		return help(argc - 2, argv + 2);
	const struct command *c = find_command(a);
	if (c)
		return c->run(argc - 2, argv + 2);
	if (a[0] == '-')
		gs_tool_error("unknown option %s", a);
	else
		gs_tool_error("unknown command '%s'", a);
	usage(stderr);
	return GS_EXIT_USAGE;
}

/* The greenshim command: its subcommands and what they share.
 *
 * Every subcommand returns the process exit status (enum gs_exit; `run`
 * becomes its command, or fails with 126/127 as a shell would). */
#ifndef GS_TOOL_H
#define GS_TOOL_H

#include <signal.h>
#include <stdio.h>

/* Exit statuses, as greenshim(1) documents them. */
enum gs_exit {
	GS_EXIT_OK = 0,
	GS_EXIT_FAIL = 1,       /* the target or a file is not what it should be (one line says why) */
	GS_EXIT_USAGE = 2,      /* bad usage: one line, then the usage, on stderr */
	GS_EXIT_DENIED = 3,     /* the process belongs to another user (only root may look) */
	GS_EXIT_NOEXEC = 126,   /* run: the command was found but could not be executed */
	GS_EXIT_NOTFOUND = 127, /* run: no such command */
};

int gs_cmd_run(int argc, char **argv);   /* run.c */
int gs_cmd_ps(int argc, char **argv);    /* ps.c */
int gs_cmd_top(int argc, char **argv);   /* top.c */
int gs_cmd_trace(int argc, char **argv); /* trace.c (and trace_summary.c) */
int gs_trace_summary(const char *path);  /* trace_summary.c */
void gs_print_version(FILE *f);          /* version.c: version and build configuration */

/* One line "greenshim: ..." on stderr. */
void gs_tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Set by SIGINT, SIGTERM and SIGHUP once gs_tool_catch_signals ran:
 * loops that sample or trace stop, detach from the target and exit
 * cleanly instead of dying attached. */
extern volatile sig_atomic_t gs_tool_stopping;
void gs_tool_catch_signals(void);

/* Sleeps ns nanoseconds or until gs_tool_stopping; 0, or -1 if stopped. */
int gs_tool_sleep(unsigned long long ns);

/* Parses a command line number: a pid (> 0) or seconds (>= 0, finite). */
int gs_parse_pid(const char *s, int *pid);
int gs_parse_seconds(const char *s, double *secs);

/* One argument of a subcommand that takes options and one PID (ps,
 * trace), argv[*i], if it is one of those they share: the seconds option
 * `opt` ("--sample S" or "--sample=S"; *i moves past a separate S),
 * -h/--help, or the PID; any other argument starting with '-' is an
 * unknown option.  Returns -1 when it took the argument (go on), else the
 * subcommand's exit status: 0 after --help (usage on stdout), 2 after bad
 * usage (one line on stderr, then the usage, except for a bad S, where
 * the line shows `example`). */
int gs_tool_arg(int argc, char **argv, int *i, const char *opt, const char *example,
		double *secs, int *pid, void (*usage)(FILE *f));

#endif

/* The greenshim command: `run` sets LD_PRELOAD and the opt-out flags and
 * execs the command; bad usage is a clear error with exit status 2. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char tool[PATH_MAX + 32], lib[PATH_MAX + 32];

/* Runs cmd through sh, returns its exit status and stdout+stderr. */
static int run(const char *cmd, char *out, size_t size)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	size_t n = fread(out, 1, size - 1, p);
	out[n] = 0;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_run_sets_preload_and_flags(void **state)
{
	char cmd[2 * PATH_MAX + 128], out[65536], want[PATH_MAX + 64];
	snprintf(cmd, sizeof cmd, "env -u LD_PRELOAD %s run --no-thread --no-time -- env 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	snprintf(want, sizeof want, "LD_PRELOAD=%s\n", lib);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "GREENSHIM_THREAD=0\n"));
	assert_non_null(strstr(out, "GREENSHIM_TIME=0\n"));
	assert_null(strstr(out, "GREENSHIM_SOCKET="));
}

static void test_run_keeps_existing_preload(void **state)
{
	char cmd[2 * PATH_MAX + 128], out[65536], want[PATH_MAX + 64];
	snprintf(cmd, sizeof cmd, "LD_PRELOAD=libfoo.so %s run -- env 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 0);
	snprintf(want, sizeof want, "LD_PRELOAD=%s:libfoo.so\n", lib);
	assert_non_null(strstr(out, want));
}

static void test_bad_usage_is_a_clear_error(void **state)
{
	char cmd[2 * PATH_MAX + 128], out[4096];
	snprintf(cmd, sizeof cmd, "%s run --no-such-flag -- true 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 2);
	assert_non_null(strstr(out, "unknown option --no-such-flag"));
	snprintf(cmd, sizeof cmd, "%s run --no-os 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 2);
	assert_non_null(strstr(out, "no command given"));
	snprintf(cmd, sizeof cmd, "%s frobnicate 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 2);
	assert_non_null(strstr(out, "unknown command 'frobnicate'"));
	snprintf(cmd, sizeof cmd, "%s run -- /nonexistent/program 2>&1", tool);
	assert_int_equal(run(cmd, out, sizeof out), 127);
	assert_non_null(strstr(out, "/nonexistent/program"));
}

int main(int argc, char **argv)
{
	/* This binary is BUILD/tests/unit/test_tool; the tool is BUILD/greenshim. */
	char self[PATH_MAX];
	if (!realpath(argv[0], self))
		return 1;
	for (int i = 0; i < 3; i++)
		*strrchr(self, '/') = 0;
	snprintf(tool, sizeof tool, "%s/greenshim", self);
	snprintf(lib, sizeof lib, "%s/libgreenshim.so", self);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_sets_preload_and_flags),
		cmocka_unit_test(test_run_keeps_existing_preload),
		cmocka_unit_test(test_bad_usage_is_a_clear_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

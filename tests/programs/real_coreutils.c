/*
 * real_coreutils — runs a few everyday binaries (inherited LD_PRELOAD puts
 * them under the shim too) and prints what they printed and how they
 * ended.  ls links libselinux, whose constructor reads /proc/filesystems
 * with fopen and getline before the shim's own constructor has run: the
 * interposers must work before initialisation.  sort and a shell pipeline
 * exercise pipes between greened processes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

/* Runs argv with stdout into a pipe read with read(); prints both. */
static void run(const char *label, char *const argv[])
{
	int p[2];
	if (pipe(p) != 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	char buf[4096];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof buf - 1 && (r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(p[0]);
	int st;
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	printf("%s: exit %d, output:\n%s", label, WIFEXITED(st) ? WEXITSTATUS(st) : -1, buf);
}

int main(void)
{
	run("ls", (char *[]){ "ls", "-d", "/", "/etc", "/usr", NULL });
	run("sort", (char *[]){ "sh", "-c", "printf 'b\\nc\\na\\n' | sort -r", NULL });
	run("pipeline", (char *[]){ "sh", "-c", "seq 1 20000 | sort -n | tail -n 1", NULL });
	run("missing", (char *[]){ "/nonexistent/program", NULL });
	return 0;
}

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

#include "runcmd.h"

/* Runs argv with stdout into a pipe read with read(); prints both. */
static void run(const char *label, char *const argv[])
{
	int rfd;
	pid_t pid = spawn_piped(argv, 1, 0, NULL, &rfd);
	char buf[4096];
	read_all(rfd, buf, sizeof buf);
	close(rfd);
	int st = reap(pid);
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

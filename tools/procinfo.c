/* What /proc tells about another process's fds and memory: procinfo.h. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procinfo.h"

int gs_process_gone(int pid)
{
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return 1;
	char name[64], stat[512];
	snprintf(name, sizeof name, "/proc/%d/stat", pid);
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	ssize_t n = read(fd, stat, sizeof stat - 1);
	close(fd);
	if (n <= 0)
		return 0;
	stat[n] = 0;
	/* "pid (comm) S ...": comm may hold spaces and parentheses. */
	const char *close_paren = strrchr(stat, ')');
	return close_paren && close_paren[1] == ' ' && (close_paren[2] == 'Z' || close_paren[2] == 'X');
}

int gs_process_uids(int pid, uid_t *ruid, uid_t *euid)
{
	char name[64], line[256];
	snprintf(name, sizeof name, "/proc/%d/status", pid);
	FILE *f = fopen(name, "re");
	if (!f)
		return -1;
	int found = 0;
	while (!found && fgets(line, sizeof line, f)) {
		unsigned long r, e;
		found = sscanf(line, "Uid: %lu %lu", &r, &e) == 2;
		if (found) {
			*ruid = (uid_t)r;
			*euid = (uid_t)e;
		}
	}
	fclose(f);
	return found ? 0 : -1;
}

/* The passwd entry's name, or NULL. */
static const char *passwd_name(uid_t uid, char *scratch, size_t size)
{
	struct passwd pw, *found = NULL;
	if (getpwuid_r(uid, &pw, scratch, size, &found) != 0 || !found || !found->pw_name[0])
		return NULL;
	return found->pw_name;
}

char *gs_user_describe(uid_t uid, char *buf, size_t size)
{
	char scratch[1024];
	const char *name = passwd_name(uid, scratch, sizeof scratch);
	if (name)
		snprintf(buf, size, "user %s (uid %u)", name, (unsigned)uid);
	else
		snprintf(buf, size, "uid %u", (unsigned)uid);
	return buf;
}

char *gs_user_name(uid_t uid, char *buf, size_t size)
{
	char scratch[1024];
	const char *name = passwd_name(uid, scratch, sizeof scratch);
	if (name)
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "%u", (unsigned)uid);
	return buf;
}

char *gs_fd_describe(int pid, int fd, char *buf, size_t size)
{
	char link[64], target[4096];
	snprintf(link, sizeof link, "/proc/%d/fd/%d", pid, fd);
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n < 0) {
		snprintf(buf, size, "%s", errno == ENOENT ? "closed" : "?");
		return buf;
	}
	target[n] = 0;
	/* "pipe:[123]", "socket:[456]": the kind; "anon_inode:[eventfd]" or
	 * "anon_inode:inotify": the inode's name; anything else is a path. */
	const char *kinds[] = { "pipe:[", "socket:[" };
	for (size_t i = 0; i < 2; i++)
		if (!strncmp(target, kinds[i], strlen(kinds[i]))) {
			snprintf(buf, size, "%.*s", (int)strlen(kinds[i]) - 2, kinds[i]);
			return buf;
		}
	if (!strncmp(target, "anon_inode:", 11)) {
		const char *what = target + 11;
		size_t len = strlen(what);
		if (what[0] == '[' && len >= 2 && what[len - 1] == ']') {
			what++;
			len -= 2;
		}
		if (len == 9 && !strncmp(what, "eventpoll", 9))
			snprintf(buf, size, "epoll");
		else
			snprintf(buf, size, "%.*s", (int)len, what);
		return buf;
	}
	snprintf(buf, size, "%s", target);
	return buf;
}

int gs_pagemap_open(int pid)
{
	char name[64];
	snprintf(name, sizeof name, "/proc/%d/pagemap", pid);
	return open(name, O_RDONLY | O_CLOEXEC);
}

int64_t gs_stack_touched(int pagemap_fd, uint64_t lo, uint64_t size)
{
	if (pagemap_fd < 0 || size == 0)
		return -1;
	const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	const uint64_t present = 1ULL << 63, swapped = 1ULL << 62;
	uint64_t first = lo / page, end = (lo + size + page - 1) / page; /* pages [first, end) */
	uint64_t touched = 0;
	/* From the top down, 64 entries (one read) at a time: most stacks
	 * touch a few pages, so one read answers. */
	while (end > first) {
		uint64_t entries[64];
		uint64_t n = end - first < 64 ? end - first : 64;
		off_t at = (off_t)((end - n) * sizeof(uint64_t));
		ssize_t want = (ssize_t)(n * sizeof(uint64_t));
		if (pread(pagemap_fd, entries, (size_t)want, at) != want)
			return touched ? (int64_t)(touched * page) : -1;
		for (uint64_t i = n; i-- > 0;) {
			if (!(entries[i] & (present | swapped)))
				return (int64_t)(touched * page);
			touched++;
		}
		end -= n;
	}
	return (int64_t)(touched * page);
}

/*
 * tls_probe_seccomp — a seccomp filter that kills the process on a call
 * the program never makes (process_vm_readv) does not kill it under the
 * shim.
 *
 * The shim looks for malloc's per-thread cache in libc's TLS at the first
 * hub, reading words that may not be pointers; it must do so with calls
 * any program may make.  The filter kills (or, with "trap", sends SIGSYS
 * for) process_vm_readv; the program then blocks (the first hub), runs
 * threads that allocate, and says so.
 *
 * TLS_PROBE_SECCOMP=trap in the environment traps instead of killing.
 */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testutil.h"

static void *allocate(void *arg)
{
	usleep(1000);
	void *p[50];
	for (int i = 0; i < 50; i++)
		if (!(p[i] = malloc(40)))
			die("malloc");
	for (int i = 0; i < 50; i++)
		free(p[i]);
	return arg;
}

int main(void)
{
	const char *mode = getenv("TLS_PROBE_SECCOMP") ? getenv("TLS_PROBE_SECCOMP") : "kill";
	unsigned action = strcmp(mode, "trap") == 0 ? SECCOMP_RET_TRAP : SECCOMP_RET_KILL_PROCESS;
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_readv, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof f / sizeof f[0], f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		die("seccomp");
	usleep(1000); /* the first blocking call */
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		must(pthread_create(&t[i], NULL, allocate, (void *)i), "pthread_create");
	long sum = 0;
	for (int i = 0; i < 4; i++) {
		void *r;
		must(pthread_join(t[i], &r), "pthread_join");
		sum += (long)r;
	}
	printf("%s: threads done, sum %ld\n", mode, sum);
	return 0;
}

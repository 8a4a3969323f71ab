/* posix_spawn and posix_spawnp: the child shares the parent's open file
 * descriptions, but no fork handler runs (glibc clones with CLONE_VFORK),
 * so the fd table hears of it here: no fd is this process's alone any
 * more (fdkind.h, GS_FDV_OWN), and a blocking mode the child may change is
 * looked at on every wait again.  popen and system do the same (fdmake.c,
 * system.c).  vfork cannot be wrapped (the child would return through the
 * wrapper's frame): README. */
#include <spawn.h>

#include "config.h"
#include "fdkind.h"
#include "real.h"

GS_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	gs_fd_shared_all();
	return GS_REAL(posix_spawn)(pid, path, actions, attr, argv, envp);
}

GS_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
			   const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	gs_fd_shared_all();
	return GS_REAL(posix_spawnp)(pid, file, actions, attr, argv, envp);
}

/* Changing the process's user and group ids from a green thread (thread
 * subsystem, with TLS per green thread).
 *
 * In a process with more than one real thread (the shim's DNS workers are
 * real), glibc's setuid & co. signal every other thread on its own lists
 * (SIGSETXID) and wait until each has made the same change: credentials
 * are per kernel thread.  The OS thread's own TCB is on those lists, and
 * its kernel tid is our own: the signal arrives on this OS thread, where
 * glibc's handler clears the request bit of the running TCB, a green one,
 * so the OS thread's bit stays set and glibc signals again, for ever.  So
 * the real call runs with the OS thread's TCB installed: then it is the
 * caller to glibc, and is skipped as such.  The calls never park. */
#include <grp.h>
#include <unistd.h>

#include "config.h"
#include "real.h"

#define AS_OS_THREAD(ret, name, params, ...)                                                   \
	GS_EXPORT ret name params                                                                \
	{                                                                                        \
		void *saved = gs_tls_os_tcb_enter();                                             \
		ret result_ = GS_REAL(name)(__VA_ARGS__);                                        \
		gs_tls_os_tcb_leave(saved);                                                      \
		return result_;                                                                  \
	}

AS_OS_THREAD(int, setuid, (uid_t u), u)
AS_OS_THREAD(int, setgid, (gid_t g), g)
AS_OS_THREAD(int, seteuid, (uid_t u), u)
AS_OS_THREAD(int, setegid, (gid_t g), g)
AS_OS_THREAD(int, setreuid, (uid_t r, uid_t e), r, e)
AS_OS_THREAD(int, setregid, (gid_t r, gid_t e), r, e)
AS_OS_THREAD(int, setresuid, (uid_t r, uid_t e, uid_t s), r, e, s)
AS_OS_THREAD(int, setresgid, (gid_t r, gid_t e, gid_t s), r, e, s)
AS_OS_THREAD(int, setgroups, (size_t n, const gid_t *list), n, list)

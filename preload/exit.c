/* _exit and _Exit end the process without atexit handlers; the shim still
 * writes a GREENSHIM_TRACE file and removes its published state (what
 * exit() does through atexit), then calls the real one.  exit() itself is
 * not interposed. */
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "real.h"

static void ending(void)
{
	gs_init(); /* at once if done: GREENSHIM_TRACE must have been read */
	gs_process_ending();
}

GS_EXPORT void _exit(int status)
{
	ending();
	GS_REAL(_exit)(status);
	__builtin_unreachable();
}

GS_EXPORT void _Exit(int status)
{
	ending();
	GS_REAL(_Exit)(status);
	__builtin_unreachable();
}

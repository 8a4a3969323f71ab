/* `greenshim --version`: the version and what this build chose.
 *
 * The Makefile passes the build's choices as -D defines to this file only
 * (GS_VERSION, GS_REVISION, GS_BUILD_*; it rebuilds it when they change);
 * build.h holds the defaults of a build that did not. */
#include <ev.h>
#include <stdio.h>

#include "build.h"
#include "published.h"
#include "tool.h"

void gs_print_version(FILE *f)
{
	fprintf(f, "greenshim %s%s%s%s\n", GS_VERSION, GS_REVISION[0] ? " (" : "", GS_REVISION,
		GS_REVISION[0] ? ")" : "");
	fprintf(f, "context switch:  %s\n",
		GS_BUILD_CTX_ASM ? "assembly (scheduler/ctx_" GS_BUILD_ARCH ".S)"
				 : "ucontext (scheduler/ctx_ucontext.c)");
	fprintf(f, "thread-local:    %s\n",
		GS_BUILD_TLS ? "each green thread its own (GREENSHIM_TLS=0 shares the OS thread's)"
			     : "shared by the green threads of an OS thread (no TLS switching on "
			       GS_BUILD_ARCH ")");
	if (GS_BUILD_PUBLISH)
		fprintf(f, "inspector:       published in /dev/shm/greenshim-UID-PID (layout %u): "
			   "ps, top, trace\n",
			GS_PUB_VERSION);
	else
		fprintf(f, "inspector:       compiled out (GS_NO_PUBLISH): ps, top and trace see "
			   "nothing\n");
	fprintf(f, "valgrind hooks:  %s\n",
		GS_BUILD_VALGRIND ? "yes (green stacks are announced to valgrind)" : "no");
	fprintf(f, "libev:           %d.%d (headers)\n", EV_VERSION_MAJOR, EV_VERSION_MINOR);
	fprintf(f, "compiler:        %s (%s)\n", GS_BUILD_CC, __VERSION__);
	fprintf(f, "CFLAGS:          %s\n", GS_BUILD_CFLAGS);
}

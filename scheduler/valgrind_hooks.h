/* Telling valgrind about green stacks: without it, a switch looks like a
 * huge stack-pointer jump and every access to another stack an error.
 * And whether we run on valgrind (which lacks some system calls and
 * instructions: process_madvise, wrfsbase).
 * The macros cost a few instructions outside valgrind; without the header
 * they are empty. */
#ifndef GS_VALGRIND_HOOKS_H
#define GS_VALGRIND_HOOKS_H

#if defined(__has_include) && __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define GS_VG_STACK_REGISTER(lo, hi) VALGRIND_STACK_REGISTER((lo), (hi))
#define GS_VG_STACK_DEREGISTER(id) VALGRIND_STACK_DEREGISTER(id)
#define GS_VG_RUNNING() RUNNING_ON_VALGRIND
#else
#define GS_VG_STACK_REGISTER(lo, hi) 0u
#define GS_VG_STACK_DEREGISTER(id) ((void)(id))
#define GS_VG_RUNNING() 0
#endif

#endif

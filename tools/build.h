/* What the build chose, for `greenshim --version` (version.c).  The
 * Makefile defines each of these; the defaults below describe a build
 * that did not, from what the compiler says. */
#ifndef GS_BUILD_H
#define GS_BUILD_H

#ifndef GS_VERSION
#define GS_VERSION "(unknown version)"
#endif
#ifndef GS_REVISION
#define GS_REVISION ""         /* git describe of the tree built, if any */
#endif
#ifndef GS_BUILD_ARCH
#if defined(__x86_64__)
#define GS_BUILD_ARCH "x86_64"
#else
#define GS_BUILD_ARCH "this machine"
#endif
#endif
/* 1: the hand-written switch (scheduler/ctx_ARCH.S); 0: ucontext. */
#ifndef GS_BUILD_CTX_ASM
#if defined(__x86_64__) && !defined(GS_CTX_UCONTEXT)
#define GS_BUILD_CTX_ASM 1
#else
#define GS_BUILD_CTX_ASM 0
#endif
#endif
/* 1: each green thread its own TLS and TCB (scheduler/tls.c, x86_64). */
#ifndef GS_BUILD_TLS
#if defined(__x86_64__)
#define GS_BUILD_TLS 1
#else
#define GS_BUILD_TLS 0
#endif
#endif
/* 0: the library was built with -DGS_NO_PUBLISH (no inspector). */
#ifndef GS_BUILD_PUBLISH
#if defined(GS_NO_PUBLISH)
#define GS_BUILD_PUBLISH 0
#else
#define GS_BUILD_PUBLISH 1
#endif
#endif
/* 1: valgrind's client requests are compiled in (scheduler/valgrind_hooks.h
 * decides the same way). */
#if defined(__has_include) && __has_include(<valgrind/valgrind.h>)
#define GS_BUILD_VALGRIND 1
#else
#define GS_BUILD_VALGRIND 0
#endif
#ifndef GS_BUILD_CC
#define GS_BUILD_CC "cc"
#endif
#ifndef GS_BUILD_CFLAGS
#define GS_BUILD_CFLAGS "(not recorded)"
#endif

#endif

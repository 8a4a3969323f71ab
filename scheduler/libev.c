/* libev, loaded when the first hub is made.
 *
 * The shim has no DT_NEEDED on libev.so.4: a program that never waits on
 * a hub (most short-lived programs a shell runs) never maps it.  The
 * functions of libev the scheduler calls are defined below, not exported,
 * under libev's own names (so every caller keeps calling ev_io_start &
 * co., checked against ev.h's prototypes): each forwards to the real one.
 * ev_loop_new loads the library first; every other call takes a loop, and
 * a loop exists only once ev_loop_new has loaded it.
 *
 * libev is BIND_NOW (as Debian builds it) and opened RTLD_NOW: its
 * references are bound as it is mapped, to our interposers first (the
 * global scope comes before its own), as when it was a dependency.
 * RTLD_LOCAL: a program that does not link libev does not find its names
 * with dlsym(RTLD_DEFAULT), as natively. */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>

#include "internal.h"

/* X(return type, name, parameters, arguments): the calls that return a
 * value, then those that do not. */
#define GS_LIBEV_VALUE_FUNCTIONS(X)                                      \
	X(struct ev_loop *, ev_loop_new, (unsigned int flags), (flags))  \
	X(int, ev_run, (struct ev_loop * loop, int flags), (loop, flags)) \
	X(void *, ev_userdata, (struct ev_loop * loop), (loop))
#define GS_LIBEV_VOID_FUNCTIONS(X)                                                              \
	X(ev_loop_destroy, (struct ev_loop * loop), (loop))                                      \
	X(ev_loop_fork, (struct ev_loop * loop), (loop))                                         \
	X(ev_now_update, (struct ev_loop * loop), (loop))                                        \
	X(ev_set_userdata, (struct ev_loop * loop, void *data), (loop, data))                    \
	X(ev_set_loop_release_cb,                                                                \
	  (struct ev_loop * loop, void (*release)(struct ev_loop *), void (*acquire)(struct ev_loop *)), \
	  (loop, release, acquire))                                                              \
	X(ev_io_start, (struct ev_loop * loop, ev_io *w), (loop, w))                             \
	X(ev_io_stop, (struct ev_loop * loop, ev_io *w), (loop, w))                              \
	X(ev_timer_start, (struct ev_loop * loop, ev_timer *w), (loop, w))                       \
	X(ev_timer_stop, (struct ev_loop * loop, ev_timer *w), (loop, w))                        \
	X(ev_periodic_start, (struct ev_loop * loop, ev_periodic *w), (loop, w))                 \
	X(ev_periodic_stop, (struct ev_loop * loop, ev_periodic *w), (loop, w))                  \
	X(ev_async_start, (struct ev_loop * loop, ev_async *w), (loop, w))                       \
	X(ev_async_stop, (struct ev_loop * loop, ev_async *w), (loop, w))                        \
	X(ev_async_send, (struct ev_loop * loop, ev_async *w), (loop, w))

/* libev's functions, filled by load(). */
static struct {
#define GS_LIBEV_VALUE_FIELD(ret, name, params, args) ret(*name) params;
#define GS_LIBEV_VOID_FIELD(name, params, args) void(*name) params;
	GS_LIBEV_VALUE_FUNCTIONS(GS_LIBEV_VALUE_FIELD)
	GS_LIBEV_VOID_FUNCTIONS(GS_LIBEV_VOID_FIELD)
#undef GS_LIBEV_VALUE_FIELD
#undef GS_LIBEV_VOID_FIELD
} real;

/* 0: not tried yet, 1: loaded, -1: libev or one of its functions missing
 * (said once).  Two OS threads making their first hubs at once both load:
 * dlopen hands both the same object, and they store the same values. */
static _Atomic int state;

static int load(void)
{
	int st = atomic_load_explicit(&state, memory_order_acquire);
	if (st)
		return st > 0;
	void *h = dlopen("libev.so.4", RTLD_NOW | RTLD_LOCAL);
	int ok = h != NULL;
#define GS_LIBEV_VALUE_LOAD(ret, name, params, args) \
	ok = ok && (*(void **)&real.name = dlsym(h, #name)) != NULL;
#define GS_LIBEV_VOID_LOAD(name, params, args) \
	ok = ok && (*(void **)&real.name = dlsym(h, #name)) != NULL;
	GS_LIBEV_VALUE_FUNCTIONS(GS_LIBEV_VALUE_LOAD)
	GS_LIBEV_VOID_FUNCTIONS(GS_LIBEV_VOID_LOAD)
#undef GS_LIBEV_VALUE_LOAD
#undef GS_LIBEV_VOID_LOAD
	if (!ok)
		gs_warn("greenshim: cannot load libev.so.4: %s", h ? "a function is missing" : dlerror());
	atomic_store_explicit(&state, ok ? 1 : -1, memory_order_release);
	return ok;
}

void *gs__libev_text(void)
{
	return load() ? (void *)real.ev_run : NULL;
}

/* The first call: without libev there is no loop, and the hub is not made
 * (hub.c reports it with errno). */
struct ev_loop *ev_loop_new(unsigned int flags)
{
	if (!load()) {
		errno = ELIBACC;
		return NULL;
	}
	return real.ev_loop_new(flags);
}

int ev_run(struct ev_loop *loop, int flags)
{
	return real.ev_run(loop, flags);
}

void *ev_userdata(struct ev_loop *loop)
{
	return real.ev_userdata(loop);
}

#define GS_LIBEV_FORWARDER(name, params, args) \
	void name params                       \
	{                                      \
		real.name args;                \
	}
GS_LIBEV_VOID_FUNCTIONS(GS_LIBEV_FORWARDER)
#undef GS_LIBEV_FORWARDER

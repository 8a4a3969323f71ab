# greenshim — see README.md.  `make` builds build/libgreenshim.so and
# build/greenshim; `make check` runs every test; `make bench` the benchmarks.
CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
ARCH    := $(shell uname -m)

CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wno-unused-parameter
BASE    := -std=gnu11 $(WARN) -D_GNU_SOURCE -I. -Ischeduler -Ipreload
# Link-time optimisation lets the hot paths inline across the files of
# scheduler/ and preload/ (condvar wait -> park -> switch): ~5 ns a round trip.
LIBFLAGS := $(BASE) -fPIC -fvisibility=hidden -fno-strict-aliasing -flto=auto
LDLIBS_SHIM := -ldl -lm

# Context switch: hand-written assembly where we have it, ucontext elsewhere
# (or when GS_CTX=ucontext is given, to test the fallback).
ifeq ($(GS_CTX),ucontext)
CTX_SRC := scheduler/ctx_ucontext.c
BASE    += -DGS_CTX_UCONTEXT
LIBFLAGS += -DGS_CTX_UCONTEXT
else ifeq ($(ARCH),x86_64)
CTX_SRC := scheduler/ctx_x86_64.S
else
CTX_SRC := scheduler/ctx_ucontext.c
endif

SCHED_SRC   := $(filter-out scheduler/ctx_ucontext.c,$(wildcard scheduler/*.c)) $(filter %.c,$(CTX_SRC))
SCHED_ASM   := $(filter %.S,$(CTX_SRC))
# The syscall trap's machine side (scheduler/trap.c) and the system call a
# lone green thread blocks in (scheduler/direct.c): x86_64 only.
ifeq ($(ARCH),x86_64)
SCHED_ASM   += scheduler/trap_x86_64.S scheduler/direct_x86_64.S
endif
PRELOAD_SRC := $(wildcard preload/*.c)
# libev is linked in, private (scheduler/libev.c says why and how).
LIBEV_OBJ := $(BUILD)/obj/scheduler/libev_ev.o
LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(SCHED_SRC) $(PRELOAD_SRC)) \
            $(patsubst %.S,$(BUILD)/obj/%.o,$(SCHED_ASM)) $(LIBEV_OBJ)
HEADERS  := $(wildcard scheduler/*.h preload/*.h)

UNIT_SRC  := $(wildcard tests/unit/*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
# tls_dso.c, tls_dso_ie.c and *_lib.c are not programs: libraries that
# test programs dlopen or link (rules below).
PROG_SRC  := $(filter-out tests/programs/tls_dso.c tests/programs/tls_dso_ie.c tests/programs/%_lib.c,\
               $(wildcard tests/programs/*.c))
PROG_CXX  := $(wildcard tests/programs/*.cc)
PROG_BINS := $(patsubst tests/programs/%.c,$(BUILD)/tests/programs/%,$(PROG_SRC)) \
             $(patsubst tests/programs/%.cc,$(BUILD)/tests/programs/%,$(PROG_CXX))
TOOL_SRC  := $(wildcard tools/*.c)
# The trace writer is shared: the shim writes GREENSHIM_TRACE files with it.
TOOL_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(TOOL_SRC)) $(BUILD)/obj/tool-shared/trace_json.o
TOOL_HEADERS := $(wildcard tools/*.h) scheduler/published.h scheduler/trace_json.h scheduler/rawsys.h
TOOLTEST_SRC  := $(wildcard tests/tool/*.c)
TOOLTEST_BINS := $(patsubst tests/tool/%.c,$(BUILD)/tests/tool/%,$(TOOLTEST_SRC))
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

# The version, and what this build chose, for `greenshim --version`
# (tools/version.c, the only file compiled with these; it is rebuilt when
# they change).
VERSION  := 0.1.0
GIT_REV  := $(shell git -C $(CURDIR) describe --always --dirty 2>/dev/null)
gs_cstr   = $(subst \,,$(subst ",,$(subst ',,$(1))))
TOOL_BUILD_DEFS := -DGS_VERSION='"$(VERSION)"' -DGS_REVISION='"$(call gs_cstr,$(GIT_REV))"' \
    -DGS_BUILD_ARCH='"$(call gs_cstr,$(ARCH))"' \
    -DGS_BUILD_CTX_ASM=$(if $(filter %.S,$(CTX_SRC)),1,0) \
    -DGS_BUILD_TLS=$(if $(filter x86_64,$(ARCH)),1,0) \
    -DGS_BUILD_PUBLISH=$(if $(filter -DGS_NO_PUBLISH,$(CFLAGS)),0,1) \
    -DGS_BUILD_CC='"$(call gs_cstr,$(CC))"' -DGS_BUILD_CFLAGS='"$(call gs_cstr,$(CFLAGS))"'

# Manual pages and the bash completion (make install).
MANDIR      ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
MAN_PAGES   := man/greenshim.1 man/libgreenshim.7

.PHONY: all check check-cpython memcheck unit programs bench example install clean deps mancheck FORCE
all: $(BUILD)/libgreenshim.so $(BUILD)/greenshim

# pthread_once must undo itself when its init routine is unwound through.
$(BUILD)/obj/preload/once.o: LIBFLAGS += -fexceptions

# The GS_REAL stubs name gs_real from assembly, which LTO cannot see.
$(BUILD)/obj/preload/real_allow.o: LIBFLAGS += -fno-lto

# The forwarders for libgcc_s's _Unwind_Resume and personality routine are
# named by code the compiler writes after LTO would have dropped them.
$(BUILD)/obj/scheduler/libgcc.o: LIBFLAGS += -fno-lto

# libev's own object, taken from the system's libev.a (libev-dev).  Its one
# reference to a libc variable (stderr, in its out-of-memory message) is
# renamed to the shim's copy: a shared object cannot reach a libc variable
# the way position-independent executable code does.
LIBEV_A := $(shell $(CC) -print-file-name=libev.a)
OBJCOPY ?= objcopy
$(LIBEV_OBJ): $(if $(wildcard $(LIBEV_A)),$(LIBEV_A))
	@mkdir -p $(dir $@)
	@test -f "$(LIBEV_A)" || { echo "greenshim: libev.a not found (install libev-dev)" >&2; exit 1; }
	cd $(dir $@) && $(AR) x "$(LIBEV_A)" ev.o && \
	    $(OBJCOPY) --redefine-sym stderr=gs__libev_stderr ev.o $(notdir $@) && rm -f ev.o

$(BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LIBFLAGS) -c -o $@ $<

$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(LIBFLAGS) -c -o $@ $<

# Lazy binding (no -z now): every exec a greened process makes loads the
# shim, and binding its ~200 PLT entries up front (a symbol lookup each,
# through the program's whole scope) was ~130k instructions, ~25 us, of
# every start; most programs call a few of them.  What that costs: the
# PLT's slots (.got.plt) stay writable, as in libc's own and most of the
# objects a program maps; the rest of the GOT, the pointer tables and
# .dynamic stay read-only after relocation (-z relro).  A slot is bound
# at its first call by ld.so, which takes no lock and makes no system
# call there, so a first call from a signal handler, the trap's handler
# or a vfork child is as safe as the program's own lazily bound calls;
# ld.so is text where preemption never switches (scheduler/preempt.c).
$(BUILD)/libgreenshim.so: $(LIB_OBJS) preload/exports.map
	$(CC) $(CFLAGS) $(LIBFLAGS) -shared -o $@ $(LIB_OBJS) -Wl,--version-script=preload/exports.map \
	    -Wl,-z,relro -Wl,-z,lazy -Wl,-z,noexecstack -Wl,-z,defs $(LDLIBS_SHIM)

# The greenshim command (tools/): an ordinary program; it shares only
# scheduler/published.h with the library.
$(BUILD)/obj/tools/%.o: tools/%.c $(TOOL_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BASE) -Itools -c -o $@ $<

# The build's choices, kept in a file rewritten only when they change (so
# version.o is rebuilt then, and only then).
gs_streq = $(and $(findstring x$(1),x$(2)),$(findstring x$(2),x$(1)))
$(BUILD)/obj/tools/build-config: FORCE
	$(shell mkdir -p $(@D))$(if $(call gs_streq,$(file <$@),$(TOOL_BUILD_DEFS)),,$(file >$@,$(TOOL_BUILD_DEFS)))
FORCE:

$(BUILD)/obj/tools/version.o: BASE += $(TOOL_BUILD_DEFS)
$(BUILD)/obj/tools/version.o: $(BUILD)/obj/tools/build-config

$(BUILD)/obj/tool-shared/trace_json.o: scheduler/trace_json.c $(TOOL_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BASE) -c -o $@ $<

$(BUILD)/greenshim: $(TOOL_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BASE) -o $@ $(TOOL_OBJS)

# Unit tests link the scheduler objects directly (not through the preload).
UNIT_OBJS := $(filter $(BUILD)/obj/scheduler/%,$(LIB_OBJS))
$(BUILD)/tests/unit/%: tests/unit/%.c $(UNIT_OBJS) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BASE) -o $@ $< $(UNIT_OBJS) -lcmocka -ldl -lm

# Targets of the tool's tests (test_tool runs them): fake_pub publishes a
# made-up state through published.h; the others are plain pthread programs.
$(BUILD)/tests/tool/%: tests/tool/%.c scheduler/published.h
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -Wall -D_GNU_SOURCE -Ischeduler -pthread -o $@ $<

$(BUILD)/tests/unit/test_tool: $(BUILD)/greenshim $(BUILD)/libgreenshim.so $(TOOLTEST_BINS)

# Test programs are ordinary, unmodified pthread programs: no shim headers.
# PROG_LIBS_name: what one of them links besides libm.
PROG_LIBS_trap_uring := -luring
PROG_LIBS_preempt_nopie := -fno-pie -no-pie
PROG_LIBS_malloc_cache_kept_nopie := -fno-pie -no-pie
$(BUILD)/tests/programs/%: tests/programs/%.c tests/programs/testutil.h tests/programs/runcmd.h
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -Wall -D_GNU_SOURCE -pthread -o $@ $< -lm $(PROG_LIBS_$(notdir $@))

$(BUILD)/tests/programs/%: tests/programs/%.cc
	@mkdir -p $(dir $@)
	$(CXX) -O1 -g -std=gnu++20 -Wall -pthread -o $@ $<

# A library with __thread variables (default TLS model: dynamic TLS through
# the DTV) that tls_vars dlopens from its own directory at run time.
$(BUILD)/tests/programs/libtls_dso.so: tests/programs/tls_dso.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -Wall -fPIC -shared -o $@ $<
$(BUILD)/tests/programs/tls_vars: $(BUILD)/tests/programs/libtls_dso.so
# The same with the initial-exec model: dlopen puts it in static TLS.
$(BUILD)/tests/programs/libtls_dso_ie.so: tests/programs/tls_dso_ie.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -Wall -fPIC -shared -o $@ $<
$(BUILD)/tests/programs/tls_review: $(BUILD)/tests/programs/libtls_dso_ie.so
# tls_reuse's libraries: another initial-exec one; one with dynamic TLS
# (dep) that the next (user) refers to with the initial-exec model.
$(BUILD)/tests/programs/libtls_reuse_%.so: tests/programs/tls_reuse_%_lib.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -Wall -fPIC -shared -o $@ $<
$(BUILD)/tests/programs/tls_reuse: $(BUILD)/tests/programs/libtls_dso.so $(BUILD)/tests/programs/libtls_dso_ie.so \
    $(BUILD)/tests/programs/libtls_reuse_ie.so $(BUILD)/tests/programs/libtls_reuse_dep.so \
    $(BUILD)/tests/programs/libtls_reuse_user.so
# Fault injection in the shim's real-call table: fd_swapped_kinds links
# libfd_swap.so, whose fd-making functions hand out another kind of fd than
# their name says.  The shim's dlsym(RTLD_NEXT) finds them before libc's.
$(BUILD)/tests/programs/libfd_swap.so: tests/programs/fd_swap_lib.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -std=gnu11 -Wall -D_GNU_SOURCE -fPIC -shared -o $@ $< -ldl
$(BUILD)/tests/programs/fd_swapped_kinds: tests/programs/fd_swapped_kinds.c tests/programs/testutil.h \
    $(BUILD)/tests/programs/libfd_swap.so
	$(CC) -O1 -g -std=gnu11 -Wall -D_GNU_SOURCE -pthread -o $@ $< -L$(BUILD)/tests/programs -lfd_swap \
	    -Wl,-rpath,'$$ORIGIN' -lm

$(BUILD)/tests/run_programs: tests/run_programs.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BASE) -o $@ $< -lcmocka

# The bare register swap links the shim's own switch (x86_64 only).
$(BUILD)/bench/swap: bench/swap.c scheduler/ctx.h scheduler/ctx_x86_64.S
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -std=gnu11 -Wall -D_GNU_SOURCE -I. -o $@ bench/swap.c scheduler/ctx_x86_64.S

$(BUILD)/bench/%: bench/%.c $(wildcard bench/*.h)
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -std=gnu11 -Wall -D_GNU_SOURCE -pthread -o $@ $< -lev -lm

# The test programs and their runner, without running them.
programs: all $(UNIT_BINS) $(PROG_BINS) $(BUILD)/tests/run_programs

check: all $(UNIT_BINS) $(PROG_BINS) $(BUILD)/tests/run_programs
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; timeout 120 $$t; done
	$(BUILD)/tests/run_programs $(BUILD) tests/programs
	$(MAKE) --no-print-directory memcheck
	$(MAKE) --no-print-directory check-cpython

# CPython 3.11's own regression tests for the thread, socket, signal,
# subprocess and I/O modules, natively and under the preload: what passes
# natively must pass under the shim (tests/cpython/regrtest.sh).
check-cpython: all
	bash tests/cpython/regrtest.sh $(BUILD)

# The scheduler's unit tests again, under ASan+UBSan and under valgrind
# (stack switching hides memory bugs from ordinary runs), and a 60 s soak
# of the preemption programs under the ASan+UBSan build of the shim.
SCHED_UNIT := $(BUILD)/tests/unit/test_scheduler
memcheck: $(SCHED_UNIT)
	@set -e; $(MAKE) --no-print-directory -s BUILD=$(BUILD)/asan \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    $(BUILD)/asan/tests/unit/test_scheduler $(BUILD)/asan/libgreenshim.so; \
	for t in $(BUILD)/asan/tests/unit/test_scheduler; do echo "== asan $$t"; \
	    ASAN_OPTIONS=detect_stack_use_after_return=0 timeout 300 $$t; done; \
	echo "== preemption soak under asan"; timeout 300 bash tests/preempt_soak.sh $(BUILD) $(BUILD)/asan; \
	if command -v valgrind >/dev/null; then for t in $(SCHED_UNIT); do echo "== valgrind $$t"; \
	    timeout 300 valgrind -q --error-exitcode=9 $$t; done; \
	else echo "memcheck: valgrind not installed, skipped"; fi

# The built-in example: 100,000 threads that each sleep 1 s, then lock a
# shared mutex; natively this machine cannot even create them (pid_max).
example: all $(BUILD)/bench/sleepers
	$(BUILD)/greenshim run -- $(BUILD)/bench/sleepers 100000

# The library with the inspector compiled out, for the overhead figure.
$(BUILD)/nopub/libgreenshim.so: $(LIB_OBJS)
	$(MAKE) --no-print-directory BUILD=$(BUILD)/nopub CFLAGS="$(CFLAGS) -DGS_NO_PUBLISH" \
	    $(BUILD)/nopub/libgreenshim.so

bench: all $(BENCH_BINS) $(BUILD)/nopub/libgreenshim.so
	BUILD=$(BUILD) bash bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(BASHCOMPDIR)
	install -m 0755 $(BUILD)/libgreenshim.so $(DESTDIR)$(PREFIX)/lib/libgreenshim.so
	install -m 0755 $(BUILD)/greenshim $(DESTDIR)$(PREFIX)/bin/greenshim
	install -m 0644 man/greenshim.1 $(DESTDIR)$(MANDIR)/man1/greenshim.1
	install -m 0644 man/libgreenshim.7 $(DESTDIR)$(MANDIR)/man7/libgreenshim.7
	install -m 0644 tools/greenshim.bash-completion $(DESTDIR)$(BASHCOMPDIR)/greenshim

# The manual pages render without a warning (test_tool checks it too).
mancheck:
	@set -e; for p in $(MAN_PAGES); do \
	    w=$$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -l $$p 2>&1 >/dev/null); \
	    if [ -n "$$w" ]; then echo "$$p:"; echo "$$w"; exit 1; fi; done; echo "mancheck: $(MAN_PAGES) clean"

deps:
	bash .ci/install-deps

clean:
	rm -rf $(BUILD)

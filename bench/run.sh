#!/usr/bin/env bash
# bench/run.sh — run every greenshim benchmark natively and under the shim
# (LD_PRELOAD=$BUILD/libgreenshim.so) in the same run, and print one table:
#
#     benchmark | native | greenshim | ratio | target
#
# ratio is greenshim / native (below 1 = greenshim is faster / smaller).
# The target column gives the goal from the issue and, after it, "ok" or
# "MISS".  A run that crashes, times out, exits with an unexpected status or
# prints no "result ..." line shows FAIL in its cell; the reasons are listed
# under the table.  The script exits 1 if anything FAILed, 0 otherwise (a
# missed target is not a failure), 2 if it cannot run at all.
#
# What runs (each bench program prints one "result key=value ..." line):
#   swap         the floor: the bare register swap of scheduler/ctx_x86_64.S
#                (bench/swap.c, no scheduler), a round trip of two switches,
#                plain and with the thread pointer installed (wrfsbase) as a
#                switch between green threads with their own TLS does it;
#                the hand-off figures are printed as multiples of both
#   pingpong     mutex + 2 condvars hand-off, ns per round trip
#   create_join  pthread_create + pthread_join, ns per pair
#   short_sleep  what usleep(100) really takes, ns per call
#   mutex        uncontended lock+unlock, ns per pair; once with an idle
#                helper thread (the usual case), once in a process that
#                never created a thread ("solo": glibc's non-atomic fast path)
#   sleepers     N threads sleep 1 s then bump a locked counter; N = 10000
#                (a count that works natively) and N = 100000 (natively
#                pthread_create fails near 32k: kernel limits)
#   futex        stress-ng --futex 2, bogo ops/s (higher is better)
#   trap_cost    the syscall trap: a trapped non-blocking call (raw getpid,
#                libc stat), a pipe round trip of raw read/write (greened by
#                the trap) and through libc; then pingpong, create_join and
#                a `make -j2 all` of this tree with the trap on and off
#                (BENCH_BUILD=0 skips the build, BENCH_BUILD_REPS runs each)
#   bash x200    a bash loop running `bash -c true` 200 times, the whole
#                loop with and without LD_PRELOAD (every bash inherits it)
#   stress-ng    --pipe 1 and --switch 1 (a pipe between two processes),
#                bogo ops/s, natively and under the shim
#   sleepers 1M  a million sleepers, under the shim only (natively
#                impossible; BENCH_MILLION=0 skips it)
#   touch_floor  the floor under the sleepers figures: the pages N parked
#                threads with their own TLS must own (stack top, TCB
#                block, DTV), made and touched with no scheduler, for the
#                100k and 1M counts
#   first calls  a fresh process's first usleep(1) and first
#                pthread_create+join (bench/first_calls), the hub and
#                thread machinery made on first use
#   start-up     hyperfine of `/bin/true` and `sh -c true` exec'd through
#                env(1) with and without LD_PRELOAD; the difference is the
#                per-exec cost of loading the shim
#
# The micro benchmarks (pingpong, create_join, mutex) first do two short
# calibration runs per mode, then BENCH_REPS timed runs sized to last about
# BENCH_RUN_S seconds each, and report the median.  Natively a futex
# hand-off costs microseconds while the shim aims at tens of nanoseconds, so
# a fixed N would be either far too long natively or far too short under
# the shim.
#
# usage:  BUILD=build bash bench/run.sh        (this is what `make bench` does)
# knobs:  BENCH_REPS (5)  BENCH_RUN_S (0.5)  BENCH_TIMEOUT (15, seconds per
#         micro-benchmark run)  BENCH_SLEEPERS_TIMEOUT (20)
#         BENCH_STARTUP_RUNS (1000)
# Per-run stdout/stderr are kept in $BUILD/bench/logs/.

set -u

BUILD=${BUILD:-build}
BIN=$BUILD/bench
REPS=${BENCH_REPS:-5}
RUN_S=${BENCH_RUN_S:-0.5}
MICRO_TIMEOUT=${BENCH_TIMEOUT:-15}
SLEEPERS_TIMEOUT=${BENCH_SLEEPERS_TIMEOUT:-20}
STARTUP_RUNS=${BENCH_STARTUP_RUNS:-1000}
SLEEPERS_BASE=10000             # natively feasible
SLEEPERS_BIG=100000             # the issue's flagship figure

die() { echo "bench/run.sh: $*" >&2; exit 2; }

[ -d "$BUILD" ] || die "no build directory '$BUILD' (run make first)"
LIB=$(cd "$BUILD" && pwd)/libgreenshim.so
[ -f "$LIB" ] || die "$LIB not found (run make first)"
for b in swap pingpong create_join mutex short_sleep sleepers touch_floor first_calls trap_cost; do
    [ -x "$BIN/$b" ] || die "$BIN/$b not built (run make bench)"
done
command -v timeout >/dev/null || die "timeout(1) not found"
ENV=$(command -v env) || die "env(1) not found"
LOGDIR=$BIN/logs
mkdir -p "$LOGDIR" || die "cannot create $LOGDIR"
rm -f "$LOGDIR"/*.out "$LOGDIR"/*.err "$LOGDIR"/*.json "$LOGDIR"/*.csv

progress() { echo "  .. $*" >&2; }

# If ld.so cannot load the shim it just warns and runs the program without
# it, which would silently turn the greenshim column into native figures.
# Make sure it really gets mapped (a shim that crashes here is left for the
# benchmarks to report as FAIL).
if maps=$(timeout -k 2 10 "$ENV" LD_PRELOAD="$LIB" cat /proc/self/maps 2>&1) &&
   ! awk -v lib="$LIB" '$NF == lib { found = 1 } END { exit !found }' <<<"$maps"; then
    die "LD_PRELOAD=$LIB is not loaded: $(head -n1 <<<"$maps")"
fi

# ---------------------------------------------------------------- machine
model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)
glibc=$(ldd --version 2>/dev/null | head -n1 | sed 's/.* //')
echo "machine: nproc=$(nproc), ${model:-unknown CPU}, kernel $(uname -r), glibc ${glibc:-?}"
echo "shim:    $LIB"

# ------------------------------------------------------------ running one
FAILED=0                        # set when anything crashed / timed out
FAILURES=()                     # human-readable reasons, printed at the end
RESULT=""                       # result line of the last successful run_bench

# run_bench MODE TIMEOUT LOGNAME OKCODES PROG ARGS...
#   MODE is native or shim; OKCODES a space-separated list of acceptable
#   exit statuses.  On success sets RESULT to the "result ..." line and
#   returns 0; otherwise records the reason in FAILURES and returns 1.
#   With REQUIRE_RESULT=0 in its environment a run without a result line
#   is fine too (used for /bin/true and sh).
run_bench() {
    local mode=$1 tmo=$2 log=$LOGDIR/$3 okcodes=$4
    shift 4
    local -a pre
    case $mode in
    shim)   pre=("$ENV" "LD_PRELOAD=$LIB") ;;
    nopub)  pre=("$ENV" "LD_PRELOAD=$NOPUB_LIB") ;;          # inspector compiled out
    traced) pre=("$ENV" "LD_PRELOAD=$LIB" "GREENSHIM_TRACE=/dev/null") ;;
    notls)  pre=("$ENV" "LD_PRELOAD=$LIB" "GREENSHIM_TLS=0") ;;   # TLS shared per OS thread
    nopreempt) pre=("$ENV" "LD_PRELOAD=$LIB" "GREENSHIM_PREEMPT_MS=0") ;; # no ticks
    notrap) pre=("$ENV" "LD_PRELOAD=$LIB" "GREENSHIM_SYSCALLS=off") ;;   # no syscall trap
    *)      pre=("$ENV" -u LD_PRELOAD) ;;
    esac
    RESULT=""
    timeout -k 5 "$tmo" "${pre[@]}" "$@" >"$log.out" 2>"$log.err"
    local rc=$? why=""
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        why="timed out after ${tmo}s"
    elif [ $rc -gt 128 ]; then
        why="killed by signal $(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
    elif ! [[ " $okcodes " == *" $rc "* ]]; then
        why="exit status $rc"
    elif grep -q 'cannot be preloaded' "$log.err"; then
        why="LD_PRELOAD failed: $(grep -m1 'cannot be preloaded' "$log.err")"
    else
        RESULT=$(grep -m1 '^result ' "$log.out")
        [ -n "$RESULT" ] || [ "${REQUIRE_RESULT:-1}" = 0 ] || why="no result line"
    fi
    if [ -n "$why" ]; then
        FAILED=1
        FAILURES+=("$(basename "$log") ($*): $why; see $log.err")
        return 1
    fi
    return 0
}

# field LINE KEY -> value of KEY=value in a result line
field() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<"$1"; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# ------------------------------------------------------- micro benchmarks
declare -A VAL                  # VAL[name,mode] = figure, or FAIL

# ops_for SECONDS NS_PER_OP LO HI -> op count lasting about SECONDS, clamped
ops_for() {
    awk -v t="$1" -v p="$2" -v lo="$3" -v hi="$4" \
        'BEGIN { n = (p > 0) ? int(t * 1e9 / p) : hi; if (n < lo) n = lo; if (n > hi) n = hi; print n }'
}

# micro NAME PROG CALIB_N MAX_N [EXTRA_ARG]
#   Per mode, calibration runs (CALIB_N ops, then ~RUN_S/5 s) size the timed
#   runs to about RUN_S seconds (clamped to [CALIB_N, MAX_N]); then REPS runs,
#   alternating native and shim so that drift on a noisy machine hits both
#   alike.  VAL[NAME,mode] = median ns_per_op.
micro() {
    local name=$1 prog=$2 calib=$3 max=$4 extra=${5:-}
    local mode i per
    local -A n=() vals=()
    for mode in native shim; do
        VAL[$name,$mode]=FAIL
        run_bench $mode "$MICRO_TIMEOUT" "$name.$mode.calib1" 0 "$BIN/$prog" "$calib" $extra || continue
        per=$(field "$RESULT" ns_per_op)
        # A tiny first run can be far off (thread placement, cold caches):
        # refine with a run of about RUN_S/5 before sizing the real runs.
        local n1
        n1=$(ops_for "$(awk -v t="$RUN_S" 'BEGIN { print t / 5 }')" "$per" "$calib" "$max")
        if [ "$n1" -gt $((2 * calib)) ]; then
            run_bench $mode "$MICRO_TIMEOUT" "$name.$mode.calib2" 0 "$BIN/$prog" "$n1" $extra || continue
            per=$(field "$RESULT" ns_per_op)
        fi
        n[$mode]=$(ops_for "$RUN_S" "$per" "$calib" "$max")
    done
    progress "$name${extra:+ $extra}: $REPS runs each, N native=${n[native]:-FAIL} shim=${n[shim]:-FAIL}"
    for ((i = 1; i <= REPS; i++)); do
        for mode in native shim; do
            [ -n "${n[$mode]:-}" ] || continue
            if run_bench $mode "$MICRO_TIMEOUT" "$name.$mode.$i" 0 "$BIN/$prog" "${n[$mode]}" $extra; then
                vals[$mode]+="$(field "$RESULT" ns_per_op) "
            else
                n[$mode]=""             # give up on this mode after a failure
                vals[$mode]=""
            fi
        done
    done
    for mode in native shim; do
        [ -n "${vals[$mode]:-}" ] && VAL[$name,$mode]=$(printf '%s\n' ${vals[$mode]} | median)
    done
}

# floor NAME ARG: VAL[NAME,native] = median ns per round trip of bench/swap
#   (REPS runs of about RUN_S seconds each, natively: it calls no libc
#   function the shim interposes, so there is no shim column).
floor() {
    local name=$1 arg=${2:-} i n per
    local vals=""
    VAL[$name,native]=FAIL
    run_bench native "$MICRO_TIMEOUT" "$name.calib" 0 "$BIN/swap" 1000000 $arg || return
    per=$(field "$RESULT" ns_per_op)
    n=$(ops_for "$RUN_S" "$per" 1000000 1000000000)
    progress "$name: $REPS runs, N=$n"
    for ((i = 1; i <= REPS; i++)); do
        run_bench native "$MICRO_TIMEOUT" "$name.$i" 0 "$BIN/swap" "$n" $arg &&
            vals+="$(field "$RESULT" ns_per_op) "
    done
    [ -n "$vals" ] && VAL[$name,native]=$(printf '%s\n' $vals | median)
}
floor swap
floor swap_fs fs

micro pingpong    pingpong    2000    100000000
micro create_join create_join 2000    100000000
micro mutex       mutex       2000000 2000000000
micro mutex_solo  mutex       2000000 2000000000 solo
micro short_sleep short_sleep 200     20000

# alternate OUT TAG OTHER LABEL NAME...: for each micro benchmark NAME,
#   REPS runs under the shim and under mode OTHER, alternated run by run so
#   that drift hits both alike; OUT[NAME,shim] and OUT[NAME,OTHER] = the
#   median ns_per_op, or FAIL.
alternate() {
    local -n out=$1
    local tag=$2 other=$3 label=$4 name mode i n
    shift 4
    for name in "$@"; do
        n=$(ops_for "$RUN_S" "${VAL[$name,shim]:-100}" 100000 100000000)
        local -A vals=()
        progress "$label: $name x $REPS per variant, N=$n"
        for ((i = 1; i <= REPS; i++)); do
            for mode in shim "$other"; do
                if run_bench $mode "$MICRO_TIMEOUT" "$tag.$name.$mode.$i" 0 "$BIN/$name" "$n"; then
                    vals[$mode]+="$(field "$RESULT" ns_per_op) "
                fi
            done
        done
        for mode in shim "$other"; do
            out[$name,$mode]=FAIL
            [ -n "${vals[$mode]:-}" ] && out[$name,$mode]=$(printf '%s\n' ${vals[$mode]} | median)
        done
        unset vals
    done
}

# ---------------------------------------------------------- the syscall trap
# What a trapped call costs (bench/trap_cost.c, a second thread alive so the
# trap is armed): a raw getpid and libc's stat (non-blocking calls made
# outside the shim: a SIGSYS round trip each), and a pipe round trip made
# of raw read/write instructions (blocking: greened by the trap) beside the
# same through libc (the interposers'), natively and under the shim.
micro trap_getpid  trap_cost 2000 100000000 getpid
micro trap_stat    trap_cost 2000 100000000 stat
micro trap_rawpipe trap_cost 200  10000000  rawpipe
micro trap_pipe    trap_cost 200  10000000  pipe

# The trap on (the default) against off, on the workloads above: their
# calls are the interposers' and the shim's own, so the trap should cost
# them nothing.  And a `make -j2 all` of this tree under the preload, with
# the trap and without (make, gcc and ld are single-threaded: the trap is
# never armed in them), beside native.
declare -A TRAP=()
trap_onoff() {
    local mode i
    alternate TRAP trap notrap "syscall trap on/off" pingpong create_join
    TRAP[build,native]=FAIL TRAP[build,shim]=FAIL TRAP[build,notrap]=FAIL
    if [ "${BENCH_BUILD:-1}" != 1 ]; then
        TRAP[build,native]="skipped" TRAP[build,shim]="skipped" TRAP[build,notrap]="skipped"
        return
    fi
    command -v git >/dev/null || return
    local src=$LOGDIR/build-tree
    rm -rf "$src"
    git clone -q "$(cd "$(dirname "$0")/.." && pwd)" "$src" 2>/dev/null || return
    local -A secs=()
    for ((i = 1; i <= ${BENCH_BUILD_REPS:-1}; i++)); do
        for mode in native shim notrap; do
            progress "make -j2 all of this tree ($mode)"
            make -s -C "$src" clean >/dev/null 2>&1
            local t0 t1
            t0=$(date +%s%N)
            REQUIRE_RESULT=0 run_bench $mode 600 "trap.build.$mode.$i" 0 make -s -j2 -C "$src" all || continue
            t1=$(date +%s%N)
            secs[$mode]+="$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1e9 }') "
        done
    done
    for mode in native shim notrap; do
        [ -n "${secs[$mode]:-}" ] && TRAP[build,$mode]=$(printf '%s\n' ${secs[$mode]} | median)
    done
    rm -rf "$src"
}
trap_onoff

# ------------------------------------------------------ inspector overhead
# The condvar ping-pong under three builds/settings of the shim, alternated
# run by run: the library built with -DGS_NO_PUBLISH (no inspector at all:
# $BUILD/nopub, made by `make bench`), the normal library (state published,
# nobody watching), and the normal library recording every switch
# (GREENSHIM_TRACE=/dev/null: the trace is drained and formatted as for a
# real file).  A round trip is two switches (checked with a trace).
NOPUB_LIB=$(cd "$BUILD" && pwd)/nopub/libgreenshim.so
declare -A INSP=()
inspector_cost() {
    local mode i n
    [ -f "$NOPUB_LIB" ] || { INSP[note]="$NOPUB_LIB missing: run make bench"; return; }
    n=$(ops_for "$RUN_S" "${VAL[pingpong,shim]:-100}" 100000 100000000)
    local -A vals=()
    progress "inspector overhead: pingpong x $REPS per variant, N=$n"
    for ((i = 1; i <= REPS; i++)); do
        for mode in nopub shim traced; do
            if run_bench $mode "$MICRO_TIMEOUT" "inspector.$mode.$i" 0 "$BIN/pingpong" "$n"; then
                vals[$mode]+="$(field "$RESULT" ns_per_op) "
            fi
        done
    done
    for mode in nopub shim traced; do
        INSP[$mode]=FAIL
        [ -n "${vals[$mode]:-}" ] && INSP[$mode]=$(printf '%s\n' ${vals[$mode]} | median)
    done
}
inspector_cost

# ------------------------------------------------ TLS per green thread
# pingpong and create_join with each green thread's own TLS and TCB (the
# default: "shim") and with GREENSHIM_TLS=0 (every green thread of an OS
# thread shares its TLS: "notls"), alternated run by run.
declare -A TLSV=()
alternate TLSV tls notls "TLS on/off" pingpong create_join

# ------------------------------------------------------------- preemption
# pingpong with preemption on (the default: "shim", whose hub ticks on its
# CPU clock) and off (GREENSHIM_PREEMPT_MS=0), alternated run by run; and
# how late a 5 ms ticker wakes beside two threads that never block, native
# and shim (median of REPS runs of 200 ticks).
declare -A PRE=()
preempt_cost() {
    local mode i
    local -A mean=() max=()
    alternate PRE preempt nopreempt "preemption on/off" pingpong
    progress "preemption: a 5 ms ticker beside two spinners x $REPS"
    for ((i = 1; i <= REPS; i++)); do
        for mode in native shim; do
            if run_bench $mode 60 "preempt.lateness.$mode.$i" 0 "$BIN/preempt_lateness" 200; then
                mean[$mode]+="$(field "$RESULT" late_mean_us) "
                max[$mode]+="$(field "$RESULT" late_max_us) "
            fi
        done
    done
    for mode in native shim; do
        PRE[mean,$mode]=FAIL PRE[max,$mode]=FAIL
        [ -n "${mean[$mode]:-}" ] && PRE[mean,$mode]=$(printf '%s\n' ${mean[$mode]} | median)
        [ -n "${max[$mode]:-}" ] && PRE[max,$mode]=$(printf '%s\n' ${max[$mode]} | median)
    done
}
preempt_cost

# -------------------------------------------------------------- sleepers
# sleepers N: VAL[sN.{done,seconds,threads,rss},mode]
sleepers() {
    local n=$1 mode
    for mode in ${SLEEPERS_MODES:-native shim} ${SLEEPERS_MODES_EXTRA:-}; do
        progress "sleepers $n ($mode)"
        local k
        for k in done seconds threads rss; do VAL[s$n.$k,$mode]=FAIL; done
        run_bench $mode "$SLEEPERS_TIMEOUT" "sleepers$n.$mode" "0 3" "$BIN/sleepers" "$n" || continue
        local created err
        # created < n: pthread_create failed (err); count = threads completed
        created=$(field "$RESULT" created)
        err=$(field "$RESULT" error)
        VAL[s$n.done,$mode]="$(field "$RESULT" count)/$n"
        [ "$created" != "$n" ] && VAL[s$n.done,$mode]+=" ($err)"
        VAL[s$n.seconds,$mode]=$(field "$RESULT" seconds)
        VAL[s$n.threads,$mode]=$(field "$RESULT" threads)
        VAL[s$n.rss,$mode]=$(field "$RESULT" rss_mib)
    done
}

# ------------------------------------------------------------ touch floor
# FLOOR[N.{seconds,rss}.{before,after}]: bench/touch_floor N, a plain
# program (natively), run right before and right after the shim's sleepers
# N: on a virtual machine a page the host has not backed yet (or took
# back) costs several times more, so the first of the runs that touch
# gigabytes pays more; the table shows both floors.
declare -A FLOOR
touch_floor() {
    local n=$1 tmo=$2 when=$3
    progress "memory floor for $n threads ($when)"
    FLOOR[$n.seconds.$when]=FAIL; FLOOR[$n.rss.$when]=FAIL
    run_bench native "$tmo" "touch_floor$n.$when" 0 "$BIN/touch_floor" "$n" || return
    FLOOR[$n.seconds.$when]=$(field "$RESULT" seconds)
    FLOOR[$n.rss.$when]=$(field "$RESULT" rss_mib)
}

sleepers $SLEEPERS_BASE
touch_floor $SLEEPERS_BIG "$SLEEPERS_TIMEOUT" before
SLEEPERS_MODES_EXTRA=notls sleepers $SLEEPERS_BIG
touch_floor $SLEEPERS_BIG "$SLEEPERS_TIMEOUT" after
SLEEPERS_MILLION=1000000
if [ "${BENCH_MILLION:-1}" = 1 ]; then
    touch_floor $SLEEPERS_MILLION "${BENCH_MILLION_TIMEOUT:-60}" before
    SLEEPERS_MODES="shim" SLEEPERS_TIMEOUT=${BENCH_MILLION_TIMEOUT:-60} sleepers $SLEEPERS_MILLION
    touch_floor $SLEEPERS_MILLION "${BENCH_MILLION_TIMEOUT:-60}" after
fi

# -------------------------------------------------------------- start-up
# VAL[st_true,mode], VAL[st_sh,mode]: microseconds per exec.  Every command
# is exec'd through env(1) in both modes, so env's own cost cancels out and
# only the exec'd program (/bin/true, sh) gets the shim preloaded.
STARTUP_HOW=""
startup() {
    local mode k
    for k in st_true st_sh; do VAL[$k,native]=FAIL; VAL[$k,shim]=FAIL; done

    # Smoke-test each command once so a hanging shim cannot stall hyperfine.
    local -a modes=()
    for mode in native shim; do
        if REQUIRE_RESULT=0 run_bench $mode 5 "startup.$mode.true" 0 /bin/true &&
           REQUIRE_RESULT=0 run_bench $mode 5 "startup.$mode.sh" 0 sh -c true; then
            modes+=("$mode")
        fi
    done
    [ ${#modes[@]} -gt 0 ] || return

    # hyperfine -n NAME COMMAND triples, in the order native, shim, shim,
    # native so that slow drift during the measurement does not favour a mode.
    local -a argv=()
    local -A pre=([native]="$ENV -u LD_PRELOAD" [shim]="$ENV LD_PRELOAD=$LIB")
    local m
    for m in st_true,native st_true,shim st_sh,shim st_sh,native; do
        mode=${m#*,}
        [[ " ${modes[*]} " == *" $mode "* ]] || continue
        # hyperfine names are KEY/MODE: no comma, which the CSV would quote
        case $m in
        st_true,*) argv+=(-n "${m/,//}" "${pre[$mode]} /bin/true") ;;
        st_sh,*)   argv+=(-n "${m/,//}" "${pre[$mode]} sh -c true") ;;
        esac
    done

    local name secs
    if command -v hyperfine >/dev/null; then
        progress "start-up: hyperfine, $STARTUP_RUNS runs per command"
        local json=$LOGDIR/startup.json csv=$LOGDIR/startup.csv
        if ! timeout -k 5 120 hyperfine -N --warmup 50 --runs "$STARTUP_RUNS" --style basic \
                --export-json "$json" --export-csv "$csv" "${argv[@]}" \
                >"$LOGDIR/startup.out" 2>"$LOGDIR/startup.err"; then
            FAILED=1
            FAILURES+=("start-up: hyperfine failed; see $LOGDIR/startup.err")
            return
        fi
        # "name median_seconds" per command: JSON via python3, else the CSV
        # (columns: command,mean,stddev,median,...).
        local parsed
        if command -v python3 >/dev/null; then
            STARTUP_HOW="hyperfine median of $STARTUP_RUNS runs"
            parsed=$(python3 -c 'import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print(r["command"], r["median"])' "$json")
        else
            STARTUP_HOW="hyperfine median of $STARTUP_RUNS runs (csv)"
            parsed=$(awk -F, 'NR > 1 { print $1, $4 }' "$csv")
        fi
        while read -r name secs; do
            VAL[${name/\//,}]=$(awk -v s="$secs" 'BEGIN { printf "%.1f", s * 1e6 }')
        done <<<"$parsed"
    else
        # No hyperfine: time loops of STARTUP_RUNS execs with date +%s%N.
        STARTUP_HOW="mean of a loop of $STARTUP_RUNS execs (no hyperfine)"
        local i t0 t1
        while [ ${#argv[@]} -gt 0 ]; do
            name=${argv[1]}
            local -a cmd
            read -ra cmd <<<"${argv[2]}"
            argv=("${argv[@]:3}")
            progress "start-up: $name loop of $STARTUP_RUNS"
            for ((i = 0; i < 50; i++)); do "${cmd[@]}"; done
            t0=$(date +%s%N)
            for ((i = 0; i < STARTUP_RUNS; i++)); do "${cmd[@]}"; done
            t1=$(date +%s%N)
            VAL[${name/\//,}]=$(awk -v d=$((t1 - t0)) -v n="$STARTUP_RUNS" 'BEGIN { printf "%.1f", d / n / 1e3 }')
        done
    fi
}
startup

# ------------------------------------------------------------ first calls
# VAL[first_{sleep,thread},mode]: a fresh process's first usleep(1), and
# its first pthread_create + join, in microseconds; the median of
# BENCH_FIRST_REPS processes per mode, the modes alternated.
FIRST_REPS=${BENCH_FIRST_REPS:-21}
first_calls() {
    local what mode i
    for what in sleep thread; do
        progress "first $what: $FIRST_REPS processes per mode"
        local -A vals=()
        for i in $(seq "$FIRST_REPS"); do
            for mode in native shim; do
                run_bench $mode 10 "first_$what.$mode" 0 "$BIN/first_calls" "$what" || continue
                vals[$mode]+=" $(field "$RESULT" us)"
            done
        done
        for mode in native shim; do
            VAL[first_$what,$mode]=FAIL
            [ -n "${vals[$mode]:-}" ] && VAL[first_$what,$mode]=$(printf '%s\n' ${vals[$mode]} | median)
        done
    done
}
first_calls

# ------------------------------------------------------- stress-ng --futex
# stress-ng's futex stressor (2 workers, each a waker and a forked waiter
# on a futex word in shared memory) natively and under the shim,
# alternated, BENCH_FUTEX_REPS runs of BENCH_FUTEX_S seconds each; the
# median bogo ops/s (real time).  Under the shim every "shared" FUTEX_WAIT
# asks whether the word is in private memory (preload/mappings.c).
FUTEX_REPS=${BENCH_FUTEX_REPS:-3}
FUTEX_S=${BENCH_FUTEX_S:-3}
futex_stress() {
    local mode i v
    local -A vals=()
    if ! command -v stress-ng >/dev/null; then
        VAL[futex,native]="no stress-ng"; VAL[futex,shim]="no stress-ng"; return
    fi
    progress "stress-ng --futex 2: $FUTEX_REPS runs of ${FUTEX_S}s each"
    for ((i = 1; i <= FUTEX_REPS; i++)); do
        for mode in native shim; do
            REQUIRE_RESULT=0 run_bench $mode $((FUTEX_S + 20)) "futex.$mode.$i" 0 \
                stress-ng --futex 2 --timeout "$FUTEX_S" --metrics-brief || continue
            # "stress-ng: metrc: [pid] futex  ops  real  usr  sys  ops/s(real) ..."
            v=$(awk '$4 == "futex" && $5 ~ /^[0-9]/ { print $9 }' "$LOGDIR/futex.$mode.$i.err" \
                "$LOGDIR/futex.$mode.$i.out" | head -n1)
            [ -n "$v" ] && vals[$mode]+="$v "
        done
    done
    for mode in native shim; do
        VAL[futex,$mode]=FAIL
        [ -n "${vals[$mode]:-}" ] && VAL[futex,$mode]=$(printf '%s\n' ${vals[$mode]} | median)
    done
}
futex_stress

# ---------------------------------------------------- bash -c true x200
# A bash loop that runs `bash -c true` 200 times, the whole loop natively
# and with LD_PRELOAD (inherited by every bash it starts), alternated,
# BENCH_BASH_REPS runs; VAL[bash200,mode] = median milliseconds a loop.
BASH_REPS=${BENCH_BASH_REPS:-5}
bash_loop() {
    local mode i t0 t1
    local -A vals=()
    for mode in native shim; do VAL[bash200,$mode]=FAIL; done
    command -v bash >/dev/null || return
    progress "bash -c true x200: $BASH_REPS runs each"
    for ((i = 1; i <= BASH_REPS; i++)); do
        for mode in native shim; do
            t0=$(date +%s%N)
            REQUIRE_RESULT=0 run_bench $mode 120 "bash200.$mode.$i" 0 \
                bash -c 'for ((i = 0; i < 200; i++)); do bash -c true; done' || continue
            t1=$(date +%s%N)
            vals[$mode]+="$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f", d / 1e6 }') "
        done
    done
    for mode in native shim; do
        [ -n "${vals[$mode]:-}" ] && VAL[bash200,$mode]=$(printf '%s\n' ${vals[$mode]} | median)
    done
}
bash_loop

# ------------------------------------------- stress-ng --pipe / --switch
# stress-ng's pipe stressor (a writer and a reader process) and its
# context-switch stressor (two processes handing a message to each other
# over a pipe), 1 instance each, natively and under the shim, alternated,
# BENCH_STRESS_REPS runs of BENCH_STRESS_S seconds; the median bogo ops/s
# (real time).  Higher is better.
STRESS_REPS=${BENCH_STRESS_REPS:-3}
STRESS_S=${BENCH_STRESS_S:-3}
stress_pipes() {
    local mode i v st
    for st in pipe switch; do
        local -A vals=()
        for mode in native shim; do VAL[stress_$st,$mode]=FAIL; done
        command -v stress-ng >/dev/null || { VAL[stress_$st,native]="no stress-ng"; continue; }
        progress "stress-ng --$st 1: $STRESS_REPS runs of ${STRESS_S}s each"
        for ((i = 1; i <= STRESS_REPS; i++)); do
            for mode in native shim; do
                REQUIRE_RESULT=0 run_bench $mode $((STRESS_S + 20)) "stress_$st.$mode.$i" 0 \
                    stress-ng --$st 1 --timeout "$STRESS_S" --metrics-brief || continue
                # "stress-ng: metrc: [pid] pipe  ops  real  usr  sys  ops/s(real) ..."
                v=$(awk -v st="$st" '$4 == st && $5 ~ /^[0-9]/ { print $9 }' \
                    "$LOGDIR/stress_$st.$mode.$i.err" "$LOGDIR/stress_$st.$mode.$i.out" | head -n1)
                [ -n "$v" ] && vals[$mode]+="$v "
            done
        done
        for mode in native shim; do
            [ -n "${vals[$mode]:-}" ] && VAL[stress_$st,$mode]=$(printf '%s\n' ${vals[$mode]} | median)
        done
        unset vals
    done
}
stress_pipes

# ----------------------------------------------------------------- table
isnum() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; }

# fmt V: a readable number (FAIL and text pass through)
fmt() {
    isnum "$1" || { echo "$1"; return; }
    awk -v v="$1" 'BEGIN { a = v < 0 ? -v : v
        if (a >= 100) printf "%.0f", v; else if (a >= 10) printf "%.1f", v; else printf "%.2f", v }'
}

# ratio NATIVE SHIM
ratio() {
    if isnum "$1" && isnum "$2" && awk -v n="$1" 'BEGIN { exit !(n > 0) }'; then
        awk -v n="$1" -v s="$2" 'BEGIN { r = s / n; if (r >= 0.1) printf "%.2fx", r; else printf "%.2gx", r }'
    else
        echo "-"
    fi
}

# judge AWK-CONDITION-ON-s-AND-n SHIM NATIVE -> ok | MISS | - (no figure)
judge() {
    isnum "$2" || { echo "-"; return; }
    awk -v s="$2" -v n="${3:-0}" "BEGIN { exit !($1) }" && echo ok || echo MISS
}

ROWS=()
row() { ROWS+=("$1|$2|$3|$4|$5"); }

# micro_row NAME LABEL TARGET-TEXT CONDITION
micro_row() {
    local n=${VAL[$1,native]} s=${VAL[$1,shim]}
    row "$2" "$(fmt "$n")" "$(fmt "$s")" "$(ratio "$n" "$s")" "$3 [$(judge "$4" "$s" "$n")]"
}
# The floor: the bare register swap, and with the thread pointer.
row "bare register swap round trip (ns)" "$(fmt "${VAL[swap,native]}")" "-" "-" "(the floor: bench/swap.c)"
row "register swap + wrfsbase round trip (ns)" "$(fmt "${VAL[swap_fs,native]}")" "-" \
    "$(ratio "${VAL[swap,native]}" "${VAL[swap_fs,native]}")" "(the floor with TLS per thread)"
# swap_row NAME LABEL FACTOR: a hand-off figure beside native, as a
#   multiple of both floors; the target is FACTOR x the bare swap, and the
#   same against the swap with the thread pointer is shown beside it.
swap_row() {
    local n=${VAL[$1,native]} s=${VAL[$1,shim]} f=$3
    local sw=${VAL[swap,native]} sf=${VAL[swap_fs,native]} t=""
    if isnum "$sw" && isnum "$s"; then
        t="$(ratio "$sw" "$s") swap, <= ${f}x [$(judge "s <= n * $f" "$s" "$sw")]"
    else
        t="<= ${f}x swap [-]"
    fi
    if isnum "$sf" && isnum "$s"; then
        t+="; $(ratio "$sf" "$s") swap+fs, <= ${f}x [$(judge "s <= n * $f" "$s" "$sf")]"
    fi
    row "$2" "$(fmt "$n")" "$(fmt "$s")" "$(ratio "$n" "$s")" "$t"
}
swap_row pingpong    "pingpong round trip (ns)" 2
swap_row create_join "create+join (ns)"         4
micro_row mutex       "mutex lock+unlock (ns)"            "<= native (+5% noise)" "s <= n * 1.05"
micro_row mutex_solo  "mutex lock+unlock, no thread (ns)" "<= native (+5% noise)" "s <= n * 1.05"
micro_row short_sleep "usleep(100) takes (ns)"            ">= 100 us, <= native" "s >= 100000 && s <= n * 1.05"

# the trap's own cost: figures, no target (the issue sets none)
info_row() {
    local n=${VAL[$1,native]} s=${VAL[$1,shim]}
    row "$2" "$(fmt "$n")" "$(fmt "$s")" "$(ratio "$n" "$s")" "$3"
}
info_row trap_getpid  "trap: raw getpid, non-blocking (ns)"        "(a trapped call's cost)"
info_row trap_stat    "trap: libc stat(\"/\") (ns)"                "(a trapped call's cost)"
info_row trap_rawpipe "trap: raw read/write pipe round trip (ns)"  "(4 trapped calls, greened)"
info_row trap_pipe    "interposed read/write pipe round trip (ns)" "(the interposers' path)"
# on/off: the trap must cost the other workloads <= 5%
trap_row() {
    local on=${TRAP[$1,shim]} off=${TRAP[$1,notrap]}
    local nat=${3:-$off}
    row "$2" "$(fmt "$nat")" "$(fmt "$on")" "$(ratio "$off" "$on")" \
        "trap on <= 1.05x off ($(fmt "$off")) [$(judge "s <= n * 1.05" "$on" "$off")]"
}
trap_row pingpong    "pingpong, trap on vs off (ns)"
trap_row create_join "create+join, trap on vs off (ns)"
trap_row build       "make -j2 all of this tree (s)" "${TRAP[build,native]}"

# sleepers rows; targets only for the 100k run (the issue's figure)
# sleeper_rows N TAG SECS MIB: targets for the 100k and 1M runs (the
#   issue's figures: under SECS seconds, under MIB MiB peak RSS); the 10k
#   run is the baseline natively feasible.  Natively the 1M run is not made.
sleeper_rows() {
    local n=$1 tag=$2 secs=${3:-} mib=${4:-} k label nat shm r tgt
    local same=0
    [ "${VAL[s$n.done,native]:-}" = "$n/$n" ] && [ "${VAL[s$n.done,shim]:-}" = "$n/$n" ] && same=1
    for k in done seconds threads rss; do
        nat=${VAL[s$n.$k,native]:-"(not run)"}
        shm=${VAL[s$n.$k,shim]:-FAIL}
        r="-"
        [ $same = 1 ] && [ $k != done ] && r=$(ratio "$nat" "$shm")
        case $k in
        done)    label="sleepers $tag: completed"
                 tgt="all"
                 if [ "$shm" = FAIL ]; then tgt+=" [-]"
                 elif [ "$shm" = "$n/$n" ]; then tgt+=" [ok]"; else tgt+=" [MISS]"; fi ;;
        seconds) label="sleepers $tag: elapsed (s)"
                 tgt="~1 s (<= $secs s) [$(judge "s <= $secs" "$shm")]" ;;
        threads) label="sleepers $tag: OS threads while asleep"
                 tgt="1 [$(judge "s == 1" "$shm")]" ;;
        rss)     label="sleepers $tag: peak RSS (MiB)"
                 tgt="<= $mib MiB [$(judge "s <= $mib" "$shm")]" ;;
        esac
        [ -z "$secs" ] && tgt="(baseline)"
        [ $k = seconds ] || [ $k = rss ] && { nat=$(fmt "$nat"); shm=$(fmt "$shm"); }
        row "$label" "$nat" "$shm" "$r" "$tgt"
    done
}
sleeper_rows $SLEEPERS_BASE "$((SLEEPERS_BASE / 1000))k"
sleeper_rows $SLEEPERS_BIG "$((SLEEPERS_BIG / 1000))k" 1.3 400
[ "${BENCH_MILLION:-1}" = 1 ] && sleeper_rows $SLEEPERS_MILLION "1M" 3 4096

# start-up rows: target on the per-exec difference
startup_row() {
    local n=${VAL[$1,native]} s=${VAL[$1,shim]} tgt="delta < 1000 us"
    if isnum "$n" && isnum "$s"; then
        local d
        d=$(awk -v n="$n" -v s="$s" 'BEGIN { printf "%+.1f", s - n }')
        tgt="delta $d us; < 1000 us [$(judge "s - n < 1000" "$s" "$n")]"
    else
        tgt+=" [-]"
    fi
    row "$2" "$(fmt "$n")" "$(fmt "$s")" "$(ratio "$n" "$s")" "$tgt"
}
# throughput: higher is better, so the target is on shim / native
n=${VAL[futex,native]} sh=${VAL[futex,shim]}
row "stress-ng --futex 2 (bogo ops/s)" "$(fmt "$n")" "$(fmt "$sh")" "$(ratio "$n" "$sh")" \
    ">= native (ratio >= 1.0x; noisy) [$(judge "s >= n" "$sh" "$n")]"

# bash -c true x200 and stress-ng: the shim's figure against native's
n=${VAL[bash200,native]} sh=${VAL[bash200,shim]}
row "bash -c true x200 (ms)" "$(fmt "$n")" "$(fmt "$sh")" "$(ratio "$n" "$sh")" \
    "<= 1.10x [$(judge "s <= n * 1.10" "$sh" "$n")]"
for st in pipe switch; do
    n=${VAL[stress_$st,native]} sh=${VAL[stress_$st,shim]}
    row "stress-ng --$st 1 (bogo ops/s)" "$(fmt "$n")" "$(fmt "$sh")" "$(ratio "$n" "$sh")" \
        ">= native (ratio >= 1.0x) [$(judge "s >= n" "$sh" "$n")]"
done

startup_row st_true "start-up /bin/true (us/exec)"
startup_row st_sh   "start-up sh -c true (us/exec)"
# a fresh process's first greened wait and first thread: start-up too
for what in sleep thread; do
    n=${VAL[first_$what,native]} sh=${VAL[first_$what,shim]}
    case $what in
    sleep)  label="first usleep(1) of a process (us)" ;;
    thread) label="first pthread_create+join (us)" ;;
    esac
    d="-"
    isnum "$n" && isnum "$sh" && d=$(awk -v n="$n" -v s="$sh" 'BEGIN { printf "delta %+.0f us", s - n }')
    row "$label" "$(fmt "$n")" "$(fmt "$sh")" "$(ratio "$n" "$sh")" "$d (no target)"
done

print_table() {
    local -a w=(0 0 0 0 0) c
    local r i
    for r in "$@"; do
        IFS='|' read -ra c <<<"$r"
        for i in 0 1 2 3 4; do [ ${#c[i]} -gt ${w[i]} ] && w[i]=${#c[i]}; done
    done
    local first=1
    for r in "$@"; do
        IFS='|' read -ra c <<<"$r"
        printf "%-*s | %*s | %*s | %*s | %s\n" ${w[0]} "${c[0]}" ${w[1]} "${c[1]}" \
            ${w[2]} "${c[2]}" ${w[3]} "${c[3]}" "${c[4]}"
        if [ $first = 1 ]; then
            printf "%s-+-%s-+-%s-+-%s-+-%s\n" "$(printf '%*s' ${w[0]} '' | tr ' ' -)" \
                "$(printf '%*s' ${w[1]} '' | tr ' ' -)" "$(printf '%*s' ${w[2]} '' | tr ' ' -)" \
                "$(printf '%*s' ${w[3]} '' | tr ' ' -)" "$(printf '%*s' ${w[4]} '' | tr ' ' -)"
            first=0
        fi
    done
}

echo
print_table "benchmark|native|greenshim|ratio|target" "${ROWS[@]}"
echo
echo "ratio = greenshim / native.  Micro benchmarks: median of $REPS runs of ~${RUN_S}s each."
echo "Start-up: ${STARTUP_HOW:-not measured}; each exec goes through env(1) in both columns."
if [[ "${VAL[s$SLEEPERS_BIG.done,native]}" == *"("* ]]; then
    echo "Natively sleepers $SLEEPERS_BIG hits the kernel's limits (pid_max, vm.max_map_count);"
    echo "its thread count is read after creating stopped, when the first threads may have finished."
fi
echo "Logs: $LOGDIR"

if [ ${#FAILURES[@]} -gt 0 ]; then
    echo
    echo "FAILURES:"
    printf '  %s\n' "${FAILURES[@]}"
fi

# ---------------------------------------------------------- preemption table
echo
echo "Preemption (GREENSHIM_PREEMPT_MS=10, the default; median of $REPS runs each):"
if isnum "${PRE[pingpong,shim]}" && isnum "${PRE[pingpong,nopreempt]}"; then
    printf '  %-44s %8s ns\n' "pingpong, preemption off" "$(fmt "${PRE[pingpong,nopreempt]}")"
    printf '  %-44s %8s ns   %s; target <= +2%% [%s]\n' "pingpong, preemption on" \
        "$(fmt "${PRE[pingpong,shim]}")" \
        "$(awk -v a="${PRE[pingpong,nopreempt]}" -v b="${PRE[pingpong,shim]}" 'BEGIN { printf "%+.1f%%", (b / a - 1) * 100 }')" \
        "$(judge "s <= n * 1.02" "${PRE[pingpong,shim]}" "${PRE[pingpong,nopreempt]}")"
else
    echo "  pingpong on/off: FAIL (see $LOGDIR)"
fi
printf '  %-44s native %s us mean, %s us max; greenshim %s us mean, %s us max\n' \
    "5 ms ticker beside 2 spinners, late by" "${PRE[mean,native]}" "${PRE[max,native]}" \
    "${PRE[mean,shim]}" "${PRE[max,shim]}"
if isnum "${PRE[max,shim]}"; then
    printf '  %-44s %s\n' "" "target: at most 2 slices (20000 us) late [$(judge "s <= 20000" "${PRE[max,shim]}" 0)]"
fi

# ------------------------------------------------- inspector overhead table
echo
echo "Inspector overhead (pingpong round trip = 2 switches; median of $REPS runs each):"
if [ -n "${INSP[note]:-}" ]; then
    echo "  not measured: ${INSP[note]}"
elif isnum "${INSP[nopub]}" && isnum "${INSP[shim]}" && isnum "${INSP[traced]}"; then
    over=$(awk -v a="${INSP[nopub]}" -v b="${INSP[shim]}" 'BEGIN { printf "%+.1f%%", (b / a - 1) * 100 }')
    per=$(awk -v b="${INSP[shim]}" -v t="${INSP[traced]}" 'BEGIN { printf "%.1f", (t - b) / 2 }')
    printf '  %-44s %8s ns\n' "inspector compiled out (-DGS_NO_PUBLISH)" "$(fmt "${INSP[nopub]}")"
    printf '  %-44s %8s ns   %s vs compiled out; target <= +5%% [%s]\n' \
        "published, not watched (the default)" "$(fmt "${INSP[shim]}")" "$over" \
        "$(judge "s <= n * 1.05" "${INSP[shim]}" "${INSP[nopub]}")"
    printf '  %-44s %8s ns   %s ns per switch; target <= 50 ns [%s]\n' \
        "tracing every switch (GREENSHIM_TRACE)" "$(fmt "${INSP[traced]}")" "$per" \
        "$(judge "s <= 50" "$per")"
else
    echo "  FAIL: nopub=${INSP[nopub]} shim=${INSP[shim]} traced=${INSP[traced]}"
    FAILED=1
fi

# ---------------------------------------------------- TLS on / off table
echo
echo "TLS per green thread (default) beside GREENSHIM_TLS=0 (shared per OS thread), same run:"
printf '  %-40s %12s %12s %12s\n' "" "native" "own TLS" "shared TLS"
printf '  %-40s %12s %12s %12s\n' "pingpong round trip (ns)" "$(fmt "${VAL[pingpong,native]}")" \
    "$(fmt "${TLSV[pingpong,shim]}")" "$(fmt "${TLSV[pingpong,notls]}")"
printf '  %-40s %12s %12s %12s\n' "create+join (ns)" "$(fmt "${VAL[create_join,native]}")" \
    "$(fmt "${TLSV[create_join,shim]}")" "$(fmt "${TLSV[create_join,notls]}")"
s=$SLEEPERS_BIG
printf '  %-40s %12s %12s %12s\n' "sleepers ${s}: elapsed (s)" "${VAL[s$s.seconds,native]}" \
    "${VAL[s$s.seconds,shim]}" "${VAL[s$s.seconds,notls]}"
printf '  %-40s %12s %12s %12s\n' "sleepers ${s}: peak RSS (MiB)" "${VAL[s$s.rss,native]}" \
    "${VAL[s$s.rss,shim]}" "${VAL[s$s.rss,notls]}"
per_thread() { isnum "$1" && awk -v m="$1" -v n="$s" 'BEGIN { printf "%.1f", m * 1024 / n }' || echo "-"; }
printf '  %-40s %12s %12s %12s\n' "sleepers ${s}: KiB per thread" "-" \
    "$(per_thread "${VAL[s$s.rss,shim]}")" "$(per_thread "${VAL[s$s.rss,notls]}")"
echo "  (natively the ${s} sleepers stop at the kernel's thread limit: their figures are not comparable)"

# ---------------------------------------------------- memory floor table
echo
echo "Memory floor under the sleepers (bench/touch_floor: the stack top page, TCB block and DTV of"
echo "each parked thread with its own TLS, made and touched with no scheduler, natively, run just"
echo "before and just after the shim's sleepers in the same run):"
printf '  %-12s %20s %14s %18s %22s\n' "" "floor: touches (s)" "floor: RSS" "greenshim" "over the mean floor"
floor_row() {
    local n=$1 tag=$2 b=${FLOOR[$1.seconds.before]:-} a=${FLOOR[$1.seconds.after]:-}
    local fr=${FLOOR[$1.rss.after]:-} gs=${VAL[s$1.seconds,shim]:-} gr=${VAL[s$1.rss,shim]:-}
    local over="-"
    if isnum "$b" && isnum "$a" && isnum "$fr" && isnum "$gs" && isnum "$gr"; then
        over=$(awk -v b="$b" -v a="$a" -v fr="$fr" -v gs="$gs" -v gr="$gr" \
            'BEGIN { printf "%+.2f s, %+.0f MiB", gs - 1 - (a + b) / 2, gr - fr }')
    fi
    printf '  %-12s %9s / %-8s %10s MiB %7s s %5s MiB %22s\n' "$tag threads" "$(fmt "$b")" "$(fmt "$a")" \
        "$(fmt "$fr")" "$(fmt "$gs")" "$(fmt "$gr")" "$over"
}
floor_row $SLEEPERS_BIG "$((SLEEPERS_BIG / 1000))k"
[ "${BENCH_MILLION:-1}" = 1 ] && floor_row $SLEEPERS_MILLION "1M"
echo "  (floor: before / after the sleepers; greenshim's elapsed time includes the 1 s sleep, which"
echo "  \"over the mean floor\" takes out)"

# ------------------------------------------------ HTTP keep-alive (http.sh)
# bench/http.sh prints a second table: a thread-per-connection HTTP/1.1
# keep-alive server (bench/http_threads.c, blocking I/O) under wrk at 100,
# 1,000 and 10,000 connections, natively and under the shim, beside the
# same responder on libev (bench/http_libev.c).  Any non-zero exit of it
# (1: a run failed; 2: it cannot run, e.g. no wrk) makes this script exit 1.
echo
echo "HTTP/1.1 keep-alive, thread per connection (bench/http.sh):"
echo
progress "http: bench/http.sh"
BUILD="$BUILD" bash "$(dirname "${BASH_SOURCE[0]}")/http.sh"
http_rc=$?
if [ $http_rc -ne 0 ]; then
    FAILED=1
    echo
    echo "FAILURES (http): bench/http.sh exited with status $http_rc (reasons above)"
fi
exit $FAILED

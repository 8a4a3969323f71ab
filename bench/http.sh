#!/usr/bin/env bash
# bench/http.sh — HTTP/1.1 keep-alive, thread per connection, measured with
# wrk: the same blocking-I/O pthreads server (bench/http_threads.c) natively
# and under the shim (LD_PRELOAD=$BUILD/libgreenshim.so), beside the same
# responder hand-written on libev (bench/http_libev.c, the upper bound).
#
# For each connection count C (100, 1000, and 10000 when the fd limit
# leaves room for the server and wrk, each needing C + 100) and each
# variant (native, shim, libev): start the server on an ephemeral port, run
#     wrk -t2 -cC -dHTTP_SECONDS s http://127.0.0.1:PORT/
# sample the server's "Threads:" while wrk runs (the highest value seen),
# and with ss(8), at 30% and 80% of the run, how much it has sent on each
# connection; read its VmHWM (peak RSS) afterwards, then kill it.  Prints
# one table:
#
#     C | req/s native, shim, libev | shim/libev | shim/native |
#       | peak RSS (MiB) | OS threads | unanswered connections | target
#
# "unanswered" counts the C connections that got no answer at all between
# the two ss samples (or were not even established): wrk does not report a
# connection a server never answers, so a server that serves one connection
# at a time still shows a respectable req/s.  The target (from the issue)
# is judged at C = 1000 only: shim >= 0.9x libev, shim > native, and every
# connection answered.  Errors wrk reports (socket errors, non-2xx answers)
# and what the servers said on stderr are listed under the table.
#
# A run FAILs when the server crashes or exits, prints no "port N" line,
# wrk fails, times out or prints no Requests/sec, or not one request is
# answered.  Exit status: 1 if any run FAILed, 0 otherwise (a missed target
# is not a failure), 2 if the script cannot run at all.
#
# usage:  BUILD=build bash bench/http.sh
# knobs:  HTTP_SECONDS (5, wrk's duration)  HTTP_CONNS ("100 1000 10000")
#         HTTP_THREADS (2, wrk's -t; lowered to C when C is smaller)
# Per-run logs: $BUILD/bench/logs/http.C.VARIANT.{out,err,wrk,mon,ssA,ssB}

set -u

BUILD=${BUILD:-build}
BIN=$BUILD/bench
SECS=${HTTP_SECONDS:-5}
CONNS=${HTTP_CONNS:-100 1000 10000}
WRK_THREADS=${HTTP_THREADS:-2}
VARIANTS="native shim libev"

die() { echo "bench/http.sh: $*" >&2; exit 2; }
progress() { echo "  .. $*" >&2; }

command -v wrk >/dev/null || die "wrk not found: apt-get install wrk (or bash .ci/install-deps)"
command -v timeout >/dev/null || die "timeout(1) not found"
ENV=$(command -v env) || die "env(1) not found"
[[ $SECS =~ ^[0-9]+$ ]] && [ "$SECS" -gt 0 ] || die "HTTP_SECONDS must be a positive integer"
[ -d "$BUILD" ] || die "no build directory '$BUILD' (run make first)"
LIB=$(cd "$BUILD" && pwd)/libgreenshim.so
[ -f "$LIB" ] || die "$LIB not found (run make first)"
for b in http_threads http_libev; do
    [ -x "$BIN/$b" ] || die "$BIN/$b not built (run make bench)"
done
LOGDIR=$BIN/logs
mkdir -p "$LOGDIR" || die "cannot create $LOGDIR"
rm -f "$LOGDIR"/http.*

# Both the server and wrk need an fd per connection: raise the soft limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
NOFILE=$(ulimit -n)
[ "$NOFILE" = unlimited ] && NOFILE=1048576

FAILED=0
FAILURES=()     # why a run failed
NOTES=()        # wrk errors, server complaints, skipped counts
declare -A RPS RSS THR STALL
HAVE_SS=$(command -v ss)
[ -n "$HAVE_SS" ] || NOTES+=("ss(8) not found: connections that get no answer are not detected")

# server_pid TIMEOUT_PID -> pid of the server timeout(1) started (env execs it)
server_pid() {
    local kids
    kids=$(cat "/proc/$1/task/$1/children" 2>/dev/null) || true
    [ -n "$kids" ] || kids=$(pgrep -P "$1" 2>/dev/null) || true
    set -- $kids
    echo "${1:-}"
}

# ss_sent PORT -> "peer bytes_sent" for each established server-side socket
# of the server on PORT (bytes_sent is left out by ss while it is 0)
ss_sent() {
    ss -tniH state established "( sport = :$1 )" 2>/dev/null | awk '
        /^[^ \t]/ { if (peer != "") print peer, sent; peer = $4; sent = 0; next }
        { for (i = 1; i <= NF; i++) if ($i ~ /^bytes_sent:/) sent = substr($i, 12) }
        END { if (peer != "") print peer, sent }'
}

status_value() { # PID KEY -> number from /proc/PID/status, or empty
    awk -v k="$2:" '$1 == k { print $2; exit }' "/proc/$1/status" 2>/dev/null
}

# one C VARIANT: fills RPS/RSS/THR[C,VARIANT] (FAIL when the run failed)
one() {
    local c=$1 v=$2 log=$LOGDIR/http.$1.$2
    local -a cmd
    case $v in
    native) cmd=("$ENV" -u LD_PRELOAD "$BIN/http_threads" 0) ;;
    shim)   cmd=("$ENV" LD_PRELOAD="$LIB" "$BIN/http_threads" 0) ;;
    libev)  cmd=("$ENV" -u LD_PRELOAD "$BIN/http_libev" 0) ;;
    esac
    RPS[$c,$v]=FAIL RSS[$c,$v]=- THR[$c,$v]=- STALL[$c,$v]=-
    local fail=""
    progress "http: $c connections, $v"

    # The server lives at most as long as the run could take.
    timeout -k 2 $((SECS + 40)) "${cmd[@]}" >"$log.out" 2>"$log.err" &
    local tpid=$! spid="" port="" i
    for ((i = 0; i < 100; i++)); do             # up to 5 s for "port N"
        port=$(awk '$1 == "port" { print $2; exit }' "$log.out")
        [ -n "$port" ] && break
        kill -0 $tpid 2>/dev/null || break
        sleep 0.05
    done
    spid=$(server_pid $tpid)
    if [ -z "$port" ] || [ -z "$spid" ]; then
        fail="server printed no 'port N' line"
    else
        local t=$WRK_THREADS
        [ "$t" -gt "$c" ] && t=$c
        timeout -k 5 $((SECS + 25)) wrk -t"$t" -c"$c" -d"${SECS}s" "http://127.0.0.1:$port/" \
            >"$log.wrk" 2>&1 &
        local wpid=$! thr maxthr=0 t0 ms
        # About every 0.25 s: the server's Threads: (logged to $log.mon).
        # At 30% and 80% of the run, what it has sent on each connection
        # (ss): a connection whose count did not move in between got no
        # answer for that long.
        local a=$((SECS * 300)) b=$((SECS * 800)) took_a=0 took_b=0
        t0=$(date +%s%N)
        while kill -0 $wpid 2>/dev/null; do
            ms=$((($(date +%s%N) - t0) / 1000000))
            thr=$(status_value "$spid" Threads)
            echo "$ms ms Threads: ${thr:-?}" >>"$log.mon"
            [ -n "$thr" ] && [ "$thr" -gt "$maxthr" ] && maxthr=$thr
            if [ -n "$HAVE_SS" ] && [ $took_a = 0 ] && [ $ms -ge $a ]; then
                ss_sent "$port" >"$log.ssA"; took_a=$ms
            elif [ -n "$HAVE_SS" ] && [ $took_a != 0 ] && [ $took_b = 0 ] && [ $ms -ge $b ]; then
                ss_sent "$port" >"$log.ssB"; took_b=$ms
            fi
            sleep 0.25
        done
        wait $wpid
        local wrc=$?
        THR[$c,$v]=$maxthr
        local hwm
        hwm=$(status_value "$spid" VmHWM)
        [ -n "$hwm" ] && RSS[$c,$v]=$(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }')
        local rps
        rps=$(awk '$1 == "Requests/sec:" { print $2 }' "$log.wrk")
        if ! kill -0 "$spid" 2>/dev/null; then
            fail="server died during the run"
        elif [ $wrc -eq 124 ] || [ $wrc -eq 137 ]; then
            fail="wrk timed out after $((SECS + 25)) s"
        elif [ $wrc -ne 0 ]; then
            fail="wrk exit status $wrc: $(head -n1 "$log.wrk")"
        elif [ -z "$rps" ]; then
            fail="wrk printed no Requests/sec"
        elif awk -v r="$rps" 'BEGIN { exit !(r == 0) }'; then
            fail="no request answered"
            RPS[$c,$v]=0
        else
            RPS[$c,$v]=$rps
        fi
        # Connections answered between the two ss samples: sent more than
        # at the first (or, opened since, sent anything).  The C minus that
        # got no answer for that long, or are not even established.
        if [ -s "$log.ssA" ] && [ -s "$log.ssB" ]; then
            local est served stuck
            read -r est served < <(awk 'NR == FNR { s[$1] = $2; next }
                { n++; if (($1 in s) ? s[$1] != $2 : $2 > 0) k++ } END { print n + 0, k + 0 }' \
                "$log.ssA" "$log.ssB")
            stuck=$((c - served))
            [ $stuck -lt 0 ] && stuck=0
            STALL[$c,$v]=$stuck
            if [ $stuck -gt 0 ]; then
                NOTES+=("C=$c $v: $stuck of $c connections got no answer from $(awk -v t=$took_a 'BEGIN { print t / 1000 }') s to $(awk -v t=$took_b 'BEGIN { print t / 1000 }') s into the run ($est established then)")
            fi
        fi
        # wrk's own error lines
        local e
        e=$(grep -E 'Socket errors|Non-2xx' "$log.wrk" | sed 's/^ *//' | paste -sd ';' -)
        [ -n "$e" ] && NOTES+=("C=$c $v: wrk: ${e//;/; }")
    fi
    local alive=0
    if [ -n "$spid" ] && kill -0 "$spid" 2>/dev/null; then
        alive=1
        kill -TERM "$spid" 2>/dev/null
        for ((i = 0; i < 40; i++)); do kill -0 "$spid" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$spid" 2>/dev/null
    fi
    wait $tpid 2>/dev/null
    local rc=$?
    if [ -n "$fail" ] && [ $alive = 0 ]; then   # it ended on its own: how?
        if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then fail+=" (server timed out)"
        elif [ $rc -gt 128 ]; then
            fail+=" (server killed by signal $(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128))))"
        else fail+=" (server exit status $rc)"; fi
    fi
    # what the server said on stderr (e.g. pthread_create failures)
    if [ -s "$log.err" ]; then
        NOTES+=("C=$c $v: server stderr ($(wc -l <"$log.err") lines), last: $(tail -n1 "$log.err")")
    fi
    if [ -n "$fail" ]; then
        FAILED=1
        FAILURES+=("C=$c $v: $fail; see $log.{out,err,wrk}")
    fi
}

RUN_CONNS=()
for c in $CONNS; do
    if [ $((c + 100)) -gt "$NOFILE" ]; then
        NOTES+=("C=$c skipped: the fd limit is $NOFILE (hard limit $(ulimit -Hn)); the server and wrk each need C + 100")
        continue
    fi
    RUN_CONNS+=("$c")
    for v in $VARIANTS; do one "$c" "$v"; done
done

# ----------------------------------------------------------------- table
isnum() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
fmt_rps() { isnum "$1" && printf "%.0f" "$1" || echo "$1"; }
ratio() {
    if isnum "$1" && isnum "$2" && awk -v d="$2" 'BEGIN { exit !(d > 0) }'; then
        awk -v n="$1" -v d="$2" 'BEGIN { printf "%.2fx", n / d }'
    else
        echo "-"
    fi
}

ROWS=("C|native req/s|shim req/s|libev req/s|shim/libev|shim/native|RSS MiB n/s/l|OS threads n/s/l|unanswered n/s/l|target")
for c in "${RUN_CONNS[@]}"; do
    n=${RPS[$c,native]} s=${RPS[$c,shim]} l=${RPS[$c,libev]}
    tgt="-"
    if [ "$c" = 1000 ]; then
        if isnum "$s" && isnum "$l" && isnum "$n"; then
            if awk -v s="$s" -v l="$l" -v n="$n" 'BEGIN { exit !(s >= 0.9 * l && s > n) }' &&
               { [ "${STALL[$c,shim]}" = 0 ] || [ "${STALL[$c,shim]}" = - ]; }; then
                tgt="shim >= 0.9x libev, > native, all answered [ok]"
            else
                tgt="shim >= 0.9x libev, > native, all answered [MISS]"
            fi
        else
            tgt="shim >= 0.9x libev, > native, all answered [-]"
        fi
    fi
    ROWS+=("$c|$(fmt_rps "$n")|$(fmt_rps "$s")|$(fmt_rps "$l")|$(ratio "$s" "$l")|$(ratio "$s" "$n")|${RSS[$c,native]} / ${RSS[$c,shim]} / ${RSS[$c,libev]}|${THR[$c,native]} / ${THR[$c,shim]} / ${THR[$c,libev]}|${STALL[$c,native]} / ${STALL[$c,shim]} / ${STALL[$c,libev]}|$tgt")
done

NCOL=10
declare -a W
for ((i = 0; i < NCOL; i++)); do W[i]=0; done
for r in "${ROWS[@]}"; do
    IFS='|' read -ra col <<<"$r"
    for ((i = 0; i < NCOL; i++)); do [ ${#col[i]} -gt ${W[i]} ] && W[i]=${#col[i]}; done
done
first=1
for r in "${ROWS[@]}"; do
    IFS='|' read -ra col <<<"$r"
    line=""
    for ((i = 0; i < NCOL; i++)); do
        if [ $i = $((NCOL - 1)) ]; then cell=${col[i]}
        elif [ $i = 0 ]; then cell=$(printf "%-*s" ${W[i]} "${col[i]}")
        else cell=$(printf "%*s" ${W[i]} "${col[i]}"); fi
        line+="${line:+ | }$cell"
    done
    echo "${line% }"
    if [ $first = 1 ]; then
        line=""
        for ((i = 0; i < NCOL; i++)); do line+="${line:+-+-}$(printf '%*s' ${W[i]} '' | tr ' ' -)"; done
        echo "$line"
        first=0
    fi
done
echo
echo "wrk -t$WRK_THREADS -cC -d${SECS}s, keep-alive, one run each; server: http_threads (native, shim =" \
     "LD_PRELOAD), http_libev (libev).  RSS = server VmHWM; OS threads = highest Threads: seen during the run."
echo "unanswered = connections that got no answer at all between 30% and 80% of the run (ss); the target wants 0."
echo "fd limit $NOFILE; logs: $LOGDIR/http.*"
if [ ${#NOTES[@]} -gt 0 ]; then
    echo "Notes:"
    printf '  %s\n' "${NOTES[@]}"
fi
if [ ${#FAILURES[@]} -gt 0 ]; then
    echo "HTTP FAILURES:"
    printf '  %s\n' "${FAILURES[@]}"
fi
exit $FAILED

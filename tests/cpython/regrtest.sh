#!/usr/bin/env bash
# CPython 3.11's own regression tests (Debian's libpython3.11-testsuite)
# for the thread, socket, signal, subprocess and I/O modules, natively and
# under the preload: every test that passes natively must pass under the
# shim (tests/cpython/compare.py).  Part of `make check`.
#   tests/cpython/regrtest.sh BUILD_DIR [MODULE...]
# Each run is bounded: regrtest's own per-test timeout, and an outer one.
set -u
build=$1
shift
lib=$(realpath "$build/libgreenshim.so")
py=/usr/bin/python3.11
here=$(dirname "$0")
out=$build/cpython
mkdir -p "$out"
if ! "$py" -c 'import test.test_threading' 2>/dev/null; then
	echo "regrtest: $py or its test suite (libpython3.11-testsuite) is missing" >&2
	exit 2
fi
modules=(test_threading test_thread test_threading_local test_queue test_socket test_select
	 test_selectors test_poll test_epoll test_time test_signal test_subprocess
	 test_concurrent_futures test_sched test_fork1 test_wait3 test_wait4
	 test_os test_io test_httpservers test_urllib2_localnet test_logging test_ftplib)
# These need regrtest's "network" resource, though they use loopback only;
# the others run without it (it would let some tests reach for the
# internet, which this machine has not).
net_modules=(test_socketserver)
if [ $# -gt 0 ]; then
	modules=("$@")
	net_modules=()
fi
# Left out in both runs, each for a limit of this machine, not of the shim
# (README, "CPython's regression tests"):
ignore=(-i '*VSOCK*') # no vsock transport here: ThreadedVSOCKSocketStreamTest hangs natively
# run NAME LIMIT "ENV..." ARGS...: one regrtest run of at most LIMIT
# seconds (each test at most 300), its report in NAME.xml.  The limits
# keep the worst case (everything hanging) within CI's time.
run() {
	local name=$1 limit=$2 envs=$3
	shift 3
	local t0=$SECONDS
	# shellcheck disable=SC2086 # envs is a list of VAR=value words
	timeout -k 30 "$limit" env $envs "$py" -m test -j2 --timeout 300 -w --junit-xml "$out/$name.xml" \
		"${ignore[@]}" "$@" > "$out/$name.log" 2>&1
	echo "regrtest: $name run: status $?, $((SECONDS - t0)) s (log: $out/$name.log)"
}
rm -f "$out"/*.xml
status=0
run native 900 PYTHONDONTWRITEBYTECODE=1 "${modules[@]}"
run preload 900 "PYTHONDONTWRITEBYTECODE=1 LD_PRELOAD=$lib" "${modules[@]}"
"$py" "$here/compare.py" "$out/native.xml" "$out/preload.xml" || status=1
if [ ${#net_modules[@]} -gt 0 ]; then
	run native-net 300 PYTHONDONTWRITEBYTECODE=1 -u network "${net_modules[@]}"
	run preload-net 300 "PYTHONDONTWRITEBYTECODE=1 LD_PRELOAD=$lib" -u network "${net_modules[@]}"
	"$py" "$here/compare.py" "$out/native-net.xml" "$out/preload-net.xml" || status=1
fi
exit $status

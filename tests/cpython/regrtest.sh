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
	 test_concurrent_futures test_socketserver test_sched test_fork1 test_wait3 test_wait4
	 test_os test_io test_httpservers test_urllib2_localnet test_logging test_ftplib)
[ $# -gt 0 ] && modules=("$@")
# Left out in both runs, each for a limit of this machine, not of the shim
# (README, "CPython's regression tests"):
ignore=(-i '*VSOCK*') # no vsock transport here: ThreadedVSOCKSocketStreamTest hangs natively
run() {
	local name=$1
	shift
	local t0=$SECONDS
	timeout -k 30 1800 env "$@" "$py" -m test -j2 --timeout 600 -w --junit-xml "$out/$name.xml" \
		"${ignore[@]}" "${modules[@]}" > "$out/$name.log" 2>&1
	echo "regrtest: $name run: status $?, $((SECONDS - t0)) s (log: $out/$name.log)"
}
rm -f "$out/native.xml" "$out/preload.xml"
run native PYTHONDONTWRITEBYTECODE=1
run preload PYTHONDONTWRITEBYTECODE=1 LD_PRELOAD="$lib"
"$py" "$here/compare.py" "$out/native.xml" "$out/preload.xml"

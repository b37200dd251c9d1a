#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (CI's second job).
# Builds build-asan/ (BOWLRP_SANITIZE=ON, RelWithDebInfo) and runs every ctest entry there. Any report
# fails it: UB is not recoverable (-fno-sanitize-recover=all), leaks are checked, the sanitizers' exit
# code is 86 (distinct from every code bowlrp returns), and reports of the CLI children the apps
# suites start are caught in their captured output by run_cli (tests/test_util.h).
# Usage: tests/sanitize.sh [ctest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBOWLRP_SANITIZE=ON -DBOWLRP_BUILD_BENCH=OFF
cmake --build build-asan -j2
export ASAN_OPTIONS="detect_leaks=1:exitcode=86:strict_string_checks=1:detect_stack_use_after_return=1"
# Third-party leaks only (VLFeat's GMM); see the file.
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=86"
# LeakSanitizer's own stop-the-world tracer crashes now and then at a process's exit ("Tracer caught
# signal 11 ... LeakSanitizer has encountered a fatal error"; google/sanitizers#1353, seen here once in a
# CLI child that had loaded libtorch): that is not a report about our code. When a run fails and its output
# carries that signature, the failed entries run once more and their second result is the job's. A failure
# without the signature, or one that repeats, fails the job as before.
log=build-asan/sanitize-ctest.log
status=0
ctest --test-dir build-asan --output-on-failure -j2 "$@" 2>&1 | tee "$log" || status=$?
if [ "$status" -ne 0 ] && grep -q "LeakSanitizer has encountered a fatal error" "$log"; then
  echo "sanitize.sh: LeakSanitizer's tracer crashed (not a leak report); running the failed entries once more"
  ctest --test-dir build-asan --output-on-failure -j2 --rerun-failed
  exit $?
fi
exit "$status"

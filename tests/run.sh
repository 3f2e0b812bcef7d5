#!/usr/bin/env bash
# The full test suite: the README's test command, and all that .ci/run calls.
#
#   1. every Criterion test through ctest (RelWithDebInfo build, asserts on), in
#      build/test-release (the benchmarks are built there too);
#   2. the same tests again in an ASan+UBSan build, build/test-asan (a leak or a report
#      fails the test);
#   3. a clang-format check and a bounded libFuzzer run of every fuzz target, as ctest
#      tests of a clang build, build/test-fuzz, so the run ends with ctest's summary line.
#
# The three build directories are this script's own, and each configure names every
# option, so that nothing another build left in a cache turns a stage off (the README's
# "From source" build keeps USTATSD_TESTS=OFF in build/release). A stage that runs no
# test fails (ctest --no-tests=error) rather than pass with "No tests were found".
#
# Each stage's wall time, builds included, goes to build/test-run.times as it ends
# (tests/figures.sh prints it).
#
# FUZZ_SECONDS (default 30) bounds each fuzz target; JOBS (default: nproc) the build.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
jobs=${JOBS:-$(nproc)}
export FUZZ_SECONDS=${FUZZ_SECONDS:-30}

bash .ci/deps

step() { printf '\n=== %s\n' "$*"; }

mkdir -p build
times=build/test-run.times
printf 'started %s at %s, %s CPUs, JOBS=%s, FUZZ_SECONDS=%s\n' "$(date -u '+%F %H:%M UTC')" \
    "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" "$(nproc)" "$jobs" "$FUZZ_SECONDS" >"$times"
begin=$SECONDS
mark=$SECONDS
took() {
    printf '%-28s %5d s\n' "$1" $((SECONDS - mark)) >>"$times"
    mark=$SECONDS
}

# configure DIR BUILD_TYPE TESTS SANITIZE FUZZ BENCH [more cmake arguments]
configure() {
    local dir=$1 type=$2 tests=$3 sanitize=$4 fuzz=$5 bench=$6
    shift 6
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DUSTATSD_WERROR=ON \
        -DUSTATSD_TESTS="$tests" -DUSTATSD_SANITIZE="$sanitize" -DUSTATSD_FUZZ="$fuzz" \
        -DUSTATSD_BENCH="$bench" -DUSTATSD_UNIT_BINDIR=/usr/bin "$@" >/dev/null
}

step "build and test (RelWithDebInfo)"
configure build/test-release RelWithDebInfo ON OFF OFF ON
cmake --build build/test-release -j "$jobs"
ctest --test-dir build/test-release --output-on-failure --no-tests=error
took "release build and ctest"

step "build and test (ASan+UBSan)"
configure build/test-asan Debug ON ON OFF OFF
cmake --build build/test-asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build/test-asan --output-on-failure --no-tests=error
took "ASan+UBSan build and ctest"

step "format check and fuzz smoke run"
configure build/test-fuzz RelWithDebInfo OFF OFF ON OFF \
    -DCMAKE_C_COMPILER="$(command -v clang)" -DCMAKE_CXX_COMPILER="$(command -v clang++)"
cmake --build build/test-fuzz -j "$jobs"
ctest --test-dir build/test-fuzz --output-on-failure --no-tests=error
took "format check and fuzz"
printf '%-28s %5d s\n' "the whole run" $((SECONDS - begin)) >>"$times"

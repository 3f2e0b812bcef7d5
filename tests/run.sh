#!/usr/bin/env bash
# The full test suite: the README's test command, and all that .ci/run calls.
#
#   1. every Criterion test through ctest (RelWithDebInfo build, asserts on);
#   2. the same tests again in an ASan+UBSan build (a leak or a report fails the test);
#   3. a clang-format check and a bounded libFuzzer run of every fuzz target, as ctest
#      tests of a clang build, so the run ends with ctest's summary line.
#
# FUZZ_SECONDS (default 30) bounds each fuzz target; JOBS (default: nproc) the build.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
jobs=${JOBS:-$(nproc)}
export FUZZ_SECONDS=${FUZZ_SECONDS:-30}

bash .ci/deps

step() { printf '\n=== %s\n' "$*"; }

step "build and test (RelWithDebInfo)"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j "$jobs"
ctest --test-dir build/release --output-on-failure

step "build and test (ASan+UBSan)"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DUSTATSD_SANITIZE=ON -DUSTATSD_BENCH=OFF >/dev/null
cmake --build build/asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build/asan --output-on-failure

step "format check and fuzz smoke run"
CC=clang CXX=clang++ cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DUSTATSD_FUZZ=ON -DUSTATSD_TESTS=OFF -DUSTATSD_BENCH=OFF >/dev/null
cmake --build build/fuzz -j "$jobs"
ctest --test-dir build/fuzz --output-on-failure

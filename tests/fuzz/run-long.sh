#!/usr/bin/env bash
# A longer fuzz run of every target, one after the other: build the clang fuzz build
# (build/test-fuzz, configured as tests/run.sh configures it), then run each libFuzzer
# target for SECONDS (default 600), one at a time, seeded from its seeds and from the corpus
# an earlier long run kept. The corpus lives in build/test-fuzz/long/<target>-corpus and
# grows from run to run; crashes, leaks and timeouts land in build/test-fuzz/long/<target>/
# (crash-*, leak-*, timeout-*, oom-*), each log in build/test-fuzz/long/<target>.log.
#
# usage: tests/fuzz/run-long.sh [SECONDS] [TARGET...]
# Exits non-zero when a target found something; prints one line per target (exec/s,
# corpus size, what it found). JOBS (default: nproc) bounds the build; FUZZ_BUILD
# (default build/test-fuzz) names the build directory.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
seconds=${1:-600}
case $seconds in '' | *[!0-9]*)
    echo "usage: $0 [SECONDS] [TARGET...]" >&2
    exit 2
    ;;
esac
[ $# -gt 0 ] && shift
src=$PWD build=${FUZZ_BUILD:-build/test-fuzz}
long=$build/long

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUSTATSD_WERROR=ON \
    -DUSTATSD_TESTS=OFF -DUSTATSD_SANITIZE=OFF -DUSTATSD_FUZZ=ON -DUSTATSD_BENCH=OFF \
    -DUSTATSD_UNIT_BINDIR=/usr/bin \
    -DCMAKE_C_COMPILER="$(command -v clang)" -DCMAKE_CXX_COMPILER="$(command -v clang++)" \
    >/dev/null
cmake --build "$build" -j "${JOBS:-$(nproc)}" >/dev/null

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do
        targets+=("$(basename "$f" .c)")
    done
fi

mkdir -p "$long"
failed=0
for name in "${targets[@]}"; do
    fuzzer=$PWD/$build/$name
    corpus=$PWD/$long/$name-corpus seeds=$PWD/$long/$name-seeds out=$PWD/$long/$name
    [ -x "$fuzzer" ] || {
        echo "$name: no such fuzz target" >&2
        exit 2
    }
    mkdir -p "$corpus" "$out"
    rm -rf "$seeds" && mkdir -p "$seeds"
    if [ -d "tests/fuzz/seeds/$name" ]; then
        cp "tests/fuzz/seeds/$name"/* "$seeds"/
    else
        bash tests/fuzz/make_corpus.sh "$seeds" >/dev/null
    fi
    extra=()
    [ -f "tests/fuzz/$name.dict" ] && extra+=("-dict=$src/tests/fuzz/$name.dict")
    rc=0
    (cd "$out" && exec "$fuzzer" -max_total_time="$seconds" -print_final_stats=1 \
        -rss_limit_mb=2048 -timeout=10 "${extra[@]}" "$corpus" "$seeds") \
        >"$long/$name.log" 2>&1 || rc=$?
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$long/$name.log")
    found=$(find "$out" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
        -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    printf '%-16s exit %d, %s exec/s, corpus %d files, %d findings in %s\n' "$name" "$rc" \
        "${rate:-?}" "$(find "$corpus" -type f | wc -l)" "$found" "$long/$name"
    if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
        failed=1
        grep -m1 -E 'ERROR|SUMMARY|deadly signal' "$long/$name.log" || true
    fi
done
exit "$failed"

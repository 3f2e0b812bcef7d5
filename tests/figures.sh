#!/usr/bin/env bash
# The figures of the tree that go stale when pasted into a document: how many test
# programs of each kind, the fuzz targets and benchmarks, the lines of each layer and
# module, and, for each build directory given, the timings of its last ctest run.
#
#   tests/figures.sh                      the tree's figures
#   tests/figures.sh build/test-release   and that build's last ctest run (any number)
#
# tests/run.sh writes build/test-run.times, the wall time of each of its stages; when it
# is there, it is printed too. Reads only; builds and runs nothing.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

count() { find "$@" -type f 2>/dev/null | wc -l; }
section() { printf '\n== %s\n' "$*"; }

section "test programs (tests/)"
cd "$top/tests"
printf '%-10s %s\n' kind programs
for kind in unit io; do
    total=0
    line=
    for dir in "$kind"/*/; do
        n=$(count "$dir" -name 'test_*.c')
        [ "$n" -gt 0 ] || continue
        total=$((total + n))
        line="$line, $(basename "$dir") $n"
    done
    printf '%-10s %3d  (%s)\n' "$kind" "$total" "${line#, }"
done
printf '%-10s %3d\n' e2e "$(count e2e -maxdepth 1 -name 'test_*.c')"
printf '%-10s %3d  (%s)\n' fuzz "$(count fuzz -maxdepth 1 -name 'fuzz_*.c')" \
    "$(cd fuzz && ls fuzz_*.c | sed 's/\.c$//' | paste -sd' ')"
# A benchmark's other parts (bench_<name>_<part>.c) are no programs of their own.
printf '%-10s %3d  (%s)\n' bench "$(count bench -maxdepth 1 -name 'bench_*.c' ! -name 'bench_*_*.c')" \
    "$(cd bench && ls bench_*.c | grep -v '^bench_.*_' | sed 's/\.c$//' | paste -sd' ')"

section "lines of code (aggregator/, .c and .h)"
cd "$top/aggregator"
printf '%-8s %7s %7s  %s\n' layer modules lines largest
# In the order of aggregator/CMakeLists.txt, bottom up: each layer uses only layers listed before it.
for layer in $(sed -n 's/^ustatsd_layer(\([a-z]*\).*/\1/p' CMakeLists.txt); do
    modules=$(ls "$layer"/*.c 2>/dev/null | wc -l)
    lines=$(cat "$layer"/*.[ch] | wc -l)
    largest=$(wc -l "$layer"/*.c | grep -v ' total$' | sort -rn | head -1 | awk '{print $2 " " $1}')
    printf '%-8s %7d %7d  %s\n' "$layer" "$modules" "$lines" "$largest"
done
printf '%-8s %7d %7d\n' all "$(ls */*.c | wc -l)" "$(cat */*.[ch] | wc -l)"

section "the 15 largest modules (.c + .h lines)"
for c in */*.c; do
    h=${c%.c}.h
    n=$(cat "$c" $([ -f "$h" ] && echo "$h") | wc -l)
    printf '%6d  %s\n' "$n" "${c%.c}"
done | sort -rn | head -15

section "other parts"
cd "$top"
for part in proto client tests/lib; do
    printf '%-10s %6d lines\n' "$part" "$(cat "$part"/*.[ch] 2>/dev/null | wc -l)"
done

if [ -f "$top/build/test-run.times" ]; then
    section "tests/run.sh, the last run (build/test-run.times)"
    cat "$top/build/test-run.times"
fi

for build in "$@"; do
    log=$build/Testing/Temporary/LastTest.log
    section "ctest in $build"
    # Counted from the CTestTestfile.cmake files: `ctest -N` would overwrite the log.
    printf '%d tests configured\n' \
        "$(find "$build" -name CTestTestfile.cmake -exec cat {} + | grep -c '^add_test(' || true)"
    if [ ! -f "$log" ]; then
        echo "no $log: run ctest there first"
        continue
    fi
    awk '
        /^[0-9]+\/[0-9]+ Testing: / { name = $3 }
        /^Test time = / { t[name] = $4; sum += $4; n++ }
        /^Start testing: / { sub(/^Start testing: /, ""); start = $0 }
        /^End testing: / { sub(/^End testing: /, ""); end = $0 }
        END {
            printf "%d tests, %.1f s of test time (started %s, ended %s)\n", n, sum, start, end
            print "the 10 slowest:"
            for (k in t) printf "%8.1f s  %s\n", t[k], k | "sort -rn | head -10"
        }' "$log"
done

#!/usr/bin/env bash
# Run one libFuzzer target for FUZZ_SECONDS (default 30), seeded from proto/testdata.
# usage: run_fuzz.sh FUZZER SOURCE_DIR WORK_DIR
set -euo pipefail
fuzzer=$1 src=$2 work=$3
name=$(basename "$fuzzer")
corpus="$work/$name-corpus"
rm -rf "$corpus" && mkdir -p "$corpus"
# A target with seeds of its own (tests/fuzz/seeds/<name>/) uses them; the others take
# the wire-format vectors of proto/testdata.
if [ -d "$src/tests/fuzz/seeds/$name" ]; then
    cp "$src/tests/fuzz/seeds/$name"/* "$corpus"/
else
    bash "$src/tests/fuzz/make_corpus.sh" "$corpus"
fi
extra=()
if [ -f "$src/tests/fuzz/$name.dict" ]; then
    extra+=("-dict=$src/tests/fuzz/$name.dict")
fi
# No -max_len: libFuzzer's own bound, 4096 bytes or the longest seed, is already at or
# under what each parser takes from the world (a datagram of 8192 bytes, a line of 4096, a
# configuration file as long as its seeds, which are real ones), and a smaller one would
# keep real inputs out. What made runs slow was per-run set-up, now done once per process
# (docs/architecture.md, "The tests").
cd "$work"
exec "$fuzzer" -max_total_time="${FUZZ_SECONDS:-30}" -print_final_stats=1 -rss_limit_mb=2048 \
    -timeout=10 "${extra[@]}" "$corpus"

#!/usr/bin/env bash
# Turn every line of proto/testdata/*.tsv into one seed file in OUTDIR, decoding the
# escapes that proto/testdata/README.md defines (\n \r \t \\ \xHH), for `fuzz_statsd OUTDIR`.
# Also writes multi-line datagrams of the valid lines, as batching clients send them.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi
out=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
testdata=$here/../../proto/testdata
mkdir -p "$out"

# printf %b decodes \n \r \t \\ and \xHH, the only escapes the tables use.
nvalid=0
while IFS=$'\t' read -r line _; do
    case $line in '' | '#'*) continue ;; esac
    printf '%b' "$line" >"$out/valid-$nvalid"
    nvalid=$((nvalid + 1))
done <"$testdata/valid.tsv"

ninvalid=0
while IFS=$'\t' read -r reason line; do
    case $reason in '' | '#'*) continue ;; esac
    printf '%b' "$line" >"$out/invalid-$ninvalid"
    ninvalid=$((ninvalid + 1))
done <"$testdata/invalid.tsv"

ndgram=0
for ((i = 0; i < nvalid; i += 8)); do
    for ((j = i; j < i + 8 && j < nvalid; j++)); do
        cat "$out/valid-$j"
        printf '\n'
    done >"$out/datagram-$ndgram"
    ndgram=$((ndgram + 1))
done

echo "make_corpus: $nvalid valid, $ninvalid invalid, $ndgram datagram seeds in $out" >&2

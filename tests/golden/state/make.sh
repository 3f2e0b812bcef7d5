#!/usr/bin/env bash
# Make a state file fixture with a given ustatsd binary: make.sh BINARY NAME
# (README.md beside this script says which binary made which fixture.)
#
# Starts BINARY on NAME.json (beside this script) with a socket, an HTTP listener and a
# state file in a temporary directory, sends each line of NAME.lines as a datagram of its
# own, in order, waits until the daemon has accepted them all (none may be rejected),
# keeps its OpenMetrics exposition of the config's families (the daemon's own, ustatsd_*,
# process_* and promhttp_*, left out) as NAME.om, stops it with SIGTERM (a clean stop
# writes the last snapshot) and copies the state file to NAME.state, both beside this
# script.
# Needs socat and curl.
set -euo pipefail

bin=$1
name=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
pid=
cleanup() {
    local rc=$?
    if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    if [ "$rc" != 0 ] && [ -f "$tmp/log" ]; then cat "$tmp/log" >&2; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

scrape() {
    curl -sf --unix-socket "$tmp/http.sock" -H "Accept: ${2:-text/plain}" "http://localhost$1"
}

"$bin" --config "$here/$name.json" --socket "$tmp/sock" --metrics-listen "unix:$tmp/http.sock" \
    --state-file "$tmp/state" 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do
    scrape /-/ready >/dev/null 2>&1 && break
    sleep 0.1
done
scrape /-/ready >/dev/null

n=0
while IFS= read -r line; do
    printf '%s' "$line" | socat -u STDIN "UNIX-SENDTO:$tmp/sock"
    n=$((n + 1))
done <"$here/$name.lines"

accepted=0
for _ in $(seq 100); do
    accepted=$(scrape /metrics | awk '$1 == "ustatsd_lines_accepted_total" { print $2 }')
    [ "${accepted:-0}" = "$n" ] && break
    sleep 0.1
done
if [ "${accepted:-0}" != "$n" ]; then
    echo "make.sh: $accepted of $n lines accepted" >&2
    scrape /metrics | grep '^ustatsd_lines_rejected' >&2 || true
    exit 1
fi

scrape /metrics application/openmetrics-text |
    grep -Ev '^(# [A-Z]+ )?(ustatsd|process|promhttp)_' >"$tmp/om"
kill -TERM "$pid"
wait "$pid"
pid=
cp "$tmp/om" "$here/$name.om"
cp "$tmp/state" "$here/$name.state"

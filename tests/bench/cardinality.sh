#!/bin/bash
# cardinality.sh: the benchmarks of high cardinality at each size, and one markdown table.
#
#   tests/bench/cardinality.sh [--series "10000 100000 1000000 10000000"] [--quick]
#                              [--logs DIR] [BUILD_DIR]
#   tests/bench/cardinality.sh --table DIR [--series "..."]   (the table of an earlier run)
#
# The default sizes are 1k (the reference of the target on CPU per line at 1M), 10k,
# 100k and 1M; 10M takes ten minutes more and is asked for with --series.
# BUILD_DIR (build/test-release by default) holds the benchmarks (tests/bench_*) and the
# daemon they run (ustatsd; $USTATSD_BIN overrides it). For each size N it runs
# bench_ingest (uniform and Zipf mixes), bench_registry, bench_scrape, bench_reload,
# bench_snapshot, bench_debug, bench_expiry, bench_intake and bench_steps at N series, one after the
# other, each program's whole output kept in DIR (a temporary directory by default, named
# on stderr), and reads only their result lines:
#
#   result <bench> series=<N> [mix=<m> per=<p>] <key>=<value> ...
#
# A figure a benchmark did not print (a run that failed, a bench_ingest without
# --series) is shown as "—". --quick: fewer rounds and windows.
# The benchmarks that start the daemon need root for their network namespace
# (bench_ingest, bench_snapshot) and two CPUs to pin the two sides.
set -u

sizes="1000 10000 100000 1000000"
quick=0
logs=""
table_only=0
build=""
while [ $# -gt 0 ]; do
    case "$1" in
    --series) sizes=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --logs) logs=$2; shift 2 ;;
    --table) logs=$2; table_only=1; shift 2 ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "cardinality.sh: unknown option $1" >&2; exit 2 ;;
    *) build=$1; shift ;;
    esac
done
build=${build:-build/test-release}
# run NAME N ARGS...: one benchmark, its output in $logs/NAME-N.log, its time on stderr.
run() {
    local name=$1 n=$2 log t0 rc
    shift 2
    log=$logs/$name-$n.log
    t0=$(date +%s)
    "$@" >"$log" 2>&1
    rc=$?
    echo "  $name at $n series: exit $rc, $(($(date +%s) - t0)) s" >&2
    return 0
}

# Every benchmark at every size, into $logs.
run_all() {
    bin=${USTATSD_BIN:-$build/ustatsd}
    benches=$build/tests
    for b in bench_ingest bench_registry bench_scrape bench_reload bench_snapshot bench_debug \
        bench_expiry bench_intake bench_steps; do
        if [ ! -x "$benches/$b" ]; then
            echo "cardinality.sh: no $benches/$b (a build with -DUSTATSD_BENCH=ON)" >&2
            exit 2
        fi
    done
    if [ ! -x "$bin" ]; then
        echo "cardinality.sh: no daemon at $bin" >&2
        exit 2
    fi
    if [ -z "$logs" ]; then
        logs=$(mktemp -d "${TMPDIR:-/tmp}/cardinality.XXXXXX")
    fi
    mkdir -p "$logs"
    echo "cardinality.sh: $bin, sizes $sizes, logs in $logs" >&2

    if [ $quick = 1 ]; then
        rounds=3 runs=3 windows=1 snap="--quick" reg="--quick"
    else
        rounds=5 runs=5 windows=2 snap="--runs 2" reg=""
    fi

    for n in $sizes; do
        echo "$n series:" >&2
        for mix in uniform zipf; do
            run ingest-$mix "$n" "$benches/bench_ingest" "$bin" --series "$n" --mix $mix \
                --transport unix --rounds $rounds
        done
        # shellcheck disable=SC2086
        run registry "$n" "$benches/bench_registry" --series "$n" --memory-only $reg
        run scrape "$n" "$benches/bench_scrape" "$bin" --series "$n" --runs $runs --no-tls
        run reload "$n" "$benches/bench_reload" "$bin" --series "$n" --runs $windows
        # shellcheck disable=SC2086
        run snapshot "$n" "$benches/bench_snapshot" "$bin" --series "$n" $snap
        run debug "$n" "$benches/bench_debug" "$bin" --series "$n" --runs $runs
        run expiry "$n" "$benches/bench_expiry" --series "$n" --keep 2 --quick
        run intake "$n" "$benches/bench_intake" --series "$n" --rounds $rounds
        run steps "$n" "$benches/bench_steps" --series "$n"
    done
}

if [ $table_only = 1 ]; then
    [ -d "$logs" ] || { echo "cardinality.sh: no directory $logs" >&2; exit 2; }
else
    run_all
fi

# The table: result lines only. A value is bench.key, or bench.mix.per.key for ingest's.
cat "$logs"/*.log | awk -v sizes="$sizes" '
function v(n, k) { return (n SUBSEP k) in val ? val[n, k] : "" }
function num(n, k, fmt,   x) { x = v(n, k); return x == "" ? "—" : sprintf(fmt, x) }
function turn(n, k,   x) { x = v(n, k); return x == "" ? "—" : x == "inf" ? "> 1000" : "≤ " x }
function pair(a, b) { return a == b && a == "—" ? "—" : a " / " b }
# The longest piece in process, in ms: "0.4 / 1.3 / 0.5 / 0.5 / 0.4".
function pieces(n,   k, out, x) {
    split("text openmetrics gzip reload_drain snapshot debug", k, " ")
    out = ""
    for (x = 1; x <= 6; x++)
        out = out (x > 1 ? " / " : "") num(n, "steps." k[x] "_piece_max_cpu_ms", "%.1f")
    return out
}
# A turn in wall time and in CPU time of the loop thread: "≤ 10 (CPU ≤ 2.5)".
function turn2(n, k, c,   x) { x = turn(n, c); return turn(n, k) (x == "—" || x == "≤ -1" ? "" : " (CPU " x ")") }
function worst2(n, a, b, c, ca, cb, cc,   x) {
    x = worst(n, ca, cb, cc)
    return worst(n, a, b, c) (x == "—" || x == "≤ -1" ? "" : " (CPU " x ")")
}
function worst(n, a, b, c,   x, y, m) {
    m = ""
    split(a " " b " " c, x, " ")
    for (y in x)
        if (v(n, x[y]) != "" && (m == "" || v(n, x[y]) == "inf" || (m != "inf" && v(n, x[y]) + 0 > m + 0)))
            m = v(n, x[y])
    return m == "" ? "—" : m == "inf" ? "> 1000" : "≤ " m
}
$1 == "result" {
    bench = $2; n = $3; sub(/^series=/, "", n); q = ""
    for (i = 4; i <= NF; i++)
        if ($i ~ /^(mix|per)=/) { split($i, kv, "="); q = q "." kv[2] }
    for (i = 4; i <= NF; i++) {
        if ($i ~ /^(mix|per)=/) continue
        split($i, kv, "=")
        val[n, bench q "." kv[1]] = kv[2]
    }
}
END {
    print "| series | ingest × raw sink, 20 lines/datagram (uniform / Zipf) | the sink, M lines/s (uniform) | × sink, 1 line | CPU ns per line, 20 lines (uniform / Zipf) | the intake in process, ns per line (uniform) | RSS B per counter series | per 12-bucket histogram | per summary | text scrape ns per series | OpenMetrics ns per series | scrape in process, ns per series (text / OpenMetrics) | scrape worst turn, ms | reload worst turn, ms | snapshot worst turn, ms | /debug worst turn, ms | in process, longest piece CPU ms (text / OM / gzip / reload drain / snapshot / debug) | expiry of half: worst slice, ms |"
    print "|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---|---|---|---|---:|"
    print "| **target** | ≥ 0.75 at 100k, ≥ 0.6 at 1M | | ≥ 0.9 at 100k, ≥ 0.85 at 1M | at 1M ≤ 2× that at 1k | | ≤ 200 | ≤ 400 | | flat 10k→10M (within 1.5×) | flat 10k→10M (within 1.5×) | flat 10k→10M (within 1.5×) | ≤ 5 at 1M, ≤ 10 at 10M | ≤ 5 at 1M, ≤ 10 at 10M | ≤ 5 at 1M, ≤ 10 at 10M | ≤ 5 at 1M, ≤ 10 at 10M | | ≤ 5 at 1M, ≤ 10 at 10M |"
    ns = split(sizes, s, " ")
    for (i = 1; i <= ns; i++) {
        n = s[i]
        sink = v(n, "ingest.uniform.20.sink_lines_per_s")
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", \
            n, \
            pair(num(n, "ingest.uniform.20.ratio", "%.2f"), num(n, "ingest.zipf.20.ratio", "%.2f")), \
            sink == "" ? "—" : sprintf("%.1f", sink / 1e6), \
            pair(num(n, "ingest.uniform.1.ratio", "%.2f"), num(n, "ingest.zipf.1.ratio", "%.2f")), \
            pair(num(n, "ingest.uniform.20.ns_per_line", "%.0f"), num(n, "ingest.zipf.20.ns_per_line", "%.0f")), \
            num(n, "intake.ns_per_line", "%.0f"), \
            num(n, "registry.counter_rss_bytes", "%.0f"), \
            num(n, "registry.histogram_rss_bytes", "%.0f"), \
            num(n, "registry.summary_rss_bytes", "%.0f"), \
            num(n, "scrape.text_ns_per_series", "%.0f"), \
            num(n, "scrape.openmetrics_ns_per_series", "%.0f"), \
            pair(num(n, "steps.text_ns_per_series", "%.0f"), num(n, "steps.openmetrics_ns_per_series", "%.0f")), \
            worst2(n, "scrape.text_worst_turn_ms", "scrape.openmetrics_worst_turn_ms", "scrape.gzip_worst_turn_ms", \
                "scrape.text_worst_turn_cpu_ms", "scrape.openmetrics_worst_turn_cpu_ms", "scrape.gzip_worst_turn_cpu_ms"), \
            turn2(n, "reload.worst_turn_ms", "reload.worst_turn_cpu_ms"), \
            turn2(n, "snapshot.worst_turn_ms", "snapshot.worst_turn_cpu_ms"), \
            turn2(n, "debug.json_worst_turn_ms", "debug.json_worst_turn_cpu_ms"), \
            pieces(n), \
            num(n, "expiry.worst_slice_ms", "%.2f")
    }
}'
cat <<'EOF'

Loop turns are the daemon's own (ustatsd_event_loop_iteration_seconds): "≤ 5" is the upper
bound of the highest bucket that counted a turn while the operation ran (its bounds: 0.1,
0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000 ms); "(CPU ≤ 2.5)" is the same for the
CPU time the loop's thread used in its turns (ustatsd_event_loop_iteration_cpu_seconds),
the daemon's own part of a turn without the time the machine gave others. The scrape's is the worst of text,
OpenMetrics and gzip; the reload's covers the swap and the drain of the retired series;
/debug's is the JSON render of every series (at most 1M). The expiry's is the worst slice
of the sweep in process (thread CPU time; a slice ends after 1 ms) while half the series
expire. Summary series: the default objectives after 1,000 observations, on N/10 series
(at most 100,000). RSS per series includes the tables and the front cache, filled by the
daemon's intake path. The sink's own rate is beside the ratios (uniform, 20 lines a
datagram). The intake in process (bench_intake) is the thread's CPU per line of the
daemon's path without the kernel: what the number of series costs in user space.
bench_steps times, in process, each piece the loop runs of a scrape (render, and gzip's
compression with it), of a reload's drain, of a snapshot's encoding and of a /debug
render: the daemon's own work in one turn, of which a turn holds at most one per task
beside the socket's drain (3 ms at most), without what the machine adds.
EOF

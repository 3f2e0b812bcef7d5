#!/bin/bash
# cardinality.sh: the benchmarks of high cardinality at each size, and one markdown table.
#
#   tests/bench/cardinality.sh [--series "10000 100000 1000000 10000000"] [--quick]
#                              [--rounds R] [--benches "ingest scrape ..."] [--old OLD_DIR]
#                              [--old-credentials on|off] [--cold] [--logs DIR] [BUILD_DIR]
#   tests/bench/cardinality.sh --table DIR [--series "..."]   (the table of an earlier run)
#
# The default sizes are 1k (the reference of the target on CPU per line at 1M), 10k,
# 100k and 1M; 10M takes about an hour more for one build at --rounds 3 (bench_ingest at 1
# line a datagram, 40M datagrams a side and round: 13 to 16 minutes a mix in 35c6187's run)
# and is asked for with --series.
# BUILD_DIR (build/test-release by default) holds the benchmarks (tests/bench_*) and the
# daemon they run (ustatsd; $USTATSD_BIN overrides it). For each size N it runs
# bench_ingest (uniform and Zipf mixes), bench_registry, bench_scrape, bench_reload,
# bench_snapshot, bench_debug, bench_expiry (half the series expire, then 90%, in process),
# bench_sweep (half the series expire in the daemon),
# bench_intake and bench_steps at N series, one after the other, each program's whole
# output kept in DIR (a temporary directory by default, named on stderr), and reads only
# their result lines:
#
#   result <bench> series=<N> [mix=<m> per=<p>] <key>=<value> ...
#
# A figure a benchmark did not print (a run that failed, a bench_ingest without
# --series) is shown as "—". --quick: fewer rounds and windows. --rounds R: bench_ingest's
# rounds (5 by default; its figures are the medians); --cold: the benchmarks of a running
# daemon (ingest, scrape, reload, snapshot, debug, sweep) measure right after its series
# are made, not once it has put them in huge pages, and bench_steps and bench_expiry do
# not collapse them in process as the daemon does (their --cold; a bench_expiry from
# before 09916b8 never collapses, so an old -> new figure of it differs in that too).
# --benches: only these of ingest, registry, scrape, reload, snapshot, debug, expiry,
# sweep, intake and steps (all by default).
#
# --old OLD_DIR: the same run for an older build too, each benchmark right after the new
# one at the same size (so both see the same machine), and a second table, old -> new.
# OLD_DIR holds the old daemon (OLD_DIR/ustatsd), which today's benchmarks drive (with
# --credentials on for bench_ingest: a daemon from before the credentials policy knows
# no linger key; --old-credentials off runs an old build that knows it as the new one
# runs, without), and, where that build has them, its own in-process benchmarks
# (OLD_DIR/tests/bench_registry and bench_expiry, which run the old registry; one from
# before --series, as 8694cf3's, takes N alone and prints prose, whose memory, sweep and
# RSS figures are read); bench_intake and bench_steps drive today's internal API and have
# no old run. Its logs go in DIR/old.
#
# After the main table, with a 1,000-series row in the run, a small one sets the 20-line
# targets at 100k and 1M against what the run's floors allow (best(), below).
#
# The benchmarks that start the daemon need root for their network namespace
# (bench_ingest, bench_snapshot) and two CPUs to pin the two sides.
set -u

sizes="1000 10000 100000 1000000"
quick=0
rounds_opt=""
benches_opt="ingest registry scrape reload snapshot debug expiry sweep intake steps"
old=""
out=""
tag=""
old_credentials=on
cold=""
logs=""
table_only=0
build=""
while [ $# -gt 0 ]; do
    case "$1" in
    --series) sizes=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --rounds) rounds_opt=$2; shift 2 ;;
    --benches) benches_opt=$2; shift 2 ;;
    --old) old=$2; shift 2 ;;
    --old-credentials)
        case "$2" in on | off) old_credentials=$2 ;; *)
            echo "cardinality.sh: --old-credentials on or off, not $2" >&2; exit 2 ;; esac
        shift 2 ;;
    --cold) cold=--cold; shift ;;
    --logs) logs=$2; shift 2 ;;
    --table) logs=$2; table_only=1; shift 2 ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    -*) echo "cardinality.sh: unknown option $1" >&2; exit 2 ;;
    *) build=$1; shift ;;
    esac
done
build=${build:-build/test-release}
# run NAME N ARGS...: one benchmark, its output in $out/NAME-N.log, its time on stderr.
run() {
    local name=$1 n=$2 log t0 rc
    shift 2
    log=$out/$name-$n.log
    t0=$(date +%s)
    "$@" >"$log" 2>&1
    rc=$?
    echo "  $name at $n series${tag:+ ($tag)}: exit $rc, $(($(date +%s) - t0)) s" >&2
    return 0
}

# positional BENCH: whether BENCH is an in-process benchmark from before --series (8694cf3's
# bench_registry and bench_expiry take the number of series as their only argument and print
# prose, not result lines).
positional() {
    [ -x "$1" ] && ! grep -q -e '--series' "$1"
}

# old_registry BENCH N: such a bench_registry run, its memory figures as result lines
# (resident bytes a series; its series were made through the registry, not the intake, so
# no front cache is in them).
old_registry() {
    local n=$2
    "$1" "$n" | awk -v n="$n" '
        { print }
        /^memory counter /   { k = "counter_rss_bytes" }
        /^memory histogram / { k = "histogram_rss_bytes" }
        /^memory summary \(1,000 / { k = "summary_rss_bytes" }
        /^memory / && k != "" {
            for (i = 1; i < NF; i++) if ($(i + 1) == "B/series") { print "result registry series=" n " " k "=" $i; break }
            k = ""
        }'
    return "${PIPESTATUS[0]}"
}

# old_expiry BENCH N: such a bench_expiry run (90% expire), its figures as result lines.
old_expiry() {
    local n=$2
    "$1" "$n" | awk -v n="$n" '
        { print }
        /^  sweep: / { for (i = 1; i < NF; i++) if ($(i + 1) == "M" && $(i + 2) == "series/s")
                           print "result expiry90 series=" n " sweep_series_per_s=" $i * 1e6 }
        /^  RSS / { for (i = 1; i < NF; i++) {
                        if ($i == "malloc_trim") trim = $(i + 1)
                        if ($i == "survivors:") surv = $(i + 1) }
                    print "result expiry90 series=" n " rss_after_trim_bytes=" trim * 1e6
                    print "result expiry90 series=" n " survivors_only_rss_bytes=" surv * 1e6 }'
    return "${PIPESTATUS[0]}"
}

# bench_at B N DAEMON DIR: benchmark B (one of --benches) at N series with daemon DAEMON
# and the in-process benchmarks of DIR (one missing there is left out), logs in $out;
# $tag is "old" for the older build. Options lists ($extra, $reg, $snap) split on purpose.
# shellcheck disable=SC2086
bench_at() {
    local b=$1 n=$2 daemon=$3 dir=$4 extra="" ecold="" nobase=""
    [ "$tag" = old ] && extra="--credentials $old_credentials"
    case $b in
    ingest)
        for mix in uniform zipf; do
            run ingest-$mix "$n" "$benches/bench_ingest" "$daemon" --series "$n" --mix $mix \
                --transport unix --rounds $rounds $cold $extra
        done ;;
    registry)
        if positional "$dir/bench_registry"; then
            run registry "$n" old_registry "$dir/bench_registry" "$n"
        elif [ -x "$dir/bench_registry" ]; then
            run registry "$n" "$dir/bench_registry" --series "$n" --memory-only $reg
        fi ;;
    scrape) run scrape "$n" "$benches/bench_scrape" "$daemon" --series "$n" --runs $runs --no-tls $cold ;;
    reload) run reload "$n" "$benches/bench_reload" "$daemon" --series "$n" --runs $windows $cold ;;
    snapshot) run snapshot "$n" "$benches/bench_snapshot" "$daemon" --series "$n" $snap $cold ;;
    debug) run debug "$n" "$benches/bench_debug" "$daemon" --series "$n" --runs $runs $cold ;;
    expiry)
        if positional "$dir/bench_expiry"; then
            run expiry90 "$n" old_expiry "$dir/bench_expiry" "$n"
        elif [ -x "$dir/bench_expiry" ]; then
            # A build from before 09916b8 knows neither --cold (it collapses nothing, as
            # --cold) nor --no-baseline (the 90% run's rate is read without the baseline).
            if grep -q -a -e '--no-baseline' "$dir/bench_expiry"; then
                ecold=$cold
                nobase=--no-baseline
            fi
            run expiry "$n" "$dir/bench_expiry" --series "$n" --keep 2 --quick $ecold
            run expiry90 "$n" "$dir/bench_expiry" --series "$n" --keep 10 --quick $ecold $nobase
        fi ;;
    sweep) run sweep "$n" "$benches/bench_sweep" "$daemon" --series "$n" $cold ;;
    intake) [ "$tag" = old ] || run intake "$n" "$benches/bench_intake" --series "$n" --rounds $rounds --shape ingest ;;
    steps) [ "$tag" = old ] || run steps "$n" "$benches/bench_steps" --series "$n" $cold ;;
    *) echo "cardinality.sh: no benchmark $b" >&2; exit 2 ;;
    esac
    return 0
}

# Every benchmark at every size, into $logs (and the old build's into $logs/old).
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
    for d in "$bin" ${old:+"$old/ustatsd"}; do
        if [ ! -x "$d" ]; then
            echo "cardinality.sh: no daemon at $d" >&2
            exit 2
        fi
    done
    if [ -z "$logs" ]; then
        logs=$(mktemp -d "${TMPDIR:-/tmp}/cardinality.XXXXXX")
    fi
    mkdir -p "$logs"
    [ -n "$old" ] && mkdir -p "$logs/old"
    echo "cardinality.sh: $bin${old:+ against $old/ustatsd}, sizes $sizes, logs in $logs" >&2

    if [ $quick = 1 ]; then
        rounds=3 runs=3 windows=1 snap="--quick" reg="--quick"
    else
        rounds=5 runs=5 windows=2 snap="--runs 2" reg=""
    fi
    rounds=${rounds_opt:-$rounds}

    for n in $sizes; do
        echo "$n series:" >&2
        for b in $benches_opt; do
            tag="" out=$logs bench_at "$b" "$n" "$bin" "$benches"
            if [ -n "$old" ]; then
                tag=old out=$logs/old bench_at "$b" "$n" "$old/ustatsd" "$old/tests"
            fi
        done
    done
}

if [ $table_only = 1 ]; then
    [ -d "$logs" ] || { echo "cardinality.sh: no directory $logs" >&2; exit 2; }
else
    run_all
fi

# The table: result lines only. A value is bench.key, or bench.mix.per.key for ingest's.
olds=()
if [ -d "$logs/old" ]; then
    olds=("$logs"/old/*.log)
fi
awk -v sizes="$sizes" -v olddir="$logs/old/" '
function v(n, k) { return (n SUBSEP k) in val ? val[n, k] : "" }
function num(n, k, fmt,   x) { x = v(n, k); return x == "" ? "—" : sprintf(fmt, x) }
function turn(n, k,   x) { x = v(n, k); return x == "" ? "—" : x == "inf" ? "> 1000" : "≤ " x }
function pair(a, b) { return a == b && a == "—" ? "—" : a " / " b }
# The longest piece in process, in ms: "0.4 / 1.3 / 0.5 / 0.5 / 0.4 / 0.2 / 9.6 / 0.8".
function pieces(n,   k, out, x) {
    split("text openmetrics gzip reload_drain snapshot debug baseline_pages baseline_touch", k, " ")
    out = ""
    for (x = 1; x <= 8; x++)
        out = out (x > 1 ? " / " : "") num(n, "steps." k[x] "_piece_max_cpu_ms", "%.1f")
    return out
}
# The expiry of half: its worst slice, and its worst step beside the baseline piece: "7.94 (step 7.60; baseline 2.65)".
function with_base(n,   a, b) {
    a = num(n, "expiry.worst_slice_ms", "%.2f"); b = num(n, "expiry.baseline_touch_step_ms", "%.2f")
    return b == "—" ? a : a " (step " num(n, "expiry.worst_step_ms", "%.2f") "; baseline " b ")"
}
# A turn in wall time and in CPU time of the loop thread: "≤ 10 (CPU ≤ 2.5)".
function turn2(n, k, c,   x) { x = turn(n, c); return turn(n, k) (x == "—" || x == "≤ -1" ? "" : " (CPU " x ")") }
# The worst turn of a reload, its turns over 5 ms, and the machine'"'"'s own writes beside it:
# "≤ 10 (CPU ≤ 10); 1 over 5 ms, 0 in the baselines; the machine 0.84 ms, 0 over 5 ms".
function reload_turn(n,   x, b, t) {
    x = v(n, "reload.turns_over_5ms"); b = v(n, "reload.baseline_turns_over_5ms")
    t = v(n, "reload.touch_worst_slice_cpu_ms")
    return turn2(n, "reload.worst_turn_ms", "reload.worst_turn_cpu_ms") \
        (x == "" ? "" : "; " x " over 5 ms, " b " in the baselines") \
        (t == "" ? "" : sprintf("; the machine %.2f ms, %d over 5 ms", t, v(n, "reload.touch_slices_over_5ms")))
}
# "≤ 25 (CPU ≤ 2.5); steal 30 ms": the steal, the most the host took of the daemon'"'"'s CPU
# in one run of any case (none in the logs of a bench_scrape that did not read it).
function scrape_turn(n,   x, y, m) {
    m = ""
    split("text openmetrics gzip", x, " ")
    for (y in x)
        if (v(n, "scrape." x[y] "_steal_max_ms") != "" && (m == "" || v(n, "scrape." x[y] "_steal_max_ms") + 0 > m + 0))
            m = v(n, "scrape." x[y] "_steal_max_ms")
    return worst2(n, "scrape.text_worst_turn_ms", "scrape.openmetrics_worst_turn_ms", "scrape.gzip_worst_turn_ms",
        "scrape.text_worst_turn_cpu_ms", "scrape.openmetrics_worst_turn_cpu_ms", "scrape.gzip_worst_turn_cpu_ms") \
        (m == "" ? "" : sprintf("; steal %.0f ms", m))
}
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
# 90% expired: RSS after the sweep (and malloc_trim, as the daemon does) over a process
# that only held the survivors; and the rate of the sweep, M series a second looked at.
function rss90(n,   a, b) {
    a = v(n, "expiry90.rss_after_trim_bytes"); b = v(n, "expiry90.survivors_only_rss_bytes")
    return a == "" || b == "" || b + 0 == 0 ? "—" : sprintf("%.2f×", a / b)
}
# Half the series expiring in the daemon, and the machine'"'"'s own writes beside it:
# "≤ 1 (CPU ≤ 1); 0 over 5 ms, 0 in the baseline; the machine 0.84 ms, 0 over 5 ms".
function sweep_turn(n,   x, b, t) {
    x = v(n, "sweep.sweep_turns_over_5ms"); b = v(n, "sweep.baseline_turns_over_5ms")
    t = v(n, "sweep.touch_worst_slice_cpu_ms")
    return turn2(n, "sweep.sweep_worst_turn_ms", "sweep.sweep_worst_turn_cpu_ms") \
        (x == "" ? "" : "; " x " over 5 ms, " b " in the baseline") \
        (t == "" ? "" : sprintf("; the machine %.2f ms, %d over 5 ms", t, v(n, "sweep.touch_slices_over_5ms")))
}
function sweep90(n,   x) { x = v(n, "expiry90.sweep_series_per_s"); return x == "" ? "—" : sprintf("%.2f", x / 1e6) }
# The 20-line targets against what the run'"'"'s floors allow (with its 1,000-series row). A
# ratio r is a line'"'"'s time over the sink'"'"'s, 1 / r: a statsd aggregator at its best would pay
# the statsd floor'"'"'s line where memory plays no part (at 1k) and, at N, only the memory the
# floor of an aggregator pays there over its own 1k line (one prefetched cache line a line).
# "—" where the floors of the 1k row leave no time for a line (a round the machine disturbed).
function best(n, mix,   sf, f1, fn, d) {
    sf = v(1000, "ingest." mix ".20.statsd_floor_ratio"); f1 = v(1000, "ingest." mix ".20.floor_ratio")
    fn = v(n, "ingest." mix ".20.floor_ratio")
    if (sf == "" || f1 == "" || fn == "" || sf + 0 <= 0 || f1 + 0 <= 0 || fn + 0 <= 0)
        return "—"
    d = 1 / sf + 1 / fn - 1 / f1
    return d <= 0 ? "—" : sprintf("%.2f", 1 / d)
}
function bounds(   i, n, any) {
    for (i = 1; i <= ns; i++)
        if (s[i] == 1000)
            any = 1
    if (!any)
        return
    print ""
    print "The 20-line targets against the floors of the same run: at best, a statsd aggregator pays the statsd floor'"'"'s line at 1k, where memory plays no part, and at N only the memory the floor of an aggregator pays there over its own line at 1k (1 / ratio: a line'"'"'s time over the sink'"'"'s):"
    print ""
    print "| series | target | ustatsd (uniform / Zipf) | the statsd floor | the floor | a statsd aggregator at best |"
    print "|---:|---|---|---|---|---|"
    for (i = 1; i <= ns; i++) {
        n = s[i]
        if (n < 100000 || n > 1000000)
            continue
        printf "| %s | %s | %s | %s | %s | %s |\n", n, (n >= 1000000 ? "≥ 0.6" : "≥ 0.75"), \
            pair(num(n, "ingest.uniform.20.ratio", "%.2f"), num(n, "ingest.zipf.20.ratio", "%.2f")), \
            pair(num(n, "ingest.uniform.20.statsd_floor_ratio", "%.2f"), num(n, "ingest.zipf.20.statsd_floor_ratio", "%.2f")), \
            pair(num(n, "ingest.uniform.20.floor_ratio", "%.2f"), num(n, "ingest.zipf.20.floor_ratio", "%.2f")), \
            pair(best(n, "uniform"), best(n, "zipf"))
    }
}
# "old → new", or "—".
function arrow(a, b) { return a == "—" && b == "—" ? "—" : a " → " b }
$1 == "result" {
    bench = $2; n = $3; sub(/^series=/, "", n); q = ""
    f = FILENAME; sub(/.*\//, "", f)
    if (f ~ /^expiry90-/)
        bench = "expiry90"
    if (substr(FILENAME, 1, length(olddir)) == olddir) { # not "old/" alone: DIR may end so

        n = "old:" n; anyold = 1
    }
    for (i = 4; i <= NF; i++)
        if ($i ~ /^(mix|per)=/) { split($i, kv, "="); q = q "." kv[2] }
    for (i = 4; i <= NF; i++) {
        if ($i ~ /^(mix|per)=/) continue
        split($i, kv, "=")
        val[n, bench q "." kv[1]] = kv[2]
    }
}
END {
    print "| series | ingest × raw sink, 20 lines/datagram (uniform / Zipf) | the floor of an aggregator × raw sink, 20 lines (uniform / Zipf) | the floor of a statsd aggregator × raw sink, 20 lines (uniform / Zipf) | the sink, M lines/s (uniform) | × sink, 1 line (uniform / Zipf) | the floor × raw sink, 1 line (uniform / Zipf) | the statsd floor × raw sink, 1 line (uniform / Zipf) | CPU ns per line, 20 lines (uniform / Zipf) | the intake in process, ns per line (uniform; ustatsd / the floor / the statsd floor) | RSS B per counter series | per 12-bucket histogram | per summary | text scrape ns per series | OpenMetrics ns per series | the same bytes alone, ns per series (text / OpenMetrics) | less the fixed part, ns per series (text / OpenMetrics) | scrape in process, ns per series (text / OpenMetrics) | scrape in the daemon'"'"'s CPU, ns per series (text / OpenMetrics) | scrape worst turn, ms | reload worst turn, ms; its turns over 5 ms; the machine'"'"'s own writes beside it: longest slice, CPU ms; slices over 5 ms | snapshot worst turn, ms | /debug worst turn, ms | in process, longest piece CPU ms (text / OM / gzip / reload drain / snapshot / debug / baselines: 2 MB of fresh memory / random writes beside the drain) | expiry of half: worst slice, ms (its worst step; the longest baseline piece) | the daemon while half expire: worst turn, ms; its turns over 5 ms; the machine'"'"'s own writes beside it: longest slice, CPU ms; slices over 5 ms | 90% expired: RSS × survivors only | sweep, M series/s |"
    print "|---:|---|---|---|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---|---|---|---|---|---|---|---:|---|---:|---:|"
    print "| **target** | ≥ 0.75 at 100k, ≥ 0.6 at 1M | (the machine'"'"'s bound) | (the machine'"'"'s bound) | | ≥ 0.9 at 100k, ≥ 0.85 at 1M | (the machine'"'"'s bound) | (the machine'"'"'s bound) | at 1M ≤ 2× that at 1k | | ≤ 200 | ≤ 400 | | flat 10k→10M (within 1.5×) | flat 10k→10M (within 1.5×) | (the machine'"'"'s transport) | flat 10k→10M (within 1.5×) | flat 10k→10M (within 1.5×) | flat 10k→10M (within 1.5×) | ≤ 5 at 1M, ≤ 10 at 10M | ≤ 5 at 1M, ≤ 10 at 10M | ≤ 5 at 1M, ≤ 10 at 10M | ≤ 5 at 1M, ≤ 10 at 10M | | ≤ 5 at 1M, ≤ 10 at 10M | ≤ 5 at 1M, ≤ 10 at 10M | ≤ 1.3× at 1M | ≥ 1 |"
    ns = split(sizes, s, " ")
    for (i = 1; i <= ns; i++) {
        n = s[i]
        sink = v(n, "ingest.uniform.20.sink_lines_per_s")
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", \
            n, \
            pair(num(n, "ingest.uniform.20.ratio", "%.2f"), num(n, "ingest.zipf.20.ratio", "%.2f")), \
            pair(num(n, "ingest.uniform.20.floor_ratio", "%.2f"), num(n, "ingest.zipf.20.floor_ratio", "%.2f")), \
            pair(num(n, "ingest.uniform.20.statsd_floor_ratio", "%.2f"), num(n, "ingest.zipf.20.statsd_floor_ratio", "%.2f")), \
            sink == "" ? "—" : sprintf("%.1f", sink / 1e6), \
            pair(num(n, "ingest.uniform.1.ratio", "%.2f"), num(n, "ingest.zipf.1.ratio", "%.2f")), \
            pair(num(n, "ingest.uniform.1.floor_ratio", "%.2f"), num(n, "ingest.zipf.1.floor_ratio", "%.2f")), \
            pair(num(n, "ingest.uniform.1.statsd_floor_ratio", "%.2f"), num(n, "ingest.zipf.1.statsd_floor_ratio", "%.2f")), \
            pair(num(n, "ingest.uniform.20.ns_per_line", "%.0f"), num(n, "ingest.zipf.20.ns_per_line", "%.0f")), \
            pair(pair(num(n, "intake.ns_per_line", "%.0f"), num(n, "intake.floor_ns_per_line", "%.0f")), num(n, "intake.statsd_floor_ns_per_line", "%.0f")), \
            num(n, "registry.counter_rss_bytes", "%.0f"), \
            num(n, "registry.histogram_rss_bytes", "%.0f"), \
            num(n, "registry.summary_rss_bytes", "%.0f"), \
            num(n, "scrape.text_ns_per_series", "%.0f"), \
            num(n, "scrape.openmetrics_ns_per_series", "%.0f"), \
            pair(num(n, "scrape.text_wire_ns_per_series", "%.0f"), num(n, "scrape.openmetrics_wire_ns_per_series", "%.0f")), \
            pair(num(n, "scrape.text_series_ns_per_series", "%.0f"), num(n, "scrape.openmetrics_series_ns_per_series", "%.0f")), \
            pair(num(n, "steps.text_ns_per_series", "%.0f"), num(n, "steps.openmetrics_ns_per_series", "%.0f")), \
            pair(num(n, "scrape.text_cpu_ns_per_series", "%.0f"), num(n, "scrape.openmetrics_cpu_ns_per_series", "%.0f")), \
            scrape_turn(n), \
            reload_turn(n), \
            turn2(n, "snapshot.worst_turn_ms", "snapshot.worst_turn_cpu_ms"), \
            turn2(n, "debug.json_worst_turn_ms", "debug.json_worst_turn_cpu_ms"), \
            pieces(n), \
            with_base(n), \
            sweep_turn(n), \
            rss90(n), \
            sweep90(n)
    }
    bounds()
    if (!anyold)
        exit
    # The older build beside this one, each benchmark run right after the new one.
    print ""
    print "The same run, the older build → this one (each benchmark of the old build right after this one'"'"'s, at the same size; in-process figures from the old build'"'"'s own benchmarks):"
    print ""
    print "| series | ingest × raw sink, 20 lines/datagram, uniform | Zipf | × sink, 1 line, uniform | Zipf | CPU ns per line, 20 lines, uniform | Zipf | RSS B per counter series | per 12-bucket histogram | text scrape ns per series | OpenMetrics ns per series | scrape in the daemon'"'"'s CPU, ns per series (text / OpenMetrics) | scrape worst turn, ms | reload worst turn, ms; its turns over 5 ms; the machine'"'"'s own writes beside it: longest slice, CPU ms; slices over 5 ms | snapshot worst turn, ms | /debug worst turn, ms | expiry of half: worst slice, ms | the daemon while half expire: worst turn, ms; its turns over 5 ms; the machine'"'"'s own writes beside it: longest slice, CPU ms; slices over 5 ms | 90% expired: RSS × survivors only | sweep, M series/s |"
    print "|---:|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= ns; i++) {
        n = s[i]; o = "old:" n
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", \
            n, \
            arrow(num(o, "ingest.uniform.20.ratio", "%.2f"), num(n, "ingest.uniform.20.ratio", "%.2f")), \
            arrow(num(o, "ingest.zipf.20.ratio", "%.2f"), num(n, "ingest.zipf.20.ratio", "%.2f")), \
            arrow(num(o, "ingest.uniform.1.ratio", "%.2f"), num(n, "ingest.uniform.1.ratio", "%.2f")), \
            arrow(num(o, "ingest.zipf.1.ratio", "%.2f"), num(n, "ingest.zipf.1.ratio", "%.2f")), \
            arrow(num(o, "ingest.uniform.20.ns_per_line", "%.0f"), num(n, "ingest.uniform.20.ns_per_line", "%.0f")), \
            arrow(num(o, "ingest.zipf.20.ns_per_line", "%.0f"), num(n, "ingest.zipf.20.ns_per_line", "%.0f")), \
            arrow(num(o, "registry.counter_rss_bytes", "%.0f"), num(n, "registry.counter_rss_bytes", "%.0f")), \
            arrow(num(o, "registry.histogram_rss_bytes", "%.0f"), num(n, "registry.histogram_rss_bytes", "%.0f")), \
            arrow(num(o, "scrape.text_ns_per_series", "%.0f"), num(n, "scrape.text_ns_per_series", "%.0f")), \
            arrow(num(o, "scrape.openmetrics_ns_per_series", "%.0f"), num(n, "scrape.openmetrics_ns_per_series", "%.0f")), \
            arrow(pair(num(o, "scrape.text_cpu_ns_per_series", "%.0f"), num(o, "scrape.openmetrics_cpu_ns_per_series", "%.0f")), pair(num(n, "scrape.text_cpu_ns_per_series", "%.0f"), num(n, "scrape.openmetrics_cpu_ns_per_series", "%.0f"))), \
            arrow(scrape_turn(o), scrape_turn(n)), \
            arrow(reload_turn(o), reload_turn(n)), \
            arrow(turn2(o, "snapshot.worst_turn_ms", "snapshot.worst_turn_cpu_ms"), turn2(n, "snapshot.worst_turn_ms", "snapshot.worst_turn_cpu_ms")), \
            arrow(turn2(o, "debug.json_worst_turn_ms", "debug.json_worst_turn_cpu_ms"), turn2(n, "debug.json_worst_turn_ms", "debug.json_worst_turn_cpu_ms")), \
            arrow(num(o, "expiry.worst_slice_ms", "%.2f"), num(n, "expiry.worst_slice_ms", "%.2f")), \
            arrow(sweep_turn(o), sweep_turn(n)), \
            arrow(rss90(o), rss90(n)), \
            arrow(sweep90(o), sweep90(n))
    }
}' "$logs"/*.log "${olds[@]}"
cat <<'EOF'

Loop turns are the daemon's own (ustatsd_event_loop_iteration_seconds): "≤ 5" is the upper
bound of the highest bucket that counted a turn while the operation ran (its bounds: 0.1,
0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000 ms); "(CPU ≤ 2.5)" is the same for the
CPU time the loop's thread used in its turns (ustatsd_event_loop_iteration_cpu_seconds),
the daemon's own part of a turn without the time the machine gave others. The scrape's is
the worst of text, OpenMetrics and gzip, and "steal 30 ms" beside it the most the host took
of the daemon's CPU in one run of a case, as the guest's kernel accounts it (/proc/stat;
0 where it does not; the most in a run over the three cases, not necessarily the run of
the worst turn): a turn long in wall time and not in CPU time, beside steal, points to
the host (docs/cardinality-turns.md). The reload's covers the swap and the drain of the retired series,
beside the machine's own figure in the same run (bench_reload: random writes to a mapping
as big as the registry, written after the population and left alone since, in slices as
the drain's, 256 × 8 lines a piece, a slice ends after 1 ms of its CPU, right before each
reload: its longest slice of CPU and its slices over 5 ms);
/debug's is the JSON render of every series (at most 1M). The expiry's is the worst slice
of the sweep in process (thread CPU time; a slice ends after 1 ms) while half the series
expire; "the daemon while half expire" is the same expiry in the daemon, its loop's
longest turn from the first series expired to the last, while the other half is sent
again as traffic, and its turns over 5 ms, against a window of that traffic before any
expired (bench_sweep); beside them, the machine's own figure in the same run, with no
ustatsd code: random writes to a mapping as big as the registry, written after the
population and left alone since, in slices as the sweep's (32 × 8 lines a piece, a slice
ends after 1 ms of its CPU), as the sweep window opens: its longest slice of CPU and its
slices over 5 ms. Summary series: the default objectives after 1,000 observations, on N/10 series
(at most 100,000). RSS per series includes the tables and the front cache, filled by the
daemon's intake path. bench_scrape's three cases take their runs in turns (text,
OpenMetrics, gzip, text, ...), as many as render 10M series a case at the small sizes
(1,001 runs at 1k, 1,000 at 10k, 100 at 100k, 10 at 1M, 5 at 10M), so that a
disturbance of a second slows a share of each case's runs, not one case whole; its figures
are the medians. A scrape's fixed part is the same request to the daemon's
endpoint of its own metrics only (connection, request, process and daemon metrics),
timed in the same run; less it, the series' own cost. "The same bytes alone" is the
machine's transport of a scrape, its raw sink: after each timed run, as many bytes from a
plain writer on the daemon's CPU (benchwire.h) to the same client, their median by
series. "In the daemon's CPU" is the daemon's CPU time (utime + stime, ticks of 10 ms)
over all the timed runs of a case, by run and by series (a tick is 10 ns a series at 1k, 1 at 10k, 100k and 1M): what the
scrape costs the daemon, whatever the client's scheduling and a fresh connection's
transport add to the time from connect to the last byte. The floor of an aggregator
(benchfloor.h) is the raw sink that also does the least an exact aggregator of N series
must do with each line: hash its identity, find its slot (one prefetched cache line that
holds the identity's bytes and the sum) in a table of N, compare the bytes and add the
value; bench_ingest runs it in each round after the sink, on a socket that asks for the
senders' credentials as the daemon does (the raw sink asks, as issue 30's did),
bench_intake in process after the intake. The floor of a statsd aggregator (benchfloor.h) does that and what the statsd
format asks of any exact receiver: the type decides what the value does (a counter adds
it over its rate, a gauge sets it, a histogram counts it in its bucket), the value is
checked as the daemon checks it, each series keeps its last line's time for expiry; with
the daemon's own split, and one slot a series found from the line's hash (a counter's one
cache line, a histogram's two, its counts in the second, in a table of histograms). Where it misses a target, it is taken as the machine's bound: the
least we could write that does what the format asks, measured, not a proof that nothing
cheaper exists. The sink's own rate is beside the ratios (uniform, 20 lines a
datagram). The intake in process (bench_intake --shape ingest: bench_ingest's counter,
gauge and 12-bucket histogram families) is the thread's CPU per line of the daemon's path
without the kernel: what the number of series costs in user space.
bench_steps times, in process, each piece the loop runs of a scrape (render, and gzip's
compression with it), of a reload's drain, of a snapshot's encoding and of a /debug
render: the daemon's own work in one turn, of which a turn holds at most one per task
beside the socket's drain (3 ms at most), without what the machine adds. Its baselines are
the machine's own figures, with no ustatsd code: 2 MB of fresh memory mapped, written and
unmapped (page faults, freeing, a TLB flush), as many times as the text scrape has pieces;
and 256 × 8 writes to random cache lines of a mapping as big as the store, written with
it and left alone as long, a piece after each drain piece (benchtouch.h). bench_expiry
runs such writes after each slice of its sweep, as many pieces as the slice had steps,
each of 32 × 8 (its step is 32 series, as the daemon's); its longest piece is beside the
longest step of the sweep, whose step of 32 series that all expire touches about as many
lines.
"90% expired": bench_expiry with nine series in ten expired, the RSS after the sweep and
malloc_trim (as the daemon runs them) over that of a process that only ever held the
survivors, and the series the sweep looks at a second, compaction included.
EOF

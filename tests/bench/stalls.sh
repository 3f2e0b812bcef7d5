#!/bin/sh
# stalls.sh: the times a thread was on its CPU and ran nothing, from a perf recording.
#
#     perf record -e cpu-clock -F 2999 --switch-events -k CLOCK_MONOTONIC -o FILE -p PID
#     tests/bench/stalls.sh FILE [TID] [MS] [STEAL_LOG]
#
# A benchmark's worst loop turn counts the loop thread's CPU clock, and so does every
# figure "of CPU" it prints. On a virtual machine whose kernel does not account steal or
# interrupt time apart (no CONFIG_PARAVIRT_TIME_ACCOUNTING, no CONFIG_IRQ_TIME_ACCOUNTING),
# the time the host does not run the virtual CPU is counted to the thread that was on it:
# a turn then reads as the daemon's own work while the daemon did nothing. Where the
# kernel does account steal, the thread's CPU clock leaves it out, and the turn is long in
# wall time only.
#
# The recording tells them apart. A thread that is on its CPU (switched in, not switched
# out) is sampled every 1/F s; user code runs with interrupts on, so a gap in the samples
# that starts and ends in user code, with no switch between, is time in which the CPU did
# not run the guest at all. This prints each gap of MS milliseconds or more (2.5 by
# default) of TID on its CPU (by default, the thread with the most samples: the daemon's
# loop), whatever its ends, with the function before and after it, and then a count by
# length. A gap that ends in a function that turns interrupts back on (..._irqrestore,
# ..._unlock_irq) may instead be the guest's own kernel with interrupts off. Compare the longest with the worst turn the
# benchmark printed for the same run: a turn as long as a gap inside it is the machine's.
#
# STEAL_LOG, the output of `bench_steal --cpu N` run alongside the recording (N: the CPU
# the thread ran on), settles it where the kernel accounts steal: each gap is followed by
# the first change of the CPU's steal seen from its start to 5 ms after its end, or by
# "no steal", and the count says how many had one. In the busiest seconds of a scrape at
# 10M the steal changed up to 45 times a second, so a gap's window catches a change by
# chance one time in two to six; a change right after the end, gap after gap, is the
# host's stop.
set -eu

file=${1:?usage: stalls.sh PERF_DATA [TID] [MS] [STEAL_LOG]}
tid=${2:-}
ms=${3:-2.5}
steal=${4:-}
[ -z "$steal" ] || [ -r "$steal" ] || { echo "stalls.sh: cannot read $steal" >&2; exit 1; }

if [ -z "$tid" ]; then
    tid=$(perf script -i "$file" -F tid 2>/dev/null | sort | uniq -c | sort -rn |
          awk 'NR == 1 { print $2 }')
fi
[ -n "$tid" ] || { echo "stalls.sh: no samples in $file" >&2; exit 1; }

perf script -i "$file" --show-switch-events --tid "$tid" -F tid,time,event,ip,sym 2>/dev/null |
awk -v ms="$ms" -v tid="$tid" -v steal="$steal" '
    BEGIN {
        while (steal != "" && (getline line < steal) > 0)
            if (split(line, f, " ") >= 4 && f[1] == "steal") {
                nst++; st[nst] = f[2] + 0; sv[nst] = f[4]
            }
    }
    # The first change of steal from start to 5 ms after end: " (steal +10 ms, 1.2 ms after its end)".
    function stolen(start, end,   i) {
        for (i = 1; i <= nst; i++)
            if (st[i] >= start && st[i] <= end + 0.005) {
                withsteal++
                return sprintf("  (steal %s ms, %.1f ms after its end)", sv[i], (st[i] - end) * 1000)
            }
        return "  (no steal)"
    }
    function take(t, ev, where,   gap) {
        if (have && on && ev != "in") {
            gap = (t - last) * 1000
            if (gap >= ms) {
                n++
                if (gap > longest)
                    longest = gap
                if (gap >= 10) n10++
                else if (gap >= 5) n5++
                else n25++
                printf "%.6f  %7.2f ms on the CPU without a sample  (%s -> %s)%s\n",
                       last, gap, lastwhere, where, steal == "" ? "" : stolen(last, t)
            }
        }
        if (ev == "in") on = 1
        if (ev == "out") on = 0
        if (ev == "sample") { samples++; on = 1 }
        have = 1
        last = t
        lastwhere = ev == "sample" ? where : "switch " ev
    }
    $1 == tid && NF >= 3 {
        if (rec != "") take(rt, rev, rwhere)
        t = $2; sub(":", "", t)
        rt = t + 0
        rev = ($3 ~ /^PERF_RECORD_SWITCH/) ? ($4 == "OUT" ? "out" : "in") : "sample"
        rwhere = NF >= 5 ? $5 : "?"
        rec = "y"
        need = rev == "sample" && NF < 5   # with a call chain: on the next line
        next
    }
    need && NF >= 1 { rwhere = NF >= 2 ? $2 : $1; need = 0 }
    END {
        if (rec != "") take(rt, rev, rwhere)
        printf "thread %s: %d samples; gaps of %s ms or more while on the CPU: %d", tid, samples, ms, n
        printf " (%d of 10 ms or more, %d of 5 to 10, %d shorter), the longest %.2f ms", n10, n5, n25, longest
        if (steal != "")
            printf "; %d followed by a change of steal (%d changes in the log)", withsteal, nst
        printf "\n"
    }'

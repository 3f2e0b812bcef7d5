#!/bin/sh
# promtool.sh MODE SOURCE_DIR: promtool on every seed's shipped Prometheus files. The seeds
# are found, not listed: each packaging/seeds/*/ is a seed and must have all of its layout
# (README.md there).
#
#   config  `promtool check config` on each prometheus.yml; its rule_files must name every
#           rule file of its directory (alerts.yml, recording.yml), no more, no fewer. The
#           files an operator provides (credentials_file, password_file, ca_file,
#           cert_file, key_file) are pointed at an empty file in a copy: promtool wants
#           them to exist
#   rules   `promtool check rules` on each alerts.yml and recording.yml
#   test    `promtool test rules` on each tests/seeds/*/alerts_test.yml; every alert of the
#           seed's alerts.yml has a case that fires (exp_alerts not empty) and one that
#           stays quiet (`exp_alerts: []`), as $ALERTCASES (tests/seeds/alertcases.c,
#           built by the suite) reads the two files with libyaml
#   layout  each laid-out seed has alerts.yml, dashboard.json, tests/seeds/<seed>/
#           alerts_test.yml and lines.txt; each tests/seeds/<seed>/ is a seed's
#
# Fails when there is no seed: the check never passes by finding nothing.
set -eu
PROMTOOL=${PROMTOOL:-promtool}
mode=$1
src=$2
fail=0
seeds=0

bad() {
    echo "FAIL: $*" >&2
    fail=1
}

for dir in "$src"/packaging/seeds/*/; do
    dir=${dir%/}
    seed=${dir##*/}
    if [ ! -f "$dir/prometheus.yml" ]; then
        bad "$seed: no prometheus.yml"
        continue
    fi
    seeds=$((seeds + 1))
    tests=$src/tests/seeds/$seed
    case $mode in
    config)
        rules=0
        for f in alerts.yml recording.yml; do
            [ -f "$dir/$f" ] && rules=$((rules + 1))
        done
        # A copy in which the files the operator provides (token, CA, client certificate)
        # name an empty file: promtool checks that they exist, and they are not shipped.
        tmp=$(mktemp -d)
        cp "$dir"/*.yml "$tmp"/
        : >"$tmp/operator-file"
        sed -i -E "s#^( *(credentials_file|password_file|ca_file|cert_file|key_file): *).*#\\1$tmp/operator-file#" \
            "$tmp/prometheus.yml"
        if out=$("$PROMTOOL" check config --lint=all "$tmp/prometheus.yml" 2>&1); then
            echo "$out"
            echo "$out" | grep -q "SUCCESS: $rules rule files found" ||
                bad "$seed: prometheus.yml must name its $rules rule files"
        else
            echo "$out"
            bad "$seed: promtool check config"
        fi
        rm -rf "$tmp"
        ;;
    rules)
        for f in alerts.yml recording.yml; do
            [ -f "$dir/$f" ] || continue
            "$PROMTOOL" check rules --lint=all "$dir/$f" || bad "$seed/$f: promtool check rules"
        done
        ;;
    test)
        if [ ! -f "$tests/alerts_test.yml" ]; then
            bad "$seed: no tests/seeds/$seed/alerts_test.yml"
            continue
        fi
        "$PROMTOOL" test rules "$tests/alerts_test.yml" || bad "$seed: promtool test rules"
        "${ALERTCASES:?ALERTCASES names tests/seeds/alertcases.c built}" "$dir/alerts.yml" \
            "$tests/alerts_test.yml" || bad "$seed: an alert without a firing and a quiet case"

        ;;
    layout)
        for f in "$dir/alerts.yml" "$dir/dashboard.json" "$tests/alerts_test.yml" \
            "$tests/lines.txt"; do
            [ -f "$f" ] || bad "$seed: ${f#"$src"/} is missing"
        done
        ;;
    *)
        echo "usage: promtool.sh config|rules|test|layout SOURCE_DIR" >&2
        exit 2
        ;;
    esac
done
if [ "$mode" = layout ]; then
    for dir in "$src"/tests/seeds/*/; do
        seed=${dir%/}
        seed=${seed##*/}
        [ -d "$src/packaging/seeds/$seed" ] || bad "tests/seeds/$seed: no packaging/seeds/$seed"
    done
fi
[ "$seeds" -gt 0 ] || bad "no seed under packaging/seeds has a prometheus.yml"
exit $fail

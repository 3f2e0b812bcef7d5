#!/bin/sh
# verify_units.sh SYSTEMD_ANALYZE UNIT_DIR SOURCE_DIR: `systemd-analyze verify` on the
# packaged ustatsd.socket and ustatsd.service (UNIT_DIR: the build's packaging/verify, whose
# service names the binary just built) with each seed's drop-ins
# (packaging/seeds/<seed>/ustatsd.socket.d/ and ustatsd.service.d/) beside them, where
# verify reads them as systemd reads /etc/systemd/system/<unit>.d/. Any line verify prints
# fails: an unknown key, a bad value, an ignored line.
set -eu
analyze=$1
units=$2
src=$3
fail=0
dropins=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for dir in "$src"/packaging/seeds/*/; do
    seed=${dir%/}
    seed=${seed##*/}
    rm -rf "$tmp"/*
    cp "$units/ustatsd.socket" "$units/ustatsd.service" "$tmp/"
    for d in ustatsd.socket.d ustatsd.service.d; do
        if [ -d "$dir/$d" ]; then
            cp -r "$dir/$d" "$tmp/"
            dropins=$((dropins + 1))
        fi
    done
    if ! out=$("$analyze" verify --man=no "$tmp/ustatsd.socket" "$tmp/ustatsd.service" 2>&1) ||
        [ -n "$out" ]; then
        echo "$out" | sed "s#$tmp/#$seed: #g" >&2
        echo "FAIL: $seed: systemd-analyze verify with its drop-ins" >&2
        fail=1
    else
        echo "$seed: verified"
    fi
done
[ "$dropins" -gt 0 ] || {
    echo "FAIL: no seed has a drop-in: is this the source directory?" >&2
    fail=1
}
exit $fail

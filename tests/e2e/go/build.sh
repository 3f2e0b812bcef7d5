#!/usr/bin/env bash
# Build the datadog-go test client (dogstatsd_jobs.go) into DEST, offline, in GOPATH mode
# against Debian's packaged library (golang-github-datadog-datadog-go-dev, in .ci/deps):
# the ctest fixture of test_e2e_clientjobs runs this. Without go or the library it fails,
# and the test then fails too: it is never skipped.
#
#   build.sh DEST
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest=${1:?usage: build.sh DEST}

if ! command -v go >/dev/null; then
    echo "build.sh: go not found; .ci/deps installs golang-go" >&2
    exit 1
fi
lib=/usr/share/gocode/src/github.com/DataDog/datadog-go/statsd
if [ ! -d "$lib" ]; then
    echo "build.sh: $lib not found; .ci/deps installs golang-github-datadog-datadog-go-dev" >&2
    exit 1
fi
mkdir -p "$dest/cache"
export GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$dest/cache" GOPROXY=off GOFLAGS=
go build -o "$dest/dogstatsd_jobs" "$here/dogstatsd_jobs.go"

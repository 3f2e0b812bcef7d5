#!/usr/bin/env bash
# Install the pinned DogStatsD client (package.json, package-lock.json) with `npm ci` into
# DEST, outside the source tree: the ctest fixture of test_e2e_dogstatsd runs this.
#
#   install.sh DEST
#
# hot-shots speaks to a Unix socket through unix-dgram, a native addon that node-gyp
# compiles here. It is a plain dependency, not hot-shots' optional one, so a failed build
# fails `npm ci`, and the check at the end fails the fixture: the test then fails, it is
# never skipped. A second run with the same lock file and node is a no-op.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest=${1:?usage: install.sh DEST}

for tool in node npm; do
    if ! command -v "$tool" >/dev/null; then
        echo "install.sh: $tool not found; .ci/deps installs it" >&2
        exit 1
    fi
done

mkdir -p "$dest"
stamp="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1) $(node --version)"
check='require("unix-dgram"); require("hot-shots"); process.stdout.write("ok")'
if [ -f "$dest/.installed" ] && [ "$(cat "$dest/.installed")" = "$stamp" ] &&
    [ "$(cd "$dest" && node -e "$check" 2>/dev/null)" = ok ]; then
    exit 0
fi

cp "$here/package.json" "$here/package-lock.json" "$dest/"
rm -f "$dest/.installed"
# node-gyp builds against the headers of the node that runs it. Where they are installed
# (Debian's libnode-dev, or a nodejs package that ships them) use them rather than
# downloading a tarball of them.
prefix=$(node -p 'require("path").resolve(process.execPath, "..", "..")')
if [ -f "$prefix/include/node/node.h" ]; then
    export npm_config_nodedir="$prefix"
fi
(cd "$dest" && npm ci --no-audit --no-fund --foreground-scripts --loglevel=warn)

if [ "$(cd "$dest" && node -e "$check")" != ok ]; then
    echo "install.sh: hot-shots or unix-dgram does not load from $dest" >&2
    exit 1
fi
echo "$stamp" >"$dest/.installed"

#!/usr/bin/env bash
# Install the dependencies, build, and run the daemon in the foreground with the example
# configuration (no external service needed). Ctrl-C stops it cleanly.
#   CONFIG=... to use another configuration file; extra arguments go to ustatsd.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
bash .ci/deps
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j "$(nproc)" --target ustatsd ustatsd-send >/dev/null

config=${CONFIG:-packaging/ustatsd.example.json}
bin=build/release/ustatsd
"$bin" --check-config "$config" >/dev/null
cat <<MSG
ustatsd: starting with $config
  send:   $top/build/release/ustatsd-send -s /tmp/ustatsd.sock 'imgsrv_objectstore_operations_total:1|c|#operation:get,outcome:success'
  scrape: curl -s http://127.0.0.1:9464/metrics
  debug:  curl -s 'http://127.0.0.1:9464/debug?pretty=1'
MSG
exec "$bin" --config "$config" "$@"

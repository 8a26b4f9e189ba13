#!/usr/bin/env bash
# Instruction profiles of the exporter (docs/performance.md): callgrind on
# the `profiling` build (release with symbols) against the simulator serving
# N generated tasks. For each N: the first poll (from start to /readyz), then
# SCRAPES plain scrapes, then SCRAPES gzip scrapes, each its own dump.
#
#   scripts/profile.sh [N...]        # default: 10000 100000
#   SCRAPES=5 OUT=/tmp/prof scripts/profile.sh 10000
#
# Reads with: callgrind_annotate --inclusive=yes OUT/callgrind.N.<part>.out
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
out="${OUT:-target/profile}"
scrapes="${SCRAPES:-3}"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000)
mkdir -p "$out"
if [ -z "${NO_BUILD:-}" ]; then
  cargo build --profile profiling --locked --bin arize-exporter --example scale_bench >&2
fi
bin="$target/profiling/arize-exporter"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for n in "${sizes[@]}"; do
  "$target/profiling/examples/scale_bench" --simulate "$n" > "$out/sim.$n.url" &
  sim=$!
  until [ -s "$out/sim.$n.url" ]; do sleep 0.1; done
  url=$(head -1 "$out/sim.$n.url")
  port=$(free_port)
  valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$n.%p.out" \
    --dump-instr=no --collect-jumps=no \
    "$bin" --api-url "$url" --api-key x --page-size 100 --max-requests-per-second 100000 \
    --poll-interval 1h --listen-address "127.0.0.1:$port" 2> "$out/exporter.$n.log" &
  exp=$!
  until curl -fs "http://127.0.0.1:$port/readyz" > /dev/null; do sleep 0.5; done
  callgrind_control --dump="first-poll" "$exp" > /dev/null
  callgrind_control --zero "$exp" > /dev/null
  for i in $(seq "$scrapes"); do curl -fs -o /dev/null "http://127.0.0.1:$port/metrics"; done
  callgrind_control --dump="plain x$scrapes" "$exp" > /dev/null
  curl -fs -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/metrics"
  callgrind_control --dump="gzip first" "$exp" > /dev/null
  for i in $(seq "$scrapes"); do curl -fs -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:$port/metrics"; done
  callgrind_control --dump="gzip x$scrapes" "$exp" > /dev/null
  kill "$exp" "$sim"
  wait "$exp" "$sim" 2>/dev/null || true
  for f in "$out"/callgrind.$n.*.out.*; do
    echo "== N=$n $(grep -m1 '^desc: Trigger' "$f" | cut -d: -f3-) $(grep -m1 '^summary:' "$f")"
  done
done

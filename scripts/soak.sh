#!/usr/bin/env bash
# The soak (its figures and how it works: docs/performance.md, "Soak"):
# builds the release binary and the soak driver, and runs the exporter for
# N minutes (default 10) against the simulated Arize API with faults
# injected at random, scrapers, connections opened and abandoned at random,
# and a SIGHUP every minute. It samples RSS, descriptors, polls and
# /healthz, and prints a table per minute and a verdict per bound; the exit
# status is 0 only if every bound held.
#
#   scripts/soak.sh               # 10 minutes
#   scripts/soak.sh --minutes 2   # a shorter run
#   scripts/soak.sh --tasks 10000
#
# The table goes to stdout (Markdown), progress to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
echo "==> cargo build --release --bin arize-exporter --example soak" >&2
cargo build --release --locked --bin arize-exporter --example soak >&2
echo "==> load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exec "$target/release/examples/soak" --exporter "$target/release/arize-exporter" "$@"

#!/usr/bin/env bash
# The scale benchmark (its figures and how it works:
# docs/performance.md): installs wrk if it is missing, builds the release
# binary and the benchmark driver, and runs it against the simulated Arize
# API with 1,000, 10,000 and 100,000 tasks, then 100,000 with every task's
# runs read, then the task-runs polls (10,000 tasks, 1% run between polls),
# then what each metric family costs per task (series, bytes plain and
# gzip) and the whole body at each size, with and without run data and with
# the lean allowlist of docs/metrics.md (real scrapes; families as served).
# Every figure is printed beside its floor, the targets met or not, the
# machine and the load average at the start and the end.
#
#   scripts/bench.sh            # the full run (about 10 minutes on 2 cores)
#   scripts/bench.sh --quick    # 1,000 and 10,000 tasks, shorter series
#   scripts/bench.sh --sizes 10000 --wrk-duration 10
#   scripts/bench.sh --cost-only   # only the cost per family (docs/metrics.md's table)
#
# The table goes to stdout (Markdown), progress to stderr. Criterion
# micro-benchmarks of the hot paths: cargo bench --bench hot_paths
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
  echo "==> installing wrk" >&2
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >&2
fi

target="${CARGO_TARGET_DIR:-target}"
echo "==> cargo build --release --bin arize-exporter --example scale_bench" >&2
cargo build --release --locked --bin arize-exporter --example scale_bench >&2
echo "==> load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exec "$target/release/examples/scale_bench" --exporter "$target/release/arize-exporter" "$@"

#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs the real tools
# the tests drive (each installer in scripts/tools/ is idempotent), then runs
# the formatting and lint gates and both test suites:
# - the hermetic suite (unit tests, tests/integration/, the simulator's
#   tests): what plain `cargo test --workspace` runs with only Rust;
# - the tools suite (tests/tools/, built only with the `tool-tests` feature):
#   the tests that drive promtool, Prometheus, helm, openssl, Chromium, node,
#   the Arize SDK and the other tools installed here.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
export ARIZE_TEST_TOOLS="$repo/.tools"
mkdir -p "$ARIZE_TEST_TOOLS/bin"
export PATH="$ARIZE_TEST_TOOLS/bin:$PATH"

for installer in scripts/tools/*.sh; do
  echo "==> installing test tools: ${installer##*/}"
  bash "$installer"
done

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy (both suites)"
cargo clippy --workspace --all-targets --features tool-tests --locked -- -D warnings
echo "==> cargo check --no-default-features (an exporter without demo mode)"
cargo check --no-default-features --locked
echo "==> cargo test: the hermetic suite and the tools suite"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --workspace --all-targets --features tool-tests --locked 2>&1 | tee "$log"
# One closing line over both suites, after the criterion smoke run's output.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) } }
     END { printf "cargo test: %d passed, %d failed\n", p, f }' "$log"

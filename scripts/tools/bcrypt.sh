#!/usr/bin/env bash
# Python's bcrypt 5.0 in the tools venv, for tests that check a bcrypt hash
# against its password (tests/tools/compose_example.rs: the secured quick start's
# web configuration). Tests run it as $ARIZE_TEST_TOOLS/venv/bin/python.
set -euo pipefail
tools="${ARIZE_TEST_TOOLS:?}"
want="5.0.0"
py="$tools/venv/bin/python"
if [ -x "$py" ] && "$py" -c "import bcrypt, sys; sys.exit(bcrypt.__version__ != '$want')" 2>/dev/null; then
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib/venv.bash"
make_tools_venv
"$tools_venv/bin/pip" install --quiet --disable-pip-version-check "bcrypt==$want"
"$py" -c "import bcrypt"

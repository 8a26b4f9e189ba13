#!/usr/bin/env bash
# Refresh Debian's package lists once per machine, before any apt-get install.
set -euo pipefail
stamp="${ARIZE_TEST_TOOLS:?}/.apt-updated"
[ -f "$stamp" ] && exit 0
apt-get update -qq
touch "$stamp"

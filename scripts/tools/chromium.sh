#!/usr/bin/env bash
# chromium: a headless browser that renders the landing page for the tests
# (a screenshot and the parsed DOM), from Debian's package.
set -euo pipefail
if command -v chromium >/dev/null; then exit 0; fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null

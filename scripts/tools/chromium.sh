#!/usr/bin/env bash
# chromium: a headless browser that renders the landing page for the tests
# (a screenshot and the parsed DOM), from Debian's package, with one font
# family so that the screenshot shows text, not empty boxes.
set -euo pipefail
if command -v chromium >/dev/null && [ -d /usr/share/fonts/truetype/dejavu ]; then exit 0; fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  chromium fonts-dejavu-core >/dev/null

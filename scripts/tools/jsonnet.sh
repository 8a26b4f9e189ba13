#!/usr/bin/env bash
# jsonnet, from Debian's package: mixin/generate.sh renders the monitoring
# mixin with it, and tests/tools/mixin.rs checks the committed render.
set -euo pipefail
if command -v jsonnet >/dev/null; then exit 0; fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends jsonnet >/dev/null

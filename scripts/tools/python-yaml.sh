#!/usr/bin/env bash
# PyYAML for python3: the Rust tests turn the rule files into JSON with it
# (they use only std and serde_json themselves).
set -euo pipefail
python3 -c 'import yaml' 2>/dev/null && exit 0
if [ "$(command -v python3)" = /usr/bin/python3 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-yaml >/dev/null
else
  python3 -m pip install -q pyyaml
fi
python3 -c 'import yaml'

#!/usr/bin/env bash
# Schema validators for the rendered Helm manifests (tests/tools/helm_chart.rs):
# - npm kubernetes-models, @kubernetes-models/prometheus-operator and yaml,
#   used by tests/support/validate-manifests.mjs (every kind, including
#   ServiceMonitor and PrometheusRule), in $ARIZE_TEST_TOOLS/node;
# - PyPI kubernetes-validate, whose --strict mode rejects unknown fields in
#   the core kinds, in the tools venv, linked into $ARIZE_TEST_TOOLS/bin.
set -euo pipefail
tools="${ARIZE_TEST_TOOLS:?}"
node_dir="$tools/node"
kv_version="1.37.0"
npm_pkgs=(kubernetes-models@5.1.0 @kubernetes-models/prometheus-operator@6.0.0 yaml@2.9.1)

command -v npm >/dev/null || { echo "${0##*/}: npm (Node.js 20 or later) is required" >&2; exit 1; }
mkdir -p "$tools/bin" "$node_dir"
stamp="$node_dir/.installed"
if [ "$(cat "$stamp" 2>/dev/null)" != "${npm_pkgs[*]}" ]; then
  [ -f "$node_dir/package.json" ] || echo '{"private":true}' >"$node_dir/package.json"
  (cd "$node_dir" && npm install --silent --no-audit --no-fund --save-exact "${npm_pkgs[@]}")
  echo "${npm_pkgs[*]}" >"$stamp"
fi

if ! "$tools/bin/kubernetes-validate" --version 2>/dev/null | grep -q "$kv_version"; then
  source "$(dirname "${BASH_SOURCE[0]}")/lib/venv.bash"
  venv_install_tool "kubernetes-validate==$kv_version" kubernetes-validate
fi

#!/usr/bin/env bash
# Renders the monitoring mixin (mixin/, default _config) into the files the
# repository ships:
#   helm/arize-exporter/files/arize-exporter.rules.yml  (rules/arize-exporter.rules.yml links to it)
#   helm/arize-exporter/files/arize-exporter.json       (dashboards/arize-exporter.json links to it)
# then checks the rules with `promtool check rules` when promtool is installed.
#
# Usage: mixin/generate.sh [OUT_DIR]   (OUT_DIR defaults to the chart's files/)
#
# Needs Debian's jsonnet (scripts/tools/jsonnet.sh installs it) and nothing
# from the network: the mixin has no jsonnet-bundler dependencies.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$here/../helm/arize-exporter/files}
command -v jsonnet >/dev/null || {
  echo "${0##*/}: jsonnet is required (apt-get install jsonnet, or scripts/tools/jsonnet.sh)" >&2
  exit 1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
jsonnet -S "$here/lib/rule-file.jsonnet" >"$work/arize-exporter.rules.yml"
mkdir "$work/dashboards"
jsonnet -S -m "$work/dashboards" "$here/lib/dashboards.jsonnet" >/dev/null
if command -v promtool >/dev/null; then
  promtool check rules "$work/arize-exporter.rules.yml" >/dev/null
fi
mkdir -p "$out"
cp "$work/arize-exporter.rules.yml" "$work"/dashboards/*.json "$out"/

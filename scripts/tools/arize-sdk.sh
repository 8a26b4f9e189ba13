#!/usr/bin/env bash
# The official Arize SDK's generated API models, the reference client of
# tests/tools/sdk_schema.rs: every page the simulator serves must load with them.
# - pydantic and typing-extensions (all the generated models need), pinned,
#   in the tools venv. (No hashes: pydantic-core is a compiled wheel per
#   Python version and platform, so a hash list would tie CI to one of them.)
# - the arize wheel alone (its own dependencies, numpy, pandas, pyarrow and
#   OpenTelemetry, are never installed), checked against the pinned sha256;
#   only arize/_generated/ is unpacked, under $ARIZE_TEST_TOOLS/arize-sdk.
# - $ARIZE_TEST_TOOLS/bin/arize-sdk-python: the venv's python with that
#   folder on PYTHONPATH (tests/support/sdk_validate.py runs under it).
set -euo pipefail
tools="${ARIZE_TEST_TOOLS:?}"
arize_version="8.61.0"
arize_sha256="4eee41e8dbcb28f20db9c4e4d960e3b4bd555d8a9cad0044755fdc2c0936196e"
python_pkgs=(pydantic==2.12.5 typing-extensions==4.15.0)
dir="$tools/arize-sdk"
stamp="$dir/.installed"
want="arize==$arize_version $arize_sha256 ${python_pkgs[*]}"
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && [ -x "$tools/bin/arize-sdk-python" ]; then
  exit 0
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib/venv.bash"
make_tools_venv
"$tools_venv/bin/pip" install --quiet --disable-pip-version-check "${python_pkgs[@]}"

download=$(mktemp -d)
trap 'rm -rf "$download"' EXIT
"$tools_venv/bin/pip" download --quiet --disable-pip-version-check --no-deps \
  --only-binary=:all: --dest "$download" "arize==$arize_version"
wheel="$download/arize-$arize_version-py3-none-any.whl"
[ -f "$wheel" ] || { echo "${0##*/}: pip did not fetch $(basename "$wheel")" >&2; exit 1; }
got=$(sha256sum "$wheel" | cut -d' ' -f1)
if [ "$got" != "$arize_sha256" ]; then
  echo "${0##*/}: arize $arize_version wheel has sha256 $got, expected $arize_sha256" >&2
  exit 1
fi
rm -rf "$dir"
mkdir -p "$dir" "$tools/bin"
# The wheel is a zip; Python reads it (no unzip needed on the machine).
"$tools_venv/bin/python" - "$wheel" "$dir" <<'PY'
import sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    members = [m for m in z.namelist() if m.startswith("arize/_generated/")]
    if not members:
        sys.exit("no arize/_generated/ in the wheel")
    z.extractall(dest, members)
PY
cat >"$tools/bin/arize-sdk-python" <<SH
#!/bin/sh
# The tools venv's python with the arize SDK's generated models importable
# (written by scripts/tools/arize-sdk.sh).
PYTHONPATH="$dir\${PYTHONPATH:+:\$PYTHONPATH}" exec "$tools_venv/bin/python" "\$@"
SH
chmod +x "$tools/bin/arize-sdk-python"
echo "$want" >"$stamp"

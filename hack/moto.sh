#!/usr/bin/env bash
# Installs moto's server (the third-party VPC Lattice emulator the conformance tests compare
# against) into a virtualenv cached by version, and prints the virtualenv's python on the last line.
set -euo pipefail

version="${MOTO_VERSION:-5.2.5}"
venv="${VLO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vpc-lattice-operator}/moto-$version"
if [[ ! -x $venv/bin/python || ! -f $venv/.installed ]]; then
  echo "installing moto[server]==$version into $venv..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$version" >&2
  touch "$venv/.installed"
fi
echo "$venv/bin/python"

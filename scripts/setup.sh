#!/usr/bin/env bash
# Sets up a virtual environment in .venv with mlxfunctional installed (editable).
#   bash scripts/setup.sh          # the package
#   bash scripts/setup.sh test     # the package and its test dependencies
# On Debian/Ubuntu as root it also installs OpenBLAS (MLX's Linux CPU wheel ships
# the slow reference BLAS, and mlxfunctional loads OpenBLAS in its place: ~17x
# faster matrix products; see README "Performance on Linux") and Graphviz's `dot`
# (plot_model draws with it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(uname -s)" = Linux ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  missing=""
  ldconfig -p | grep -q 'libopenblas.so.0' || missing="$missing libopenblas0-pthread"
  command -v dot >/dev/null || missing="$missing graphviz"
  if [ -n "$missing" ]; then
    apt-get update -qq && apt-get install -y -qq $missing >/dev/null
  fi
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e ".${1:+[$1]}"

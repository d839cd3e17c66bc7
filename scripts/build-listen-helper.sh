#!/usr/bin/env bash
# Compiles docker/wasmesh-listen.c (the socket-activation helper, docs/original-destination.md)
# for the tests into a cache outside the repository, keyed by the source's hash, and prints the
# binary's path. A cached build of the same source is reused. Needs gcc (apt-get install gcc libc6-dev).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/docker/wasmesh-listen.c"
command -v gcc >/dev/null || { echo "build-listen-helper: error[GCC_MISSING]: gcc is not installed (apt-get install -y gcc libc6-dev)" >&2; exit 1; }
hash="$(sha256sum "$src" | cut -c1-16)"
cache="${WASMESH_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wasmesh}/listen-helper"
out="$cache/wasmesh-listen-$hash"
if [[ ! -x "$out" ]]; then
  mkdir -p "$cache"
  tmp="$(mktemp "$cache/.build.XXXXXX")"
  gcc -O2 -Wall -Wextra -Werror -o "$tmp" "$src"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$out"
fi
printf '%s\n' "$out"

#!/usr/bin/env bash
# Installs the benchmarks' load generators: wrk (bench:e2e throughput mode) and h2load (Debian's
# nghttp2-client: bench:protocols HTTP/2 mode) from Debian, and
# fortio (fixed-rate modes, which wrk cannot hold without coordinated omission) built with
# `go install` into the project-local bench/.bin/ (ignored by git). Idempotent: what is already
# there is left alone. Prints the binaries' paths on stdout; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

# fortio 1.66.0: later releases pull in a module (grol.io/grol) the Go module proxy here refuses.
fortio_version="v1.66.0"
bin_dir="$PWD/bench/.bin"

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-loadgen: installing wrk (apt-get)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk >&2 \
      || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk >&2; }
  else
    echo "install-loadgen: wrk is missing and this is not a root Debian shell (Debian: apt-get install wrk)" >&2
    exit 1
  fi
fi

if ! command -v h2load >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-loadgen: installing h2load (apt-get nghttp2-client)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nghttp2-client >&2 \
      || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nghttp2-client >&2; }
  else
    echo "install-loadgen: h2load is missing and this is not a root Debian shell (Debian: apt-get install nghttp2-client)" >&2
    exit 1
  fi
fi

if [ ! -x "$bin_dir/fortio" ] || [ "$("$bin_dir/fortio" version 2>/dev/null)" != "${fortio_version#v}" ]; then
  command -v go >/dev/null 2>&1 || { echo "install-loadgen: Go is required to build fortio (https://go.dev/dl, or Debian's golang-go)" >&2; exit 1; }
  echo "install-loadgen: building fortio $fortio_version into $bin_dir (go install; a few minutes the first time)" >&2
  mkdir -p "$bin_dir"
  GOBIN="$bin_dir" GOFLAGS=-buildvcs=false go install "fortio.org/fortio@$fortio_version" >&2
fi

command -v wrk
command -v h2load
echo "$bin_dir/fortio"

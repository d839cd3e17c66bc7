#!/usr/bin/env bash
# Installs what the reference rate limit service test needs (test/integration/reference-ratelimit.test.ts):
# Redis from Debian (redis-server), and envoyproxy/ratelimit's server (src/service_cmd) built
# with `go install` from the Go module proxy into a cache outside the repository keyed by its
# version (~/.cache/wasmesh/ratelimit-<version>/service_cmd), so CI builds it once. Idempotent.
# Prints the ratelimit binary's path on stdout; progress goes to stderr.
set -euo pipefail

# envoyproxy/ratelimit publishes no recent tags: this is main on 2026-01-22 as the module proxy
# names it (the version `go install …@latest` resolved when wasmesh's RLS client was tested).
ratelimit_version="v1.4.1-0.20260122083618-3fb702589d36"
cache="${WASMESH_CACHE_DIR:-$HOME/.cache/wasmesh}/ratelimit-$ratelimit_version"

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-ratelimit: installing redis-server (apt-get)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server >&2 \
      || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server >&2; }
  else
    echo "install-ratelimit: redis-server is missing and this is not a root Debian shell (Debian: apt-get install redis-server)" >&2
    exit 1
  fi
fi

if [ ! -x "$cache/service_cmd" ]; then
  command -v go >/dev/null 2>&1 || { echo "install-ratelimit: Go is required to build envoyproxy/ratelimit" >&2; exit 1; }
  echo "install-ratelimit: building envoyproxy/ratelimit $ratelimit_version into $cache (go install; about a minute the first time)" >&2
  mkdir -p "$cache"
  GOBIN="$cache" GOFLAGS="-mod=mod -buildvcs=false" go install "github.com/envoyproxy/ratelimit/src/service_cmd@$ratelimit_version" >&2
fi

echo "$cache/service_cmd"

#!/usr/bin/env bash
# Installs what the Zipkin tracing test needs (test/scenarios/seed-003-zipkin.test.ts): the
# official Zipkin server, io.zipkin:zipkin-server's `exec` jar from Maven Central, into a cache
# outside the repository keyed by its version (~/.cache/wasmesh/zipkin-<version>/), checked
# against Maven Central's SHA-1, run by the tests with the machine's Java (in-memory storage).
# Java comes from Debian (openjdk-17-jre-headless) when missing and this is a root Debian shell.
# Idempotent. Prints the jar's path on stdout; progress goes to stderr.
set -euo pipefail

zipkin_version="3.4.2"
cache="${WASMESH_CACHE_DIR:-$HOME/.cache/wasmesh}/zipkin-$zipkin_version"
jar="$cache/zipkin-server-$zipkin_version-exec.jar"
url="https://repo1.maven.org/maven2/io/zipkin/zipkin-server/$zipkin_version/zipkin-server-$zipkin_version-exec.jar"

if ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-zipkin: installing Java (apt-get openjdk-17-jre-headless)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless >&2 \
      || { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless >&2; }
  else
    echo "install-zipkin: java is missing and this is not a root Debian shell (Debian: apt-get install openjdk-17-jre-headless)" >&2
    exit 1
  fi
fi

if [ ! -s "$jar" ]; then
  echo "install-zipkin: downloading zipkin-server $zipkin_version (exec jar, Maven Central) into $cache" >&2
  mkdir -p "$cache"
  tmp="$jar.part"
  curl -fsSL --retry 3 -o "$tmp" "$url"
  want="$(curl -fsSL --retry 3 "$url.sha1" | cut -c1-40)"
  got="$(sha1sum "$tmp" | cut -c1-40)"
  if [ "$want" != "$got" ]; then
    rm -f "$tmp"
    echo "install-zipkin: SHA-1 mismatch for $url (Maven Central says $want, got $got)" >&2
    exit 1
  fi
  mv "$tmp" "$jar"
fi

echo "$jar"

#!/usr/bin/env bash
# Installs Prometheus (Debian's `prometheus` package) for the metrics test that scrapes wasmesh
# with the real thing. Idempotent: an installed one is left alone. Prints the binary's path on
# stdout; progress goes to stderr. The package's own service is not started (the tests run
# their own Prometheus on loopback with a temporary storage directory).
set -euo pipefail

find_bin() {
  if [ -n "${PROMETHEUS_BIN:-}" ] && [ -x "$PROMETHEUS_BIN" ]; then echo "$PROMETHEUS_BIN"; return 0; fi
  command -v prometheus 2>/dev/null && return 0
  [ -x /usr/bin/prometheus ] && { echo /usr/bin/prometheus; return 0; }
  return 1
}

if ! find_bin >/dev/null; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-prometheus: installing prometheus (apt-get)" >&2
    # policy-rc.d 101: the package's postinst must not start its system service (port 9090).
    policy=/usr/sbin/policy-rc.d
    restore=""
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; restore=1; fi
    install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >&2; }
    install || { apt-get update -qq >&2 && install; } || { [ -n "$restore" ] && rm -f "$policy"; exit 1; }
    [ -n "$restore" ] && rm -f "$policy"
  else
    echo "install-prometheus: prometheus is missing and this is not a root Debian shell (Debian: apt-get install prometheus)" >&2
    exit 1
  fi
fi

find_bin

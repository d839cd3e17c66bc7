#!/usr/bin/env bash
# Installs Chromium (Debian's `chromium` package) for the dashboard's browser test, which drives
# it headless with playwright-core (no browser download: playwright-core brings none). Idempotent:
# an installed one is left alone. Prints the binary's path on stdout; progress goes to stderr.
set -euo pipefail

find_bin() {
  if [ -n "${CHROMIUM_BIN:-}" ] && [ -x "$CHROMIUM_BIN" ]; then echo "$CHROMIUM_BIN"; return 0; fi
  for c in chromium chromium-browser; do command -v "$c" 2>/dev/null && return 0; done
  return 1
}

if ! find_bin >/dev/null; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: installing chromium (apt-get)" >&2
    install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2; }
    install || { apt-get update -qq >&2 && install; }
  else
    echo "install-chromium: chromium is missing and this is not a root Debian shell (Debian: apt-get install chromium)" >&2
    exit 1
  fi
fi

find_bin

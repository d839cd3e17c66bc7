#!/usr/bin/env bash
# Installs the real TCP servers the TCP proxy tests put behind a wasmesh gateway: Redis
# (Debian's `redis-server`, with redis-cli) and PostgreSQL (Debian's `postgresql`: initdb,
# postgres, psql). Idempotent: installed ones are left alone. Prints `redis-server <path>`,
# `redis-cli <path>` and `postgresql-bin <dir>` on stdout; progress goes to stderr. The packages'
# own services are not started (the tests run throwaway servers on loopback in temp dirs).
set -euo pipefail

redis_server() { command -v redis-server 2>/dev/null || { [ -x /usr/bin/redis-server ] && echo /usr/bin/redis-server; }; }
redis_cli() { command -v redis-cli 2>/dev/null || { [ -x /usr/bin/redis-cli ] && echo /usr/bin/redis-cli; }; }
# The newest /usr/lib/postgresql/<version>/bin with initdb, postgres and psql.
pg_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && { [ -x "$d/psql" ] || command -v psql >/dev/null 2>&1; } && { echo "$d"; return 0; }
  done
  return 1
}

need=()
redis_server >/dev/null || need+=(redis-server)
redis_cli >/dev/null || need+=(redis-tools)
pg_bin >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-tcpservers: installing ${need[*]} (apt-get)" >&2
    # policy-rc.d 101: the packages' postinst must not start their system services (6379, 5432).
    policy=/usr/sbin/policy-rc.d
    restore=""
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; restore=1; fi
    install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2; }
    install || { apt-get update -qq >&2 && install; } || { [ -n "$restore" ] && rm -f "$policy"; exit 1; }
    [ -n "$restore" ] && rm -f "$policy"
  else
    echo "install-tcpservers: missing ${need[*]} and this is not a root Debian shell (Debian: apt-get install redis-server redis-tools postgresql)" >&2
    exit 1
  fi
fi

echo "redis-server $(redis_server)"
echo "redis-cli $(redis_cli)"
echo "postgresql-bin $(pg_bin)"

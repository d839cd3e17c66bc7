#!/usr/bin/env bash
# The sidecar image's entrypoint: picks the mode (proxy, init, or any other command) from the
# first argument and execs it, so the one image serves as both the istio-proxy container and the
# istio-init container, and signals reach the proxy directly.
#
#   (no args) | proxy [ARGS]        the wasmesh proxy: node bin/wasmesh.js proxy -f $WASMESH_CONFIG
#                                   --listen $WASMESH_LISTEN --admin $WASMESH_ADMIN [ARGS]
#   -f|--listen|--admin|--gateway…  the same, the arguments being the proxy's own
#   proxy sidecar [pilot-agent ARGS] Istio's injected istio-proxy arguments: ignored, defaults used
#   init | istio-iptables [ARGS]    the capture rules (docker/iptables-init.sh), as root
#   -p|-z|-u|-m|-i|-x|-b|-d… ARGS   the same, the arguments being istio-init's (drop-in)
#   anything else                   exec'd as given (a shell, node, ...)
set -euo pipefail

HOME_DIR="${WASMESH_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
CONFIG="${WASMESH_CONFIG:-/etc/wasmesh}"
LISTEN="${WASMESH_LISTEN:-0.0.0.0:15001}"
# Admin stays on loopback unless asked: it exposes the whole config and has no authentication.
ADMIN="${WASMESH_ADMIN:-127.0.0.1:15000}"
PROXY_UID="${WASMESH_PROXY_UID:-1337}"

log() { printf 'wasmesh-entrypoint: %s\n' "$1" >&2; }

# has_flag NAME ARGS...: whether the caller already passed NAME (as `NAME v` or `NAME=v`), in
# which case the environment default for it is not added.
has_flag() {
  local name="$1" a
  shift
  for a in "$@"; do
    [[ "$a" == "$name" || "$a" == "$name="* ]] && return 0
  done
  return 1
}

run_proxy() {
  if [[ "${1:-}" == sidecar ]]; then
    # Istio's injector hands pilot-agent flags (--domain, --serviceCluster, ...) to istio-proxy;
    # they describe Envoy's bootstrap, which wasmesh does not have. Our configuration is the env.
    log "ignoring Istio pilot-agent arguments: $*"
    set --
  fi
  local args=(proxy)
  has_flag -f "$@" || has_flag --file "$@" || args+=(-f "$CONFIG")
  has_flag --listen "$@" || args+=(--listen "$LISTEN")
  has_flag --admin "$@" || args+=(--admin "$ADMIN")
  args+=("$@")
  local cmd=(node "$HOME_DIR/bin/wasmesh.js" "${args[@]}")
  # The capture rules exempt the proxy by uid; a proxy running as root would capture its own
  # upstream connections and loop, so when started as root it gives up root for the proxy uid.
  if [[ "$(id -u)" == 0 && "$PROXY_UID" != 0 ]]; then
    cmd=(setpriv "--reuid=$PROXY_UID" "--regid=$PROXY_UID" --clear-groups -- "${cmd[@]}")
  fi
  # exec: the proxy becomes this process, so SIGTERM/SIGINT reach it unrelayed and its exit
  # status is the container's.
  exec "${cmd[@]}"
}

run_init() {
  exec "$HOME_DIR/docker/iptables-init.sh" "$@"
}

mode="${1:-proxy}"
case "$mode" in
  proxy) shift || true; run_proxy "$@" ;;
  init | wasmesh-init | istio-iptables) shift; run_init "$@" ;;
  -f | --file | --file=* | --listen | --listen=* | --admin | --admin=* | --gateway | --gateway=*)
    run_proxy "$@" ;;
  -p | -z | -u | -g | -m | -i | -x | -b | -d | -o | --dry-run | --cleanup)
    run_init "$@" ;;
  -*) log "unknown option '$mode': give a mode first (proxy, init) or a command"; exit 2 ;;
  *) exec "$@" ;;
esac

#!/usr/bin/env bash
# The sidecar image's entrypoint: picks the mode (sidecar, proxy, init, or any other command) from
# the arguments and execs it, so the one image serves as both the istio-proxy container and the
# istio-init container, and signals reach the proxy directly.
#
#   (no args) | sidecar [ARGS]      the drop-in sidecar: node bin/wasmesh.js sidecar -f $WASMESH_CONFIG
#                                   --app-ports $WASMESH_APP_PORTS --outbound $WASMESH_OUTBOUND
#                                   --inbound $WASMESH_INBOUND --health $WASMESH_HEALTH
#                                   [--admin $WASMESH_ADMIN] [--namespace …] [--labels …] [ARGS]
#   proxy sidecar [pilot-agent ARGS] Istio's injected istio-proxy arguments: the sidecar, with the
#                                   pilot-agent arguments ignored (the configuration is the env)
#   proxy [ARGS]                    one listener, for gateways: node bin/wasmesh.js proxy
#                                   -f $WASMESH_CONFIG --listen $WASMESH_LISTEN --admin $WASMESH_ADMIN [ARGS]
#                                   (or the control plane's config, as below, with --gateway/--labels)
#   -f|--app-ports|--inbound|…      leading wasmesh flags: the sidecar's, or the proxy's when they
#                                   include --listen or --gateway (flags only the proxy has)
#   init | istio-iptables [ARGS]    the capture rules (docker/iptables-init.sh), as root
#   control-plane [ARGS]            the control plane (istiod's role): node bin/wasmesh.js
#                                   control-plane ARGS, as `wasmesh install`'s Deployment runs it
#   -p|-z|-u|-m|-i|-x|-b|-d… ARGS   the same, the arguments being istio-init's (drop-in)
#   anything else                   exec'd as given (a shell, node, ...)
#
# Config from the control plane instead of files (sidecar and proxy modes): when no -f is given, $WASMESH_CONFIG does not
# exist (nothing mounted), and an xDS address is known — WASMESH_XDS, else the discoveryAddress
# of Istio's PROXY_CONFIG (JSON, as the injector and `wasmesh kube-inject` set it) — the sidecar
# runs `--xds <addr> --xds-tls --token-file $WASMESH_TOKEN_FILE --ca-root $WASMESH_CA_ROOT
# --ca-address ${CA_ADDR:-<addr>}`: the projected istio-token and the istio-ca-root-cert mount
# (defaults /var/run/secrets/tokens/istio-token, /var/run/secrets/istio/root-cert.pem); the
# namespace and service account come from POD_NAMESPACE and SERVICE_ACCOUNT (read by the CLI).
# The app ports come from WASMESH_APP_PORTS, else from ISTIO_META_POD_PORTS (the pod's container
# ports as JSON, which Istio's injector gives the istio-proxy container), TCP ports only.
# ISTIO_KUBE_APP_PROBERS (the app's probes the injector rewrote) becomes --app-probers.
set -euo pipefail

HOME_DIR="${WASMESH_HOME:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
CONFIG="${WASMESH_CONFIG:-/etc/wasmesh}"
LISTEN="${WASMESH_LISTEN:-0.0.0.0:15001}"
# The sidecar's listeners bind the pod's wildcard: [::] (one dual-stack socket each) when the pod
# has an IPv6 address (INSTANCE_IPS, the injector's status.podIPs), else 0.0.0.0.
WILDCARD=0.0.0.0
[[ "${INSTANCE_IPS:-}" == *:* ]] && WILDCARD='[::]'
OUTBOUND="${WASMESH_OUTBOUND:-$WILDCARD:15001}"
INBOUND="${WASMESH_INBOUND:-$WILDCARD:15006}"
HEALTH="${WASMESH_HEALTH:-$WILDCARD:15021}"
# Admin stays on loopback unless asked: it exposes the whole config and has no authentication.
# (The `proxy` mode's; the sidecar picks its own from the pod's families unless WASMESH_ADMIN is set.)
ADMIN="${WASMESH_ADMIN:-127.0.0.1:15000}"
# Istio's injector sets POD_NAMESPACE on the istio-proxy container.
NAMESPACE="${WASMESH_NAMESPACE:-${POD_NAMESPACE:-}}"
LABELS="${WASMESH_LABELS:-}"
PROXY_UID="${WASMESH_PROXY_UID:-1337}"
# REDIRECT (default) or TPROXY: with TPROXY (the init ran with -m TPROXY) the sidecar's 15001 and
# 15006 sockets must be transparent; docker/wasmesh-listen.c makes them (as root, CAP_NET_ADMIN)
# and drops to the proxy uid before exec (docs/original-destination.md).
INTERCEPTION="${WASMESH_INTERCEPTION_MODE:-REDIRECT}"
TOKEN_FILE="${WASMESH_TOKEN_FILE:-/var/run/secrets/tokens/istio-token}"
CA_ROOT="${WASMESH_CA_ROOT:-/var/run/secrets/istio/root-cert.pem}"
LISTEN_HELPER="${WASMESH_LISTEN_HELPER:-/usr/local/bin/wasmesh-listen}"

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

# pod_ports JSON: the TCP containerPorts of Istio's ISTIO_META_POD_PORTS
# (`[{"containerPort":5005,"protocol":"TCP"},…]`), comma-separated.
pod_ports() {
  local json="$1" obj out=()
  local object='\{[^{}]*\}' port='"containerPort"[[:space:]]*:[[:space:]]*([0-9]+)' other='"protocol"[[:space:]]*:[[:space:]]*"(UDP|SCTP)"'
  while [[ "$json" =~ $object ]]; do
    obj="${BASH_REMATCH[0]}"
    json="${json#*"$obj"}"
    # Only TCP is captured (-p tcp); a UDP port's number may be a different TCP service.
    [[ "$obj" =~ $other ]] && continue
    [[ "$obj" =~ $port ]] && out+=("${BASH_REMATCH[1]}")
  done
  local IFS=,
  echo "${out[*]}"
}

# exec_wasmesh ARGS...: replaces this shell with the CLI, as the proxy uid when started as root.
exec_wasmesh() {
  # V8 settings as bin/wasmesh.js's shebang has them (host/cli/node-flags.ts); WASMESH_NODE_FLAGS
  # replaces them (set it empty for node's defaults).
  local flags
  read -r -a flags <<< "${WASMESH_NODE_FLAGS---max-semi-space-size=1}"
  local cmd=(node "${flags[@]}" "$HOME_DIR/bin/wasmesh.js" "$@")
  if [[ "${TRANSPARENT_LISTENERS:-}" == yes ]]; then
    # The helper binds the transparent sockets, drops to the proxy uid itself, and execs node.
    cmd=("$LISTEN_HELPER" --transparent --listen "outbound=$OUTBOUND" --listen "inbound=$INBOUND" --user "$PROXY_UID" -- "${cmd[@]}")
    exec "${cmd[@]}"
  fi
  # The capture rules exempt the proxy by uid; a proxy running as root would capture its own
  # upstream connections and loop, so when started as root it gives up root for the proxy uid.
  if [[ "$(id -u)" == 0 && "$PROXY_UID" != 0 ]]; then
    cmd=(setpriv "--reuid=$PROXY_UID" "--regid=$PROXY_UID" --clear-groups -- "${cmd[@]}")
  fi
  # exec: the proxy becomes this process, so SIGTERM/SIGINT reach it unrelayed and its exit
  # status is the container's.
  exec "${cmd[@]}"
}

# xds_address: WASMESH_XDS, else PROXY_CONFIG's discoveryAddress, else nothing.
xds_address() {
  if [[ -n "${WASMESH_XDS:-}" ]]; then echo "$WASMESH_XDS"; return; fi
  local re='"discoveryAddress"[[:space:]]*:[[:space:]]*"([^"]+)"'
  [[ "${PROXY_CONFIG:-}" =~ $re ]] && echo "${BASH_REMATCH[1]}"
  return 0
}

# config_source ARGS...: sets SOURCE_ARGS to where the config comes from, unless ARGS say it:
# -f $CONFIG, or (nothing mounted there and an xDS address known) the control plane over TLS.
config_source() {
  SOURCE_ARGS=()
  if has_flag -f "$@" || has_flag --file "$@" || has_flag --xds "$@"; then return 0; fi
  local xds
  xds="$(xds_address)"
  if [[ -e "$CONFIG" || -z "$xds" ]]; then
    SOURCE_ARGS=(-f "$CONFIG")
    return 0
  fi
  # No config mounted: the control plane's, over TLS, authenticated by the pod's token.
  [[ -r "$TOKEN_FILE" ]] || { log "error[ENTRYPOINT_NO_TOKEN]: xDS from $xds needs the pod's istio-token at $TOKEN_FILE (the projected token volume kube-inject adds; or set WASMESH_TOKEN_FILE), and it is not readable"; exit 2; }
  [[ -r "$CA_ROOT" ]] || { log "error[ENTRYPOINT_NO_CA_ROOT]: xDS from $xds needs the mesh root at $CA_ROOT (the istio-ca-root-cert ConfigMap's root-cert.pem; or set WASMESH_CA_ROOT), and it is not readable"; exit 2; }
  log "no config at $CONFIG: taking it from the control plane at $xds (xDS over TLS, token $TOKEN_FILE)"
  SOURCE_ARGS=(--xds "$xds" --xds-tls --token-file "$TOKEN_FILE" --ca-root "$CA_ROOT")
  has_flag --ca-address "$@" || SOURCE_ARGS+=(--ca-address "${CA_ADDR:-$xds}")
}

run_sidecar() {
  local args=(sidecar)
  config_source "$@"
  args+=("${SOURCE_ARGS[@]}")
  if ! has_flag --app-ports "$@"; then
    local ports="${WASMESH_APP_PORTS:-}"
    [[ -n "$ports" ]] || ports="$(pod_ports "${ISTIO_META_POD_PORTS:-}")"
    if [[ -z "$ports" ]]; then
      log "error[ENTRYPOINT_NO_APP_PORTS]: no app ports: set WASMESH_APP_PORTS to the ports the init container captures inbound (its -b), e.g. WASMESH_APP_PORTS=5005"
      exit 2
    fi
    args+=(--app-ports "$ports")
  fi
  case "$INTERCEPTION" in
    REDIRECT) ;;
    TPROXY)
      if [[ "$(id -u)" != 0 ]]; then
        log "error[ENTRYPOINT_TPROXY_NEEDS_ROOT]: WASMESH_INTERCEPTION_MODE=TPROXY: the transparent listeners need root with CAP_NET_ADMIN at start (the helper then drops to uid $PROXY_UID); run the container as uid 0 with NET_ADMIN"
        exit 2
      fi
      [[ -x "$LISTEN_HELPER" ]] || { log "error[ENTRYPOINT_NO_LISTEN_HELPER]: WASMESH_INTERCEPTION_MODE=TPROXY: $LISTEN_HELPER is missing"; exit 2; }
      TRANSPARENT_LISTENERS=yes ;;
    *) log "error[ENTRYPOINT_BAD_INTERCEPTION]: WASMESH_INTERCEPTION_MODE='$INTERCEPTION': REDIRECT or TPROXY"; exit 2 ;;
  esac
  has_flag --outbound "$@" || args+=(--outbound "$OUTBOUND")
  has_flag --inbound "$@" || args+=(--inbound "$INBOUND")
  has_flag --health "$@" || args+=(--health "$HEALTH")
  # The admin's default is the sidecar's: the pod's localhost from its families (127.0.0.1, [::1] on
  # an IPv6-only pod, as Istio's bootstrap binds it), read by the CLI; WASMESH_ADMIN overrides it.
  [[ -z "${WASMESH_ADMIN:-}" ]] || has_flag --admin "$@" || args+=(--admin "$WASMESH_ADMIN")
  [[ -z "$NAMESPACE" ]] || has_flag --namespace "$@" || args+=(--namespace "$NAMESPACE")
  [[ -z "$LABELS" ]] || has_flag --labels "$@" || args+=(--labels "$LABELS")
  # Istio's injector (and wasmesh kube-inject) rewrites the app's probes to 15020/app-health/...
  # and hands the originals over in ISTIO_KUBE_APP_PROBERS; the sidecar answers them there.
  [[ -z "${ISTIO_KUBE_APP_PROBERS:-}" ]] || has_flag --app-probers "$@" || args+=(--app-probers "$ISTIO_KUBE_APP_PROBERS")
  exec_wasmesh "${args[@]}" "$@"
}

run_proxy() {
  if [[ "${1:-}" == sidecar ]]; then
    # Istio's injector hands pilot-agent flags (--domain, --serviceCluster, ...) to istio-proxy;
    # they describe Envoy's bootstrap, which wasmesh does not have. Our configuration is the env.
    log "ignoring Istio pilot-agent arguments: $*"
    run_sidecar
  fi
  local args=(proxy)
  # A gateway pod takes its config from the control plane as a sidecar does (config_source).
  config_source "$@"
  args+=("${SOURCE_ARGS[@]}")
  has_flag --listen "$@" || args+=(--listen "$LISTEN")
  has_flag --admin "$@" || args+=(--admin "$ADMIN")
  exec_wasmesh "${args[@]}" "$@"
}

run_init() {
  exec "$HOME_DIR/docker/iptables-init.sh" "$@"
}

mode="${1:-sidecar}"
case "$mode" in
  sidecar) shift || true; run_sidecar "$@" ;;
  proxy) shift; run_proxy "$@" ;;
  init | wasmesh-init | istio-iptables) shift; run_init "$@" ;;
  # No defaults added: the Deployment `wasmesh install` makes spells out every flag.
  control-plane) shift; exec_wasmesh control-plane "$@" ;;
  -f | --file | --file=* | --admin | --admin=* | --namespace | --namespace=* | --labels | --labels=* | \
  --app-ports | --app-ports=* | --outbound | --outbound=* | --inbound | --inbound=* | --health | --health=* | \
  --listen | --listen=* | --gateway | --gateway=*)
    # --listen and --gateway exist only in the one-listener proxy (gateways).
    if has_flag --listen "$@" || has_flag --gateway "$@"; then run_proxy "$@"; else run_sidecar "$@"; fi ;;
  -p | -z | -u | -g | -m | -i | -x | -b | -d | -o | --dry-run | --cleanup)
    run_init "$@" ;;
  -*) log "unknown option '$mode': give a mode first (sidecar, proxy, init) or a command"; exit 2 ;;
  *) exec "$@" ;;
esac

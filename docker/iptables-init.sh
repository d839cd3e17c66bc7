#!/usr/bin/env bash
# wasmesh-init: installs the nat-table rules that send a pod's TCP traffic through the wasmesh
# sidecar, flag-compatible with Istio's istio-iptables so an injected istio-init container's
# arguments (e.g. `-p 15001 -u 1337 -m REDIRECT -i * -x "" -b 5005 -d ""`) work unchanged.
#
# Rule shape (nat table, IPv4), named like Istio's so existing runbooks and debugging habits apply:
#   PREROUTING -p tcp -> ISTIO_INBOUND      inbound: chosen ports -> ISTIO_IN_REDIRECT (-> :15006)
#   OUTPUT     -p tcp -> ISTIO_OUTPUT       outbound: everything but the proxy's own uid/gid,
#                                           loopback and excluded ranges -> ISTIO_REDIRECT (-> :15001)
# Re-running replaces the chains (never duplicates rules); --cleanup removes them; --dry-run only
# prints the iptables commands. Usage errors exit 2, iptables failures exit 1, each with a stable code.
set -euo pipefail

readonly PROG=wasmesh-init
readonly CHAINS=(ISTIO_INBOUND ISTIO_IN_REDIRECT ISTIO_OUTPUT ISTIO_REDIRECT)
# Ports the sidecar itself serves (admin, outbound, inbound, merged metrics, health, Prometheus) are never captured
# inbound: redirecting them to 15006 would make the proxy's own endpoints unreachable or loop.
readonly ALWAYS_EXCLUDED_INBOUND=(15000 15001 15006 15020 15021 15090)
# Istio's inbound passthrough source address: the proxy uses it when it hands inbound traffic to
# the app over loopback, and such connections must not be captured again.
readonly INBOUND_PASSTHROUGH_SRC=127.0.0.6/32
IPT="${WASMESH_IPTABLES:-iptables}"

usage() {
  cat <<'EOF'
usage: wasmesh-init [-p PORT] [-z PORT] [-u UID] [-g GID] [-m REDIRECT] [-i CIDRS] [-x CIDRS]
                    [-b PORTS] [-d PORTS] [-o PORTS] [--dry-run | --cleanup] [-h]
  -p PORT   outbound capture port: outgoing TCP is redirected here (default 15001)
  -z PORT   inbound capture port: incoming TCP is redirected here (default 15006)
  -u UID    uid of the proxy; its traffic is never captured (default 1337)
  -g GID    gid of the proxy; its traffic is never captured (default: the uid)
  -m MODE   inbound interception mode; only REDIRECT is supported (default REDIRECT)
  -i CIDRS  comma-separated IPv4 ranges whose outbound traffic is captured, or '*' (default '*')
  -x CIDRS  comma-separated IPv4 ranges excluded from outbound capture (default none)
  -b PORTS  comma-separated inbound ports to capture, or '*' for all (default none)
  -d PORTS  inbound ports excluded when -b is '*' (15000,15001,15006,15020,15021,15090 always are)
  -o PORTS  outbound destination ports excluded from capture (default none)
  --dry-run print the iptables commands instead of running them (needs neither root nor iptables)
  --cleanup remove the ISTIO_* chains and the jumps into them, then exit
Environment: WASMESH_IPTABLES names the iptables binary (default iptables; e.g. iptables-legacy).
An option given with an empty value may also be written bare (`-x -b 5005`), as Kubernetes shows it.
EOF
}

# usage_error CODE MESSAGE: a mistake in the arguments; exit 2 like getopt-style tools.
usage_error() {
  printf '%s: error[%s]: %s\n' "$PROG" "$1" "$2" >&2
  printf "run '%s -h' for usage\n" "$PROG" >&2
  exit 2
}

# fail CODE MESSAGE: the arguments were fine but the system refused; exit 1.
fail() {
  printf '%s: error[%s]: %s\n' "$PROG" "$1" "$2" >&2
  exit 1
}

warn() { printf '%s: warning: %s\n' "$PROG" "$1" >&2; }

# ---- argument validation -------------------------------------------------------------------

is_port() {
  [[ "$1" =~ ^[0-9]{1,5}$ ]] && (( 10#$1 >= 1 && 10#$1 <= 65535 ))
}

# check_port FLAG VALUE
check_port() {
  is_port "$2" || usage_error INIT_BAD_PORT "$1 '$2': a port must be an integer from 1 to 65535"
}

# split_list VALUE -> LIST (global array): comma-separated, blanks trimmed, empty items dropped.
split_list() {
  LIST=()
  local item items=()
  # read -a splits without pathname expansion, so '*' stays a literal.
  IFS=, read -r -a items <<<"$1"
  for item in "${items[@]+"${items[@]}"}"; do
    item="${item//[[:space:]]/}"
    [[ -n "$item" ]] && LIST+=("$item")
  done
  return 0
}

# parse_ports FLAG VALUE ALLOW_STAR -> LIST, in the order given, without duplicates.
parse_ports() {
  split_list "$2"
  local out=() p seen=" "
  for p in "${LIST[@]}"; do
    if [[ "$p" == '*' ]]; then
      [[ "$3" == yes && ${#LIST[@]} -eq 1 ]] ||
        usage_error INIT_BAD_PORT "$1 '$2': '*' must stand alone, and only -b accepts it"
      out+=('*')
      continue
    fi
    check_port "$1" "$p"
    p=$((10#$p))
    [[ "$seen" == *" $p "* ]] || { out+=("$p"); seen+="$p "; }
  done
  LIST=("${out[@]+"${out[@]}"}")
}

is_ipv4_cidr() {
  [[ "$1" =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})(/([0-9]{1,2}))?$ ]] || return 1
  local i
  for i in 1 2 3 4; do (( 10#${BASH_REMATCH[$i]} <= 255 )) || return 1; done
  [[ -z "${BASH_REMATCH[6]}" ]] || (( 10#${BASH_REMATCH[6]} <= 32 ))
}

# parse_cidrs FLAG VALUE ALLOW_STAR -> LIST. IPv6 ranges are skipped with a warning: this script
# programs IPv4 only, and refusing a dual-stack pod's arguments would block it from starting.
parse_cidrs() {
  split_list "$2"
  local out=() c
  for c in "${LIST[@]}"; do
    if [[ "$c" == '*' ]]; then
      [[ "$3" == yes && ${#LIST[@]} -eq 1 ]] ||
        usage_error INIT_BAD_CIDR "$1 '$2': '*' must stand alone, and only -i accepts it"
      out+=('*')
    elif [[ "$c" == *:* ]]; then
      warn "$1: IPv6 range '$c' ignored (only IPv4 is captured)"
    elif is_ipv4_cidr "$c"; then
      out+=("$c")
    else
      usage_error INIT_BAD_CIDR "$1 '$c': not an IPv4 address or range (a.b.c.d or a.b.c.d/n)"
    fi
  done
  LIST=("${out[@]+"${out[@]}"}")
}

# ---- argument parsing ----------------------------------------------------------------------

OUT_PORT=15001
IN_PORT=15006
PROXY_UID=1337
PROXY_GID=
MODE=REDIRECT
INCLUDE_CIDRS='*'
EXCLUDE_CIDRS=
INBOUND_PORTS=
EXCLUDE_INBOUND=
EXCLUDE_OUTBOUND=
ACTION=apply

while (( $# > 0 )); do
  flag="$1"
  shift
  case "$flag" in
    -h | --help) usage; exit 0 ;;
    --dry-run) [[ "$ACTION" == cleanup ]] && usage_error INIT_BAD_FLAG "--dry-run and --cleanup exclude each other"
      ACTION=dry-run; continue ;;
    --cleanup) [[ "$ACTION" == dry-run ]] && usage_error INIT_BAD_FLAG "--dry-run and --cleanup exclude each other"
      ACTION=cleanup; continue ;;
    # pilot-agent's logging flag, present in newer injected istio-init arguments: harmless here.
    --log_output_level=*) continue ;;
    -[pzugmixbdo]) ;;
    *) usage_error INIT_BAD_FLAG "unknown option '$flag'" ;;
  esac
  # The value is the next word, unless that word is missing or is itself an option: Kubernetes
  # prints empty arguments as nothing, so `-x -b 5005` copied from `kubectl describe` means -x "".
  if (( $# > 0 )) && ! [[ "$1" =~ ^-[a-zA-Z-] ]]; then
    value="$1"
    shift
  else
    value=
  fi
  case "$flag" in
    -p) check_port -p "$value"; OUT_PORT=$((10#$value)) ;;
    -z) check_port -z "$value"; IN_PORT=$((10#$value)) ;;
    -u) [[ "$value" =~ ^[0-9]+$ ]] || usage_error INIT_BAD_ID "-u '$value': the proxy uid must be numeric"
        PROXY_UID="$value" ;;
    -g) [[ "$value" =~ ^[0-9]+$ ]] || usage_error INIT_BAD_ID "-g '$value': the proxy gid must be numeric"
        PROXY_GID="$value" ;;
    -m) case "$value" in
          REDIRECT) MODE=REDIRECT ;;
          TPROXY) usage_error INIT_MODE_UNSUPPORTED "-m TPROXY: only REDIRECT interception is supported" ;;
          *) usage_error INIT_BAD_MODE "-m '$value': the mode must be REDIRECT" ;;
        esac ;;
    -i) INCLUDE_CIDRS="$value" ;;
    -x) EXCLUDE_CIDRS="$value" ;;
    -b) INBOUND_PORTS="$value" ;;
    -d) EXCLUDE_INBOUND="$value" ;;
    -o) EXCLUDE_OUTBOUND="$value" ;;
  esac
done

PROXY_GID="${PROXY_GID:-$PROXY_UID}"
[[ "$OUT_PORT" != "$IN_PORT" ]] || usage_error INIT_BAD_PORT "-p and -z are both $OUT_PORT: outbound and inbound capture need different ports"

parse_cidrs -i "$INCLUDE_CIDRS" yes; INCLUDE=("${LIST[@]+"${LIST[@]}"}")
parse_cidrs -x "$EXCLUDE_CIDRS" no;  EXCLUDE=("${LIST[@]+"${LIST[@]}"}")
parse_ports -b "$INBOUND_PORTS" yes; INBOUND=("${LIST[@]+"${LIST[@]}"}")
parse_ports -d "$EXCLUDE_INBOUND" no; EXCL_IN=("${LIST[@]+"${LIST[@]}"}")
parse_ports -o "$EXCLUDE_OUTBOUND" no; EXCL_OUT=("${LIST[@]+"${LIST[@]}"}")

# The capture ports themselves are excluded too, whatever -p/-z say, for the same loop reason.
all_excluded="$(IFS=,; echo "${ALWAYS_EXCLUDED_INBOUND[*]}"),$OUT_PORT,$IN_PORT"
for p in "${EXCL_IN[@]+"${EXCL_IN[@]}"}"; do all_excluded+=",$p"; done
parse_ports -d "$all_excluded" no
EXCL_IN=("${LIST[@]}")

# ---- the rule set --------------------------------------------------------------------------

RULES=()
rule() { local IFS=$'\x1f'; RULES+=("$*"); }

build_rules() {
  local c p
  for c in "${CHAINS[@]}"; do rule -N "$c"; done

  rule -A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports "$OUT_PORT"
  rule -A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports "$IN_PORT"

  if (( ${#INBOUND[@]} > 0 )); then
    rule -A PREROUTING -p tcp -j ISTIO_INBOUND
    if [[ "${INBOUND[0]}" == '*' ]]; then
      # Loopback never reaches nat PREROUTING for local connections; stated so the intent survives
      # a future switch to mangle/TPROXY, where it would.
      rule -A ISTIO_INBOUND -i lo -j RETURN
      for p in "${EXCL_IN[@]}"; do rule -A ISTIO_INBOUND -p tcp -m tcp --dport "$p" -j RETURN; done
      rule -A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT
    else
      for p in "${INBOUND[@]}"; do
        if [[ " ${EXCL_IN[*]} " == *" $p "* ]]; then
          warn "-b: port $p is excluded from inbound capture (sidecar or -d port); not captured"
          continue
        fi
        rule -A ISTIO_INBOUND -p tcp -m tcp --dport "$p" -j ISTIO_IN_REDIRECT
      done
    fi
  fi

  rule -A OUTPUT -p tcp -j ISTIO_OUTPUT
  for p in "${EXCL_OUT[@]+"${EXCL_OUT[@]}"}"; do rule -A ISTIO_OUTPUT -p tcp -m tcp --dport "$p" -j RETURN; done
  rule -A ISTIO_OUTPUT -s "$INBOUND_PASSTHROUGH_SRC" -o lo -j RETURN
  # The proxy dialing its own pod IP (over lo) is a call into this pod: treat it as inbound.
  if (( ${#INBOUND[@]} > 0 )); then
    rule -A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -m owner --uid-owner "$PROXY_UID" -j ISTIO_IN_REDIRECT
  fi
  # The app talking to itself over lo stays direct; the proxy's own traffic is never captured,
  # which is what keeps the proxy's upstream connections from looping back into it.
  rule -A ISTIO_OUTPUT -o lo -m owner ! --uid-owner "$PROXY_UID" -j RETURN
  rule -A ISTIO_OUTPUT -m owner --uid-owner "$PROXY_UID" -j RETURN
  if (( ${#INBOUND[@]} > 0 )); then
    rule -A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -m owner --gid-owner "$PROXY_GID" -j ISTIO_IN_REDIRECT
  fi
  rule -A ISTIO_OUTPUT -o lo -m owner ! --gid-owner "$PROXY_GID" -j RETURN
  rule -A ISTIO_OUTPUT -m owner --gid-owner "$PROXY_GID" -j RETURN
  rule -A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
  for c in "${EXCLUDE[@]+"${EXCLUDE[@]}"}"; do rule -A ISTIO_OUTPUT -d "$c" -j RETURN; done
  if (( ${#INCLUDE[@]} > 0 )); then
    if [[ "${INCLUDE[0]}" == '*' ]]; then
      rule -A ISTIO_OUTPUT -j ISTIO_REDIRECT
    else
      for c in "${INCLUDE[@]}"; do rule -A ISTIO_OUTPUT -d "$c" -j ISTIO_REDIRECT; done
    fi
  fi
}

# ---- running iptables ----------------------------------------------------------------------

ipt() { "$IPT" -w 5 -t nat "$@"; }

# Removes every jump from the built-in chains into ours (however it was written, and however many
# times an older run left it), then flushes and deletes our chains. Safe when nothing is installed.
cleanup_rules() {
  local builtin line args chain n=0
  for builtin in PREROUTING OUTPUT; do
    while IFS= read -r line; do
      [[ "$line" =~ -j\ (ISTIO_INBOUND|ISTIO_IN_REDIRECT|ISTIO_OUTPUT|ISTIO_REDIRECT)($|\ ) ]] || continue
      read -r -a args <<<"${line#-A }"
      ipt -D "${args[@]}"
      n=$((n + 1))
    done < <(ipt -S "$builtin")
  done
  for chain in "${CHAINS[@]}"; do
    if ipt -S "$chain" >/dev/null 2>&1; then ipt -F "$chain"; n=$((n + 1)); fi
  done
  for chain in "${CHAINS[@]}"; do
    if ipt -S "$chain" >/dev/null 2>&1; then ipt -X "$chain"; fi
  done
  CLEANED=$n
}

require_iptables() {
  command -v "$IPT" >/dev/null 2>&1 ||
    fail INIT_IPTABLES_MISSING "'$IPT' not found on PATH (install the iptables package, or set WASMESH_IPTABLES)"
  local err
  if ! err="$(ipt -S 2>&1 >/dev/null)"; then
    fail INIT_IPTABLES_FAILED "cannot read the nat table with '$IPT' (needs root or CAP_NET_ADMIN): ${err//$'\n'/ }"
  fi
}

print_rules() {
  local r words w line
  echo "# wasmesh-init dry run: existing ISTIO_* chains and jumps would be removed first, then:"
  for r in "${RULES[@]}"; do
    IFS=$'\x1f' read -r -a words <<<"$r"
    line="$IPT -t nat"
    for w in "${words[@]}"; do
      # Plain words print as they are (so `! -d` reads like iptables-save); others are quoted.
      if [[ "$w" =~ ^[A-Za-z0-9_./:,=!-]+$ ]]; then line+=" $w"; else line+=" '$w'"; fi
    done
    echo "$line"
  done
}

apply_rules() {
  local r words err
  for r in "${RULES[@]}"; do
    IFS=$'\x1f' read -r -a words <<<"$r"
    if ! err="$(ipt "${words[@]}" 2>&1)"; then
      # Never leave half a rule set behind: a pod with partial capture fails in confusing ways.
      cleanup_rules >/dev/null 2>&1 || true
      fail INIT_IPTABLES_FAILED "'$IPT -t nat ${words[*]}' failed: ${err//$'\n'/ }; all wasmesh rules were removed"
    fi
  done
}

case "$ACTION" in
  dry-run)
    build_rules
    print_rules
    ;;
  cleanup)
    require_iptables
    cleanup_rules
    echo "$PROG: removed wasmesh capture rules ($CLEANED jumps/chains)"
    ;;
  apply)
    build_rules
    require_iptables
    cleanup_rules
    apply_rules
    inbound_desc=none
    (( ${#INBOUND[@]} > 0 )) && inbound_desc="$(IFS=,; echo "${INBOUND[*]}")"
    echo "$PROG: capturing outbound TCP -> :$OUT_PORT, inbound ports [$inbound_desc] -> :$IN_PORT, proxy uid $PROXY_UID gid $PROXY_GID (${#RULES[@]} iptables commands)"
    ;;
esac

#!/usr/bin/env bash
# wasmesh-init: installs the nat-table rules that send a pod's TCP traffic through the wasmesh
# sidecar, flag-compatible with Istio's istio-iptables so an injected istio-init container's
# arguments (e.g. `-p 15001 -u 1337 -m REDIRECT -i * -x "" -b 5005 -d ""`) work unchanged.
#
# Rule shape (nat table, IPv4), named like Istio's so existing runbooks and debugging habits apply:
#   PREROUTING -p tcp -> ISTIO_INBOUND      inbound: chosen ports -> ISTIO_IN_REDIRECT (-> :15006)
#   OUTPUT     -p tcp -> ISTIO_OUTPUT       outbound: everything but the proxy's own uid/gid,
#                                           loopback and excluded ranges -> ISTIO_REDIRECT (-> :15001)
# With -m TPROXY (mangle table, Istio's TPROXY shape; the destination is never rewritten, so the
# proxy's accepted socket keeps the original destination as its local address; the proxy's
# listeners need IP_TRANSPARENT, see docker/wasmesh-listen.c and docs/original-destination.md):
#   PREROUTING -i lo -p tcp -m mark 1337 -> ISTIO_OUT_TPROXY   the app's marked packets, looped
#                                           back over lo -> TPROXY 127.0.0.1:15001
#   PREROUTING -p tcp -> ISTIO_INBOUND      established -> ISTIO_DIVERT (mark 1337, accept);
#                                           new, chosen ports -> ISTIO_TPROXY (TPROXY :15006, mark 1337)
#   OUTPUT     -p tcp -> ISTIO_OUTPUT       outbound: as above, but MARK 1337 instead of REDIRECT
#   ip rule fwmark 1337 lookup 133; ip route local default dev lo table 133   (marked: delivered locally)
# With --ipv6 (or ENABLE_INBOUND_IPV6=true, Istio's switch for a pod with IPv6 addresses) the same
# rules go to ip6tables as well, with ::1 for 127.0.0.1, ::6 for the passthrough source 127.0.0.6
# and `ip -f inet6` for the TPROXY rule/route; -i/-x ranges go to the family they are written in.
# Without it IPv6 is not captured (IPv6 ranges are skipped with a warning).
# Re-running replaces the chains (never duplicates rules); --cleanup removes them; --dry-run only
# prints the iptables commands. Usage errors exit 2, iptables failures exit 1, each with a stable code.
set -euo pipefail

readonly PROG=wasmesh-init
readonly CHAINS=(ISTIO_INBOUND ISTIO_IN_REDIRECT ISTIO_OUTPUT ISTIO_REDIRECT)
readonly MANGLE_CHAINS=(ISTIO_INBOUND ISTIO_DIVERT ISTIO_TPROXY ISTIO_OUTPUT ISTIO_OUT_TPROXY)
# Istio's TPROXY mark and route table (istio-iptables: InboundTProxyMark 1337, InboundTProxyRouteTable 133).
readonly TPROXY_MARK=1337
readonly TPROXY_TABLE=133
# Ports the sidecar itself serves (admin, outbound, inbound, merged metrics, health, Prometheus) are never captured
# inbound: redirecting them to 15006 would make the proxy's own endpoints unreachable or loop.
readonly ALWAYS_EXCLUDED_INBOUND=(15000 15001 15006 15020 15021 15090)
# Istio's inbound passthrough source address: the proxy uses it when it hands inbound traffic to
# the app over loopback, and such connections must not be captured again.
readonly INBOUND_PASSTHROUGH_SRC=127.0.0.6/32
readonly INBOUND_PASSTHROUGH_SRC6=::6/128
IPT="${WASMESH_IPTABLES:-iptables}"
IP6T="${WASMESH_IP6TABLES:-ip6tables}"

usage() {
  cat <<'EOF'
usage: wasmesh-init [-p PORT] [-z PORT] [-u UID] [-g GID] [-m MODE] [-i CIDRS] [-x CIDRS]
                    [-b PORTS] [-d PORTS] [-o PORTS] [--ipv6] [--dry-run | --cleanup] [-h]
  -p PORT   outbound capture port: outgoing TCP is redirected here (default 15001)
  -z PORT   inbound capture port: incoming TCP is redirected here (default 15006)
  -u UID    uid of the proxy; its traffic is never captured (default 1337)
  -g GID    gid of the proxy; its traffic is never captured (default: the uid)
  -m MODE   interception mode: REDIRECT (nat) or TPROXY (mangle; outbound too, so the proxy
            sees every original destination; its listeners need IP_TRANSPARENT) (default REDIRECT)
  -i CIDRS  comma-separated ranges whose outbound traffic is captured, or '*' (default '*');
            IPv6 ranges count only with --ipv6
  -x CIDRS  comma-separated ranges excluded from outbound capture (default none)
  -b PORTS  comma-separated inbound ports to capture, or '*' for all (default none)
  -d PORTS  inbound ports excluded when -b is '*' (15000,15001,15006,15020,15021,15090 always are)
  -o PORTS  outbound destination ports excluded from capture (default none)
  --ipv6    capture IPv6 too: the same rules through ip6tables (::1, ::6, ip -f inet6)
  --dry-run print the iptables commands instead of running them (needs neither root nor iptables)
  --cleanup remove the ISTIO_* chains (nat and mangle), the jumps into them and the TPROXY
            ip rule/route, then exit
Environment: WASMESH_IPTABLES names the iptables binary (default iptables; e.g. iptables-legacy),
WASMESH_IP6TABLES the ip6tables one (default ip6tables); ENABLE_INBOUND_IPV6=true is --ipv6 (Istio's).
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

# An IPv6 address or range as ip6tables takes it: hex groups and colons (at most one `::`, an
# IPv4 tail allowed), an optional /0..128.
is_ipv6_cidr() {
  [[ "$1" =~ ^([0-9A-Fa-f:.]+)(/([0-9]{1,3}))?$ ]] || return 1
  local addr="${BASH_REMATCH[1]}" len="${BASH_REMATCH[3]}"
  [[ "$addr" == *:* && "$addr" != *:::* ]] || return 1
  local rest="${addr/::/}"
  [[ "$rest" != *::* ]] || return 1
  [[ -z "$len" ]] || (( 10#$len <= 128 ))
}

# parse_cidrs FLAG VALUE ALLOW_STAR -> LIST (IPv4) and LIST6 (IPv6; '*' goes to both). Without
# --ipv6, IPv6 ranges are skipped with a warning: refusing a dual-stack pod's arguments would
# block it from starting.
parse_cidrs() {
  split_list "$2"
  local out=() out6=() c
  for c in "${LIST[@]}"; do
    if [[ "$c" == '*' ]]; then
      [[ "$3" == yes && ${#LIST[@]} -eq 1 ]] ||
        usage_error INIT_BAD_CIDR "$1 '$2': '*' must stand alone, and only -i accepts it"
      out+=('*')
      out6+=('*')
    elif [[ "$c" == *:* ]]; then
      is_ipv6_cidr "$c" || usage_error INIT_BAD_CIDR "$1 '$c': not an IPv6 address or range (such as fd00::1 or fd00::/8)"
      if [[ "$IPV6" == yes ]]; then out6+=("$c"); else warn "$1: IPv6 range '$c' ignored (IPv6 is captured only with --ipv6)"; fi
    elif is_ipv4_cidr "$c"; then
      out+=("$c")
    else
      usage_error INIT_BAD_CIDR "$1 '$c': not an IPv4 address or range (a.b.c.d or a.b.c.d/n)"
    fi
  done
  LIST=("${out[@]+"${out[@]}"}")
  LIST6=("${out6[@]+"${out6[@]}"}")
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
case "${ENABLE_INBOUND_IPV6:-}" in
  true | 1) IPV6=yes ;;
  '' | false | 0) IPV6=no ;;
  *) usage_error INIT_BAD_FLAG "ENABLE_INBOUND_IPV6='$ENABLE_INBOUND_IPV6': expected true or false" ;;
esac

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
    --ipv6) IPV6=yes; continue ;;
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
          TPROXY) MODE=TPROXY ;;
          *) usage_error INIT_BAD_MODE "-m '$value': the mode must be REDIRECT or TPROXY" ;;
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

parse_cidrs -i "$INCLUDE_CIDRS" yes; INCLUDE4=("${LIST[@]+"${LIST[@]}"}"); INCLUDE6=("${LIST6[@]+"${LIST6[@]}"}")
parse_cidrs -x "$EXCLUDE_CIDRS" no;  EXCLUDE4=("${LIST[@]+"${LIST[@]}"}"); EXCLUDE6=("${LIST6[@]+"${LIST6[@]}"}")
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
# Each rule is recorded with the table it goes to (nat, mangle) or `ip` for ip rule/route, and
# `6` after it for IPv6 (nat6: ip6tables -t nat; ip6: ip -f inet6).
TABLE=nat
FAM=
rule() { local IFS=$'\x1f'; RULES+=("$TABLE$FAM$IFS$*"); }

# use_family 4|6: the addresses the rules name for that family, and its ranges.
use_family() {
  if [[ "$1" == 6 ]]; then
    FAM=6 LOOPBACK=::1/128 LOOPBACK_IP=::1 PASSTHROUGH_SRC="$INBOUND_PASSTHROUGH_SRC6"
    INCLUDE=("${INCLUDE6[@]+"${INCLUDE6[@]}"}"); EXCLUDE=("${EXCLUDE6[@]+"${EXCLUDE6[@]}"}")
  else
    FAM= LOOPBACK=127.0.0.1/32 LOOPBACK_IP=127.0.0.1 PASSTHROUGH_SRC="$INBOUND_PASSTHROUGH_SRC"
    INCLUDE=("${INCLUDE4[@]+"${INCLUDE4[@]}"}"); EXCLUDE=("${EXCLUDE4[@]+"${EXCLUDE4[@]}"}")
  fi
}

build_rules() {
  use_family 4
  build_family_rules
  if [[ "$IPV6" == yes ]]; then
    use_family 6
    build_family_rules
    # The proxy's IPv6 inbound passthrough source (Istio's ::6) must be an address of the pod to
    # be bound, as 127.0.0.6 is by lo's 127/8; idempotent, and left on lo by --cleanup.
    TABLE=ip
    rule addr replace ::6/128 dev lo
    TABLE=nat
    use_family 4
  fi
}

build_family_rules() {
  if [[ "$MODE" == TPROXY ]]; then build_tproxy_rules; return; fi
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
  rule -A ISTIO_OUTPUT -s "$PASSTHROUGH_SRC" -o lo -j RETURN
  # The proxy dialing its own pod IP (over lo) is a call into this pod: treat it as inbound.
  if (( ${#INBOUND[@]} > 0 )); then
    rule -A ISTIO_OUTPUT ! -d "$LOOPBACK" -o lo -m owner --uid-owner "$PROXY_UID" -j ISTIO_IN_REDIRECT
  fi
  # The app talking to itself over lo stays direct; the proxy's own traffic is never captured,
  # which is what keeps the proxy's upstream connections from looping back into it.
  rule -A ISTIO_OUTPUT -o lo -m owner ! --uid-owner "$PROXY_UID" -j RETURN
  rule -A ISTIO_OUTPUT -m owner --uid-owner "$PROXY_UID" -j RETURN
  if (( ${#INBOUND[@]} > 0 )); then
    rule -A ISTIO_OUTPUT ! -d "$LOOPBACK" -o lo -m owner --gid-owner "$PROXY_GID" -j ISTIO_IN_REDIRECT
  fi
  rule -A ISTIO_OUTPUT -o lo -m owner ! --gid-owner "$PROXY_GID" -j RETURN
  rule -A ISTIO_OUTPUT -m owner --gid-owner "$PROXY_GID" -j RETURN
  rule -A ISTIO_OUTPUT -d "$LOOPBACK" -j RETURN
  for c in "${EXCLUDE[@]+"${EXCLUDE[@]}"}"; do rule -A ISTIO_OUTPUT -d "$c" -j RETURN; done
  if (( ${#INCLUDE[@]} > 0 )); then
    if [[ "${INCLUDE[0]}" == '*' ]]; then
      rule -A ISTIO_OUTPUT -j ISTIO_REDIRECT
    else
      for c in "${INCLUDE[@]}"; do rule -A ISTIO_OUTPUT -d "$c" -j ISTIO_REDIRECT; done
    fi
  fi
}

# TPROXY: the same choices as above (ports, ranges, the proxy's uid/gid) in the mangle table.
build_tproxy_rules() {
  local c p
  TABLE=mangle
  for c in "${MANGLE_CHAINS[@]}"; do rule -N "$c"; done
  rule -A ISTIO_DIVERT -j MARK --set-mark "$TPROXY_MARK"
  rule -A ISTIO_DIVERT -j ACCEPT
  # Istio's inbound TPROXY target; loopback is never diverted.
  rule -A ISTIO_TPROXY ! -d "$LOOPBACK" -p tcp -j TPROXY --tproxy-mark "$TPROXY_MARK/0xffffffff" --on-port "$IN_PORT"
  # Outbound: the app's packets marked in OUTPUT were routed to lo by table 133 and come back in
  # here, still marked, with their destination untouched.
  rule -A ISTIO_OUT_TPROXY -p tcp -j TPROXY --tproxy-mark "$TPROXY_MARK/0xffffffff" --on-port "$OUT_PORT" --on-ip "$LOOPBACK_IP"
  rule -A PREROUTING -i lo -p tcp -m mark --mark "$TPROXY_MARK" -j ISTIO_OUT_TPROXY
  if (( ${#INBOUND[@]} > 0 )); then
    rule -A PREROUTING -p tcp -j ISTIO_INBOUND
    # Loopback reaches mangle PREROUTING (unlike nat's): the proxy's own replies and its calls
    # to the app arrive here and are never inbound.
    rule -A ISTIO_INBOUND -i lo -j RETURN
    if [[ "${INBOUND[0]}" == '*' ]]; then
      for p in "${EXCL_IN[@]}"; do rule -A ISTIO_INBOUND -p tcp -m tcp --dport "$p" -j RETURN; done
      rule -A ISTIO_INBOUND -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT
      rule -A ISTIO_INBOUND -p tcp -j ISTIO_TPROXY
    else
      for p in "${INBOUND[@]}"; do
        if [[ " ${EXCL_IN[*]} " == *" $p "* ]]; then
          warn "-b: port $p is excluded from inbound capture (sidecar or -d port); not captured"
          continue
        fi
        rule -A ISTIO_INBOUND -p tcp -m tcp --dport "$p" -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT
        rule -A ISTIO_INBOUND -p tcp -m tcp --dport "$p" -j ISTIO_TPROXY
      done
    fi
  fi
  rule -A OUTPUT -p tcp -j ISTIO_OUTPUT
  for p in "${EXCL_OUT[@]+"${EXCL_OUT[@]}"}"; do rule -A ISTIO_OUTPUT -p tcp -m tcp --dport "$p" -j RETURN; done
  # Replies are never outbound traffic: the SYN-ACK and answers of an inbound connection TPROXY
  # gave the proxy leave from the original destination's address, and before accept() their
  # socket is the listener's, whose owner may not be the proxy's uid (a systemd .socket unit).
  rule -A ISTIO_OUTPUT -m conntrack --ctdir REPLY -j RETURN
  # Loopback stays direct (the proxy's hand-off to the app, the app talking to itself); the
  # proxy's own traffic is never marked, which keeps its upstream connections out of 15001.
  rule -A ISTIO_OUTPUT -o lo -j RETURN
  rule -A ISTIO_OUTPUT -m owner --uid-owner "$PROXY_UID" -j RETURN
  rule -A ISTIO_OUTPUT -m owner --gid-owner "$PROXY_GID" -j RETURN
  rule -A ISTIO_OUTPUT -d "$LOOPBACK" -j RETURN
  for c in "${EXCLUDE[@]+"${EXCLUDE[@]}"}"; do rule -A ISTIO_OUTPUT -d "$c" -j RETURN; done
  if (( ${#INCLUDE[@]} > 0 )); then
    if [[ "${INCLUDE[0]}" == '*' ]]; then
      rule -A ISTIO_OUTPUT -j MARK --set-mark "$TPROXY_MARK"
    else
      for c in "${INCLUDE[@]}"; do rule -A ISTIO_OUTPUT -d "$c" -j MARK --set-mark "$TPROXY_MARK"; done
    fi
  fi
  TABLE=ip
  rule rule add fwmark "$TPROXY_MARK" lookup "$TPROXY_TABLE"
  rule route add local default dev lo table "$TPROXY_TABLE"
  TABLE=nat
}

# ---- running iptables ----------------------------------------------------------------------

# The family's binary (set by on_family 4|6) and its nat/mangle tables.
XT="$IPT"
IPFAM=inet
on_family() { if [[ "$1" == 6 ]]; then XT="$IP6T" IPFAM=inet6; else XT="$IPT" IPFAM=inet; fi; }
ipt() { "$XT" -w 5 -t nat "$@"; }
iptm() { "$XT" -w 5 -t mangle "$@"; }
# run_rule TABLE ARGS...: one recorded rule (TABLE nat, mangle, ip, or nat6, mangle6, ip6).
run_rule() {
  local table="$1"
  shift
  if [[ "$table" == *6 ]]; then on_family 6; else on_family 4; fi
  case "${table%6}" in
    nat) ipt "$@" ;;
    mangle) iptm "$@" ;;
    ip) ip -f "$IPFAM" "$@" ;;
  esac
}

# The command a recorded rule runs, as printed by --dry-run and in errors.
shown_rule() {
  local table="$1" bin="$IPT" fam=inet
  [[ "$table" == *6 ]] && bin="$IP6T" fam=inet6
  if [[ "${table%6}" == ip ]]; then echo "ip -f $fam"; else echo "$bin -t ${table%6}"; fi
}

# Removes every jump from the built-in chains into ours (however it was written, and however many
# times an older run left it), then flushes and deletes our chains, for IPv4 and, when ip6tables
# can read its tables (an earlier --ipv6 run), IPv6. Safe when nothing is installed.
cleanup_rules() {
  CLEANED=0
  on_family 4
  cleanup_family
  if [[ "$IPV6" == yes ]] || ipv6_installed; then
    on_family 6
    cleanup_family
  fi
  on_family 4
}

# True when an earlier --ipv6 run left rules behind (one look at each table, so that a run
# without --ipv6 costs two commands more, not a full IPv6 cleanup).
ipv6_installed() {
  command -v "$IP6T" >/dev/null 2>&1 || return 1
  local t
  for t in nat mangle; do
    [[ "$("$IP6T" -w 5 -t "$t" -S 2>/dev/null)" == *ISTIO_* ]] && return 0
  done
  command -v ip >/dev/null 2>&1 && [[ "$(ip -f inet6 rule show 2>/dev/null)" == *"lookup $TPROXY_TABLE"* ]]
}

cleanup_family() {
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
  # The TPROXY mode's mangle rules and its ip rule/route (whichever mode installed them before).
  if iptm -S >/dev/null 2>&1; then
    for builtin in PREROUTING OUTPUT; do
      while IFS= read -r line; do
        [[ "$line" =~ -j\ (ISTIO_INBOUND|ISTIO_OUTPUT|ISTIO_DIVERT|ISTIO_TPROXY|ISTIO_OUT_TPROXY)($|\ ) ]] || continue
        read -r -a args <<<"${line#-A }"
        iptm -D "${args[@]}"
        n=$((n + 1))
      done < <(iptm -S "$builtin")
    done
    for chain in "${MANGLE_CHAINS[@]}"; do
      if iptm -S "$chain" >/dev/null 2>&1; then iptm -F "$chain"; n=$((n + 1)); fi
    done
    for chain in "${MANGLE_CHAINS[@]}"; do
      if iptm -S "$chain" >/dev/null 2>&1; then iptm -X "$chain"; fi
    done
  fi
  if command -v ip >/dev/null 2>&1; then
    while ip -f "$IPFAM" rule del fwmark "$TPROXY_MARK" lookup "$TPROXY_TABLE" 2>/dev/null; do n=$((n + 1)); done
    if [[ -n "$(ip -f "$IPFAM" route show table "$TPROXY_TABLE" 2>/dev/null)" ]]; then
      ip -f "$IPFAM" route flush table "$TPROXY_TABLE"
      n=$((n + 1))
    fi
  fi
  CLEANED=$((CLEANED + n))
}

require_iptables() {
  on_family 4
  require_family IPTABLES WASMESH_IPTABLES iptables
  if [[ "$IPV6" == yes ]]; then
    on_family 6
    require_family IP6TABLES WASMESH_IP6TABLES ip6tables
    on_family 4
  fi
}

# require_family CODE_PART ENV PACKAGE_BINARY: the family's binary exists and reads its tables.
require_family() {
  command -v "$XT" >/dev/null 2>&1 ||
    fail "INIT_$1_MISSING" "'$XT' not found on PATH (install the iptables package, or set $2)"
  local err
  if ! err="$(ipt -S 2>&1 >/dev/null)"; then
    fail "INIT_$1_FAILED" "cannot read the nat table with '$XT' (needs root or CAP_NET_ADMIN): ${err//$'\n'/ }"
  fi
  if [[ "$MODE" == TPROXY ]]; then
    command -v ip >/dev/null 2>&1 || fail INIT_IP_MISSING "'ip' not found on PATH: -m TPROXY needs iproute2 for its ip rule and route"
    if ! err="$(iptm -S 2>&1 >/dev/null)"; then
      fail "INIT_$1_FAILED" "cannot read the mangle table with '$XT' (-m TPROXY needs it): ${err//$'\n'/ }"
    fi
  fi
}

print_rules() {
  local r words w line
  echo "# wasmesh-init dry run: existing ISTIO_* chains and jumps would be removed first, then:"
  for r in "${RULES[@]}"; do
    IFS=$'\x1f' read -r -a words <<<"$r"
    line="$(shown_rule "${words[0]}")"
    for w in "${words[@]:1}"; do
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
    if ! err="$(run_rule "${words[@]}" 2>&1)"; then
      # Never leave half a rule set behind: a pod with partial capture fails in confusing ways.
      cleanup_rules >/dev/null 2>&1 || true
      local shown
      shown="$(shown_rule "${words[0]}") ${words[*]:1}"
      local code=INIT_IPTABLES_FAILED
      [[ "${words[0]}" == *6 ]] && code=INIT_IP6TABLES_FAILED
      fail "$code" "'$shown' failed: ${err//$'\n'/ }; all wasmesh rules were removed"
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
    families=
    [[ "$IPV6" == yes ]] && families=", IPv4 and IPv6"
    echo "$PROG: capturing ($MODE$families) outbound TCP -> :$OUT_PORT, inbound ports [$inbound_desc] -> :$IN_PORT, proxy uid $PROXY_UID gid $PROXY_GID (${#RULES[@]} commands)"
    ;;
esac

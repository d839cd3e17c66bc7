#!/usr/bin/env bash
# Build-stage step of the image: assembles the runtime stage's whole root filesystem in DEST (the
# runtime stage is `FROM scratch` + `COPY --from=build /rootfs /`), distroless-style: only the
# programs the image runs, each with the shared libraries it links (ldd) and the files it reads,
# copied from this (Debian bookworm) stage, so the image carries no apt, dpkg, perl, npm, corepack,
# headers or docs (docs/image.md, Size). What the image runs, and so what this copies:
#   - node (the sidecar, control plane and HEALTHCHECK), stripped of its symbols (12 MB);
#   - bash (docker/entrypoint.sh, docker/iptables-init.sh) and dash as /bin/sh (`RUN`, `sh -c`);
#   - tini (PID 1), setpriv (drops root to the proxy uid), id, cat, dirname (the scripts use them),
#     env, ls and nologin;
#   - iptables (nf_tables and legacy, with their xtables match/target modules, which they load with
#     dlopen, so ldd on the binaries alone would miss them) and ip (iproute2) for the init mode;
#   - /etc: passwd and group (root, wasmesh 1337 — Istio's proxy uid —, nobody), nsswitch.conf,
#     ld.so.conf + a fresh ld.so.cache, iproute2's tables, Debian's alternatives links that
#     iptables goes through; /tmp (1777), /etc/wasmesh (the config mount point), /root.
# Symlinks are kept as symlinks (merged /usr: /bin → usr/bin, …) and followed to their targets.
# Fails when a program or library is missing, so an image that cannot start is never made.
#
#   docker/runtime-rootfs.sh DEST
set -euo pipefail

dest="${1:?usage: runtime-rootfs.sh DEST}"
programs=(node bash dash tini setpriv id cat dirname env ls nologin
  iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore
  iptables-legacy iptables-legacy-save iptables-legacy-restore ip)

log() { printf 'runtime-rootfs: %s\n' "$1" >&2; }

# copy PATH: PATH into DEST at the same place (its directory resolved, so /lib/x/… lands in
# usr/lib/x/… behind DEST's own /lib → usr/lib link); a symlink is copied as one and its target too.
copy() {
  local path="$1" dir target
  [[ -e "$path" || -L "$path" ]] || { log "error: $path is missing"; exit 1; }
  dir="$(readlink -f "$(dirname "$path")")"
  local to="$dest$dir/$(basename "$path")"
  [[ -e "$to" || -L "$to" ]] && return 0
  mkdir -p "$dest$dir"
  if [[ -L "$path" ]]; then
    cp -P "$path" "$to"
    target="$(readlink "$path")"
    [[ "$target" == /* ]] || target="$dir/$target"
    copy "$target"
  else
    cp -p "$path" "$to"
  fi
}

# libs FILE: the shared libraries FILE links, as ldd resolves them here.
libs() {
  ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}

mkdir -p "$dest"
# Merged /usr as Debian 12 has it: the top-level directories are links into usr/.
for d in bin sbin lib lib64; do
  if [[ -L "/$d" ]]; then cp -P "/$d" "$dest/$d"; mkdir -p "$dest/usr/$d"; fi
done

elfs=()
for p in "${programs[@]}"; do
  path="$(command -v "$p" || true)"
  [[ -n "$path" ]] || { log "error: $p is not installed in the build stage"; exit 1; }
  copy "$path"
  elfs+=("$(readlink -f "$path")")
done
copy /bin/sh
# /bin/sh is dash in Debian; the link above is already in DEST through bin → usr/bin.
for so in /usr/lib/*/xtables/*.so; do copy "$so"; elfs+=("$so"); done
for f in "${elfs[@]}"; do
  while read -r lib; do copy "$lib"; done < <(libs "$f")
done

strip --strip-all "$dest$(readlink -f "$(command -v node)")"

mkdir -p "$dest/etc/ld.so.conf.d"
cp -p /etc/ld.so.conf "$dest/etc/ld.so.conf"
cp -p /etc/ld.so.conf.d/*.conf "$dest/etc/ld.so.conf.d/"
ldconfig -r "$dest"
cp -p /etc/nsswitch.conf "$dest/etc/nsswitch.conf"
cp -a /etc/iproute2 "$dest/etc/iproute2"
# The runtime (podman, Docker, the kubelet) mounts its own /etc/hosts and resolv.conf over these.
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$dest/etc/hosts"
: > "$dest/etc/resolv.conf"
cat > "$dest/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/bash
wasmesh:x:1337:1337:wasmesh:/nonexistent:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat > "$dest/etc/group" <<'EOF'
root:x:0:
wasmesh:x:1337:
nogroup:x:65534:
EOF
mkdir -p "$dest/tmp" "$dest/root" "$dest/etc/wasmesh" "$dest/proc" "$dest/sys" "$dest/dev"
chmod 1777 "$dest/tmp"
chmod 0700 "$dest/root"

# Every copied program must start in DEST (its libraries found by DEST's own loader cache).
chroot "$dest" /bin/sh -c "node --version" >/dev/null || { log "error: node does not run in $dest"; exit 1; }
chroot "$dest" /bin/sh -c 'iptables --version && iptables-legacy --version && ip -V && setpriv --version && tini --version && bash --version' >/dev/null \
  || { log "error: a program does not run in $dest"; exit 1; }
log "assembled $dest: $(du -sm "$dest" | cut -f1) MB"

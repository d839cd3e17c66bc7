#!/usr/bin/env bash
# Makes the Dockerfile's base image, node:20-bookworm-slim, in podman's local store without
# pulling it (issue 16): registries other than the package ones (npm, PyPI, crates, Go, Maven
# Central, Debian) are unreachable from these machines, so the image is made from what is:
# Debian 12 "bookworm" from deb.debian.org with `debootstrap --variant=minbase`, slimmed as
# Docker's debian:bookworm-slim is (no docs, man pages or locales; dpkg told to keep them out),
# plus this machine's Node 20 (node and npm) laid out as the official node image has them
# (/usr/local/bin/node, /usr/local/lib/node_modules/npm, the `node` user uid 1000, CMD ["node"]).
# `podman build` then finds docker.io/library/node:20-bookworm-slim locally (pull policy
# "missing") and builds the Dockerfile unchanged.
#
# Cached twice, keyed by the Node version, the Debian suite and this script's revision: the root
# filesystem tarball in ~/.cache/wasmesh/base-image-<key>/rootfs.tar (so a wiped podman store
# re-imports in seconds), and the image itself in podman's store, labelled with the key (so a
# second run does nothing). debootstrap takes about a minute the first time. Idempotent; .ci/run
# calls it. Prints the image name on stdout; progress goes to stderr.
#
#   WASMESH_BASE_NODE   the node binary to put in the image (default: `command -v node`); must be v20
#   WASMESH_CACHE_DIR   cache root (default ~/.cache/wasmesh)
set -euo pipefail

image="docker.io/library/node:20-bookworm-slim"
suite="bookworm"
mirror="${WASMESH_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Bumped whenever what this script puts in the image changes, so caches made by an older
# revision are not reused.
revision=1

log() { printf 'build-base-image: %s\n' "$1" >&2; }
die() { log "error: $1"; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap and podman's rootful store)"
command -v podman >/dev/null 2>&1 || die "podman is missing (apt-get install -y podman)"

node_bin="$(readlink -f "${WASMESH_BASE_NODE:-$(command -v node || true)}")"
[ -x "$node_bin" ] || die "no node binary found (set WASMESH_BASE_NODE)"
node_version="$("$node_bin" --version)"
[[ "$node_version" == v20.* ]] || die "$node_bin is Node $node_version; the image is node:20-…, so Node 20 is needed (set WASMESH_BASE_NODE)"
# npm as the node package installs it next to the binary (…/bin/node → …/lib/node_modules/npm).
npm_dir="$(dirname "$(dirname "$node_bin")")/lib/node_modules/npm"
[ -f "$npm_dir/bin/npm-cli.js" ] || die "npm not found at $npm_dir (expected beside $node_bin)"
npm_version="$("$node_bin" -p "require('$npm_dir/package.json').version")"

key="node-${node_version#v}-npm-$npm_version-$suite-r$revision"
cache="${WASMESH_CACHE_DIR:-$HOME/.cache/wasmesh}/base-image-$key"
tarball="$cache/rootfs.tar"

if [ "$(podman image inspect --format '{{index .Labels "wasmesh.base-image"}}' "$image" 2>/dev/null || true)" = "$key" ]; then
  log "$image is already the local base image ($key)"
  echo "$image"
  exit 0
fi

if [ ! -s "$tarball" ]; then
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap is missing (apt-get install -y debootstrap)"
  log "making the $suite root filesystem with debootstrap (about a minute) into $cache"
  mkdir -p "$cache"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  root="$work/rootfs"
  debootstrap --variant=minbase "$suite" "$root" "$mirror" >&2

  # As debian:bookworm-slim (debuerreotype's --slim): keep docs, man pages and locales out of
  # this image and of everything later apt-get installs in it, and apt's caches empty.
  cat > "$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  cat > "$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' > "$root/etc/apt/apt.conf.d/docker-no-languages"
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root/usr/share/man/"* "$root/usr/share/info/"* "$root/usr/share/lintian" "$root/usr/share/groff"
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb \
    "$root/var/log/"*.log "$root/var/log/apt/"* "$root/tmp/"* "$root/var/cache/debconf/"*-old
  # The image's sources as Debian's image has them (deb822), from the mirror used here.
  rm -f "$root/etc/apt/sources.list"
  cat > "$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  : > "$root/etc/hostname"
  : > "$root/etc/resolv.conf"

  # Node as the official image lays it out, and its `node` user (uid/gid 1000).
  install -D -m 0755 "$node_bin" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  chroot "$root" /usr/local/bin/node --version >/dev/null || die "node does not run inside the new root filesystem"

  tar --numeric-owner --xattrs -C "$root" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  log "root filesystem cached at $tarball ($(du -m "$tarball" | cut -f1) MB)"
fi

log "importing $tarball as $image"
podman import \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change 'CMD ["node"]' \
  --change "LABEL wasmesh.base-image=$key" \
  --message "local stand-in for node:20-bookworm-slim made by scripts/build-base-image.sh ($key)" \
  "$tarball" "$image" >&2
echo "$image"

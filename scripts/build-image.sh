#!/usr/bin/env bash
# Builds the repository's Dockerfile, unchanged, with podman (issue 16), on machines where the base
# image cannot be pulled and podman's default runtime cannot start containers:
#
#   - the base image node:20-bookworm-slim comes from scripts/build-base-image.sh (made locally,
#     cached), and `--pull=never` keeps podman from trying docker.io;
#   - `--format docker`: the OCI image format has no HEALTHCHECK (podman drops it with a
#     warning), and Docker/Kubernetes images carry it in the Docker format;
#   - RUN steps use runc (`--runtime runc`): crun 1.8 refuses these machines' hybrid cgroup
#     layout ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2");
#   - where this machine's TLS to the npm registry goes through an intercepting proxy with its
#     own CA (npm's `cafile`, or NODE_EXTRA_CA_CERTS, names a bundle), that bundle and an npmrc
#     naming it are bind-mounted into the RUN steps (`-v`), so `npm ci` trusts what the host's
#     npm trusts. Build-time mounts are not part of any layer and do not change the cache keys.
#
# Layers are cached in podman's store (`--layers`, the default): a rebuild with nothing changed
# reuses every step; a source edit re-runs only from `COPY . .`; older builds' untagged layers are
# pruned afterwards. Prints the image name on stdout.
#
#   WASMESH_IMAGE   the tag to build (default localhost/wasmesh:dev)
set -euo pipefail
cd "$(dirname "$0")/.."

image="${WASMESH_IMAGE:-localhost/wasmesh:dev}"
log() { printf 'build-image: %s\n' "$1" >&2; }

command -v podman >/dev/null 2>&1 || { log "error: podman is missing (apt-get install -y podman runc)"; exit 1; }
command -v runc >/dev/null 2>&1 || { log "error: runc is missing (apt-get install -y runc)"; exit 1; }
bash scripts/build-base-image.sh >/dev/null

# The runtime stage is FROM scratch (its root filesystem is copied from the build stage, which is
# on the base), so it inherits no label: it is given the base's, which names the Node and Debian it
# carries and lets the prune below find its older builds.
base_key="$(podman image inspect --format '{{index .Labels "wasmesh.base-image"}}' docker.io/library/node:20-bookworm-slim)"
args=(build --runtime runc --format docker --pull=never --layers --label "wasmesh.base-image=$base_key" -t "$image" -f Dockerfile)
cafile="$(npm config get cafile 2>/dev/null || true)"
[[ -n "$cafile" && "$cafile" != null && "$cafile" != undefined ]] || cafile="${NODE_EXTRA_CA_CERTS:-}"
if [[ -n "$cafile" && -r "$cafile" ]]; then
  npmrc="${WASMESH_CACHE_DIR:-$HOME/.cache/wasmesh}/image-build-npmrc"
  mkdir -p "$(dirname "$npmrc")"
  echo "cafile=/etc/ssl/certs/ca-certificates.crt" > "$npmrc"
  args+=(-v "$(readlink -f "$cafile"):/etc/ssl/certs/ca-certificates.crt:ro" -v "$npmrc:/usr/local/etc/npmrc:ro")
  log "npm in the build trusts $cafile (this machine's npm cafile)"
fi

start=$(date +%s)
# The build stage is tagged too (<image>-build), so that its cached layers (apt gcc, npm ci) are
# an ancestor of a tagged image and survive the prune below; the second build reuses them.
podman "${args[@]}" --target build -t "$image-build" . >&2
podman "${args[@]}" . >&2
log "built $image in $(( $(date +%s) - start )) s"
# Each source change leaves the previous build's layers untagged (a few hundred MB); drop those
# of ours (every image on the local base carries its label), so CI's store does not grow.
podman image prune -f --filter "label=wasmesh.base-image" >/dev/null || log "warning: podman image prune failed"
echo "$image"

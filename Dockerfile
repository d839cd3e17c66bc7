# The drop-in sidecar image: one image for both Istio roles, the proxy container (default mode:
# `wasmesh sidecar`, outbound 15001, inbound 15006, health 15021; runs as uid 1337) and the init container (`init` or istio-init's own flags, run as root with
# NET_ADMIN) that installs the iptables capture rules. See docker/entrypoint.sh for the modes.
#
# Base images are pinned by tag, not digest: node:20-bookworm-slim follows Node 20's security
# releases (the engines field says >=20, and Node 20 is what the project is built and tested on)
# and Debian 12 "bookworm" is the distribution the iptables rules and the sidecar tests run on, so
# iptables/iproute2 behave in the image as they did in CI. A release pipeline may pin digests.

# ---- build: Wasm core (asc) + TypeScript host (tsc), then drop dev dependencies ----------------
FROM node:20-bookworm-slim AS build
WORKDIR /src
# gcc: the socket-activation helper (docker/wasmesh-listen.c) that makes the TPROXY listeners.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
# Dependencies first, so source edits do not invalidate the npm ci layer.
COPY package.json package-lock.json ./
# package.json overrides msgpackr-extract with this in-repo stand-in (see README, Dependencies).
COPY scripts/npm ./scripts/npm
RUN npm ci --no-audit --no-fund
COPY . .
RUN gcc -O2 -Wall -Wextra -Werror -o /src/wasmesh-listen docker/wasmesh-listen.c
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && node docker/slim-node-modules.mjs node_modules

# ---- runtime -----------------------------------------------------------------------------------
FROM node:20-bookworm-slim AS runtime
# iptables + iproute2: the init mode (docker/iptables-init.sh). Debian's iptables is the nf_tables
# variant; nodes still on legacy iptables set WASMESH_IPTABLES=iptables-legacy (also installed).
# tini: PID 1 that forwards signals and reaps; node as PID 1 would ignore SIGTERM by default.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables iproute2 tini \
 && rm -rf /var/lib/apt/lists/*
# uid/gid 1337 is Istio's proxy identity: the capture rules (-u 1337) exempt it, so the proxy's
# own upstream connections are not redirected back into itself.
RUN groupadd --system --gid 1337 wasmesh \
 && useradd --system --uid 1337 --gid 1337 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin wasmesh \
 && mkdir -p /etc/wasmesh
WORKDIR /app
# asconfig.json marks the package root, where the host looks for build/core.wasm.
COPY --from=build /src/package.json /src/asconfig.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/build/core.wasm ./build/core.wasm
COPY --from=build /src/bin ./bin
# The dashboard's page (wasmesh dashboard, control-plane --dashboard) is served from the package.
COPY --from=build /src/web ./web
COPY --from=build /src/docker ./docker
# The TPROXY mode's listener helper (WASMESH_INTERCEPTION_MODE=TPROXY): makes 15001/15006 with
# IP_TRANSPARENT, then drops to uid 1337 and execs the sidecar (docs/original-destination.md).
COPY --from=build /src/wasmesh-listen /usr/local/bin/wasmesh-listen
RUN chmod 0755 docker/entrypoint.sh docker/iptables-init.sh

# WASMESH_APP_PORTS (the app's ports, as the init's -b) has no default: the pod sets it, or
# Istio's injector provides ISTIO_META_POD_PORTS, which the entrypoint reads instead.
ENV NODE_ENV=production \
    WASMESH_HOME=/app \
    WASMESH_CONFIG=/etc/wasmesh \
    WASMESH_OUTBOUND=0.0.0.0:15001 \
    WASMESH_INBOUND=0.0.0.0:15006 \
    WASMESH_HEALTH=0.0.0.0:15021 \
    WASMESH_LISTEN=0.0.0.0:15001 \
    WASMESH_ADMIN=127.0.0.1:15000 \
    WASMESH_PROXY_UID=1337

# 15001 outbound capture, 15006 inbound capture, 15000 admin (bound to loopback unless
# WASMESH_ADMIN says otherwise), 15021 health (GET /healthz/ready, what the HEALTHCHECK asks).
EXPOSE 15001 15006 15000 15021

HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "/app/docker/healthcheck.mjs"]

USER 1337:1337
ENTRYPOINT ["/usr/bin/tini", "--", "/app/docker/entrypoint.sh"]
CMD ["sidecar"]

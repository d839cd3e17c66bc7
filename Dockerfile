# The drop-in sidecar image: one image for both Istio roles, the proxy container (default mode:
# `wasmesh sidecar`, outbound 15001, inbound 15006, health 15021; runs as uid 1337) and the init container (`init` or istio-init's own flags, run as root with
# NET_ADMIN) that installs the iptables capture rules. See docker/entrypoint.sh for the modes.
#
# Base images are pinned by tag, not digest: node:20-bookworm-slim follows Node 20's security
# releases (the engines field says >=20, and Node 20 is what the project is built and tested on)
# and Debian 12 "bookworm" is the distribution the iptables rules and the sidecar tests run on, so
# iptables/iproute2 behave in the image as they did in CI. A release pipeline may pin digests.
# The TCP byte proxy's default transport uses Node's internal TCP bindings (docs/tcp.md, "The
# byte proxy's transport"), checked at start-up: a Node major other than 20 falls back to
# net.Socket with the reason logged, so moving the pin means checking that line.
# The runtime stage is FROM scratch: its whole OS is the node binary and the Debian programs and
# libraries the build stage copies out (docker/runtime-rootfs.sh), about 130 MB in all against
# 258 MB on node:20-bookworm-slim and Istio proxyv2's ~164 MB (docs/image.md, Size).

# ---- build: Wasm core (asc) + TypeScript host (tsc), then drop dev dependencies ----------------
FROM node:20-bookworm-slim AS build
WORKDIR /src
# gcc: the socket-activation helper (docker/wasmesh-listen.c) that makes the TPROXY listeners.
# iptables + iproute2 + tini: not used here, but copied into the runtime's root filesystem below.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev iptables iproute2 tini \
 && rm -rf /var/lib/apt/lists/*
# Dependencies first, so source edits do not invalidate the npm ci layer.
COPY package.json package-lock.json ./
# package.json overrides msgpackr-extract with this in-repo stand-in (see README, Dependencies).
COPY scripts/npm ./scripts/npm
RUN npm ci --no-audit --no-fund
# The runtime stage's root filesystem, distroless-style: node (stripped), bash, dash, tini,
# setpriv, iptables (nft + legacy) and ip with exactly the libraries they link, /etc/passwd with
# uid 1337 — no apt, dpkg, perl, npm or docs (docker/runtime-rootfs.sh says what and why).
COPY docker/runtime-rootfs.sh ./docker/runtime-rootfs.sh
RUN bash docker/runtime-rootfs.sh /rootfs
COPY . .
RUN gcc -O2 -Wall -Wextra -Werror -o /src/wasmesh-listen docker/wasmesh-listen.c
# Of dist/, the runtime loads only dist/host (bin/wasmesh.js imports it): the compiled bench/ and
# test helper, the declarations (*.d.ts) and the source maps (nothing runs --enable-source-maps,
# and the TypeScript they point to is not in the image) stay out of it.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && node docker/slim-node-modules.mjs node_modules \
 && rm -rf dist/bench dist/test \
 && find dist -type f \( -name '*.d.ts' -o -name '*.map' \) -delete \
 && chmod 0755 docker/entrypoint.sh docker/iptables-init.sh

# ---- runtime -----------------------------------------------------------------------------------
FROM scratch AS runtime
# The root filesystem assembled in the build stage (docker/runtime-rootfs.sh), one layer:
# iptables + iptables-legacy + ip for the init mode (docker/iptables-init.sh; Debian's iptables is
# the nf_tables variant; nodes still on legacy iptables set WASMESH_IPTABLES=iptables-legacy);
# tini as PID 1, which forwards signals and reaps (node as PID 1 would ignore SIGTERM by default);
# node; bash for the entrypoint; /etc/passwd with uid/gid 1337, Istio's proxy identity: the
# capture rules (-u 1337) exempt it, so the proxy's own upstream connections are not redirected
# back into itself.
COPY --from=build /rootfs /
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

# WASMESH_APP_PORTS (the app's ports, as the init's -b) has no default: the pod sets it, or
# Istio's injector provides ISTIO_META_POD_PORTS, which the entrypoint reads instead.
# WASMESH_OUTBOUND, WASMESH_INBOUND and WASMESH_HEALTH are unset: the entrypoint binds Istio's
# ports on the pod's wildcard ([::] when $INSTANCE_IPS has an IPv6 address, else 0.0.0.0).
# WASMESH_ADMIN is unset too: the sidecar binds its admin on the pod's localhost (127.0.0.1:15000,
# [::1]:15000 on an IPv6-only pod, as Istio's bootstrap does); proxy mode takes 127.0.0.1:15000.
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production \
    WASMESH_HOME=/app \
    WASMESH_CONFIG=/etc/wasmesh \
    WASMESH_LISTEN=0.0.0.0:15001 \
    WASMESH_PROXY_UID=1337

# 15001 outbound capture, 15006 inbound capture, 15000 admin (bound to the pod's loopback unless
# WASMESH_ADMIN says otherwise), 15021 health (GET /healthz/ready, what the HEALTHCHECK asks).
EXPOSE 15001 15006 15000 15021

HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "/app/docker/healthcheck.mjs"]

USER 1337:1337
ENTRYPOINT ["/usr/bin/tini", "--", "/app/docker/entrypoint.sh"]
CMD ["sidecar"]

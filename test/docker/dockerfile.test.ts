// Static checks of the Dockerfile and .dockerignore (no Docker engine is needed or assumed): the
// ports, user, healthcheck and entrypoint the sidecar contract promises, and that everything the
// runtime stage copies is either in the build context or produced by `npm run build`.
import { describe, it, expect } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
// Instructions with their continuation lines joined, comments dropped.
const instructions = dockerfile.replace(/\\\n\s*/g, ' ').split('\n')
  .map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n')
  .map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

const stages = instructions.filter((l) => l.startsWith('FROM '));

describe('Dockerfile', () => {
  it('is two stages: the build on the pinned Debian bookworm Node 20 image, the runtime from scratch on the root filesystem the build assembles', () => {
    expect(stages).toEqual(['FROM node:20-bookworm-slim AS build', 'FROM scratch AS runtime']);
    const runtime = instructions.slice(instructions.indexOf(stages[1]));
    // The runtime's first layer is the whole OS (docker/runtime-rootfs.sh), before anything of the app.
    expect(runtime[1]).toBe('COPY --from=build /rootfs /');
    expect(instructions).toContain('RUN bash docker/runtime-rootfs.sh /rootfs');
    // With no base image's ENV, the runtime names its own PATH (tini, node, iptables, ip live there).
    expect(runtime.find((l) => l.startsWith('ENV '))).toMatch(/PATH=\/usr\/local\/sbin:\/usr\/local\/bin:\/usr\/sbin:\/usr\/bin:\/sbin:\/bin /);
  });

  it('builds with npm ci and the repo build script, then prunes dev dependencies', () => {
    expect(instructions).toContain('RUN npm ci --no-audit --no-fund');
    const build = instructions.find((l) => l.startsWith('RUN npm run build'));
    expect(build).toMatch(/npm prune --omit=dev/);
    expect(pkg.scripts.build).toMatch(/build:wasm/);
  });

  it('copies into the runtime only what exists in the context or is built', () => {
    const produced = ['node_modules', 'dist', 'build/core.wasm', 'wasmesh-listen', '/rootfs'];
    const copies = instructions.filter((l) => l.startsWith('COPY --from=build'))
      .flatMap((l) => l.split(/\s+/).slice(2, -1)).map((p) => p.replace(/^\/src\//, ''));
    expect(copies).toEqual(expect.arrayContaining(['package.json', 'asconfig.json', 'dist', 'build/core.wasm', 'bin', 'node_modules', 'docker']));
    for (const path of copies) {
      if (produced.includes(path)) continue;
      expect(existsSync(join(ROOT, path)), `${path} exists in the repo`).toBe(true);
      expect(ignored.some((g) => g === path || path.startsWith(`${g}/`)), `${path} not in .dockerignore`).toBe(false);
    }
    // What `npm run build` reads must reach the build context.
    for (const src of ['assembly', 'host', 'bench', 'package.json', 'package-lock.json', 'tsconfig.json', 'asconfig.json']) {
      expect(ignored, `${src} must not be ignored`).not.toContain(src);
    }
  });

  it('keeps local build outputs and git out of the context', () => {
    for (const path of ['node_modules', 'dist', 'build', '.git']) expect(ignored).toContain(path);
  });

  it('installs iptables, iproute2 and tini in the build stage, and the rootfs script takes them, setpriv and node into the runtime', () => {
    expect(dockerfile).toMatch(/apt-get install -y --no-install-recommends [^\n]*iptables iproute2 tini/);
    const script = readFileSync(join(ROOT, 'docker/runtime-rootfs.sh'), 'utf8');
    const programs = script.match(/^programs=\(([^)]*)\)/m)![1].split(/\s+/);
    expect(programs).toEqual(expect.arrayContaining(['node', 'bash', 'tini', 'setpriv', 'iptables', 'iptables-legacy', 'iptables-save', 'ip', 'id', 'cat', 'dirname']));
  });

  it('runs as uid 1337, exposes the sidecar ports, checks health, and enters through the entrypoint in sidecar mode', () => {
    const runtime = instructions.slice(instructions.indexOf(stages[1]));
    expect(runtime).toContain('USER 1337:1337');
    expect(runtime.find((l) => l.startsWith('EXPOSE'))!.split(/\s+/).slice(1).sort())
      .toEqual(['15000', '15001', '15006', '15021']);
    expect(runtime.find((l) => l.startsWith('HEALTHCHECK'))).toMatch(/docker\/healthcheck\.mjs/);
    expect(runtime).toContain('ENTRYPOINT ["/usr/bin/tini", "--", "/app/docker/entrypoint.sh"]');
    expect(runtime).toContain('CMD ["sidecar"]');
    // The sidecar's listeners are left to the entrypoint, which binds the pod's wildcard
    // (IPv4-only values here would leave an IPv6-only pod's kubelet probe unanswered), and its
    // admin to the sidecar, which binds the pod's localhost (127.0.0.1 here would keep an
    // IPv6-only pod's admin off [::1]).
    expect(dockerfile).not.toMatch(/WASMESH_(OUTBOUND|INBOUND|HEALTH|ADMIN)=/);
  });
});

// Every bootstrap the translation tests build goes through the real Envoy's config validation
// (`envoy --mode validate`): the structure tests say what we meant, this says Envoy accepts it.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { loadConfig } from '../../host/config/index.js';
import { cases } from './bootstrap-cases.js';

const run = promisify(execFile);
const envoy = envoyForTests('envoy-validate');

describe.skipIf(envoy === null)('envoy --mode validate accepts every generated bootstrap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-envoy-validate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function validate(yaml: string, name: string): Promise<{ ok: boolean; output: string }> {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, yaml);
    try {
      // --disable-hot-restart: no shared-memory region, so parallel Envoys never collide.
      const { stdout, stderr } = await run(envoy!, ['--mode', 'validate', '-c', file, '-l', 'error', '--disable-hot-restart'], { timeout: 20_000 });
      return { ok: true, output: stdout + stderr };
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string; message: string };
      return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}${err.message}` };
    }
  }

  for (const [name, c] of Object.entries(cases)) {
    it(name, async () => {
      const { yaml } = envoyBootstrap(c.loaded, c.opts);
      const result = await validate(yaml, name);
      expect(result.output).toContain('OK');
      expect(result.ok, result.output).toBe(true);
    });
  }

  // The demo's real YAML through the real loader, in both modes (mesh mode names ports in domains).
  for (const gateway of ['web-gateway', undefined]) {
    it(`examples/000-web-demo loaded ${gateway ? `as gateway ${gateway}` : 'as the mesh outbound proxy'}`, async () => {
      const loaded = loadConfig(['examples/000-web-demo'], { gateway });
      const { yaml } = envoyBootstrap(loaded, { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 }, gateway });
      const result = await validate(yaml, `examples-${gateway ?? 'mesh'}`);
      expect(result.ok, result.output).toBe(true);
    });
  }

  // The traffic-management seeds (retries, mirrors, timeouts, outlier detection, connection
  // pools) through the real loader: what their translation writes, Envoy accepts.
  for (const [dir, gateway] of [['examples/002-bookinfo-rules', undefined], ['examples/002-bookinfo-rules', 'sampleapp-gateway'], ['examples/003-istio101', undefined]] as const) {
    it(`${dir} loaded ${gateway ? `as gateway ${gateway}` : 'as the mesh outbound proxy'}`, async () => {
      // Seed 003's ISTIO_MUTUAL loads only with the flag (and is then absent from the bootstrap, as from wasmesh).
      const loaded = loadConfig([dir], { gateway, allowUnenforcedSecurity: true });
      const { yaml, warnings } = envoyBootstrap(loaded, { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 }, gateway });
      expect(warnings.filter((w) => /not translated/.test(w))).toEqual([]);
      const result = await validate(yaml, `${dir.replace(/\W/g, '_')}-${gateway ?? 'mesh'}`);
      expect(result.ok, result.output).toBe(true);
    });
  }

  // TLS passthrough listeners: wildcard and exact server names, a `*` chain without server
  // names, destination subnets, weighted clusters, AUTO_PASSTHROUGH chains (tls-passthrough-listener.ts).
  it('Gateway TLS passthrough ports (PASSTHROUGH with overlapping rules, AUTO_PASSTHROUGH)', async () => {
    const files = mkdtempSync(join(dir, 'passthrough-'));
    writeFileSync(join(files, 'mesh.yaml'), ['a', 'b'].map((n) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${n}}
spec:
  hosts: [${n}.example.com]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
`).join('---\n') + `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ['*']
  - port: {number: 443, name: tls, protocol: TLS}
    hosts: ['*']
    tls: {mode: PASSTHROUGH}
  - port: {number: 15443, name: auto, protocol: TLS}
    hosts: ['*']
    tls: {mode: AUTO_PASSTHROUGH}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: ['*']
  gateways: [gw]
  tls:
  - match: [{sniHosts: [a.example.com], destinationSubnets: [10.0.0.0/8, 2001:db8::/32]}]
    route: [{destination: {host: a.example.com}}]
  - match: [{sniHosts: ['*.example.com', a.example.com]}]
    route:
    - {destination: {host: a.example.com}, weight: 20}
    - {destination: {host: b.example.com}, weight: 80}
  - match: [{sniHosts: ['*']}]
    route: [{destination: {host: b.example.com}}]
`);
    const loaded = loadConfig([files], { gateway: 'gw' });
    const { yaml, config } = envoyBootstrap(loaded, { listen: { host: '127.0.0.1', port: 18080 }, admin: { host: '127.0.0.1', port: 18081 }, gateway: 'gw', gatewayPorts: [{ port: 443, at: { host: '127.0.0.1', port: 18443 } }, { port: 15443, at: { host: '127.0.0.1', port: 18444 } }] });
    expect((config.static_resources as { listeners: unknown[] }).listeners).toHaveLength(3);
    const result = await validate(yaml, 'tls-passthrough');
    expect(result.ok, result.output).toBe(true);
  });

  it('the check can fail: Envoy rejects a route to an unknown cluster', async () => {
    const c = cases.seed000Split;
    const mesh = { ...c.loaded.mesh, clusters: c.loaded.mesh.clusters.slice(0, 1) };
    const { yaml } = envoyBootstrap({ ...c.loaded, mesh }, c.opts);
    const result = await validate(yaml, 'unknown-cluster');
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/unknown weighted cluster/);
  });
});

// The sidecar's catch-all for unknown hosts in the Envoy translation (Istio's allow_any /
// block_all virtual hosts, PassthroughCluster ORIGINAL_DST, BlackHoleCluster STATIC without
// endpoints), its structure, then served by a real Envoy over loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { envoyBootstrap } from '../../host/envoy/bootstrap.js';
import { readConfig } from '../../host/config/load-config.js';
import { resolveMesh } from '../../host/config/translate/resolve-mesh.js';
import { DEFAULT_MESH_SETTINGS, type OutboundTrafficMode } from '../../host/model/mesh-settings.js';
import type { ConfigIssue } from '../../host/config/config-error.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import { envoyForTests } from '../helpers/envoy-for-tests.js';
import { freePort } from '../helpers/ports.js';
import { tempYaml } from '../helpers/temp-yaml.js';

const envoy = envoyForTests('envoy outbound catch-all');

function sidecarMesh(mode: OutboundTrafficMode): MeshConfig {
  const t = tempYaml({
    'se.yaml': `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [api.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1}]
`,
  });
  const read = readConfig([t.dir]);
  const issues: ConfigIssue[] = [];
  const mesh = resolveMesh({ resources: read.effective, options: {}, issues, warnings: [], invalid: read.invalid, settings: { ...DEFAULT_MESH_SETTINGS, outboundTrafficPolicy: mode } });
  expect(issues).toEqual([]);
  return mesh;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
function parts(mode: OutboundTrafficMode, port = 18080, admin = 18081): { config: any } {
  const { config } = envoyBootstrap({ mesh: sidecarMesh(mode) }, { listen: { host: '127.0.0.1', port }, admin: { host: '127.0.0.1', port: admin } });
  return { config };
}

function vhosts(config: any): any[] {
  const hcm = config.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  return hcm.route_config.virtual_hosts;
}

describe('the catch-all in the Envoy translation', () => {
  it('ALLOW_ANY: the last virtual host is allow_any `*` → PassthroughCluster, ORIGINAL_DST without endpoints', () => {
    const { config } = parts('ALLOW_ANY');
    const last = vhosts(config).at(-1);
    expect(last.name).toBe('allow_any');
    expect(last.domains).toEqual(['*']);
    expect(last.routes[0].name).toBe('allow_any');
    expect(last.routes[0].route.cluster ?? last.routes[0].route.weighted_clusters?.clusters?.[0]?.name).toBe('PassthroughCluster');
    const clusters = config.static_resources.clusters as any[];
    const pass = clusters.find((c) => c.name === 'PassthroughCluster');
    expect(pass).toMatchObject({ type: 'ORIGINAL_DST', lb_policy: 'CLUSTER_PROVIDED' });
    expect(pass.load_assignment).toBeUndefined();
    const hole = clusters.find((c) => c.name === 'BlackHoleCluster');
    expect(hole.type).toBe('STATIC');
    expect((hole.load_assignment?.endpoints ?? []).flatMap((l: any) => l.lb_endpoints)).toEqual([]);
  });

  it('REGISTRY_ONLY: the last virtual host is block_all `*`, a direct_response 502', () => {
    const last = vhosts(parts('REGISTRY_ONLY').config).at(-1);
    expect(last).toMatchObject({ name: 'block_all', domains: ['*'] });
    expect(last.routes[0]).toMatchObject({ name: 'block_all', direct_response: { status: 502 } });
  });
});

function runEnvoy(file: string): { child: ChildProcess; output: () => string; exited: Promise<unknown> } {
  let output = '';
  const child = spawn(envoy!, ['-c', file, '--concurrency', '1', '--disable-hot-restart', '-l', 'warning'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  return { child, output: () => output, exited: new Promise((r) => child.once('exit', r)) };
}

function get(port: number, authority: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', headers: { host: authority }, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(envoy === null)('a real Envoy serves the generated catch-all', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-envoy-catch-all-'));
  const outside = http.createServer((req, res) => res.end(`outside ${req.headers.host}`));
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await new Promise((r) => outside.close(r));
  });

  for (const mode of ['ALLOW_ANY', 'REGISTRY_ONLY'] as const) {
    it(`${mode}: a request for 127.0.0.1:<outside port> is ${mode === 'ALLOW_ANY' ? 'passed through' : 'answered 502'}`, async () => {
      if (!outside.listening) await new Promise<void>((r) => outside.listen(0, '127.0.0.1', r));
      const outsidePort = (outside.address() as { port: number }).port;
      const [port, admin] = [await freePort(), await freePort()];
      const { config } = parts(mode, port, admin);
      const file = join(dir, `${mode}.json`);
      writeFileSync(file, JSON.stringify(config));
      const e = runEnvoy(file);
      try {
        const deadline = Date.now() + 15_000;
        for (;;) {
          try {
            if ((await fetch(`http://127.0.0.1:${admin}/ready`)).status === 200) break;
          } catch { /* not up yet */ }
          if (Date.now() > deadline) throw new Error(`Envoy not ready: ${e.output()}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        const r = await get(port, `127.0.0.1:${outsidePort}`);
        const stats = await (await fetch(`http://127.0.0.1:${admin}/stats`)).text();
        if (mode === 'ALLOW_ANY') {
          expect(r).toEqual({ status: 200, body: `outside 127.0.0.1:${outsidePort}` });
          expect(stats).toMatch(/^cluster\.PassthroughCluster\.upstream_rq_200: 1$/m);
        } else {
          expect(r.status).toBe(502);
          expect(stats).toMatch(/^cluster\.PassthroughCluster\.upstream_rq_total: 0$/m);
        }
      } finally {
        e.child.kill('SIGTERM');
        await e.exited;
      }
    }, 30_000);
  }
});

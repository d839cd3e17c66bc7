// meshConfig outboundTrafficPolicy over real loopback sockets: a host the mesh does not know
// passes through to the address its authority names (ALLOW_ANY) or is answered 502 by
// block_all (REGISTRY_ONLY); passthrough never loops into the proxy's own ports.
import { describe, expect, test } from 'vitest';
import http from 'node:http';
import { readConfig } from '../../host/config/load-config.js';
import { resolveMesh } from '../../host/config/translate/resolve-mesh.js';
import { DEFAULT_MESH_SETTINGS, type OutboundTrafficMode } from '../../host/model/mesh-settings.js';
import type { ConfigIssue } from '../../host/config/config-error.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import { ProxyServer } from '../../host/server/proxy-server.js';
import type { AccessLogEntry } from '../../host/telemetry/access-log.js';
import { tempYaml } from '../helpers/temp-yaml.js';
import { proxy, upstream, useCleanup, waitFor } from './traffic-helpers.js';

useCleanup();

/** A known service (api.example.com → `knownPort`), resolved for a sidecar with `mode`. */
function sidecarMesh(mode: OutboundTrafficMode, knownPort: number): MeshConfig {
  const t = tempYaml({
    'se.yaml': `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [api.example.com]
  ports: [{number: 80, name: http, protocol: HTTP, targetPort: ${knownPort}}]
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

function get(port: number, authority: string, path = '/'): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host: authority }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

const last = (logs: AccessLogEntry[]): AccessLogEntry => logs[logs.length - 1]!;

describe('ALLOW_ANY (Istio default)', () => {
  test('an unknown authority `127.0.0.1:<port>` reaches that server through PassthroughCluster; a known host still goes to its cluster', async () => {
    const known = await upstream((_req, res) => res.end('known'));
    const outside = await upstream((req, res) => res.end(`outside ${req.headers.host}`));
    const { p, logs } = await proxy(sidecarMesh('ALLOW_ANY', known.port));

    const r = await get(p.port, `127.0.0.1:${outside.port}`, '/x');
    expect(r.status).toBe(200);
    expect(r.body).toBe(`outside 127.0.0.1:${outside.port}`);
    expect(outside.requests.map((q) => q.url)).toEqual(['/x']);
    await waitFor(() => logs.length === 1);
    expect(last(logs)).toMatchObject({ code: 200, route: 'allow_any', upstreamCluster: 'PassthroughCluster', upstreamHost: `127.0.0.1:${outside.port}`, flags: '-' });
    expect(p.stats.render()).toMatch(/^cluster\.PassthroughCluster\.upstream_rq_200: 1$/m);

    const k = await get(p.port, 'api.example.com');
    expect(k.body).toBe('known');
    expect(outside.requests).toHaveLength(1);
  });

  test('an unknown DNS name passes through to what it resolves to (`localhost:<port>`), port 80 when the authority has none', async () => {
    const outside = await upstream((req, res) => res.end(`outside ${req.headers.host}`));
    const { p, logs } = await proxy(sidecarMesh('ALLOW_ANY', 1));
    const r = await get(p.port, `localhost:${outside.port}`);
    expect(r.body).toBe(`outside localhost:${outside.port}`);
    await waitFor(() => logs.length === 1);
    expect(last(logs)).toMatchObject({ route: 'allow_any', upstreamCluster: 'PassthroughCluster', upstreamHost: `localhost:${outside.port}` });
    // No port: 80 (nothing listens on loopback port 80 in the test environment, or it answers).
    const bare = await get(p.port, 'name-that-does-not-resolve.invalid');
    expect(bare.status).toBe(503);
    await waitFor(() => logs.length === 2);
    expect(last(logs)).toMatchObject({ upstreamCluster: 'PassthroughCluster', upstreamHost: 'name-that-does-not-resolve.invalid:80', flags: 'UF' });
  });

  test('an authority that is no host (bad characters) has no destination: 503 UH', async () => {
    const { p, logs } = await proxy(sidecarMesh('ALLOW_ANY', 1));
    const r = await get(p.port, 'bad_host!name');
    expect(r.status).toBe(503);
    await waitFor(() => logs.length === 1);
    expect(last(logs)).toMatchObject({ route: 'allow_any', upstreamCluster: 'PassthroughCluster', flags: 'UH' });
  });

  test("passthrough to the proxy's own listener port is refused (no loop), counted on PassthroughCluster", async () => {
    const { p, logs } = await proxy(sidecarMesh('ALLOW_ANY', 1));
    for (const authority of [`127.0.0.1:${p.port}`, `127.1.2.3:${p.port}`, `[::1]:${p.port}`, `0.0.0.0:${p.port}`, `localhost:${p.port}`]) {
      const r = await get(p.port, authority);
      expect(r.status, authority).toBe(503);
    }
    await waitFor(() => logs.length === 5);
    // One request each: none looped back in (a name at the proxy's port is refused before it resolves).
    expect(logs.map((l) => l.flags)).toEqual(['UH', 'UH', 'UH', 'UH', 'UH']);
    expect(p.stats.render()).toMatch(/^cluster\.PassthroughCluster\.upstream_cx_passthrough_self_refused: 5$/m);
  });

  test('reserved ports (admin, health) are refused too, other local ports are not', async () => {
    const admin = await upstream((_req, res) => res.end('ADMIN'));
    const app = await upstream((_req, res) => res.end('app'));
    const logs: AccessLogEntry[] = [];
    const p = new ProxyServer({ host: '127.0.0.1', port: 0, log: (e) => logs.push(e), limits: { drainTimeoutMs: 200 }, seed: 1, reservedPorts: () => [admin.port] });
    p.apply(sidecarMesh('ALLOW_ANY', 1), 1);
    await p.listen();
    try {
      const r = await get(p.port, `127.0.0.1:${admin.port}`, '/config_dump');
      expect(r.status).toBe(503);
      expect(admin.requests).toHaveLength(0);
      expect((await get(p.port, `127.0.0.1:${app.port}`)).body).toBe('app');
    } finally {
      await p.close();
    }
  });
});

describe('REGISTRY_ONLY', () => {
  test('an unknown host is answered 502 by route block_all, never reaching it; a known host is served', async () => {
    const known = await upstream((_req, res) => res.end('known'));
    const outside = await upstream((_req, res) => res.end('outside'));
    const { p, logs } = await proxy(sidecarMesh('REGISTRY_ONLY', known.port));
    const r = await get(p.port, `127.0.0.1:${outside.port}`);
    expect(r.status).toBe(502);
    expect(outside.requests).toHaveLength(0);
    await waitFor(() => logs.length === 1);
    expect(last(logs)).toMatchObject({ code: 502, route: 'block_all', upstreamCluster: '-' });
    expect(p.stats.render()).toMatch(/^route\.block_all\.\S+: 1$/m);
    expect((await get(p.port, 'api.example.com')).body).toBe('known');
  });
});

describe('ServiceEntry resolution NONE (the default): passthrough to the address the client asked for', () => {
  test('under REGISTRY_ONLY a NONE entry for 127.0.0.1:<port> is served through its ORIGINAL_DST cluster; other hosts get 502', async () => {
    const outside = await upstream((req, res) => res.end(`outside ${req.headers.host}`));
    const t = tempYaml({
      'se.yaml': `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: local, namespace: default}
spec:
  hosts: [127.0.0.1]
  location: MESH_EXTERNAL
  ports: [{number: ${outside.port}, name: http, protocol: HTTP}]
`,
    });
    const read = readConfig([t.dir]);
    const issues: ConfigIssue[] = [];
    const warnings: string[] = [];
    const m = resolveMesh({ resources: read.effective, options: {}, issues, warnings, invalid: read.invalid, settings: { ...DEFAULT_MESH_SETTINGS, outboundTrafficPolicy: 'REGISTRY_ONLY' } });
    expect(issues).toEqual([]);
    const name = `outbound|${outside.port}||127.0.0.1`;
    expect(m.clusters.find((c) => c.name === name)).toMatchObject({ lb: 'PASSTHROUGH', endpoints: [], destinationFromAuthorityName: true });
    const { p, logs } = await proxy(m);
    const r = await get(p.port, `127.0.0.1:${outside.port}`);
    expect(r.body).toBe(`outside 127.0.0.1:${outside.port}`);
    await waitFor(() => logs.length === 1);
    expect(last(logs)).toMatchObject({ upstreamCluster: name, upstreamHost: `127.0.0.1:${outside.port}` });
    // Another address at the same port is no registry host: blocked.
    expect((await get(p.port, `127.0.0.2:${outside.port}`)).status).toBe(502);
    expect(outside.requests).toHaveLength(1);
  });
});

describe("seed 003's egress story (Istio101: time.jsontest.com blocked until its ServiceEntry is applied)", () => {
  const SEED3 = 'test/config/fixtures/seed-003';
  function seedMesh(withEgress: boolean): MeshConfig {
    const read = readConfig([SEED3]);
    const resources = read.effective.filter((r) => withEgress || r.resource.kind !== 'ServiceEntry' || r.resource.name !== 'time-jsontest');
    const issues: ConfigIssue[] = [];
    // The seed's DestinationRule asks ISTIO_MUTUAL: loaded here as with --allow-unenforced-security.
    const m = resolveMesh({ resources, options: { allowUnenforcedSecurity: true }, issues, warnings: [], invalid: read.invalid, settings: { ...DEFAULT_MESH_SETTINGS, outboundTrafficPolicy: 'REGISTRY_ONLY' } });
    expect(issues).toEqual([]);
    return m;
  }

  test('REGISTRY_ONLY without egress.yaml: 502 block_all; with it: routed to outbound|80||time.jsontest.com (never block_all)', async () => {
    const blocked = await proxy(seedMesh(false));
    expect((await get(blocked.p.port, 'time.jsontest.com')).status).toBe(502);
    await waitFor(() => blocked.logs.length === 1);
    expect(last(blocked.logs)).toMatchObject({ route: 'block_all', code: 502 });

    const open = await proxy(seedMesh(true), { limits: { drainTimeoutMs: 200 } });
    // The network may be absent here: whatever the upstream outcome, the request took the entry's cluster.
    await get(open.p.port, 'time.jsontest.com');
    await waitFor(() => open.logs.length === 1, 15_000);
    expect(last(open.logs)).toMatchObject({ upstreamCluster: 'outbound|80||time.jsontest.com' });
    expect(last(open.logs).route).not.toBe('block_all');
  }, 20_000);
});

// The sidecar runtime in-process over loopback sockets (no namespaces needed): the inbound
// listener forwards to the app port the Host names (none: the first; another: 404 NR, explained
// once on the log), the outbound listener routes by Host through the mesh config, the health port
// follows readiness, the admin API shows both listeners, and close() drains and frees the ports.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSidecarRuntime, type SidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { request } from '../helpers/http-client.js';
import { startHttpUpstream, type HttpUpstream } from '../helpers/upstream-servers.js';
import { peerMeshConfig, PEER_V1_CLUSTER, PEER_V2_CLUSTER } from '../helpers/peer-mesh-config.js';
import { busyPort as heldPort } from '../helpers/ports.js';

// The admin API answers only an IP address or localhost as Host (DNS rebinding).
const ADMIN_HOST = { host: '127.0.0.1' };

const LOOPBACK = { host: '127.0.0.1', port: 0 };

/** An app or peer that answers with its name and what it received. */
function whoami(name: string): Promise<HttpUpstream> {
  return startHttpUpstream((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ who: name, host: req.headers.host, xff: req.headers['x-forwarded-for'] ?? null, path: req.url }));
  });
}

const json = (r: { body: Buffer }) => JSON.parse(r.body.toString('utf8'));

describe('sidecar runtime over loopback', () => {
  let dir = '';
  let appA: HttpUpstream;
  let appB: HttpUpstream;
  let v1: HttpUpstream;
  let v2: HttpUpstream;
  let sidecar: SidecarRuntime;
  const access: string[] = [];
  const logs: string[] = [];

  beforeAll(async () => {
    [appA, appB, v1, v2] = await Promise.all([whoami('app-a'), whoami('app-b'), whoami('peer-v1'), whoami('peer-v2')]);
    dir = mkdtempSync(join(tmpdir(), 'wasmesh-sidecar-rt-'));
    writeFileSync(join(dir, 'peer.yaml'), peerMeshConfig({ address: '127.0.0.1', port: v1.port }, { address: '127.0.0.1', port: v2.port }));
    sidecar = await startSidecarRuntime({
      sources: [dir],
      outbound: LOOPBACK,
      inbound: LOOPBACK,
      health: LOOPBACK,
      admin: LOOPBACK,
      appPorts: [appA.port, appB.port],
      accessLog: (line) => access.push(line),
      log: (level, message) => logs.push(`${level}: ${message}`),
    });
  });

  afterAll(async () => {
    await sidecar?.close();
    await Promise.all([appA, appB, v1, v2].map((s) => s?.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const inbound = (host: string, path = '/') => request(sidecar.ports.inbound, { path, headers: { host } });
  const stat = async (name: string): Promise<number> => {
    const all = json(await request(sidecar.ports.admin, { path: '/stats?format=json', headers: ADMIN_HOST }));
    return all[name] ?? 0;
  };

  it('forwards an inbound request to the app port its Host names, as the inbound cluster', async () => {
    const before = await stat(`cluster.inbound|${appB.port}||.upstream_rq_2xx`);
    const r = await inbound(`pod.default:${appB.port}`, '/hello');
    expect(r.status).toBe(200);
    expect(json(r)).toMatchObject({ who: 'app-b', host: `pod.default:${appB.port}`, xff: '127.0.0.1', path: '/hello' });
    expect(r.headers.server).toBe('wasmesh');
    expect(await stat(`cluster.inbound|${appB.port}||.upstream_rq_2xx`)).toBe(before + 1);
    expect(access.at(-1)).toMatch(new RegExp(`"GET /hello HTTP/1.1" 200 - .* "127.0.0.1:${appB.port}" inbound\\|${appB.port}\\|\\|$`));
  });

  it('sends an authority without a port to the first app port (HTTP default port)', async () => {
    expect(json(await inbound('pod'))).toMatchObject({ who: 'app-a', host: 'pod' });
    expect(json(await inbound('[fd00::1]'))).toMatchObject({ who: 'app-a' });
    expect(json(await inbound(`[fd00::1]:${appB.port}`))).toMatchObject({ who: 'app-b' });
  });

  it('refuses a port that is not an app port with 404 NR, explaining it once per port', async () => {
    // A local service the app ports do not include: reachable from loopback, never via inbound.
    const hidden = await whoami('hidden');
    try {
      for (let i = 0; i < 3; i++) {
        const r = await inbound(`pod:${hidden.port}`);
        expect(r.status).toBe(404);
      }
      expect(hidden.requests).toHaveLength(0);
      expect(access.at(-1)).toMatch(/" 404 NR .* "-" -$/);
      const explained = logs.filter((l) => l.includes(`port ${hidden.port} is not an app port`));
      expect(explained).toHaveLength(1);
      expect(explained[0]).toContain(`--app-ports ${appA.port},${appB.port}`);
      expect(await stat(`http.inbound_127.0.0.1_${sidecar.ports.inbound}.no_route`)).toBeGreaterThanOrEqual(3);
      // The sidecar's own ports are refused the same way (they are never app ports).
      expect((await inbound(`pod:${sidecar.ports.admin}`)).status).toBe(404);
    } finally {
      await hidden.close();
    }
  });

  it('/logging gates the data path\'s lines (logger `connection`), never the access log', async () => {
    const post = async (path: string) => (await request(sidecar.ports.admin, { path, method: 'POST', headers: ADMIN_HOST })).body.toString();
    expect(await post('/logging')).toBe('active loggers:\n  admin: info\n  config: info\n  connection: info\n');
    const silenced = await whoami('silenced');
    const heard = await whoami('heard');
    try {
      expect(await post('/logging?connection=error')).toContain('  connection: error\n');
      const accessBefore = access.length;
      expect((await inbound(`pod:${silenced.port}`)).status).toBe(404);
      expect(logs.filter((l) => l.includes(`port ${silenced.port} is not an app port`))).toEqual([]);
      expect(access.length).toBe(accessBefore + 1);
      expect(await post('/logging?connection=warning')).toContain('  connection: warning\n');
      expect((await inbound(`pod:${heard.port}`)).status).toBe(404);
      expect(logs.filter((l) => l.includes(`port ${heard.port} is not an app port`))).toHaveLength(1);
    } finally {
      await post('/logging?connection=info');
      await silenced.close();
      await heard.close();
    }
  });

  it('routes outbound requests by Host through the mesh config (VirtualService header match)', async () => {
    const out = (headers: Record<string, string>) => request(sidecar.ports.outbound, { headers });
    expect(json(await out({ host: 'peer-svc:8080' }))).toMatchObject({ who: 'peer-v1', host: 'peer-svc:8080' });
    expect(json(await out({ host: 'peer-svc:8080', 'x-canary': 'yes' }))).toMatchObject({ who: 'peer-v2' });
    expect(json(await out({ host: 'peer-svc.default.svc.cluster.local' }))).toMatchObject({ who: 'peer-v1' });
    // A host the mesh does not know passes through (ALLOW_ANY): `unknown.example` does not
    // resolve (a reserved name), so PassthroughCluster finds no upstream: 503.
    expect((await out({ host: 'unknown.example:8080' })).status).toBe(503);
    expect(await stat(`cluster.${PEER_V2_CLUSTER}.upstream_rq_2xx`)).toBe(1);
    expect(await stat(`cluster.${PEER_V1_CLUSTER}.upstream_rq_2xx`)).toBe(2);
    // The outbound listener's own counters stay unprefixed, as `wasmesh proxy` shows them; the
    // inbound listener saw none of these requests.
    // The unknown host matched the catch-all route, not no route at all.
    expect(await stat('no_route')).toBe(0);
    expect(await stat('cluster.PassthroughCluster.upstream_cx_connect_fail')).toBe(1);
    expect(access.some((l) => l.endsWith(` ${PEER_V2_CLUSTER}`))).toBe(true);
  });

  it('answers GET /healthz/ready with 200 on the health port, and 404 to anything else', async () => {
    expect(sidecar.notReadyReason()).toBeNull();
    const health = (path: string, method = 'GET') => request(sidecar.ports.health, { path, method });
    expect((await health('/healthz/ready')).status).toBe(200);
    expect((await health('/healthz/ready', 'HEAD')).status).toBe(200);
    expect((await health('/healthz/ready', 'POST')).status).toBe(404);
    expect((await health('/ready')).status).toBe(404);
    expect((await health('/stats')).status).toBe(404);
    expect((await request(sidecar.ports.admin, { path: '/ready', headers: ADMIN_HOST })).status).toBe(200);
  });

  it('Envoy\'s view: /listeners and /config_dump show the outbound listener and Istio\'s virtualInbound with one inbound cluster per app port', async () => {
    const text = (await request(sidecar.ports.admin, { path: '/listeners', headers: ADMIN_HOST })).body.toString();
    expect(text).toBe(`outbound_${sidecar.ports.outbound}::127.0.0.1:${sidecar.ports.outbound}\nvirtualInbound::127.0.0.1:${sidecar.ports.inbound}\n`);
    const dump = json(await request(sidecar.ports.admin, { path: '/config_dump?resource=static_clusters', headers: ADMIN_HOST }));
    const names = dump.configs.map((c: { cluster: { name: string } }) => c.cluster.name);
    expect(names).toEqual(expect.arrayContaining([`inbound|${appA.port}||`, `inbound|${appB.port}||`]));
  });

  it('shows both listeners in the admin API', async () => {
    const dump = json(await request(sidecar.ports.admin, { path: '/config_dump?format=wasmesh', headers: ADMIN_HOST }));
    expect(dump.version).toBe(1);
    expect(dump.inbound.appPorts).toEqual([appA.port, appB.port]);
    expect(dump.inbound.mesh.clusters.map((c: { name: string }) => c.name)).toEqual([`inbound|${appA.port}||`, `inbound|${appB.port}||`]);
    const clusters = (await request(sidecar.ports.admin, { path: '/clusters', headers: ADMIN_HOST })).body.toString();
    expect(clusters).toContain(`inbound|${appA.port}||::127.0.0.1:${appA.port}::health_flags::healthy`);
    expect(clusters).toContain(`${PEER_V1_CLUSTER}::127.0.0.1:${v1.port}::`);
    const text = (await request(sidecar.ports.admin, { path: '/stats', headers: ADMIN_HOST })).body.toString();
    expect(text).toMatch(/^server\.config_version: 1$/m);
    expect(text).toMatch(/^control\.config_version: 1$/m);
    expect(text).not.toMatch(/^http\.inbound_[^ ]*server\./m);
    // Prometheus: the inbound listener's prefix is a label, as Envoy tags `http.<prefix>.`.
    const prom = (await request(sidecar.ports.admin, { path: `/stats/prometheus?filter=${encodeURIComponent('^http\\.inbound_.*\\.downstream_rq_total$')}`, headers: ADMIN_HOST })).body.toString();
    expect(prom).toMatch(/^# TYPE envoy_http_downstream_rq_total counter\nenvoy_http_downstream_rq_total\{envoy_http_conn_manager_prefix="inbound_[^"]+_\d+"\} \d+\n$/);
  });

  it('close() fails readiness first, drains, and frees every port', async () => {
    const ports = { ...sidecar.ports };
    const closing = sidecar.close();
    expect(sidecar.notReadyReason()).toMatch(/draining/);
    await closing;
    for (const port of Object.values(ports)) {
      const refused = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => { s.destroy(); resolve(false); });
        s.once('error', () => resolve(true));
      });
      expect(refused, `port ${port} closed`).toBe(true);
    }
  });
});

describe('sidecar runtime start-up failures', () => {
  it('an invalid config fails before any port is bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-sidecar-bad-'));
    try {
      writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: x }\nspec: { hosts: [x], bogus: 1 }\n');
      await expect(startSidecarRuntime({
        sources: [dir], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK,
        appPorts: [5005], accessLog: () => {}, log: () => {},
      })).rejects.toMatchObject({ code: 'invalid_config' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a busy inbound port is named as such, and nothing stays bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-sidecar-busy-'));
    const busy = await heldPort();
    const busyPort = busy.port;
    try {
      writeFileSync(join(dir, 'peer.yaml'), peerMeshConfig({ address: '127.0.0.1', port: 1 }, { address: '127.0.0.1', port: 2 }));
      await expect(startSidecarRuntime({
        sources: [dir], outbound: LOOPBACK, inbound: { host: '127.0.0.1', port: busyPort }, health: LOOPBACK, admin: LOOPBACK,
        appPorts: [5005], accessLog: () => {}, log: () => {},
      })).rejects.toMatchObject({ code: 'port_in_use', message: `inbound listener port ${busyPort} on 127.0.0.1 is already in use` });
    } finally {
      await busy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sidecar runtime without an access log (--access-log off)', () => {
  it('still forwards, and still explains a port that is not an app port', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-sidecar-nolog-'));
    const app = await whoami('app');
    const hidden = await whoami('hidden');
    const logs: string[] = [];
    let sidecar: SidecarRuntime | undefined;
    try {
      writeFileSync(join(dir, 'peer.yaml'), peerMeshConfig({ address: '127.0.0.1', port: 1 }, { address: '127.0.0.1', port: 2 }));
      sidecar = await startSidecarRuntime({
        sources: [dir], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK,
        appPorts: [app.port], log: (level, message) => logs.push(`${level}: ${message}`),
      });
      const r = await request(sidecar.ports.inbound, { headers: { host: `pod:${app.port}` } });
      expect(r.status).toBe(200);
      expect(json(r)).toMatchObject({ who: 'app' });
      expect((await request(sidecar.ports.inbound, { headers: { host: `pod:${hidden.port}` } })).status).toBe(404);
      expect(logs.filter((l) => l.includes(`port ${hidden.port} is not an app port`))).toHaveLength(1);
    } finally {
      await sidecar?.close();
      await Promise.all([app.close(), hidden.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sidecar runtime with a dedicated inbound listener (the demo\'s per-workload port)', () => {
  it('sends every request to its one app port whatever port the Host names; more than one app port is refused', async () => {
    const app = await whoami('app');
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-sidecar-dedicated-'));
    writeFileSync(join(dir, 'empty.yaml'), '# nothing outbound\n');
    const opts = { sources: [dir], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, accessLog: () => {}, log: () => {} };
    const sidecar = await startSidecarRuntime({ ...opts, appPorts: [app.port], dedicatedInbound: true });
    try {
      for (const host of ['backend', 'backend:80', '127.0.0.1:8080', `127.0.0.1:${app.port}`]) {
        const r = await request(sidecar.ports.inbound, { path: '/x', headers: { host } });
        expect(r.status, host).toBe(200);
        expect(json(r), host).toMatchObject({ who: 'app', host, path: '/x' });
      }
      await expect(startSidecarRuntime({ ...opts, appPorts: [app.port, app.port + 1], dedicatedInbound: true })).rejects.toThrow(/dedicated inbound listener serves exactly one app port, got 2/);
    } finally {
      await sidecar.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The control plane in-process with wasmesh ADS clients: each proxy gets its own view (a gateway
// by its labels' Gateway, a sidecar the mesh), a change pushes only the proxies whose view it
// changes, a NACK from one proxy blocks no other's push and is shown, an invalid change reaches
// nobody, and a proxy whose view cannot be computed is refused with the reason. Envoys alike but
// for their listen address or the wasmesh filters keep their own listeners across a change.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig } from '../../host/config/index.js';
import { ControlPlane } from '../../host/control-plane/control-plane.js';
import { AdsClient } from '../../host/xds/ads-client.js';
import { WASMESH_TYPE_URL, assembleProxyConfig, type WasmeshProxyConfig } from '../../host/xds/wasmesh-resource.js';
import { nodeId } from '../../host/xds/xds-node.js';
import { syncState } from '../../host/xds/sync-status.js';
import { envoyProtos, TYPE_URL } from '../../host/xds/envoy-protos.js';
import { TestAdsStream } from '../xds/ads-test-client.js';

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const BASE = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web}
spec: {hosts: [web], ports: [{number: 80, name: http, protocol: HTTP}], resolution: STATIC, endpoints: [{address: 127.0.0.1}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api}
spec: {hosts: [api], ports: [{number: 80, name: http, protocol: HTTP}], resolution: STATIC, endpoints: [{address: 127.0.0.2}]}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec: {selector: {istio: ingressgateway}, servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]}
`;

function vs(gatewayPath: string, meshTimeout: string): string {
  return `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: edge}
spec: {hosts: ["*"], gateways: [gw], http: [{match: [{uri: {prefix: "${gatewayPath}"}}], route: [{destination: {host: web}}]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api}
spec: {hosts: [api], http: [{timeout: ${meshTimeout}, route: [{destination: {host: api}}]}]}
`;
}

async function plane(files: Record<string, string>, log: (level: string, message: string) => void = () => {}): Promise<{ cp: ControlPlane; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-cp-unit-'));
  for (const [n, t] of Object.entries(files)) writeFileSync(join(dir, n), t);
  const cp = new ControlPlane({ sources: [dir], read: (s) => readConfig(s), log, debounce: { quietMs: 20, maxDelayMs: 200 } });
  cp.start();
  await cp.listen('127.0.0.1', 0);
  closers.push(() => rmSync(dir, { recursive: true, force: true }), () => cp.close());
  return { cp, dir };
}

function proxy(cp: ControlPlane, type: 'router' | 'sidecar', pod: string, labels: Record<string, string>, refuse?: (c: WasmeshProxyConfig) => string | null, metadata: Record<string, unknown> = {}): { configs: WasmeshProxyConfig[]; id: string } {
  const configs: WasmeshProxyConfig[] = [];
  const id = nodeId(type, '127.0.0.1', pod, 'default');
  const c = new AdsClient({
    target: { host: '127.0.0.1', port: cp.ads.port },
    node: { id, cluster: 'Kubernetes', metadata: { NAMESPACE: 'default', LABELS: labels, WASMESH: '1', ...metadata } },
    types: [WASMESH_TYPE_URL],
    apply: (u) => {
      const config = assembleProxyConfig(u.resources.map((r) => r.value));
      const why = refuse?.(config) ?? null;
      if (why === null) configs.push(config);
      return why;
    },
    log: () => {},
  });
  c.start();
  closers.push(() => c.close());
  return { configs, id };
}

const routesOf = (c: WasmeshProxyConfig): string[] => c.mesh.virtualHosts.flatMap((vh) => vh.routes.map((r) => r.name));

describe('ControlPlane', () => {
  it('gives a gateway its Gateway\'s routes and a sidecar the mesh\'s; pushes only whom a change concerns', async () => {
    const { cp, dir } = await plane({ 'base.yaml': BASE, 'vs.yaml': vs('/a', '1s') });
    const gw = proxy(cp, 'router', 'gw-1', { istio: 'ingressgateway' });
    const side = proxy(cp, 'sidecar', 'app-1', { app: 'app' });
    await expect.poll(() => gw.configs.length && side.configs.length).toBeGreaterThan(0);
    expect(routesOf(gw.configs[0]!)).toEqual(['default/edge/0']);
    // The mesh's: api's VirtualService, and web served as a plain ServiceEntry host; no gateway route.
    expect(routesOf(side.configs[0]!)).toContain('default/api/0');
    expect(routesOf(side.configs[0]!)).not.toContain('default/edge/0');
    // A change to the mesh-bound VirtualService only: the sidecar is pushed, the gateway is not.
    writeFileSync(join(dir, 'vs.yaml'), vs('/a', '2s'));
    cp.requestReload();
    await expect.poll(() => side.configs.length).toBe(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(gw.configs).toHaveLength(1);
    expect(side.configs[1]!.mesh.virtualHosts.flatMap((v) => v.routes).find((r) => r.name === 'default/api/0')!.timeoutMs).toBe(2000);
  });

  it('a NACK from one proxy blocks no other proxy\'s push and shows with its reason; an invalid change reaches nobody', async () => {
    const { cp, dir } = await plane({ 'base.yaml': BASE, 'vs.yaml': vs('/a', '1s') });
    const picky = proxy(cp, 'sidecar', 'picky', { app: 'p' }, (c) => (c.mesh.virtualHosts.flatMap((v) => v.routes).some((r) => r.timeoutMs === 3000) ? 'cannot serve a 3 s timeout' : null));
    const easy = proxy(cp, 'sidecar', 'easy', { app: 'e' });
    await expect.poll(() => picky.configs.length && easy.configs.length).toBeGreaterThan(0);
    writeFileSync(join(dir, 'vs.yaml'), vs('/a', '3s'));
    cp.requestReload();
    await expect.poll(() => easy.configs.length).toBe(2);
    await expect.poll(() => syncState(cp.ads.proxies().find((p) => p.proxyId === picky.id)!.types.get(WASMESH_TYPE_URL))).toBe('NACKED');
    expect(cp.ads.proxies().find((p) => p.proxyId === picky.id)!.types.get(WASMESH_TYPE_URL)!.nack!.message).toBe('cannot serve a 3 s timeout');
    expect(picky.configs).toHaveLength(1);
    expect(cp.metrics.rejects.get('wasmesh')).toBe(1);
    // Invalid: a negative weight. Nobody is pushed; the error is kept for /debug/configz.
    writeFileSync(join(dir, 'vs.yaml'), vs('/a', '-1s'));
    cp.requestReload();
    await expect.poll(() => cp.status().lastError !== null).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(easy.configs).toHaveLength(2);
  });

  it('serves a proxy whose INSTANCE_IPS has a bad entry, from the entries left, and warns naming it (as the sidecar skips it)', async () => {
    const logged: string[] = [];
    const { cp } = await plane({ 'base.yaml': BASE, 'vs.yaml': vs('/a', '1s') }, (level, m) => logged.push(`${level} ${m}`));
    const p = proxy(cp, 'sidecar', 'six', { app: 'six' }, undefined, { INSTANCE_IPS: 'fd00::5, pod-a' });
    await expect.poll(() => p.configs.length).toBeGreaterThan(0);
    expect(logged).toContain(`warn xDS: ${p.id}: metadata INSTANCE_IPS: skipped "pod-a" is not an IP address; its IP mode: IPv6 only`);
    // A clean list says nothing.
    const q = proxy(cp, 'sidecar', 'clean', { app: 'clean' }, undefined, { INSTANCE_IPS: '127.0.0.1,fd00::6' });
    await expect.poll(() => q.configs.length).toBeGreaterThan(0);
    expect(logged.filter((l) => l.includes('INSTANCE_IPS'))).toHaveLength(1);
  });

  it('refuses a gateway proxy whose explicit Gateway does not exist, naming it', async () => {
    const { cp } = await plane({ 'base.yaml': BASE, 'vs.yaml': vs('/a', '1s') });
    const errors: string[] = [];
    const c = new AdsClient({
      target: { host: '127.0.0.1', port: cp.ads.port },
      node: { id: nodeId('router', '127.0.0.1', 'gw-x', 'default'), cluster: 'Kubernetes', metadata: { NAMESPACE: 'default', WASMESH: '1', WASMESH_GATEWAY: 'nope' } },
      types: [WASMESH_TYPE_URL],
      apply: () => null,
      log: (_l, m) => errors.push(m),
      backoff: { baseMs: 5000, maxMs: 5000 },
    });
    c.start();
    closers.push(() => c.close());
    await expect.poll(() => errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatch(/nope/);
  });

  it('Envoys alike but for WASMESH_LISTEN or WASMESH_FILTERS keep their own listeners when a change is recomputed', async () => {
    const { cp, dir } = await plane({ 'base.yaml': BASE, 'vs.yaml': vs('/a', '1s') });
    const str = (v: string) => ({ stringValue: v });
    const envoys = [
      { id: nodeId('router', '127.0.0.1', 'e1', 'default'), listen: '127.0.0.1:18001', filters: false },
      { id: nodeId('router', '127.0.0.1', 'e2', 'default'), listen: '127.0.0.1:18002', filters: false },
      { id: nodeId('router', '127.0.0.1', 'e3', 'default'), listen: '127.0.0.1:18003', filters: true },
    ];
    for (const e of envoys) {
      const s = new TestAdsStream(cp.ads.port, 'sotw');
      closers.push(() => s.close());
      const fields: Record<string, unknown> = { LABELS: { structValue: { fields: { istio: str('ingressgateway') } } }, WASMESH_LISTEN: str(e.listen) };
      if (e.filters) fields.WASMESH_FILTERS = str('1');
      s.send({ node: { id: e.id, metadata: { fields } }, type_url: TYPE_URL.listener });
      await s.next();
    }
    const listener = (id: string) => {
      const [r] = [...cp.cache.get(id)!.get(TYPE_URL.listener)!.resources.values()];
      const l = envoyProtos().lookupType('envoy.config.listener.v3.Listener').decode(r!.body.value) as unknown as { address: { socket_address: { port_value: number } } };
      return { port: l.address.socket_address.port_value, wasm: Buffer.from(r!.body.value).includes('envoy.filters.http.wasm') };
    };
    const expected = envoys.map((e) => ({ port: Number(e.listen.split(':')[1]), wasm: e.filters }));
    expect(envoys.map((e) => listener(e.id))).toEqual(expected);
    writeFileSync(join(dir, 'vs.yaml'), vs('/b', '1s'));
    cp.requestReload();
    await expect.poll(() => cp.version).toBe(2);
    expect(envoys.map((e) => listener(e.id))).toEqual(expected);
  });
});

// One control plane holding 1,000 concurrent ADS streams from one process (four HTTP/2
// connections, 750 state-of-the-world streams and 250 delta): every proxy gets its view and ACKs
// it, the monitoring port counts 1000 in pilot_xds and /debug/syncz lists 1000 proxies SYNCED, a
// config change reaches and is ACKed by all of them, and once every stream is closed the count
// is back to 0.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfig } from '../../host/config/index.js';
import { ControlPlane } from '../../host/control-plane/control-plane.js';
import { MonitoringServer, type SyncEntry } from '../../host/control-plane/monitoring-server.js';
import { WASMESH_TYPE_URL } from '../../host/xds/wasmesh-resource.js';
import { nodeId } from '../../host/xds/xds-node.js';
import { adsChannel, TestAdsStream } from '../xds/ads-test-client.js';
import { webServices } from '../helpers/seed-000-yaml.js';

const STREAMS = 1000;
const CHANNELS = 4;

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

type Plain = Record<string, unknown>;

/** Seed 000's services with a mesh VirtualService splitting web v1/v2 at `v1` percent. */
function split(v1: number): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web}
spec: {host: web, subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web}
spec: {hosts: [web], http: [{route: [{destination: {host: web, subset: v1}, weight: ${v1}}, {destination: {host: web, subset: v2}, weight: ${100 - v1}}]}]}
`;
}

/**
 * The control plane's version a response carries (SotW version_info, delta system_version_info):
 * a delta push sends only the resources that changed, which need not include the header.
 */
function meshVersion(r: Plain): string {
  return String(r.version_info ?? r.system_version_info ?? '');
}

describe('control plane: 1,000 concurrent ADS streams', () => {
  it('programs 1000 proxies, counts them in pilot_xds, pushes a change to all, and counts 0 once they left', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-cp-scale-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, '00-services.yaml'), webServices({ v1: 15101, v2: 15102 }));
    writeFileSync(join(dir, '03-split.yaml'), split(80));
    const cp = new ControlPlane({ sources: [dir], read: (s) => readConfig(s), log: () => {}, debounce: { quietMs: 20, maxDelayMs: 200 } });
    cp.start();
    await cp.listen('127.0.0.1', 0);
    const monitoring = new MonitoringServer(cp);
    await monitoring.listen('127.0.0.1', 0);
    closers.push(() => cp.close(), () => monitoring.close());
    const get = async (path: string) => (await fetch(`http://127.0.0.1:${monitoring.port}${path}`)).text();
    const pilotXds = async () => Number(/^pilot_xds (\d+)$/m.exec(await get('/metrics'))![1]);

    const channels = Array.from({ length: CHANNELS }, () => adsChannel(cp.ads.port));
    closers.push(() => channels.forEach((c) => c.close()));
    const t0 = Date.now();
    const streams = Array.from({ length: STREAMS }, (_, i) => {
      const protocol = i % 4 === 3 ? 'delta' : 'sotw';
      const s = new TestAdsStream(channels[i % CHANNELS]!, protocol);
      const node = {
        id: nodeId('sidecar', `10.1.${i >> 8}.${i & 255}`, `web-${i}`, 'default'),
        metadata: { fields: { WASMESH: { stringValue: '1' }, NAMESPACE: { stringValue: 'default' }, LABELS: { structValue: { fields: { app: { stringValue: 'web' } } } } } },
      };
      s.send({ node, type_url: WASMESH_TYPE_URL });
      return { s, protocol };
    });
    closers.push(() => streams.forEach(({ s }) => s.close()));

    // Each gets its config and ACKs it.
    const ack = ({ s, protocol }: (typeof streams)[number], r: Plain) =>
      s.send(protocol === 'sotw' ? { type_url: WASMESH_TYPE_URL, version_info: r.version_info, response_nonce: r.nonce } : { type_url: WASMESH_TYPE_URL, response_nonce: r.nonce });
    const first = await Promise.all(streams.map((x) => x.s.next(20_000)));
    // Every proxy has the same view: one version (a content hash) for all.
    const v1 = meshVersion(first[0]!);
    expect(v1).not.toBe('');
    expect(first.every((r) => meshVersion(r) === v1)).toBe(true);
    first.forEach((r, i) => ack(streams[i]!, r));
    const connectedMs = Date.now() - t0;

    await expect.poll(pilotXds, { timeout: 10_000 }).toBe(STREAMS);
    const synced = async () => ((JSON.parse(await get('/debug/syncz')) as SyncEntry[]).filter((e) => e.types.wasmesh?.state === 'SYNCED')).length;
    await expect.poll(synced, { timeout: 10_000 }).toBe(STREAMS);

    // A change (the split to 5/95) reaches all 1000, each ACKs it.
    const t1 = Date.now();
    writeFileSync(join(dir, '03-split.yaml'), split(5));
    const second = await Promise.all(streams.map((x) => x.s.next(20_000)));
    const v2 = meshVersion(second[0]!);
    expect(v2).not.toBe(v1);
    expect(second.every((r) => meshVersion(r) === v2)).toBe(true);
    second.forEach((r, i) => ack(streams[i]!, r));
    await expect.poll(synced, { timeout: 10_000 }).toBe(STREAMS);
    const pushedMs = Date.now() - t1;

    for (const { s } of streams) s.close();
    await expect.poll(pilotXds, { timeout: 10_000 }).toBe(0);
    expect(cp.ads.proxies()).toEqual([]);
    expect(cp.connected()).toEqual([]);
    expect(cp.ads.streams.size).toBe(0);
    console.log(`${STREAMS} ADS streams over ${CHANNELS} connections: all programmed and ACKed in ${connectedMs} ms; a change pushed to and ACKed by all in ${pushedMs} ms`);
  }, 30_000);
});

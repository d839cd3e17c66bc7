// A cluster's TLS from the model (DestinationRule tls, auto mTLS) reaches its transport, and a
// config version that changes it swaps the pool: ISTIO_MUTUAL to a STRICT peer is served; the
// same cluster turned DISABLE sends plaintext on fresh connections (no TLS connection reused),
// which the STRICT peer refuses; a version whose transport cannot be built changes nothing.
import { describe, it, expect, afterEach, beforeAll } from 'vitest';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { transportKey, upstreamTlsSettings } from '../../host/upstream/cluster-transport.js';
import { WorkloadCertificateCell } from '../../host/tls/workload-certificate-cell.js';
import type { MeshConfig } from '../../host/model/mesh.js';
import type { ClusterTls } from '../../host/model/cluster-tls.js';
import { mesh } from '../helpers/mesh-fixtures.js';
import { testMeshCa, type TestMeshCa } from '../helpers/mesh-ca.js';
import { workloadCertificate } from '../helpers/workload-certs.js';
import { exchange, HOST, startRecordingUpstream } from '../listener/http1/wire-harness.js';

let ca: TestMeshCa;
beforeAll(async () => {
  ca = await testMeshCa();
});
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const MUTUAL: ClusterTls = { mode: 'ISTIO_MUTUAL', sni: 'outbound_.80_._.backend.test', subjectAltNames: ['spiffe://cluster.local/ns/shop/sa/backend'], auto: true };

describe('upstreamTlsSettings', () => {
  it('plaintext for none and DISABLE; the settings without `auto` otherwise; keys equal for equal settings', () => {
    expect(upstreamTlsSettings(undefined)).toBeNull();
    expect(upstreamTlsSettings({ mode: 'DISABLE', auto: false })).toBeNull();
    expect(upstreamTlsSettings(MUTUAL)).toEqual({ mode: 'ISTIO_MUTUAL', sni: 'outbound_.80_._.backend.test', subjectAltNames: ['spiffe://cluster.local/ns/shop/sa/backend'] });
    expect(transportKey(null)).toBe('');
    expect(transportKey(upstreamTlsSettings(MUTUAL))).toBe(transportKey(upstreamTlsSettings({ ...MUTUAL, auto: false })));
    expect(transportKey(upstreamTlsSettings(MUTUAL))).not.toBe(transportKey(upstreamTlsSettings({ ...MUTUAL, sni: 'other' })));
  });
});

describe('cluster TLS from the model, swapped by config version', () => {
  it('ISTIO_MUTUAL served by a STRICT peer; DISABLE then plaintext, refused; back to mTLS', async () => {
    const app = await startRecordingUpstream();
    closers.push(() => app.close());
    const cellB = new WorkloadCertificateCell();
    cellB.set(await workloadCertificate(ca, 'shop', 'backend'));
    const b = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100 }, workloadCertificates: cellB, downstreamTransport: { kind: 'tls', tls: { credential: 'workload', requireClientCertificate: true } } });
    b.apply(mesh([{ name: 'backend', ports: [app.port] }], [{ name: 'default/vs/0', dests: [{ cluster: 'backend' }] }], [HOST]), 1);
    await b.listen();
    closers.push(() => b.close());
    const cellA = new WorkloadCertificateCell();
    cellA.set(await workloadCertificate(ca, 'shop', 'frontend'));
    const a = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100 }, workloadCertificates: cellA });
    const version = (tls: ClusterTls | undefined): MeshConfig => {
      const m = mesh([{ name: 'backend', ports: [b.port] }], [{ name: 'default/vs/0', dests: [{ cluster: 'backend' }] }], [HOST]);
      m.clusters[0]!.tls = tls;
      return m;
    };
    a.apply(version(MUTUAL), 1);
    await a.listen();
    closers.push(() => a.close());
    const get = async (): Promise<number | undefined> => (await exchange(a.port, [`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`], 1)).responses[0]?.status;

    expect(await get()).toBe(200);
    expect(b.stats.downstream.get('ssl.handshake')).toBe(1);
    a.apply(version({ mode: 'DISABLE', auto: false }), 2);
    expect(await get()).toBe(503);
    expect(b.stats.downstream.get('ssl.connection_error')).toBeGreaterThanOrEqual(1);
    expect(app.requests).toHaveLength(1);
    a.apply(version(MUTUAL), 3);
    expect(await get()).toBe(200);
    expect(app.requests).toHaveLength(2);
  });

  it('a version whose transport cannot be built is refused whole (ISTIO_MUTUAL without a workload certificate source)', async () => {
    const a = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100 } });
    closers.push(() => a.close());
    const m = mesh([{ name: 'backend', ports: [1] }], [{ name: 'default/vs/0', dests: [{ cluster: 'backend' }] }], [HOST]);
    a.apply(m, 1);
    const bad = structuredClone(m);
    bad.clusters[0]!.tls = MUTUAL;
    expect(() => a.apply(bad, 2)).toThrow(/ISTIO_MUTUAL needs the proxy's workload certificate source.*TLS_SETTINGS/);
  });
});

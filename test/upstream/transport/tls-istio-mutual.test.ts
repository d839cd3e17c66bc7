// Upstream ISTIO_MUTUAL with the proxy's workload certificate, as a sidecar pair on loopback:
// client → proxy A (ISTIO_MUTUAL, its cell) → proxy B (STRICT, its cell) → app; certificates for
// two SPIFFE IDs from one in-process mesh CA. Istio's ALPN is offered; B's identity is checked
// against the expected SAN; renewing A's certificate while requests run fails none; A without a
// certificate refuses to connect (503, counted), before any byte leaves.
import { describe, it, expect, afterEach, beforeAll } from 'vitest';
import { createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { ProxyServer } from '../../../host/server/proxy-server.js';
import { TlsTransportSocketFactory } from '../../../host/upstream/transport/tls.js';
import { WorkloadCertificateCell } from '../../../host/tls/workload-certificate-cell.js';
import { mesh } from '../../helpers/mesh-fixtures.js';
import { testMeshCa, type TestMeshCa } from '../../helpers/mesh-ca.js';
import { workloadCertificate } from '../../helpers/workload-certs.js';
import { exchange, HOST, startRecordingUpstream, type RecordingUpstream } from '../../listener/http1/wire-harness.js';
import { upstreamField } from '../../listener/http1/tls-rig.js';

let ca: TestMeshCa;
beforeAll(async () => {
  ca = await testMeshCa();
});

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const B_ID = 'spiffe://cluster.local/ns/shop/sa/backend';
const A_ID = 'spiffe://cluster.local/ns/shop/sa/frontend';

async function pair(expected = B_ID): Promise<{ a: ProxyServer; b: ProxyServer; app: RecordingUpstream; cellA: WorkloadCertificateCell }> {
  const app = await startRecordingUpstream();
  closers.push(() => app.close());
  const cellB = new WorkloadCertificateCell();
  cellB.set(await workloadCertificate(ca, 'shop', 'backend'));
  const b = new ProxyServer({
    host: '127.0.0.1', port: 0, seed: 1, limits: { drainTimeoutMs: 100 },
    downstreamTransport: { kind: 'tls', tls: { credential: 'workload', requireClientCertificate: true } },
    workloadCertificates: cellB,
  });
  b.apply(mesh([{ name: 'backend', ports: [app.port] }], [{ name: 'default/vs/0', dests: [{ cluster: 'backend' }] }], [HOST]), 1);
  await b.listen();
  closers.push(() => b.close());
  const cellA = new WorkloadCertificateCell();
  const a = new ProxyServer({
    host: '127.0.0.1', port: 0, seed: 1, limits: { drainTimeoutMs: 100 },
    upstreamTls: { backend: { mode: 'ISTIO_MUTUAL', sni: 'outbound_.80_._.backend.shop.svc.cluster.local', subjectAltNames: [expected] } },
    workloadCertificates: cellA,
  });
  a.apply(mesh([{ name: 'backend', ports: [b.port] }], [{ name: 'default/vs/0', dests: [{ cluster: 'backend' }] }], [HOST]), 1);
  await a.listen();
  closers.push(() => a.close());
  return { a, b, app, cellA };
}

const get = (port: number, n = 1) => exchange(port, [Array.from({ length: n }, () => `GET /x HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`).join('')], n);

describe('upstream ISTIO_MUTUAL with the workload certificate', () => {
  it('carries requests over mesh mTLS: the app sees A\'s SPIFFE ID from B; Istio ALPN offered', async () => {
    const { a, b, app, cellA } = await pair();
    cellA.set(await workloadCertificate(ca, 'shop', 'frontend'));
    const ex = await get(a.port);
    expect(ex.responses.map((r) => r.status)).toEqual([200]);
    expect(upstreamField(app, 'x-forwarded-client-cert')).toMatch(new RegExp(`^By=${B_ID};Hash=[0-9a-f]{64};Subject="";URI=${A_ID}$`));
    expect(b.stats.downstream.get('ssl.handshake')).toBe(1);
    expect(a.stats.cluster('backend').get('ssl.handshake')).toBe(1);
  });

  it('offers istio-http/1.1, istio, http/1.1 and presents the workload certificate; refuses settings without a source or with files', async () => {
    const server = await workloadCertificate(ca, 'shop', 'backend');
    const offered: string[][] = [];
    const clientIds: string[] = [];
    let served!: () => void;
    const seen = new Promise<void>((r) => (served = r));
    const srv = createServer({
      cert: server.certChainPem, key: server.keyPem, ca: server.rootsPem, requestCert: true, rejectUnauthorized: true,
      ALPNCallback: ({ protocols }) => (offered.push(protocols), protocols[0]),
    }, (s) => {
      clientIds.push(/URI:(spiffe:\/\/[^,]+)/.exec(s.getPeerCertificate().subjectaltname ?? '')?.[1] ?? '');
      served();
      s.end();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => srv.close(() => r())));
    const cell = new WorkloadCertificateCell();
    cell.set(await workloadCertificate(ca, 'shop', 'frontend'));
    const f = new TlsTransportSocketFactory({ mode: 'ISTIO_MUTUAL', subjectAltNames: [B_ID] }, {}, cell);
    const sock = f.connect('127.0.0.1', (srv.address() as AddressInfo).port, { onread: { buffer: Buffer.alloc(1024), callback: () => true }, noDelay: true, keepAlive: null });
    const alpn = await new Promise<string | false>((resolve, reject) => {
      sock.once('secureConnect', () => resolve((sock as TLSSocket).alpnProtocol ?? false));
      sock.once('error', reject);
    });
    await seen;
    sock.destroy();
    expect(offered).toEqual([['istio-http/1.1', 'istio', 'http/1.1']]);
    expect(alpn).toBe('istio-http/1.1');
    expect(clientIds).toEqual([A_ID]);
    f.close();
    expect(() => new TlsTransportSocketFactory({ mode: 'ISTIO_MUTUAL' })).toThrow(/workload certificate source.*TLS_SETTINGS/);
    expect(() => new TlsTransportSocketFactory({ mode: 'ISTIO_MUTUAL', caCertificates: '/x.pem' }, {}, cell)).toThrow(/caCertificates must be absent.*TLS_SETTINGS/);
  });

  it('refuses a B with another identity (ssl.fail_verify_san, 503)', async () => {
    const { a, app, cellA } = await pair('spiffe://cluster.local/ns/shop/sa/other');
    cellA.set(await workloadCertificate(ca, 'shop', 'frontend'));
    const ex = await get(a.port);
    expect(ex.responses.map((r) => r.status)).toEqual([503]);
    expect(app.requests).toEqual([]);
    expect(a.stats.cluster('backend').get('ssl.fail_verify_san')).toBeGreaterThanOrEqual(1);
  });

  it('fails closed without a certificate: 503, ssl.workload_certificate_unavailable, nothing reaches B', async () => {
    const { a, b, app, cellA } = await pair();
    const ex = await get(a.port);
    expect(ex.responses.map((r) => r.status)).toEqual([503]);
    expect(app.requests).toEqual([]);
    expect(b.stats.downstream.get('ssl.handshake')).toBe(0);
    expect(b.stats.downstream.get('ssl.connection_error')).toBe(0);
    expect(a.stats.cluster('backend').get('ssl.workload_certificate_unavailable')).toBeGreaterThanOrEqual(1);
    cellA.set(await workloadCertificate(ca, 'shop', 'frontend'));
    expect((await get(a.port)).responses.map((r) => r.status)).toEqual([200]);
  });

  it('renewing A\'s certificate while requests run fails none', async () => {
    const { a, b, cellA } = await pair();
    cellA.set(await workloadCertificate(ca, 'shop', 'frontend'));
    const renewals = [await workloadCertificate(ca, 'shop', 'frontend'), await workloadCertificate(ca, 'shop', 'frontend')];
    const statuses: number[] = [];
    let running = true;
    const load = (async () => {
      while (running) {
        const ex = await Promise.all([1, 2, 3].map(() => exchange(a.port, [`GET /x HTTP/1.1\r\nHost: ${HOST}\r\nconnection: close\r\n\r\n`], 1)));
        statuses.push(...ex.map((e) => e.responses[0]?.status ?? 0));
      }
    })();
    for (const next of renewals) {
      await new Promise((r) => setTimeout(r, 150));
      cellA.set(next);
    }
    await new Promise((r) => setTimeout(r, 150));
    // Past the last renewal, until enough requests went through (a loaded machine's handshakes are slow; bounded).
    const until = Date.now() + 30_000;
    while (statuses.length <= 6 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    running = false;
    await load;
    expect(statuses.length).toBeGreaterThan(6);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // A renewal drops the sessions made under the old certificate: B sees new full handshakes.
    expect(b.stats.downstream.get('ssl.handshake')).toBeGreaterThanOrEqual(1);
  });
});

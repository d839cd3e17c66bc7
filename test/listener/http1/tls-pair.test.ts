// Two proxies as a sidecar pair over mutual TLS, on loopback: client → proxy A (plaintext in,
// TLS origination with its workload certificate) → proxy B (STRICT) → app. The app sees A's
// SPIFFE ID in the XFCC that B sets; A refuses a B whose certificate is not the expected
// identity (503, ssl.fail_verify_san on A's cluster, nothing reaches the app).
import { describe, it, expect, afterEach } from 'vitest';
import { ProxyServer } from '../../../host/server/proxy-server.js';
import { mesh } from '../../helpers/mesh-fixtures.js';
import { leaf, meshRoot, spiffeId } from '../../helpers/test-certs.js';
import { exchange, HOST, startRecordingUpstream, type RecordingUpstream } from './wire-harness.js';
import { upstreamField } from './tls-rig.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function pair(expectedServer: string): Promise<{ a: ProxyServer; b: ProxyServer; app: RecordingUpstream; oplogA: string[] }> {
  const app = await startRecordingUpstream();
  closers.push(() => app.close());
  const bCert = leaf({ ns: 'shop', sa: 'backend' });
  const b = new ProxyServer({
    host: '127.0.0.1', port: 0, seed: 1, limits: { drainTimeoutMs: 100 },
    downstreamTransport: { kind: 'tls', tls: { certificateChain: bCert.cert, privateKey: bCert.key, caCertificates: meshRoot().cert, requireClientCertificate: true } },
  });
  b.apply(mesh([{ name: 'backend', ports: [app.port] }], [{ name: 'default/vs/0', dests: [{ cluster: 'backend' }] }], [HOST]), 1);
  await b.listen();
  closers.push(() => b.close());
  const aCert = leaf({ ns: 'shop', sa: 'frontend' });
  const oplogA: string[] = [];
  const a = new ProxyServer({
    host: '127.0.0.1', port: 0, seed: 1, limits: { drainTimeoutMs: 100 }, operationalLog: (_l, m) => oplogA.push(m),
    upstreamTls: {
      backend: {
        mode: 'MUTUAL', caCertificates: meshRoot().cert, clientCertificate: aCert.cert, privateKey: aCert.key,
        subjectAltNames: [expectedServer], alpn: ['istio-http/1.1', 'istio', 'http/1.1'],
      },
    },
  });
  a.apply(mesh([{ name: 'backend', ports: [b.port] }], [{ name: 'default/vs/0', dests: [{ cluster: 'backend' }] }], [HOST]), 1);
  await a.listen();
  closers.push(() => a.close());
  return { a, b, app, oplogA };
}

describe('a sidecar pair over mutual TLS', () => {
  it('carries requests over mTLS both ways of the handshake; the app sees the caller\'s SPIFFE ID', async () => {
    const { a, b, app } = await pair(spiffeId('shop', 'backend'));
    const ex = await exchange(a.port, [`GET /x HTTP/1.1\r\nHost: ${HOST}\r\n\r\nGET /y HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`], 2);
    expect(ex.responses.map((r) => r.status)).toEqual([200, 200]);
    expect(app.requests.length).toBe(2);
    const xfcc = upstreamField(app, 'x-forwarded-client-cert')!;
    expect(xfcc).toMatch(new RegExp(`^By=${spiffeId('shop', 'backend')};Hash=[0-9a-f]{64};Subject="";URI=${spiffeId('shop', 'frontend')};DNS=localhost$`));
    // Each upstream connection of A is one handshake B completed (the pipelined second request
    // may open a second connection, which then resumes the first one's session).
    const handshakes = a.stats.cluster('backend').get('ssl.handshake');
    expect(handshakes).toBeGreaterThanOrEqual(1);
    expect(b.stats.downstream.get('ssl.handshake')).toBe(handshakes);
    expect(a.stats.cluster('backend').get('ssl.session_reused')).toBe(handshakes - 1);
  });

  it('refuses a server that is not the expected identity: 503 to the client, counted and logged, nothing at the app', async () => {
    const { a, b, app, oplogA } = await pair(spiffeId('shop', 'payments'));
    const ex = await exchange(a.port, [`GET /x HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`], 1);
    expect(ex.responses.map((r) => r.status)).toEqual([503]);
    expect(app.requests).toEqual([]);
    expect(a.stats.cluster('backend').get('ssl.fail_verify_san')).toBeGreaterThanOrEqual(1);
    expect(oplogA.join('\n')).toContain(`match none of the expected [${spiffeId('shop', 'payments')}]`);
    expect(b.stats.downstream.get('ssl.handshake')).toBe(0);
  });
});

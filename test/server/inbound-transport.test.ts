// The inbound listener's transport from PeerAuthentication, swapped live: DISABLE plain TCP,
// PERMISSIVE both, STRICT mesh mTLS only; the strictest port-level mode wins; a swap serves new
// connections with the new transport and keeps an equal config as it is.
import { describe, it, expect, afterEach, beforeAll } from 'vitest';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { InboundTransport, inboundTransportConfig, strictestMode } from '../../host/server/inbound-transport.js';
import { inboundMtls, type MtlsMode } from '../../host/model/inbound-mtls.js';
import { WorkloadCertificateCell } from '../../host/tls/workload-certificate-cell.js';
import type { WorkloadCertificate } from '../../host/tls/workload-certificate.js';
import type { DownstreamTransport } from '../../host/listener/transport/downstream-transport.js';
import { mesh } from '../helpers/mesh-fixtures.js';
import { testMeshCa, type TestMeshCa } from '../helpers/mesh-ca.js';
import { workloadCertificate } from '../helpers/workload-certs.js';
import { HOST, startRecordingUpstream } from '../listener/http1/wire-harness.js';

let ca: TestMeshCa;
beforeAll(async () => {
  ca = await testMeshCa();
});
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const policy = (mode: MtlsMode, ports: Array<[number, MtlsMode]> = []) =>
  inboundMtls([{ namespace: 'shop', name: 'p', selector: { app: 'cart' }, mode, portLevel: new Map(ports) }], { namespace: 'shop', labels: { app: 'cart' } });

describe('inboundTransportConfig', () => {
  it('maps the mode, the strictest port-level mode winning', () => {
    expect(inboundTransportConfig(policy('DISABLE'))).toEqual({ kind: 'raw' });
    expect(inboundTransportConfig(policy('PERMISSIVE'), 'k')).toEqual({ kind: 'permissive', tls: { credential: 'workload', requireClientCertificate: true, sessionTicketKeys: 'k' } });
    expect(inboundTransportConfig(policy('STRICT'))).toMatchObject({ kind: 'tls' });
    expect(strictestMode(policy('PERMISSIVE', [[8080, 'STRICT']]))).toBe('STRICT');
    expect(strictestMode(policy('DISABLE', [[8080, 'PERMISSIVE']]))).toBe('PERMISSIVE');
    expect(strictestMode(policy('STRICT', [[8080, 'DISABLE']]))).toBe('STRICT');
  });

  it('InboundTransport rebuilds only on a changed config, and keeps the current one when the new cannot be built', () => {
    const built: string[] = [];
    const fake = (kind: DownstreamTransport['kind']): DownstreamTransport => ({ kind, accept: () => {}, close: () => {} });
    const t = new InboundTransport((c) => {
      if (c.kind === 'tls') throw new Error('no source (TLS_SETTINGS)');
      built.push(c.kind);
      return fake(c.kind);
    }, { kind: 'raw' });
    t.set({ kind: 'raw' });
    expect(built).toEqual(['raw']);
    t.set({ kind: 'permissive', tls: { credential: 'workload', requireClientCertificate: true } });
    expect(t.kind).toBe('permissive');
    expect(() => t.set({ kind: 'tls', tls: { credential: 'workload', requireClientCertificate: true } })).toThrow('TLS_SETTINGS');
    expect(t.kind).toBe('permissive');
    t.close();
  });
});

/** 'plain' or 'mtls' request: the status line, '' when refused. */
function ask(port: number, how: 'plain' | 'mtls', client: WorkloadCertificate): Promise<string> {
  return new Promise((resolve) => {
    const s = how === 'plain'
      ? netConnect(port, '127.0.0.1')
      : tlsConnect({ host: '127.0.0.1', port, ca: client.rootsPem, cert: client.certChainPem, key: client.keyPem, checkServerIdentity: () => undefined });
    let d = '';
    s.once(how === 'plain' ? 'connect' : 'secureConnect', () => s.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nconnection: close\r\n\r\n`));
    s.on('data', (b: Buffer) => (d += b.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => resolve(d.split('\r\n')[0]!));
    setTimeout(() => s.destroy(), 5000);
  });
}

describe('ProxyServer.setDownstreamTransport', () => {
  it('DISABLE → STRICT → PERMISSIVE → DISABLE, live on one listener', async () => {
    const app = await startRecordingUpstream();
    closers.push(() => app.close());
    const cell = new WorkloadCertificateCell();
    cell.set(await workloadCertificate(ca, 'shop', 'cart'));
    const proxy = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100 }, workloadCertificates: cell });
    proxy.apply(mesh([{ name: 'app', ports: [app.port] }], [{ name: 'default/vs/0', dests: [{ cluster: 'app' }] }], [HOST]), 1);
    await proxy.listen();
    closers.push(() => proxy.close());
    const client = await workloadCertificate(ca, 'shop', 'frontend');
    const both = async (): Promise<[string, string]> => [await ask(proxy.port, 'plain', client), await ask(proxy.port, 'mtls', client)];
    const OK = 'HTTP/1.1 200 OK';
    expect(await both()).toEqual([OK, '']);
    proxy.setDownstreamTransport(inboundTransportConfig(policy('STRICT')));
    expect(await both()).toEqual(['', OK]);
    proxy.setDownstreamTransport(inboundTransportConfig(policy('PERMISSIVE')));
    expect(await both()).toEqual([OK, OK]);
    proxy.setDownstreamTransport(inboundTransportConfig(policy('DISABLE')));
    expect(await both()).toEqual([OK, '']);
  });
});

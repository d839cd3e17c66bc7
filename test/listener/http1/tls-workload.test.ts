// A listener terminating mesh mTLS with the proxy's workload certificate (credential 'workload'),
// certificates from a real in-process mesh CA held in a WorkloadCertificateCell: a mesh client is
// served; a foreign CA's, an expired and a missing client certificate are refused; while the cell
// is empty every handshake is refused and counted (fail closed); renewals while requests run
// fail none, and new connections get the new certificate.
import { describe, it, expect, afterEach, beforeAll } from 'vitest';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { ProxyServer } from '../../../host/server/proxy-server.js';
import { WorkloadCertificateCell } from '../../../host/tls/workload-certificate-cell.js';
import type { WorkloadCertificate } from '../../../host/tls/workload-certificate.js';
import { mesh } from '../../helpers/mesh-fixtures.js';
import { testMeshCa, type TestMeshCa } from '../../helpers/mesh-ca.js';
import { expiredWorkloadCertificate, workloadCertificate } from '../../helpers/workload-certs.js';
import { HOST, parseResponses, startRecordingUpstream, type RecordingUpstream } from './wire-harness.js';
import { upstreamField } from './tls-rig.js';

let ca: TestMeshCa;
let foreign: TestMeshCa;
beforeAll(async () => {
  ca = await testMeshCa();
  foreign = await testMeshCa();
});

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function strictProxy(kind: 'tls' | 'permissive' = 'tls'): Promise<{ proxy: ProxyServer; cell: WorkloadCertificateCell; app: RecordingUpstream; oplog: string[] }> {
  const app = await startRecordingUpstream();
  closers.push(() => app.close());
  const cell = new WorkloadCertificateCell();
  const oplog: string[] = [];
  const proxy = new ProxyServer({
    host: '127.0.0.1', port: 0, seed: 1, limits: { drainTimeoutMs: 100 }, operationalLog: (_l, m) => oplog.push(m),
    downstreamTransport: { kind, tls: { credential: 'workload', requireClientCertificate: true } },
    workloadCertificates: cell,
  });
  proxy.apply(mesh([{ name: 'backend', ports: [app.port] }], [{ name: 'default/vs/0', dests: [{ cluster: 'backend' }] }], [HOST]), 1);
  await proxy.listen();
  closers.push(() => proxy.close());
  return { proxy, cell, app, oplog };
}

interface Outcome {
  status: number | null;
  /** The SPIFFE ID of the server certificate the client saw, and its serial. */
  serverId: string | null;
  serial: string | null;
}

/** One request over TLS with `client`'s certificate (none: null), verifying the server against `roots`. */
function ask(port: number, client: WorkloadCertificate | null, roots: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, servername: 'outbound_.80_._.svc.test', ca: roots, cert: client?.certChainPem, key: client?.keyPem, checkServerIdentity: () => undefined });
    let data = '';
    let serverId: string | null = null;
    let serial: string | null = null;
    const timer = setTimeout(() => s.destroy(), 5000);
    s.once('secureConnect', () => {
      const peer = s.getPeerCertificate();
      serverId = /URI:(spiffe:\/\/[^,]+)/.exec(peer.subjectaltname ?? '')?.[1] ?? null;
      serial = peer.serialNumber ?? null;
      s.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nconnection: close\r\n\r\n`);
    });
    s.on('data', (d: Buffer) => (data += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ status: parseResponses(data, true).responses[0]?.status ?? null, serverId, serial });
    });
  });
}

const serialOf = (c: WorkloadCertificate): string => new X509Certificate(c.certChainPem).serialNumber;

describe('STRICT with the workload certificate', () => {
  it('serves a mesh client (XFCC By is the workload identity) and refuses foreign, expired and missing client certificates', async () => {
    const { proxy, cell, app } = await strictProxy();
    cell.set(await workloadCertificate(ca, 'shop', 'backend'));
    const client = await workloadCertificate(ca, 'shop', 'frontend');
    const ok = await ask(proxy.port, client, ca.rootsPem);
    expect(ok).toMatchObject({ status: 200, serverId: 'spiffe://cluster.local/ns/shop/sa/backend' });
    expect(upstreamField(app, 'x-forwarded-client-cert')).toMatch(/^By=spiffe:\/\/cluster\.local\/ns\/shop\/sa\/backend;Hash=[0-9a-f]{64};Subject="";URI=spiffe:\/\/cluster\.local\/ns\/shop\/sa\/frontend$/);
    const bad = [
      await ask(proxy.port, await workloadCertificate(foreign, 'shop', 'frontend'), ca.rootsPem),
      await ask(proxy.port, await expiredWorkloadCertificate(ca, 'shop', 'old'), ca.rootsPem),
      await ask(proxy.port, null, ca.rootsPem),
    ];
    expect(bad.map((o) => o.status)).toEqual([null, null, null]);
    expect(app.requests).toHaveLength(1);
    expect(proxy.stats.downstream.get('ssl.fail_verify_error')).toBe(2);
    expect(proxy.stats.downstream.get('ssl.fail_verify_no_cert')).toBe(1);
    expect(proxy.stats.downstream.get('ssl.handshake')).toBe(1);
  });

  it('refuses every handshake while there is no certificate (counted, logged once), and serves once one arrives', async () => {
    const { proxy, cell, app, oplog } = await strictProxy();
    const client = await workloadCertificate(ca, 'shop', 'frontend');
    const refused = await Promise.all([1, 2, 3].map(() => ask(proxy.port, client, ca.rootsPem)));
    expect(refused.map((o) => o.status)).toEqual([null, null, null]);
    expect(app.requests).toEqual([]);
    expect(proxy.stats.downstream.get('ssl.workload_certificate_unavailable')).toBe(3);
    expect(oplog.filter((l) => l.includes('no workload certificate'))).toHaveLength(1);
    cell.set(await workloadCertificate(ca, 'shop', 'backend'));
    expect((await ask(proxy.port, client, ca.rootsPem)).status).toBe(200);
    // Expired without renewal: closed again.
    cell.clear();
    expect((await ask(proxy.port, client, ca.rootsPem)).status).toBeNull();
    expect(proxy.stats.downstream.get('ssl.workload_certificate_unavailable')).toBe(4);
  });

  it('PERMISSIVE without a certificate still serves plaintext and refuses TLS', async () => {
    const { proxy } = await strictProxy('permissive');
    const client = await workloadCertificate(ca, 'shop', 'frontend');
    expect((await ask(proxy.port, client, ca.rootsPem)).status).toBeNull();
    const net = await import('node:net');
    const plain = await new Promise<string>((resolve) => {
      const s = net.connect(proxy.port, '127.0.0.1', () => s.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\nconnection: close\r\n\r\n`));
      let d = '';
      s.on('data', (b) => (d += b.toString('latin1')));
      s.on('close', () => resolve(d.split('\r\n')[0]!));
    });
    expect(plain).toBe('HTTP/1.1 200 OK');
    expect(proxy.stats.downstream.get('ssl.workload_certificate_unavailable')).toBe(1);
  });

  it('renewals while requests run fail none; new connections get the new certificate', async () => {
    const { proxy, cell } = await strictProxy();
    const certs = [await workloadCertificate(ca, 'shop', 'backend'), await workloadCertificate(ca, 'shop', 'backend'), await workloadCertificate(ca, 'shop', 'backend')];
    cell.set(certs[0]!);
    const client = await workloadCertificate(ca, 'shop', 'frontend');
    const outcomes: Outcome[] = [];
    let running = true;
    const load = (async () => {
      // Until the renewals are done and at least 12 requests went (a loaded machine may fit only a
      // round or two of handshakes into the 450 ms of renewals).
      while (running || outcomes.length < 12) outcomes.push(...await Promise.all([1, 2, 3, 4].map(() => ask(proxy.port, client, ca.rootsPem))));
    })();
    for (const next of certs.slice(1)) {
      await new Promise((r) => setTimeout(r, 150));
      cell.set(next);
    }
    await new Promise((r) => setTimeout(r, 150));
    running = false;
    await load;
    expect(outcomes.length).toBeGreaterThan(8);
    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    const seen = new Set(outcomes.map((o) => o.serial));
    // Each renewal was served: the last connections got the last certificate.
    expect(outcomes.at(-1)!.serial).toBe(serialOf(certs[2]!));
    expect(seen.size).toBeGreaterThanOrEqual(2);
  });
});

// Worker threads and the workload certificate: each worker serves from a cell of its own, filled
// with the main thread's certificate at start and with every renewal, so mesh mTLS answers the
// same whichever thread accepts, and a renewal reaches every thread. Runs the built worker.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:tls';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { WorkerPool } from '../../host/server/worker-pool.js';
import { WorkloadCertificateCell } from '../../host/tls/workload-certificate-cell.js';
import type { WorkloadCertificate } from '../../host/tls/workload-certificate.js';
import { mesh } from '../helpers/mesh-fixtures.js';
import { testMeshCa, type TestMeshCa } from '../helpers/mesh-ca.js';
import { workloadCertificate } from '../helpers/workload-certs.js';
import { startHttpUpstream, type HttpUpstream } from '../helpers/upstream-servers.js';

let ca: TestMeshCa;
beforeAll(async () => {
  ca = await testMeshCa();
});

let proxy: ProxyServer | null = null;
let pool: WorkerPool | null = null;
let upstream: HttpUpstream | null = null;
afterEach(async () => {
  await pool?.close();
  await proxy?.close();
  await upstream?.close();
  proxy = pool = upstream = null;
});

/** The status line and the server's SPIFFE ID of one mTLS request ('' when refused). */
function ask(port: number, client: WorkloadCertificate): Promise<{ status: string; server: string }> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, ca: ca.rootsPem, cert: client.certChainPem, key: client.keyPem, checkServerIdentity: () => undefined });
    let data = '';
    let server = '';
    s.once('secureConnect', () => {
      server = /URI:(spiffe:\/\/[^,]+)/.exec(s.getPeerCertificate().subjectaltname ?? '')?.[1] ?? '';
      s.write('GET / HTTP/1.1\r\nHost: svc.test\r\nconnection: close\r\n\r\n');
    });
    s.on('data', (d: Buffer) => (data += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => resolve({ status: data.split('\r\n')[0]!, server }));
    setTimeout(() => s.destroy(), 5000);
  });
}

describe('worker threads with the workload certificate', () => {
  it('every thread serves mesh mTLS with the main thread\'s certificate, and takes each renewal', async () => {
    upstream = await startHttpUpstream((_req, res) => res.end('ok'));
    const cell = new WorkloadCertificateCell();
    cell.set(await workloadCertificate(ca, 'mesh', 'inbound'));
    proxy = new ProxyServer({
      host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100 }, workloadCertificates: cell,
      downstreamTransport: { kind: 'tls', tls: { credential: 'workload', requireClientCertificate: true } },
    });
    const m = mesh([{ name: 'backend', ports: [upstream.port] }], [{ name: 'default/vs/0', dests: [{ cluster: 'backend' }] }], ['svc.test']);
    proxy.apply(m, 1);
    await proxy.listen();
    pool = new WorkerPool({ count: 1, host: '127.0.0.1', port: proxy.port, listenFds: await proxy.listenFds(1), limits: proxy.limits, transport: proxy.transportSettings, workloadCertificates: proxy.workloadCertificates, log: () => {} });
    pool.apply(m, 1);
    await pool.start();
    const client = await workloadCertificate(ca, 'shop', 'frontend');
    const handshakes = (): [number, number] => [
      proxy!.stats.downstream.get('ssl.handshake'),
      pool!.snapshots()[0]!.stats.find((r) => r.name === 'ssl.handshake')?.value ?? 0,
    ];
    // Until both threads have served (the kernel picks the accepting thread).
    const run = async (expected: string): Promise<void> => {
      const before = handshakes();
      const out: Array<{ status: string; server: string }> = [];
      for (let batch = 0; batch < 10 && handshakes().some((n, i) => n === before[i]); batch++) {
        out.push(...await Promise.all(Array.from({ length: 8 }, () => ask(proxy!.port, client))));
      }
      expect(handshakes().every((n, i) => n > before[i]!)).toBe(true);
      expect(out.filter((o) => o.status !== 'HTTP/1.1 200 OK' || o.server !== expected)).toEqual([]);
    };
    await run('spiffe://cluster.local/ns/mesh/sa/inbound');
    // A renewal (here with a new identity, to see which certificate served) reaches the worker.
    cell.set(await workloadCertificate(ca, 'mesh', 'inbound-renewed'));
    await new Promise((r) => setTimeout(r, 100));
    await run('spiffe://cluster.local/ns/mesh/sa/inbound-renewed');
  });
});

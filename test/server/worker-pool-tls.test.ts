// Worker threads accept on the main thread's socket, so they must terminate TLS as it does: a
// STRICT listener served by the main thread and a worker answers every mTLS request and refuses
// every plaintext one, whichever thread accepts it. Runs the built worker (npm run build).
import { afterEach, describe, expect, it } from 'vitest';
import { connect as tlsConnect } from 'node:tls';
import { connect as netConnect } from 'node:net';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { WorkerPool } from '../../host/server/worker-pool.js';
import { mesh } from '../helpers/mesh-fixtures.js';
import { leaf, meshRoot } from '../helpers/test-certs.js';
import { startHttpUpstream, type HttpUpstream } from '../helpers/upstream-servers.js';

let proxy: ProxyServer | null = null;
let pool: WorkerPool | null = null;
let upstream: HttpUpstream | null = null;
afterEach(async () => {
  await pool?.close();
  await proxy?.close();
  await upstream?.close();
  proxy = pool = upstream = null;
});

/** The status line of one request, or '' when the connection ended without an answer. */
function ask(port: number, tls: boolean, session?: Buffer, out?: { reused?: boolean; session?: Buffer }): Promise<string> {
  return new Promise((resolve) => {
    const client = leaf({ ns: 'shop', sa: 'frontend' });
    const s = tls
      ? tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: meshRoot().certPem, cert: client.certPem, key: client.keyPem, session })
      : netConnect(port, '127.0.0.1');
    if (out && 'isSessionReused' in s) {
      s.once('secureConnect', () => (out.reused = s.isSessionReused()));
      s.on('session', (t: Buffer) => (out.session = t));
    }
    let data = '';
    s.once(tls ? 'secureConnect' : 'connect', () => s.write('GET / HTTP/1.1\r\nHost: svc.test\r\nconnection: close\r\n\r\n'));
    s.on('data', (d: Buffer) => (data += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => resolve(data.split('\r\n')[0]!));
    setTimeout(() => s.destroy(), 5000);
  });
}

describe('worker threads on a TLS listener', () => {
  it('every thread terminates TLS: mTLS served, plaintext refused', async () => {
    upstream = await startHttpUpstream((_req, res) => res.end('ok'));
    const server = leaf({ ns: 'mesh', sa: 'inbound' });
    proxy = new ProxyServer({
      host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100 },
      downstreamTransport: { kind: 'tls', tls: { certificateChain: server.cert, privateKey: server.key, caCertificates: meshRoot().cert, requireClientCertificate: true } },
    });
    const m = mesh([{ name: 'backend', ports: [upstream.port] }], [{ name: 'default/vs/0', dests: [{ cluster: 'backend' }] }], ['svc.test']);
    proxy.apply(m, 1);
    await proxy.listen();
    pool = new WorkerPool({ count: 1, host: '127.0.0.1', port: proxy.port, listenFds: await proxy.listenFds(1), limits: proxy.limits, transport: proxy.transportSettings, log: () => {} });
    pool.apply(m, 1);
    await pool.start();
    const tls = await Promise.all(Array.from({ length: 24 }, () => ask(proxy!.port, true)));
    const plain = await Promise.all(Array.from({ length: 24 }, () => ask(proxy!.port, false)));
    expect(tls.every((l) => l === 'HTTP/1.1 200 OK')).toBe(true);
    expect(plain.every((l) => l === '')).toBe(true);
    // Both threads took connections (the kernel spreads them), so both terminated TLS.
    const workerHandshakes = pool.snapshots()[0]!.stats.find((r) => r.name === 'ssl.handshake')?.value ?? 0;
    const mainHandshakes = proxy.stats.downstream.get('ssl.handshake');
    expect(mainHandshakes + workerHandshakes).toBe(24);
    expect(workerHandshakes).toBeGreaterThan(0);

    // One session ticket resumes on either thread: they share the ticket keys.
    const first: { session?: Buffer } = {};
    await ask(proxy.port, true, undefined, first);
    const later = await Promise.all(Array.from({ length: 16 }, async () => {
      const o: { reused?: boolean } = {};
      expect(await ask(proxy!.port, true, first.session, o)).toBe('HTTP/1.1 200 OK');
      return o.reused;
    }));
    expect(later).toEqual(Array(16).fill(true));
    const workerResumed = pool.snapshots()[0]!.stats.find((r) => r.name === 'ssl.session_reused')?.value ?? 0;
    expect(workerResumed).toBeGreaterThan(0);
    expect(proxy.stats.downstream.get('ssl.session_reused')).toBeGreaterThan(0);
  });
});

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
    // The kernel picks the accepting thread: batches go until each thread has served mTLS and
    // refused plaintext at least once.
    const stat = (name: string): [number, number] => [
      proxy!.stats.downstream.get(name as 'ssl.handshake'),
      pool!.snapshots()[0]!.stats.find((r) => r.name === name)?.value ?? 0,
    ];
    const tls: string[] = [];
    const plain: string[] = [];
    for (let batch = 0; batch < 10 && [...stat('ssl.handshake'), ...stat('ssl.connection_error')].some((n) => n === 0); batch++) {
      tls.push(...await Promise.all(Array.from({ length: 8 }, () => ask(proxy!.port, true))));
      plain.push(...await Promise.all(Array.from({ length: 8 }, () => ask(proxy!.port, false))));
    }
    expect(tls.every((l) => l === 'HTTP/1.1 200 OK')).toBe(true);
    expect(plain.every((l) => l === '')).toBe(true);
    expect(stat('ssl.handshake').every((n) => n > 0)).toBe(true);
    expect(stat('ssl.connection_error').every((n) => n > 0)).toBe(true);
    expect(stat('ssl.handshake')[0] + stat('ssl.handshake')[1]).toBe(tls.length);

    // One session ticket resumes on either thread: they share the ticket keys. The kernel
    // picks the accepting thread, so batches go until both threads have resumed one.
    const first: { session?: Buffer } = {};
    await ask(proxy.port, true, undefined, first);
    const resumedOn = (): [number, number] => [
      proxy!.stats.downstream.get('ssl.session_reused'),
      pool!.snapshots()[0]!.stats.find((r) => r.name === 'ssl.session_reused')?.value ?? 0,
    ];
    const reused: Array<boolean | undefined> = [];
    for (let batch = 0; batch < 10 && resumedOn().some((n) => n === 0); batch++) {
      reused.push(...await Promise.all(Array.from({ length: 8 }, async () => {
        const o: { reused?: boolean } = {};
        expect(await ask(proxy!.port, true, first.session, o)).toBe('HTTP/1.1 200 OK');
        return o.reused;
      })));
    }
    expect(reused.every((r) => r === true)).toBe(true);
    expect(resumedOn().every((n) => n > 0)).toBe(true);
  });
});

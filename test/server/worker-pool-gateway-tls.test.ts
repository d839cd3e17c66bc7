// Worker threads accepting on a gateway's TLS port take its transport from the Gateway as the
// main thread does: every thread terminates TLS by SNI (plaintext refused on each), and a session
// made on one thread resumes on the other (shared ticket keys). Runs the built worker (npm run build).
import { afterEach, describe, expect, it } from 'vitest';
import { connect as tlsConnect } from 'node:tls';
import { connect as netConnect } from 'node:net';
import { ProxyServer } from '../../host/server/proxy-server.js';
import { WorkerPool } from '../../host/server/worker-pool.js';
import type { MeshConfig } from '../../host/model/mesh.js';
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

function ask(port: number, tls: boolean, session?: Buffer, out?: { reused?: boolean; session?: Buffer }): Promise<string> {
  return new Promise((resolve) => {
    const s = tls ? tlsConnect({ host: '127.0.0.1', port, servername: 'web.example.com', ca: meshRoot().certPem, session }) : netConnect(port, '127.0.0.1');
    if (out && 'isSessionReused' in s) {
      s.once('secureConnect', () => (out.reused = s.isSessionReused()));
      s.on('session', (t: Buffer) => (out.session = t));
    }
    let data = '';
    s.once(tls ? 'secureConnect' : 'connect', () => s.write('GET / HTTP/1.1\r\nHost: web.example.com\r\nconnection: close\r\n\r\n'));
    s.on('data', (d: Buffer) => (data += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => resolve(data.split('\r\n')[0]!));
    setTimeout(() => s.destroy(), 5000);
  });
}

describe('worker threads on a gateway TLS port', () => {
  it('every thread terminates TLS by SNI and refuses plaintext; sessions resume across threads', async () => {
    upstream = await startHttpUpstream((_req, res) => res.end('ok'));
    const cert = leaf({ ns: 'gw', sa: 'web', dns: ['web.example.com'], noSpiffe: true });
    proxy = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100 }, gatewayPort: 443 });
    const m: MeshConfig = {
      ...mesh([{ name: 'backend', ports: [upstream.port] }], [{ name: 'gw/vs/0', dests: [{ cluster: 'backend' }] }], ['web.example.com']),
      gatewayListeners: [{
        port: 443, tls: true,
        servers: [{ name: 'web', hosts: ['web.example.com'], httpsRedirect: false, tls: { mode: 'SIMPLE', credential: { name: null, certificateChain: cert.cert, privateKey: cert.key, caCertificates: null }, minProtocolVersion: 'TLSv1.2', maxProtocolVersion: 'TLSv1.3', cipherSuites: [], subjectAltNames: [] } }],
      }],
    };
    proxy.apply(m, 1);
    await proxy.listen();
    pool = new WorkerPool({ count: 1, host: '127.0.0.1', port: proxy.port, listenFds: await proxy.listenFds(1), limits: proxy.limits, transport: proxy.transportSettings, log: () => {} });
    pool.apply(m, 1);
    await pool.start();
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

    const first: { session?: Buffer } = {};
    await ask(proxy.port, true, undefined, first);
    const resumedOn = (): [number, number] => stat('ssl.session_reused');
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

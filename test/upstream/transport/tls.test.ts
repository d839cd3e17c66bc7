// The TLS transport socket through the real HTTP/1 pool against node:tls servers on loopback:
// a good certificate is served and read through onread; a foreign CA, a wrong SAN and an expired
// certificate are refused as connect failures counted by reason; MUTUAL presents the client
// certificate (and fails without one where the server requires it); the second connection
// resumes the first one's session.
import { describe, it, expect, afterEach } from 'vitest';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Core } from '../../../host/core/wasm.js';
import { CoreHttp1Codec } from '../../../host/upstream/conn-pool/http1/core-http1-codec.js';
import { ClusterPool } from '../../../host/upstream/cluster-pool.js';
import { TlsTransportSocketFactory, upstreamPeerSpiffeId } from '../../../host/upstream/transport/tls.js';
import type { UpstreamStream } from '../../../host/upstream/conn-pool/conn-pool.js';
import { Stats, type ClusterStats } from '../../../host/telemetry/stats.js';
import { resolveLimits } from '../../../host/common/limits.js';
import type { UpstreamTlsSettings } from '../../../host/tls/tls-settings.js';
import { leaf, meshRoot, spiffeId } from '../../helpers/test-certs.js';

const core = new Core();
const codec = new CoreHttp1Codec(core);
let servers: Server[] = [];
let pools: ClusterPool[] = [];

afterEach(async () => {
  for (const p of pools) p.destroyAll();
  for (const s of servers) await new Promise((r) => s.close(r));
  servers = [];
  pools = [];
});

interface TlsUpstream {
  port: number;
  /** Client certificates' SPIFFE IDs (or '-') per accepted connection, and whether it resumed. */
  peers: string[];
  resumed: boolean[];
  alpn: Array<string | false>;
  /** The SNI each connection asked for (false: none). */
  sni: Array<string | false>;
}

/** An HTTP/1.1 server on TLS that answers every request 200 `ok` (keep-alive). */
async function tlsUpstream(opts: { cert: ReturnType<typeof leaf>; requireClientCert?: boolean }): Promise<TlsUpstream> {
  const up: TlsUpstream = { port: 0, peers: [], resumed: [], alpn: [], sni: [] };
  const server = createServer({
    cert: opts.cert.certPem,
    key: opts.cert.keyPem,
    ca: meshRoot().certPem,
    requestCert: opts.requireClientCert === true,
    rejectUnauthorized: opts.requireClientCert === true,
    ALPNProtocols: ['istio-http/1.1', 'http/1.1'],
  }, (s: TLSSocket) => {
    const peer = s.getPeerCertificate();
    up.peers.push(peer && peer.subjectaltname ? peer.subjectaltname : '-');
    up.resumed.push(s.isSessionReused());
    up.alpn.push(s.alpnProtocol ?? false);
    up.sni.push((s as TLSSocket & { servername?: string | false }).servername || false);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      while (buf.includes('\r\n\r\n')) {
        buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }
    });
    s.on('error', () => {});
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  up.port = (server.address() as AddressInfo).port;
  return up;
}

function makePool(settings: UpstreamTlsSettings): { pool: ClusterPool; stats: ClusterStats; factory: TlsTransportSocketFactory; logs: string[] } {
  const stats = new Stats().cluster('c');
  const logs: string[] = [];
  const factory = new TlsTransportSocketFactory(settings, { stats, log: (_l, m) => logs.push(m), cluster: 'c' });
  const pool = new ClusterPool('c', stats, resolveLimits({}), codec, factory);
  pools.push(pool);
  return { pool, stats, factory, logs };
}

function acquire(pool: ClusterPool, port: number, hostname?: string): Promise<UpstreamStream | string> {
  return new Promise((resolve) => {
    pool.endpoint('127.0.0.1', port, hostname).newStream({ onPoolReady: resolve, onPoolFailure: resolve });
  });
}

/** One GET over the stream: status and body. */
function get(conn: UpstreamStream): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let status = 0;
    const chunks: Buffer[] = [];
    conn.start(Buffer.from('GET / HTTP/1.1\r\nhost: up\r\n\r\n'), {
      onResponseHead: (h) => (status = h.code),
      onResponseData: (d) => (chunks.push(Buffer.from(d)), true),
      onResponseEnd: () => resolve({ status, body: Buffer.concat(chunks).toString() }),
      onUpstreamFailure: (f) => reject(new Error(`upstream failure ${f}`)),
      onRequestDrain: () => {},
    } as Parameters<UpstreamStream['start']>[1], { isHead: false, chunked: false, hasBody: false });
  });
}

const MESH = (over: Partial<UpstreamTlsSettings> = {}): UpstreamTlsSettings => ({ mode: 'SIMPLE', caCertificates: meshRoot().cert, ...over });

describe('TlsTransportSocketFactory through the HTTP/1 pool', () => {
  it('serves over a verified certificate with the expected SPIFFE SAN, and offers the ALPN list', async () => {
    const up = await tlsUpstream({ cert: leaf({ ns: 'shop', sa: 'cart' }) });
    const { pool, stats } = makePool(MESH({ subjectAltNames: [spiffeId('shop', 'cart')], alpn: ['istio-http/1.1', 'istio', 'http/1.1'] }));
    const conn = await acquire(pool, up.port);
    expect(typeof conn).toBe('object');
    expect(await get(conn as UpstreamStream)).toEqual({ status: 200, body: 'ok' });
    expect(up.alpn).toEqual(['istio-http/1.1']);
    expect(stats.get('ssl.handshake')).toBe(1);
    expect(stats.get('upstream_cx_connect_fail')).toBe(0);
  });

  it('refuses a certificate from a foreign CA: connect_fail, ssl.fail_verify_error, logged', async () => {
    const up = await tlsUpstream({ cert: leaf({ foreign: true }) });
    const { pool, stats, logs } = makePool(MESH());
    expect(await acquire(pool, up.port)).toBe('connect_fail');
    expect(stats.get('ssl.fail_verify_error')).toBe(1);
    expect(stats.get('ssl.handshake')).toBe(0);
    expect(logs.join('\n')).toMatch(/cluster c\) failed: ssl\.fail_verify_error: .*(verify|issuer)/i);
  });

  it('refuses a certificate with none of the expected SANs: ssl.fail_verify_san, with both lists in the reason', async () => {
    const up = await tlsUpstream({ cert: leaf({ ns: 'shop', sa: 'intruder' }) });
    const { pool, stats, logs } = makePool(MESH({ subjectAltNames: [spiffeId('shop', 'cart')] }));
    expect(await acquire(pool, up.port)).toBe('connect_fail');
    expect(stats.get('ssl.fail_verify_san')).toBe(1);
    expect(stats.get('upstream_cx_connect_fail')).toBe(1);
    expect(logs[0]).toContain(`URI:${spiffeId('shop', 'intruder')}`);
    expect(logs[0]).toContain(`expected [${spiffeId('shop', 'cart')}]`);
  });

  it('refuses an expired certificate', async () => {
    const up = await tlsUpstream({ cert: leaf({ sa: 'old', expired: true }) });
    const { pool, stats, logs } = makePool(MESH());
    expect(await acquire(pool, up.port)).toBe('connect_fail');
    expect(stats.get('ssl.fail_verify_error')).toBe(1);
    expect(logs[0]).toMatch(/expired/);
  });

  it('checks the SNI as a host name when no SANs are expected', async () => {
    const up = await tlsUpstream({ cert: leaf({ sa: 'web', dns: ['web.shop.svc'] }) });
    const good = makePool(MESH({ sni: 'web.shop.svc' }));
    expect(typeof (await acquire(good.pool, up.port))).toBe('object');
    const bad = makePool(MESH({ sni: 'other.shop.svc' }));
    expect(await acquire(bad.pool, up.port)).toBe('connect_fail');
    expect(bad.stats.get('ssl.fail_verify_error')).toBe(1);
  });

  it('an endpoint resolved from a DNS name sends that name as SNI when the cluster sets none; the cluster\'s sni wins', async () => {
    const up = await tlsUpstream({ cert: leaf({ sa: 'web', dns: ['api.example.test'] }) });
    expect(typeof (await acquire(makePool(MESH()).pool, up.port, 'api.example.test'))).toBe('object');
    expect(typeof (await acquire(makePool(MESH()).pool, up.port))).toBe('object');
    expect(typeof (await acquire(makePool(MESH({ sni: 'api.example.test' })).pool, up.port, 'other.example.test'))).toBe('object');
    // The server sees a connection once its handshake ends, which may be after the client's.
    for (let i = 0; i < 100 && up.sni.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(up.sni).toEqual(['api.example.test', false, 'api.example.test']);
  });

  it('insecureSkipVerify accepts a foreign certificate only when asked', async () => {
    const up = await tlsUpstream({ cert: leaf({ foreign: true }) });
    const { pool } = makePool(MESH({ insecureSkipVerify: true, subjectAltNames: ['spiffe://nowhere'] }));
    const conn = await acquire(pool, up.port);
    expect(await get(conn as UpstreamStream)).toEqual({ status: 200, body: 'ok' });
  });

  it('MUTUAL presents the client certificate a server requires; without one the server refuses', async () => {
    const up = await tlsUpstream({ cert: leaf({ sa: 'server' }), requireClientCert: true });
    const client = leaf({ ns: 'shop', sa: 'client' });
    const mutual = makePool(MESH({ mode: 'MUTUAL', clientCertificate: client.cert, privateKey: client.key }));
    const conn = await acquire(mutual.pool, up.port);
    expect(await get(conn as UpstreamStream)).toEqual({ status: 200, body: 'ok' });
    expect(up.peers[0]).toContain(spiffeId('shop', 'client'));

    // TLS 1.3: the client's handshake ends before the server has checked for a certificate; the
    // server's alert then fails the connection before any response.
    const simple = makePool(MESH());
    const outcome = await acquire(simple.pool, up.port);
    const failed = outcome === 'connect_fail' ? 'connect_fail' : await get(outcome as UpstreamStream).then(() => 'served', (e: Error) => e.message);
    expect(failed).toMatch(/connect_fail|upstream failure/);
    expect(up.peers.length).toBe(1);
  });

  it('MUTUAL without a client certificate file is refused when built (TLS_SETTINGS); a missing file names itself (TLS_FILE)', () => {
    expect(() => new TlsTransportSocketFactory({ mode: 'MUTUAL', caCertificates: meshRoot().cert })).toThrow(/TLS_SETTINGS/);
    expect(() => new TlsTransportSocketFactory({ mode: 'SIMPLE', caCertificates: '/nonexistent/ca.pem' })).toThrow(/caCertificates \/nonexistent\/ca\.pem: ENOENT \(TLS_FILE\)/);
  });

  it('reads through onread into the caller\'s buffer (no data events)', async () => {
    const up = await tlsUpstream({ cert: leaf({ sa: 'onread' }) });
    const factory = new TlsTransportSocketFactory(MESH());
    const buffer = new Uint8Array(4096);
    const seen = new Set<Uint8Array>();
    let text = '';
    let dataEvents = 0;
    const socket = factory.connect('127.0.0.1', up.port, {
      onread: { buffer, callback: (n, buf) => (seen.add(buf), (text += Buffer.from(buf.subarray(0, n)).toString()), true) },
      noDelay: true,
      keepAlive: null,
    });
    socket.on('data', () => dataEvents++);
    await new Promise((r) => socket.once(factory.readyEvent, r));
    socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    for (let i = 0; i < 100 && !text.endsWith('ok'); i++) await new Promise((r) => setTimeout(r, 10));
    socket.destroy();
    expect(text).toBe('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
    expect([...seen]).toEqual([buffer]);
    expect(dataEvents).toBe(0);
  });

  it('resumes the session on the second connection', async () => {
    const up = await tlsUpstream({ cert: leaf({ sa: 'resume' }) });
    const { pool, stats, factory } = makePool(MESH({ subjectAltNames: [spiffeId('default', 'resume')] }));
    const first = await acquire(pool, up.port);
    expect(typeof first).toBe('object');
    // TLS 1.3 sends the ticket after the handshake: wait until it has arrived.
    for (let i = 0; i < 100 && factory.cachedSessions === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(factory.cachedSessions).toBe(1);
    // A second connection while the first is held (not released): a new handshake, resumed.
    const second = await acquire(pool, up.port);
    expect(second).not.toBe(first);
    expect(await get(second as UpstreamStream)).toEqual({ status: 200, body: 'ok' });
    expect(await get(first as UpstreamStream)).toEqual({ status: 200, body: 'ok' });
    expect(up.resumed).toEqual([false, true]);
    expect(stats.get('ssl.handshake')).toBe(2);
    expect(stats.get('ssl.session_reused')).toBe(1);
  });

  it('names the server\'s SPIFFE ID on a resumed session too (which shows the client no certificate): the one the session was made with', async () => {
    const up = await tlsUpstream({ cert: leaf({ sa: 'resumed-peer' }) });
    const { factory } = makePool(MESH({ subjectAltNames: [spiffeId('default', 'resumed-peer')] }));
    const open = async (): Promise<TLSSocket> => {
      const socket = factory.connect('127.0.0.1', up.port, { noDelay: true, keepAlive: null }) as TLSSocket;
      await new Promise((r) => socket.once(factory.readyEvent, r));
      return socket;
    };
    const first = await open();
    for (let i = 0; i < 100 && factory.cachedSessions === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const second = await open();
    expect([first.isSessionReused(), second.isSessionReused()]).toEqual([false, true]);
    // What Node itself gives for the resumed one: no certificate, so no SPIFFE ID of its own.
    expect(second.getPeerCertificate().subjectaltname).toBeUndefined();
    expect(upstreamPeerSpiffeId(first)).toBe(spiffeId('default', 'resumed-peer'));
    expect(upstreamPeerSpiffeId(second)).toBe(spiffeId('default', 'resumed-peer'));
    first.destroy();
    second.destroy();
  });
});

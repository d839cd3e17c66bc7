// The ingress gateway's TLS port over real loopback sockets: the certificate chosen by SNI
// (exact, longest *.suffix, *), an SNI no server claims refused and counted, MUTUAL requiring a
// client certificate from its CA (and SAN), XFCC as SANITIZE_SET, a Host outside the chosen
// server answered 404 NR, versions applied, plaintext refused, session resumption, httpsRedirect
// on the plaintext port, and a bad certificate refusing the version while the old one serves.
import { describe, it, expect, afterEach } from 'vitest';
import { connect } from 'node:net';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { ProxyServer } from '../../../host/server/proxy-server.js';
import type { MeshConfig } from '../../../host/model/mesh.js';
import type { GatewayListener, GatewayServer, GatewayServerTls } from '../../../host/model/gateway-listener.js';
import { SniTable } from '../../../host/listener/transport/gateway-tls.js';
import { mesh } from '../../helpers/mesh-fixtures.js';
import { leaf, meshRoot, foreignRoot, spiffeId, type CertFiles } from '../../helpers/test-certs.js';
import { parseResponses, startRecordingUpstream, type RecordingUpstream } from '../http1/wire-harness.js';
import { upstreamField } from '../http1/tls-rig.js';

const HOSTS = ['web.example.com', 'api.example.com', 'a.wild.example.com', 'b.deep.wild.example.com', 'other.test'];

function tlsOf(cert: CertFiles, over: Partial<GatewayServerTls> = {}): GatewayServerTls {
  return {
    mode: 'SIMPLE', credential: { name: null, certificateChain: cert.cert, privateKey: cert.key, caCertificates: null },
    minProtocolVersion: 'TLSv1.2', maxProtocolVersion: 'TLSv1.3', cipherSuites: [], subjectAltNames: [], ...over,
  };
}

const server = (name: string, hosts: string[], tls: GatewayServerTls | null, httpsRedirect = false): GatewayServer => ({ name, hosts, tls, httpsRedirect });

interface Rig {
  proxy: ProxyServer;
  upstream: RecordingUpstream;
  oplog: string[];
  base: MeshConfig;
}
let rig: Rig | null = null;
afterEach(async () => {
  await rig?.proxy.close();
  await rig?.upstream.close();
  rig = null;
});

async function start(listener: GatewayListener): Promise<Rig> {
  const upstream = await startRecordingUpstream();
  const oplog: string[] = [];
  const proxy = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100 }, seed: 1, gatewayPort: listener.port, operationalLog: (_l, m) => oplog.push(m) });
  const base = mesh([{ name: 'backend', ports: [upstream.port] }], [{ name: 'gw/vs/0', dests: [{ cluster: 'backend' }] }], HOSTS);
  proxy.apply({ ...base, gatewayListeners: [listener] }, 1);
  await proxy.listen();
  return (rig = { proxy, upstream, oplog, base });
}

interface Outcome {
  status: number | null;
  cert: PeerCertificate | null;
  error: string | null;
  reused: boolean;
  session: Buffer | undefined;
  body: string;
}

function request(port: number, sni: string | undefined, host: string, opts: { cert?: CertFiles; fields?: string; maxVersion?: 'TLSv1.2' | 'TLSv1.3'; session?: Buffer } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: sni, ca: meshRoot().certPem, checkServerIdentity: () => undefined, cert: opts.cert?.certPem, key: opts.cert?.keyPem, maxVersion: opts.maxVersion, session: opts.session });
    let data = '';
    let cert: PeerCertificate | null = null;
    let error: string | null = null;
    let reused = false;
    let session: Buffer | undefined;
    s.on('session', (t: Buffer) => (session = t));
    const timer = setTimeout(() => s.destroy(), 5000);
    s.on('secureConnect', () => {
      cert = s.getPeerCertificate();
      reused = s.isSessionReused();
      s.write(`GET /x HTTP/1.1\r\nHost: ${host}\r\n${opts.fields ?? ''}connection: close\r\n\r\n`);
    });
    s.on('data', (d: Buffer) => (data += d.toString('latin1')));
    s.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    s.on('close', () => {
      clearTimeout(timer);
      const r = parseResponses(data, true).responses;
      resolve({ status: r[0]?.status ?? null, cert, error, reused, session, body: data });
    });
  });
}

const dnsOf = (c: PeerCertificate | null): string => c?.subjectaltname ?? '';

describe('SniTable', () => {
  it('exact, then the longest *.suffix, then *; no SNI takes *', () => {
    const t = new SniTable<string>();
    for (const [h, v] of [['*.example.com', 'short'], ['*.wild.example.com', 'long'], ['web.example.com', 'exact'], ['*', 'any']] as const) t.add(h, v);
    expect(['web.example.com', 'a.wild.example.com', 'x.y.wild.example.com', 'wild.example.com', 'other.test', ''].map((s) => t.find(s))).toEqual(['exact', 'long', 'long', 'short', 'any', 'any']);
    expect(t.find(null)).toBe('any');
    const none = new SniTable<string>();
    none.add('web.example.com', 'w');
    expect([none.find('x.test'), none.find(null), none.find('WEB.example.com')]).toEqual([null, null, 'w']);
  });
});

describe('gateway TLS port (SIMPLE, several servers by SNI)', () => {
  const web = () => leaf({ ns: 'gw', sa: 'web', dns: ['web.example.com'], noSpiffe: true });
  const api = () => leaf({ ns: 'gw', sa: 'api', dns: ['api.example.com'], noSpiffe: true });
  const wild = () => leaf({ ns: 'gw', sa: 'wild', dns: ['*.wild.example.com'], noSpiffe: true });
  const listener = (): GatewayListener => ({
    port: 443, tls: true,
    servers: [server('web', ['web.example.com'], tlsOf(web())), server('api', ['api.example.com'], tlsOf(api())), server('wild', ['*.wild.example.com'], tlsOf(wild()))],
  });

  it('serves each server with its own certificate, chosen by SNI; https upstream', async () => {
    const { proxy, upstream } = await start(listener());
    const a = await request(proxy.port, 'web.example.com', 'web.example.com');
    const b = await request(proxy.port, 'api.example.com', 'api.example.com');
    const c = await request(proxy.port, 'b.deep.wild.example.com', 'b.deep.wild.example.com');
    expect([a.status, b.status, c.status]).toEqual([200, 200, 200]);
    expect([dnsOf(a.cert), dnsOf(b.cert), dnsOf(c.cert)]).toEqual(['DNS:web.example.com', 'DNS:api.example.com', 'DNS:*.wild.example.com']);
    expect(upstreamField(upstream, 'x-forwarded-proto')).toBe('https');
    expect(proxy.stats.downstream.get('ssl.handshake')).toBe(3);
  });

  it('refuses an SNI no server claims (and no SNI without a * server): no_filter_chain_match, logged', async () => {
    const { proxy, upstream, oplog } = await start(listener());
    const unknown = await request(proxy.port, 'evil.test', 'evil.test');
    const none = await request(proxy.port, undefined, 'web.example.com');
    expect([unknown.status, none.status]).toEqual([null, null]);
    expect(upstream.requests).toEqual([]);
    expect(proxy.stats.downstream.get('no_filter_chain_match')).toBe(2);
    expect(oplog[0]).toMatch(/SNI "evil\.test" matches no server's hosts; refused/);
  });

  it("answers 404 NR for a Host outside the SNI's server", async () => {
    const { proxy, upstream } = await start(listener());
    const out = await request(proxy.port, 'web.example.com', 'api.example.com');
    expect(out.status).toBe(404);
    expect(upstream.requests).toEqual([]);
    const withPort = await request(proxy.port, 'web.example.com', 'web.example.com:443');
    expect(withPort.status).toBe(200);
  });

  it('refuses plaintext on the TLS port: no HTTP answer, ssl.connection_error', async () => {
    const { proxy, upstream } = await start(listener());
    const answer = await new Promise<string>((resolve) => {
      const s = connect(proxy.port, '127.0.0.1', () => s.write('GET /x HTTP/1.1\r\nHost: web.example.com\r\n\r\n'));
      let d = '';
      s.on('data', (b) => (d += b.toString('latin1')));
      s.on('error', () => {});
      s.on('close', () => resolve(d));
    });
    expect(answer.startsWith('HTTP/')).toBe(false);
    expect(upstream.requests).toEqual([]);
    expect(proxy.stats.downstream.get('ssl.connection_error')).toBe(1);
  });

  it('resumes a session (tickets shared across config versions)', async () => {
    const { proxy, base } = await start(listener());
    const first = await request(proxy.port, 'web.example.com', 'web.example.com', { maxVersion: 'TLSv1.2' });
    proxy.apply({ ...base, gatewayListeners: [listener()] }, 2);
    const second = await request(proxy.port, 'web.example.com', 'web.example.com', { maxVersion: 'TLSv1.2', session: first.session });
    expect([first.reused, second.reused, second.status]).toEqual([false, true, 200]);
    expect(proxy.stats.downstream.get('ssl.session_reused')).toBe(1);
  });

  it('applies a server minimum version: a TLS 1.2 client is refused by a TLSv1.3-only server', async () => {
    const { proxy } = await start({ port: 443, tls: true, servers: [server('web', ['web.example.com'], tlsOf(web(), { minProtocolVersion: 'TLSv1.3' })), server('api', ['api.example.com'], tlsOf(api()))] });
    const old = await request(proxy.port, 'web.example.com', 'web.example.com', { maxVersion: 'TLSv1.2' });
    const ok = await request(proxy.port, 'api.example.com', 'api.example.com', { maxVersion: 'TLSv1.2' });
    expect([old.status, ok.status]).toEqual([null, 200]);
    expect(proxy.stats.downstream.get('ssl.connection_error')).toBe(1);
  });

  it('serves certificates sent inline (over xDS) without reading the paths', async () => {
    const w = web();
    const inline = { certificateChain: w.certPem.toString(), privateKey: w.keyPem.toString(), caCertificates: null };
    const { proxy } = await start({ port: 443, tls: true, servers: [server('web', ['web.example.com'], tlsOf(w, { credential: { name: 'web', certificateChain: '/control-plane/only/tls.crt', privateKey: '/control-plane/only/tls.key', caCertificates: null, inline } }))] });
    const out = await request(proxy.port, 'web.example.com', 'web.example.com');
    expect([out.status, dnsOf(out.cert)]).toEqual([200, 'DNS:web.example.com']);
  });

  it('a certificate that does not load refuses the version, and the old one keeps serving', async () => {
    const { proxy, base } = await start(listener());
    const broken: GatewayListener = { port: 443, tls: true, servers: [server('web', ['web.example.com'], tlsOf({ ...web(), key: api().key }))] };
    expect(() => proxy.apply({ ...base, gatewayListeners: [broken] }, 2)).toThrow(/gateway server web .*TLS_CREDENTIAL/);
    expect((await request(proxy.port, 'api.example.com', 'api.example.com')).status).toBe(200);
  });
});

describe('gateway certificate files rewritten', () => {
  const first = () => leaf({ ns: 'gw', sa: 'web1', dns: ['web.example.com'], noSpiffe: true });
  const second = () => leaf({ ns: 'gw', sa: 'web2', dns: ['web.example.com', 'v2.example.com'], noSpiffe: true });

  function secretDir(cert: CertFiles): { dir: string; cert: string; key: string } {
    const dir = mkdtempSync(join(tmpdir(), 'wasmesh-gw-secret-'));
    copyFileSync(cert.cert, join(dir, 'tls.crt'));
    copyFileSync(cert.key, join(dir, 'tls.key'));
    return { dir, cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
  }

  it('swaps the certificate for new connections under load: 0 failed requests, open connections kept; a bad rewrite is refused, the old kept', async () => {
    const files = secretDir(first());
    const tls = tlsOf(first(), { credential: { name: 'web', certificateChain: files.cert, privateKey: files.key, caCertificates: null } });
    const { proxy, oplog } = await start({ port: 443, tls: true, servers: [server('web', ['web.example.com'], tls)] });
    // A keep-alive connection opened before the swap, used after it.
    const kept = tlsConnect({ host: '127.0.0.1', port: proxy.port, servername: 'web.example.com', ca: meshRoot().certPem, checkServerIdentity: () => undefined });
    await new Promise((r) => kept.once('secureConnect', r));
    const keptAnswers: string[] = [];
    kept.on('data', (d: Buffer) => keptAnswers.push(d.toString('latin1')));
    let stop = false;
    const sans = new Set<string>();
    let ok = 0;
    let failed = 0;
    const client = async (): Promise<void> => {
      while (!stop) {
        const out = await request(proxy.port, 'web.example.com', 'web.example.com');
        if (out.status === 200) ok++;
        else failed++;
        sans.add(dnsOf(out.cert));
      }
    };
    const clients = [client(), client(), client(), client()];
    await new Promise((r) => setTimeout(r, 300));
    copyFileSync(second().key, files.key);
    copyFileSync(second().cert, files.cert);
    const deadline = Date.now() + 3000;
    while (!oplog.some((l) => /certificate files changed; new connections use them/.test(l)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(clients);
    expect(failed).toBe(0);
    expect(ok).toBeGreaterThan(8);
    expect(sans).toEqual(new Set(['DNS:web.example.com', 'DNS:web.example.com, DNS:v2.example.com']));
    kept.write('GET /x HTTP/1.1\r\nHost: web.example.com\r\nconnection: close\r\n\r\n');
    await new Promise((r) => kept.once('close', r));
    expect(keptAnswers.join('')).toMatch(/^HTTP\/1\.1 200 /);

    // A key that does not match the certificate: refused and logged, the second certificate kept.
    copyFileSync(first().key, files.key);
    while (!oplog.some((l) => /do not load, the previous certificate keeps serving/.test(l)) && Date.now() < deadline + 3000) await new Promise((r) => setTimeout(r, 20));
    expect(oplog.some((l) => /do not load, the previous certificate keeps serving/.test(l))).toBe(true);
    const after = await request(proxy.port, 'web.example.com', 'web.example.com');
    expect([after.status, dnsOf(after.cert)]).toEqual([200, 'DNS:web.example.com, DNS:v2.example.com']);
  });
});

describe('gateway TLS port (MUTUAL)', () => {
  const web = () => leaf({ ns: 'gw', sa: 'web', dns: ['web.example.com'], noSpiffe: true });
  const mutual = (over: Partial<GatewayServerTls> = {}): GatewayListener => ({
    port: 443, tls: true,
    servers: [server('web', ['web.example.com'], tlsOf(web(), { mode: 'MUTUAL', credential: { name: null, certificateChain: web().cert, privateKey: web().key, caCertificates: meshRoot().cert }, ...over }))],
  });

  it('requires a client certificate from the CA; XFCC as SANITIZE_SET (incoming dropped, the client set)', async () => {
    const { proxy, upstream, oplog } = await start(mutual());
    const none = await request(proxy.port, 'web.example.com', 'web.example.com');
    expect(none.status).toBeNull();
    expect(proxy.stats.downstream.get('ssl.fail_verify_no_cert')).toBe(1);
    expect(oplog[0]).toMatch(/client certificate required by server web/);
    const foreign = await request(proxy.port, 'web.example.com', 'web.example.com', { cert: leaf({ ns: 'x', sa: 'y', foreign: true }) });
    expect(foreign.status).toBeNull();
    expect(proxy.stats.downstream.get('ssl.fail_verify_error')).toBe(1);
    expect(upstream.requests).toEqual([]);
    const client = leaf({ ns: 'shop', sa: 'buyer', dns: [] });
    const ok = await request(proxy.port, 'web.example.com', 'web.example.com', { cert: client, fields: 'x-forwarded-client-cert: URI=spiffe://forged\r\n' });
    expect(ok.status).toBe(200);
    const xfcc = upstreamField(upstream, 'x-forwarded-client-cert')!;
    expect(xfcc).toMatch(new RegExp(`^Hash=[0-9a-f]{64};Subject="";URI=${spiffeId('shop', 'buyer')}$`));
  });

  it('checks subjectAltNames on the client certificate: ssl.fail_verify_san', async () => {
    const { proxy } = await start(mutual({ subjectAltNames: [spiffeId('shop', 'buyer')] }));
    const wrong = await request(proxy.port, 'web.example.com', 'web.example.com', { cert: leaf({ ns: 'shop', sa: 'thief', dns: [] }) });
    const right = await request(proxy.port, 'web.example.com', 'web.example.com', { cert: leaf({ ns: 'shop', sa: 'buyer', dns: [] }) });
    expect([wrong.status, right.status]).toEqual([null, 200]);
    expect(proxy.stats.downstream.get('ssl.fail_verify_san')).toBe(1);
  });

  it('OPTIONAL_MUTUAL: no certificate served without XFCC; a bad one still refused', async () => {
    const { proxy, upstream } = await start(mutual({ mode: 'OPTIONAL_MUTUAL' }));
    const none = await request(proxy.port, 'web.example.com', 'web.example.com', { fields: 'x-forwarded-client-cert: URI=spiffe://forged\r\n' });
    expect(none.status).toBe(200);
    expect(upstreamField(upstream, 'x-forwarded-client-cert')).toBeNull();
    const foreign = await request(proxy.port, 'web.example.com', 'web.example.com', { cert: leaf({ ns: 'x', sa: 'y', foreign: true }) });
    expect(foreign.status).toBeNull();
    void foreignRoot;
  });
});

describe('gateway plaintext port', () => {
  it('httpsRedirect answers 301 to https for its hosts; other servers are routed', async () => {
    const { proxy, upstream } = await start({ port: 80, tls: false, servers: [server('redir', ['web.example.com'], null, true), server('plain', ['other.test'], null)] });
    const ask = (host: string) => new Promise<string>((resolve) => {
      const s = connect(proxy.port, '127.0.0.1', () => s.write(`GET /a?b=1 HTTP/1.1\r\nHost: ${host}\r\nconnection: close\r\n\r\n`));
      let d = '';
      s.on('data', (b) => (d += b.toString('latin1')));
      s.on('close', () => resolve(d));
    });
    const redirected = await ask('web.example.com:80');
    expect(redirected).toMatch(/^HTTP\/1\.1 301 /);
    expect(redirected.toLowerCase()).toContain('location: https://web.example.com/a?b=1\r\n');
    expect(await ask('other.test')).toMatch(/^HTTP\/1\.1 200 /);
    // A host only another port's (TLS) server names is not routed here.
    expect(await ask('api.example.com')).toMatch(/^HTTP\/1\.1 404 /);
    expect(upstream.requests.length).toBe(1);
  });

  it('a Gateway without this port serves no host on it', async () => {
    const { proxy, upstream, base } = await start({ port: 80, tls: false, servers: [server('plain', ['*'], null)] });
    proxy.apply({ ...base, gatewayListeners: [{ port: 8081, tls: false, servers: [server('plain', ['*'], null)] }] }, 2);
    const answer = await new Promise<string>((resolve) => {
      const s = connect(proxy.port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: other.test\r\nconnection: close\r\n\r\n'));
      let d = '';
      s.on('data', (b) => (d += b.toString('latin1')));
      s.on('close', () => resolve(d));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 404 /);
    expect(upstream.requests).toEqual([]);
  });
});

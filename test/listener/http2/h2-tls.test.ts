// HTTP/2 through ALPN on the TLS transports: a sidecar listener (mesh TLS) and the ingress
// gateway's TLS port offer `h2` and serve it with node:http2 clients, while a client offering
// only http/1.1 (or nothing) still gets HTTP/1.1; a PERMISSIVE port takes h2c in plaintext too.
import { describe, it, expect, afterEach } from 'vitest';
import { connect } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { ProxyServer } from '../../../host/server/proxy-server.js';
import type { GatewayListener } from '../../../host/model/gateway-listener.js';
import { mesh } from '../../helpers/mesh-fixtures.js';
import { leaf, meshRoot } from '../../helpers/test-certs.js';
import { HTTP2_CODECS } from '../../../host/listener/http2-listener-kind.js';
import { startH2Rig, h2c, h2request, closeSession, type H2Rig } from './h2-rig.js';
import { startRecordingUpstream, type RecordingUpstream } from '../http1/wire-harness.js';

let rig: H2Rig | null = null;
let gw: { proxy: ProxyServer; upstream: RecordingUpstream } | null = null;
afterEach(async () => {
  await rig?.close();
  rig = null;
  await gw?.proxy.close();
  await gw?.upstream.close();
  gw = null;
});

const inbound = () => leaf({ ns: 'mesh', sa: 'inbound' });

describe.each(HTTP2_CODECS)('h2 by ALPN (%s)', (codec) => {
  it('a sidecar TLS listener negotiates h2 and serves streams; an http/1.1-only client still gets HTTP/1.1', async () => {
    const cert = inbound();
    rig = await startH2Rig({ http2Codec: codec, transport: { kind: 'tls', tls: { certificateChain: cert.cert, privateKey: cert.key, caCertificates: meshRoot().cert, requireClientCertificate: false } } });
    const s = connect(`https://127.0.0.1:${rig.proxy.port}`, { ca: meshRoot().certPem, servername: 'localhost' });
    s.on('error', () => {});
    const [a, b] = await Promise.all([h2request(s, { ':method': 'GET', ':path': '/one' }), h2request(s, { ':method': 'POST', ':path': '/two' }, 'abc')]);
    expect((s.socket as unknown as { alpnProtocol: string }).alpnProtocol).toBe('h2');
    expect(JSON.parse(a.body.toString())).toMatchObject({ url: '/one' });
    expect(JSON.parse(b.body.toString())).toMatchObject({ url: '/two', bodyBytes: 3 });
    expect(rig.seen[0]!.headers['x-forwarded-proto']).toBe('https');
    await closeSession(s);
    expect(rig.proxy.stats.downstream.get('downstream_cx_http2_total')).toBe(1);

    const one = await new Promise<{ alpn: string | false; text: string }>((resolve) => {
      const t = tlsConnect({ host: '127.0.0.1', port: rig!.proxy.port, servername: 'localhost', ca: meshRoot().certPem, ALPNProtocols: ['http/1.1'] });
      let text = '';
      t.on('secureConnect', () => t.write('GET /h1 HTTP/1.1\r\nhost: svc.test\r\nconnection: close\r\n\r\n'));
      t.on('data', (d: Buffer) => (text += d.toString('latin1')));
      t.on('close', () => resolve({ alpn: t.alpnProtocol ?? false, text }));
      t.on('error', () => {});
    });
    expect(one.alpn).toBe('http/1.1');
    expect(one.text).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('a PERMISSIVE listener takes h2c in plaintext and h2 over TLS on one port', async () => {
    const cert = inbound();
    rig = await startH2Rig({ http2Codec: codec, transport: { kind: 'permissive', tls: { certificateChain: cert.cert, privateKey: cert.key, caCertificates: meshRoot().cert, requireClientCertificate: false } } });
    const plain = h2c(rig.proxy.port);
    const a = await h2request(plain, { ':method': 'GET', ':path': '/plain' });
    const tls = connect(`https://127.0.0.1:${rig.proxy.port}`, { ca: meshRoot().certPem, servername: 'localhost' });
    tls.on('error', () => {});
    const b = await h2request(tls, { ':method': 'GET', ':path': '/tls' });
    expect([a.headers[':status'], b.headers[':status']]).toEqual([200, 200]);
    expect(rig.seen.map((x) => [x.url, x.headers['x-forwarded-proto']])).toEqual([['/plain', 'http'], ['/tls', 'https']]);
    await closeSession(plain);
    await closeSession(tls);
    expect(rig.proxy.stats.downstream.get('downstream_cx_http2_total')).toBe(2);
  });

  it('the gateway TLS port (SIMPLE) negotiates h2 by ALPN with the certificate chosen by SNI', async () => {
    const upstream = await startRecordingUpstream();
    const proxy = new ProxyServer({ host: '127.0.0.1', port: 0, limits: { drainTimeoutMs: 100 }, seed: 1, gatewayPort: 443, http2Codec: codec });
    const web = leaf({ ns: 'gw', sa: 'web', dns: ['web.example.com'], noSpiffe: true });
    const listener: GatewayListener = {
      port: 443, tls: true,
      servers: [{ name: 'web', hosts: ['web.example.com'], httpsRedirect: false, tls: { mode: 'SIMPLE', credential: { name: null, certificateChain: web.cert, privateKey: web.key, caCertificates: null }, minProtocolVersion: 'TLSv1.2', maxProtocolVersion: 'TLSv1.3', cipherSuites: [], subjectAltNames: [] } }],
    };
    proxy.apply({ ...mesh([{ name: 'backend', ports: [upstream.port] }], [{ name: 'gw/vs/0', dests: [{ cluster: 'backend' }] }], ['web.example.com']), gatewayListeners: [listener] }, 1);
    await proxy.listen();
    gw = { proxy, upstream };
    const s = connect(`https://127.0.0.1:${proxy.port}`, { ca: meshRoot().certPem, servername: 'web.example.com' });
    s.on('error', () => {});
    const r = await h2request(s, { ':method': 'GET', ':path': '/gw', ':authority': 'web.example.com' });
    expect(r.headers[':status']).toBe(200);
    expect((s.socket as unknown as { alpnProtocol: string }).alpnProtocol).toBe('h2');
    expect(upstream.requests[0]!.bytes).toMatch(/^GET \/gw HTTP\/1\.1\r\nhost: web\.example\.com\r\n/);
    await closeSession(s);
  });
});

// Seed 000's gateway on HTTPS (examples/000-web-demo/variants/05-web-gateway-https.yaml), run as
// `wasmesh proxy --gateway web-gateway --credentials-dir … --port-map 443=…,80=…` does, with
// certificates made for the test (openssl, test/helpers/test-certs.ts) in Kubernetes TLS secret
// layout: curl gets 200 over TLS, the SNI chooses the certificate, an unknown SNI and plaintext
// on 443 are refused, MUTUAL without a client certificate is refused, port 80 redirects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxyRuntime, type ProxyRuntime } from '../../host/runtime/proxy-runtime.js';
import { startUpstreams, type Upstreams } from '../helpers/seed-000-upstreams.js';
import { webServices } from '../helpers/seed-000-yaml.js';
import { leaf, meshRoot, type CertFiles } from '../helpers/test-certs.js';

const EXAMPLE = 'examples/000-web-demo';
let upstreams: Upstreams;
let rt: ProxyRuntime;
let https: number;
let http: number;
const logs: string[] = [];

function secret(dir: string, name: string, cert: CertFiles, ca?: string): void {
  mkdirSync(join(dir, name));
  copyFileSync(cert.cert, join(dir, name, 'tls.crt'));
  copyFileSync(cert.key, join(dir, name, 'tls.key'));
  if (ca !== undefined) copyFileSync(ca, join(dir, name, 'ca.crt'));
}

beforeAll(async () => {
  upstreams = await startUpstreams();
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-gw-https-'));
  writeFileSync(join(dir, '00-web-services.yaml'), webServices(upstreams.ports));
  const creds = join(dir, 'creds');
  mkdirSync(creds);
  secret(creds, 'web-credential', leaf({ ns: 'gw', sa: 'web', dns: ['web.example.com'], noSpiffe: true }));
  secret(creds, 'partner-credential', leaf({ ns: 'gw', sa: 'partner', dns: ['*.partner.example.com'], noSpiffe: true }), meshRoot().cert);
  rt = await startProxyRuntime({
    sources: [join(dir, '00-web-services.yaml'), `${EXAMPLE}/02-web-demo-service-gateway.yaml`, `${EXAMPLE}/variants/05-web-gateway-https.yaml`],
    gateway: 'web-gateway',
    credentialsDir: creds,
    listen: { host: '127.0.0.1', port: 0 },
    gatewayPorts: [{ port: 443, at: { host: '127.0.0.1', port: 0 } }, { port: 80, at: { host: '127.0.0.1', port: 0 } }],
    admin: { host: '127.0.0.1', port: 0 },
    log: (_l, m) => logs.push(m),
  });
  https = rt.listenPort;
  http = rt.gatewayPorts[0]!.server.port;
});

afterAll(async () => {
  await rt?.close();
  await upstreams?.close();
});

function curl(args: string[]): Promise<{ code: string; out: string; exit: number }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', ...args], (err, stdout, stderr) => {
      resolve({ code: stdout.trim(), out: stderr, exit: err === null ? 0 : ((err as { code?: number }).code ?? 1) });
    });
  });
}

function peer(sni: string, client?: CertFiles): Promise<{ cert: PeerCertificate | null; status: string | null }> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port: https, servername: sni, ca: meshRoot().certPem, cert: client?.certPem, key: client?.keyPem });
    let cert: PeerCertificate | null = null;
    let data = '';
    s.on('secureConnect', () => {
      cert = s.getPeerCertificate();
      s.write(`GET / HTTP/1.1\r\nHost: ${sni}\r\nconnection: close\r\n\r\n`);
    });
    s.on('data', (d: Buffer) => (data += d.toString('latin1')));
    s.on('error', () => {});
    s.on('close', () => resolve({ cert, status: /^HTTP\/1\.1 (\d+)/.exec(data)?.[1] ?? null }));
  });
}

describe('seed 000 gateway on HTTPS (variants/05)', () => {
  it('curl --cacert --resolve: 200 over TLS from the app', async () => {
    const r = await curl(['--cacert', meshRoot().cert, '--resolve', `web.example.com:${https}:127.0.0.1`, `https://web.example.com:${https}/`]);
    expect(r.out).toBe('');
    expect(r.code).toBe('200');
  });

  it('the SNI chooses the certificate; MUTUAL serves a client certificate from its CA and refuses none', async () => {
    const web = await peer('web.example.com');
    const partnerClient = leaf({ ns: 'partner', sa: 'client', dns: [] });
    const partner = await peer('shop.partner.example.com', partnerClient);
    expect([web.cert?.subjectaltname, web.status]).toEqual(['DNS:web.example.com', '200']);
    expect([partner.cert?.subjectaltname, partner.status]).toEqual(['DNS:*.partner.example.com', '200']);
    const without = await peer('shop.partner.example.com');
    expect(without.status).toBeNull();
    expect(logs.join('\n')).toMatch(/client certificate required by server/);
  });

  it('an unknown SNI is refused (curl fails the handshake)', async () => {
    const r = await curl(['--cacert', meshRoot().cert, '--resolve', `evil.test:${https}:127.0.0.1`, `https://evil.test:${https}/`]);
    expect(r.exit).not.toBe(0);
    expect(r.code).toBe('000');
    expect(logs.join('\n')).toMatch(/SNI "evil\.test" matches no server's hosts; refused/);
  });

  it('plaintext on 443 gets no HTTP answer', async () => {
    const answer = await new Promise<string>((resolve) => {
      const s = connect(https, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: web.example.com\r\n\r\n'));
      let d = '';
      s.on('data', (b) => (d += b.toString('latin1')));
      s.on('error', () => {});
      s.on('close', () => resolve(d));
    });
    expect(answer.startsWith('HTTP/')).toBe(false);
  });

  it('port 80 redirects to https (httpsRedirect)', async () => {
    const r = await new Promise<string>((resolve) => {
      execFile('curl', ['-sS', '-D', '-', '-o', '/dev/null', '--max-time', '5', '-H', 'Host: web.example.com', `http://127.0.0.1:${http}/`], (_e, out) => resolve(out));
    });
    expect(r).toMatch(/^HTTP\/1\.1 301/);
    expect(r.toLowerCase()).toContain('location: https://web.example.com/');
  });
});

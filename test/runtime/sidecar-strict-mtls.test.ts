// Mesh mTLS from YAML, end to end over loopback: a mesh-wide PeerAuthentication STRICT makes the
// sidecar's inbound listener (15006) terminate mTLS with its workload certificate and refuse
// everything else; a wasmesh proxy whose destination's endpoint carries Istio's tlsMode label
// originates that mTLS (auto mTLS) with its own certificate, and the app sees the caller's SPIFFE
// ID in x-forwarded-client-cert. Without a workload identity STRICT is refused at load.
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxyRuntime, type ProxyRuntime } from '../../host/runtime/proxy-runtime.js';
import { inboundTransportFor, startSidecarRuntime, type SidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import { WorkloadCertificateCell } from '../../host/tls/workload-certificate-cell.js';
import type { WorkloadCertificate } from '../../host/tls/workload-certificate.js';
import { testMeshCa, type TestMeshCa } from '../helpers/mesh-ca.js';
import { workloadCertificate } from '../helpers/workload-certs.js';
import { autoMtlsMesh } from '../helpers/auto-mtls-mesh.js';
import { peerAuthenticationYaml } from '../../host/config/istio-yaml-builders.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
const STRICT = peerAuthenticationYaml('STRICT');

let ca: TestMeshCa;
let foreign: TestMeshCa;
let app: Server;
let appPort: number;
const seen: IncomingHttpHeaders[] = [];
const access: string[] = [];
const logs: string[] = [];
const dirs: string[] = [];
const closers: Array<() => Promise<void>> = [];

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-strict-'));
  dirs.push(dir);
  for (const [n, t] of Object.entries(files)) writeFileSync(join(dir, n), t);
  return dir;
}

function cellOf(cert: WorkloadCertificate): WorkloadCertificateCell {
  const cell = new WorkloadCertificateCell();
  cell.set(cert);
  return cell;
}

beforeAll(async () => {
  ca = await testMeshCa();
  foreign = await testMeshCa();
  app = createServer((req, res) => {
    seen.push(req.headers);
    res.end('app');
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appPort = (app.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const c of closers.reverse()) await c();
  await new Promise((r) => app.close(r));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  for (const d of [ca, foreign]) if (d) rmSync(d.dir, { recursive: true, force: true });
});

async function strictSidecar(files: Record<string, string> = { 'pa.yaml': STRICT }): Promise<SidecarRuntime> {
  const sidecar = await startSidecarRuntime({
    sources: [dirWith(files)], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [appPort],
    accessLog: () => {}, log: () => {}, workloadCertificates: cellOf(await workloadCertificate(ca, 'default', 'app')),
  });
  closers.push(() => sidecar.close());
  return sidecar;
}

function tlsGet(port: number, client: WorkloadCertificate | null): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({
      host: '127.0.0.1', port, path: '/', headers: { host: 'app' }, servername: 'app.default.svc', ca: ca.rootsPem, ...({ ALPNProtocols: ['istio-http/1.1', 'http/1.1'] } as object),
      ...(client ? { cert: client.certChainPem, key: client.keyPem } : {}),
      checkServerIdentity: () => undefined, agent: false,
    }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function plainGet(port: number, host?: string): Promise<{ status: number } | { error: string }> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false, headers: host ? { host } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode! }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

describe('PeerAuthentication STRICT on the sidecar inbound', () => {
  it('takes a mesh client certificate, hands the app the caller\'s SPIFFE ID, and refuses plaintext, a foreign CA and no certificate', async () => {
    const sidecar = await strictSidecar();
    const port = sidecar.ports.inbound;
    const ok = await tlsGet(port, await workloadCertificate(ca, 'shop', 'cart'));
    expect(ok).toEqual({ status: 200, body: 'app' });
    expect(String(seen.at(-1)!['x-forwarded-client-cert'])).toContain('URI=spiffe://cluster.local/ns/shop/sa/cart');
    const before = seen.length;
    expect(await plainGet(port)).toHaveProperty('error');
    await expect(tlsGet(port, await workloadCertificate(foreign, 'shop', 'cart'))).rejects.toThrow();
    await expect(tlsGet(port, null)).rejects.toThrow();
    expect(seen.length).toBe(before);
  });

  it('is refused at load, with the flags named, when the sidecar has no workload identity', async () => {
    await expect(startSidecarRuntime({
      sources: [dirWith({ 'pa.yaml': STRICT })], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [appPort],
      accessLog: () => {}, log: () => {},
    })).rejects.toThrow(/STRICT[\s\S]*--token-file or --cert-dir/);
  });
});

describe('auto mTLS from a wasmesh proxy to a STRICT sidecar', () => {
  let client: ProxyRuntime;
  let sidecar: SidecarRuntime;

  beforeAll(async () => {
    sidecar = await strictSidecar();
    const mesh = autoMtlsMesh(sidecar.ports.inbound, 'app');
    client = await startProxyRuntime({
      sources: [dirWith({ 'mesh.yaml': mesh, 'pa.yaml': STRICT })], listen: LOOPBACK, admin: LOOPBACK, accessLog: (line) => access.push(line), log: (level, m) => logs.push(`${level} ${m}`),
      workloadCertificates: cellOf(await workloadCertificate(ca, 'default', 'client')),
    });
    closers.push(() => client.close());
  });

  it('originates Istio\'s mTLS with its own certificate: 200, the app sees the client proxy\'s identity', async () => {
    const r = await plainGet(client.listenPort, 'app.example');
    expect(r, `${access.join('\n')}\n${logs.join('\n')}`).toEqual({ status: 200 });
    expect(String(seen.at(-1)!['x-forwarded-client-cert'])).toContain('URI=spiffe://cluster.local/ns/default/sa/client');
  });
});

describe('PERMISSIVE (nothing set) with a workload identity', () => {
  it('takes mTLS and plaintext on the same inbound port, by the first bytes', async () => {
    const sidecar = await strictSidecar({ 'empty.yaml': '# no PeerAuthentication: PERMISSIVE\n' });
    const port = sidecar.ports.inbound;
    expect(await plainGet(port, 'app')).toEqual({ status: 200 });
    expect(await tlsGet(port, await workloadCertificate(ca, 'shop', 'cart'))).toEqual({ status: 200, body: 'app' });
    expect(String(seen.at(-1)!['x-forwarded-client-cert'])).toContain('URI=spiffe://cluster.local/ns/shop/sa/cart');
  });
});

describe('inboundTransportFor', () => {
  it('DISABLE is plaintext; with an identity STRICT and PERMISSIVE terminate TLS with the workload certificate', () => {
    expect(inboundTransportFor('DISABLE', true)).toEqual({ kind: 'raw' });
    expect(inboundTransportFor('STRICT', true).kind).not.toBe('raw');
    expect(inboundTransportFor('PERMISSIVE', true).kind).not.toBe('raw');
    expect(inboundTransportFor('STRICT', true)).not.toEqual(inboundTransportFor('PERMISSIVE', true));
  });

  it('without an identity PERMISSIVE is plaintext and STRICT throws: never served open', () => {
    expect(inboundTransportFor('PERMISSIVE', false)).toEqual({ kind: 'raw' });
    expect(() => inboundTransportFor('STRICT', false)).toThrow(/STRICT needs the sidecar's workload identity/);
  });
});

describe('auto mTLS checks the destination\'s service account', () => {
  it('an endpoint whose WorkloadEntry names another service account than the server certificate\'s: no request reaches the app', async () => {
    const sidecar = await strictSidecar();
    const mesh = autoMtlsMesh(sidecar.ports.inbound, 'impostor');
    const client = await startProxyRuntime({
      sources: [dirWith({ 'mesh.yaml': mesh })], listen: LOOPBACK, admin: LOOPBACK, accessLog: () => {}, log: () => {},
      workloadCertificates: cellOf(await workloadCertificate(ca, 'default', 'client')),
    });
    closers.push(() => client.close());
    const before = seen.length;
    const r = await plainGet(client.listenPort, 'app.example');
    expect(r).toEqual({ status: 503 });
    expect(seen.length).toBe(before);
  });
});

describe('a mesh with its own trust domain', () => {
  it('auto mTLS expects spiffe://<the proxy\'s trust domain>/… of the WorkloadEntry\'s service account: 200', async () => {
    const corp = await testMeshCa('corp.example');
    try {
      const sidecar = await startSidecarRuntime({
        sources: [dirWith({ 'pa.yaml': STRICT })], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [appPort],
        accessLog: () => {}, log: () => {}, workloadCertificates: cellOf(await workloadCertificate(corp, 'default', 'app')),
      });
      closers.push(() => sidecar.close());
      const mesh = autoMtlsMesh(sidecar.ports.inbound, 'app');
      const client = await startProxyRuntime({
        sources: [dirWith({ 'mesh.yaml': mesh })], listen: LOOPBACK, admin: LOOPBACK, accessLog: () => {}, log: () => {},
        workloadCertificates: cellOf(await workloadCertificate(corp, 'default', 'client')),
      });
      closers.push(() => client.close());
      expect(await plainGet(client.listenPort, 'app.example')).toEqual({ status: 200 });
      expect(String(seen.at(-1)!['x-forwarded-client-cert'])).toContain('URI=spiffe://corp.example/ns/default/sa/client');
    } finally {
      rmSync(corp.dir, { recursive: true, force: true });
    }
  });
});

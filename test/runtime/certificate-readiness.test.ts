// Readiness with a workload identity: not ready until the first certificate is held (admin /ready
// 503 "workload certificate not yet issued"; the sidecar's health port too), ready once it is, not
// ready again when it expired without a renewal; without an identity nothing changes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CertificateReadiness } from '../../host/runtime/certificate-readiness.js';
import { startProxyRuntime } from '../../host/runtime/proxy-runtime.js';
import { startSidecarRuntime } from '../../host/runtime/sidecar-runtime.js';
import type { WorkloadCertificate } from '../../host/tls/workload-certificate.js';
import { WorkloadCertificateCell } from '../../host/tls/workload-certificate-cell.js';
import { request } from '../helpers/http-client.js';
import { meshYaml } from '../helpers/mesh-yaml.js';

const ADMIN_HOST = { host: '127.0.0.1' };
const LOOPBACK = { host: '127.0.0.1', port: 0 };
const cert = (notAfter: Date): WorkloadCertificate => ({ identity: 'spiffe://cluster.local/ns/shop/sa/cart', certChainPem: 'chain', keyPem: 'key', rootsPem: 'roots', notAfter });

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function meshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-cert-ready-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'mesh.yaml'), meshYaml(1, 'hello'));
  return dir;
}

describe('CertificateReadiness', () => {
  it('not yet issued → ready → expired and not yet renewed → ready again', async () => {
    const cell = new WorkloadCertificateCell();
    const r = new CertificateReadiness(cell);
    expect(r.notReadyReason()).toBe('workload certificate not yet issued');
    cell.set(cert(new Date(Date.now() + 150)));
    expect(r.notReadyReason()).toBeNull();
    await new Promise((res) => setTimeout(res, 200));
    expect(r.notReadyReason()).toBe('workload certificate expired and not yet renewed');
    cell.set(cert(new Date(Date.now() + 60_000)));
    expect(r.notReadyReason()).toBeNull();
    r.close();
  });

  it('a source that holds a certificate from the start is ready at once', () => {
    const cell = new WorkloadCertificateCell();
    cell.set(cert(new Date(Date.now() + 60_000)));
    expect(new CertificateReadiness(cell).notReadyReason()).toBeNull();
  });
});

describe('runtimes with a workload identity', () => {
  it('proxy: admin /ready answers 503 "workload certificate not yet issued" until the first is held', async () => {
    const cell = new WorkloadCertificateCell();
    const rt = await startProxyRuntime({ sources: [meshDir()], listen: LOOPBACK, admin: LOOPBACK, workloadCertificates: cell, log: () => {} });
    cleanup.push(() => rt.close());
    const ready = () => request(rt.adminPort, { path: '/ready', headers: ADMIN_HOST }).then((r) => [r.status, r.body.toString()]);
    expect(await ready()).toEqual([503, 'PRE_INITIALIZING: workload certificate not yet issued\n']);
    // The data path itself is up: readiness waits only for the certificate.
    expect((await request(rt.listenPort, { path: '/local', headers: { host: 'svc.test' } })).body.toString()).toBe('hello');
    cell.set(cert(new Date(Date.now() + 60_000)));
    expect(await ready()).toEqual([200, 'LIVE\n']);
  });

  it('proxy without an identity: ready as before', async () => {
    const rt = await startProxyRuntime({ sources: [meshDir()], listen: LOOPBACK, admin: LOOPBACK, log: () => {} });
    cleanup.push(() => rt.close());
    const r = await request(rt.adminPort, { path: '/ready', headers: ADMIN_HOST });
    expect([r.status, r.body.toString()]).toEqual([200, 'LIVE\n']);
  });

  it('sidecar: the health port and admin /ready wait for the certificate', async () => {
    const cell = new WorkloadCertificateCell();
    const sc = await startSidecarRuntime({
      sources: [meshDir()], outbound: LOOPBACK, inbound: LOOPBACK, health: LOOPBACK, admin: LOOPBACK, appPorts: [5999],
      accessLog: () => {}, log: () => {}, workloadCertificates: cell,
    });
    cleanup.push(() => sc.close());
    const health = await request(sc.ports.health, { path: '/healthz/ready' });
    expect([health.status, health.body.toString()]).toEqual([503, 'not ready: workload certificate not yet issued\n']);
    expect((await request(sc.ports.admin, { path: '/ready', headers: ADMIN_HOST })).status).toBe(503);
    cell.set(cert(new Date(Date.now() + 60_000)));
    expect(sc.notReadyReason()).toBeNull();
    expect((await request(sc.ports.health, { path: '/healthz/ready' })).status).toBe(200);
  });
});

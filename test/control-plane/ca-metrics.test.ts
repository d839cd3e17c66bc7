// The CA's citadel_server_* metrics on the control plane's monitoring port: a certificate issued
// and a request without a token are counted under istiod's names, and the expiry gauges are the
// root's and the signing chain's notAfter as openssl reads them.
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../host/config/index.js';
import { ControlPlane } from '../../host/control-plane/control-plane.js';
import { MonitoringServer } from '../../host/control-plane/monitoring-server.js';
import { CertificateClient } from '../../host/identity/certificate-client.js';
import { startCaService, type CaService } from '../../host/identity/ca-service.js';
import { istioCaPackage } from '../../host/identity/istio-ca-proto.js';
import { spiffeId } from '../../host/identity/spiffe-id.js';
import { openTokenKey } from '../../host/identity/token-key.js';
import { createWorkloadCsr } from '../../host/identity/workload-csr.js';
import { signToken } from '../../host/identity/workload-token.js';
import { openssl } from '../helpers/openssl.js';

let dir: string;
let cp: ControlPlane;
let monitoring: MonitoringServer;
let ca: CaService;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-ca-metrics-'));
  writeFileSync(join(dir, 'mesh.yaml'), 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: web }\nspec: { hosts: [web.example], ports: [{ number: 80, name: http, protocol: HTTP }], resolution: STATIC, endpoints: [{ address: 127.0.0.1 }] }\n');
  cp = new ControlPlane({ sources: [join(dir, 'mesh.yaml')], read: (s) => readConfig(s), log: () => {}, debounce: { quietMs: 20, maxDelayMs: 200 } });
  cp.start();
  await cp.listen('127.0.0.1', 0);
  monitoring = new MonitoringServer(cp);
  await monitoring.listen('127.0.0.1', 0);
  ca = await startCaService({ dir: join(dir, 'ca'), trustDomain: 'cluster.local', listen: { host: '127.0.0.1', port: 0 } });
  monitoring.showCa({ stats: () => ca.server.stats(), expiry: ca.ca.expiry });
});

afterAll(async () => {
  await ca?.close();
  await monitoring?.close();
  await cp?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function metrics(): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${monitoring.port}/metrics`)).text();
  return new Map(text.split('\n').filter((l) => l.startsWith('citadel_server_')).map((l) => [l.split(' ')[0]!, Number(l.split(' ')[1])]));
}

const opensslNotAfter = (pemFile: string): number => Date.parse(openssl(['x509', '-noout', '-enddate', '-in', pemFile]).trim().replace('notAfter=', '')) / 1000;

describe('citadel_server_* on the monitoring port', () => {
  it('counts an issued certificate and a refusal, and shows the root and chain expiry', async () => {
    const before = await metrics();
    expect(before.get('citadel_server_csr_count')).toBe(0);
    expect(before.get('citadel_server_success_cert_issuance_count')).toBe(0);

    const id = spiffeId('shop', 'cart');
    const rootsPem = readFileSync(join(dir, 'ca', 'root-cert.pem'), 'utf8');
    const token = signToken(openTokenKey(join(dir, 'ca')), { namespace: 'shop', serviceAccount: 'cart', ttlMs: 60_000 });
    const client = new CertificateClient({ address: `127.0.0.1:${ca.port}`, rootsPem, token: () => token, identity: id });
    await client.start();
    client.close();

    // A request without a token: UNAUTHENTICATED, counted as an authentication failure.
    const pkg = grpc.loadPackageDefinition(istioCaPackage()) as any;
    const raw = new pkg.istio.v1.auth.IstioCertificateService(`127.0.0.1:${ca.port}`, grpc.credentials.createSsl(Buffer.from(rootsPem)), { 'grpc.ssl_target_name_override': 'istiod.istio-system.svc' });
    const { csrPem } = await createWorkloadCsr(id);
    const code = await new Promise<number>((resolve) => raw.CreateCertificate({ csr: csrPem, validity_duration: 0 }, new grpc.Metadata(), (err: grpc.ServiceError | null) => resolve(err?.code ?? 0)));
    raw.close();
    expect(code).toBe(grpc.status.UNAUTHENTICATED);

    const after = await metrics();
    expect(after.get('citadel_server_success_cert_issuance_count')).toBe(1);
    expect(after.get('citadel_server_authentication_failure_count')).toBe(1);
    expect(after.get('citadel_server_csr_count')).toBeGreaterThanOrEqual(1);
    expect(after.get('citadel_server_csr_sign_err_count')).toBe(0);
    const rootExpiry = opensslNotAfter(join(dir, 'ca', 'root-cert.pem'));
    expect(after.get('citadel_server_root_cert_expiry_timestamp')).toBe(rootExpiry);
    // A generated root signs itself: the chain's expiry is the root's.
    expect(after.get('citadel_server_cert_chain_expiry_timestamp')).toBe(opensslNotAfter(join(dir, 'ca', 'ca-cert.pem')));
    expect(rootExpiry * 1000).toBeGreaterThan(Date.now() + 365 * 24 * 3600 * 1000);
  });

  it('declares each CA metric with HELP and TYPE as Prometheus text', async () => {
    const text = await (await fetch(`http://127.0.0.1:${monitoring.port}/metrics`)).text();
    expect(text).toContain('# TYPE citadel_server_csr_count counter');
    expect(text).toContain('# TYPE citadel_server_root_cert_expiry_timestamp gauge');
    expect(text).toMatch(/# HELP citadel_server_authentication_failure_count \S/);
  });
});

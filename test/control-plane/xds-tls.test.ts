// xDS on the CA's TLS port (istiod's 15012): the control plane serves its ADS there too; a proxy
// that checks the server as istiod.istio-system.svc against the CA's root and sends its token gets
// its config; so does one presenting its workload certificate (mTLS) instead of a valid token, and a
// certificate issued while connected reopens the stream to present it. A wrong root or name, a bad
// token, a foreign certificate, a node claiming another identity than the caller's, and plaintext
// are each refused with the reason.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../host/config/index.js';
import { ControlPlane } from '../../host/control-plane/control-plane.js';
import { startCaService, type CaService } from '../../host/identity/ca-service.js';
import { openTokenKey } from '../../host/identity/token-key.js';
import { signToken } from '../../host/identity/workload-token.js';
import { AdsClient, type AdsTls } from '../../host/xds/ads-client.js';
import { WASMESH_TYPE_URL, assembleProxyConfig, type WasmeshProxyConfig } from '../../host/xds/wasmesh-resource.js';
import { nodeId } from '../../host/xds/xds-node.js';
import { testMeshCa } from '../helpers/mesh-ca.js';
import { spiffeId } from '../../host/identity/spiffe-id.js';
import { createWorkloadCsr } from '../../host/identity/workload-csr.js';
import { WorkloadCertificateCell } from '../../host/tls/workload-certificate-cell.js';
import type { WorkloadCertificate } from '../../host/tls/workload-certificate.js';

const MESH = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api}
spec: {hosts: [api], ports: [{number: 80, name: http, protocol: HTTP}], resolution: STATIC, endpoints: [{address: 127.0.0.2}]}
`;

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

let dir = '';
let cp: ControlPlane;
let ca: CaService;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-xds-tls-'));
  writeFileSync(join(dir, 'mesh.yaml'), MESH);
  cp = new ControlPlane({ sources: [join(dir, 'mesh.yaml')], read: (s) => readConfig(s), log: () => {}, debounce: { quietMs: 20, maxDelayMs: 200 } });
  cp.start();
  await cp.listen('127.0.0.1', 0);
  ca = await startCaService({ dir: join(dir, 'ca'), trustDomain: 'cluster.local', listen: { host: '127.0.0.1', port: 0 }, alsoServe: (server, authenticate) => cp.ads.attach(server, authenticate) });
  return async () => {
    await cp.close();
    await ca.close();
    rmSync(dir, { recursive: true, force: true });
  };
});

const token = (): string => signToken(openTokenKey(join(dir, 'ca')), { namespace: 'shop', serviceAccount: 'cart', ttlMs: 60_000 });
const roots = (): string => readFileSync(join(dir, 'ca', 'root-cert.pem'), 'utf8');

function proxy(tls: AdsTls | undefined, port = ca.port, claims = { namespace: 'shop', serviceAccount: 'cart' }): { configs: WasmeshProxyConfig[]; logs: string[] } {
  const configs: WasmeshProxyConfig[] = [];
  const logs: string[] = [];
  const c = new AdsClient({
    target: { host: '127.0.0.1', port },
    node: { id: nodeId('sidecar', '127.0.0.1', 'cart-1', claims.namespace), cluster: 'Kubernetes', metadata: { NAMESPACE: claims.namespace, SERVICE_ACCOUNT: claims.serviceAccount, LABELS: {}, WASMESH: '1' } },
    types: [WASMESH_TYPE_URL],
    apply: (u) => (configs.push(assembleProxyConfig(u.resources.map((r) => r.value))), null),
    log: (level, m) => logs.push(`${level}: ${m}`),
    backoff: { baseMs: 100, maxMs: 200 },
    ...(tls ? { tls } : {}),
  });
  c.start();
  closers.push(() => c.close());
  return { configs, logs };
}

/** A workload certificate from the control plane's own CA (or `from`), as the proxy would hold it. */
async function workloadCert(sa: string, from?: Awaited<ReturnType<typeof testMeshCa>>): Promise<WorkloadCertificate> {
  const id = spiffeId('shop', sa);
  const { csrPem, keyPem } = await createWorkloadCsr(id);
  const issued = await (from ? from.ca : ca.ca).sign(csrPem, id);
  return { identity: `spiffe://cluster.local/ns/shop/sa/${sa}`, certChainPem: issued.chainPem.join(''), keyPem, rootsPem: issued.rootsPem.join(''), notAfter: issued.leaf.notAfter };
}

const cellWith = (c: WorkloadCertificate | null): WorkloadCertificateCell => {
  const cell = new WorkloadCertificateCell();
  if (c) cell.set(c);
  return cell;
};

describe('xDS over TLS on the CA port', () => {
  it('a proxy checking the server as istiod.istio-system.svc against the CA root, with its token, gets its config', async () => {
    const p = proxy({ rootsPem: roots(), serverName: 'istiod.istio-system.svc', token });
    await expect.poll(() => p.configs.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(JSON.stringify(p.configs[0]!.mesh)).toContain('api');
    // The same control plane: the proxy shows in its sync status.
    expect(cp.ads.proxies().map((s) => s.proxyId)).toContain(nodeId('sidecar', '127.0.0.1', 'cart-1', 'shop'));
  });

  it('a root of another CA: refused, the reason (certificate verification) in the log, no config', async () => {
    const foreign = await testMeshCa();
    const p = proxy({ rootsPem: foreign.rootsPem, serverName: 'istiod.istio-system.svc', token });
    await expect.poll(() => p.logs.join('\n'), { timeout: 10_000 }).toMatch(/warn: xDS: .*self-signed certificate in certificate chain/);
    expect(p.configs).toEqual([]);
  });

  it('another server name than the certificate carries: refused', async () => {
    const p = proxy({ rootsPem: roots(), serverName: 'istiod.elsewhere.svc', token });
    await expect.poll(() => p.logs.join('\n'), { timeout: 10_000 }).toMatch(/warn: xDS: .*ERR_TLS_CERT_ALTNAME_INVALID.*Host: istiod.elsewhere.svc. is not in the cert's altnames: DNS:istiod.istio-system.svc/);
    expect(p.configs).toEqual([]);
  });

  it('no valid token: UNAUTHENTICATED with the CA\'s reason, no config', async () => {
    const p = proxy({ rootsPem: roots(), serverName: 'istiod.istio-system.svc', token: () => 'not.a.token' });
    await expect.poll(() => p.logs.join('\n'), { timeout: 10_000 }).toMatch(/warn: xDS: xDS refused: token refused: the header is not JSON/);
    expect(p.configs).toEqual([]);
  });

  it('a token for one identity, a node claiming another namespace or service account: PERMISSION_DENIED, no config', async () => {
    const tls = { rootsPem: roots(), serverName: 'istiod.istio-system.svc', token };
    const ns = proxy(tls, ca.port, { namespace: 'bank', serviceAccount: 'cart' });
    const sa = proxy(tls, ca.port, { namespace: 'shop', serviceAccount: 'admin' });
    await expect.poll(() => ns.logs.join('\n'), { timeout: 10_000 }).toMatch(/warn: xDS: xDS refused: the caller authenticated \(certificate or token\) as namespace shop, service account cart; the node sidecar~127.0.0.1~cart-1.bank~bank.svc.cluster.local claims namespace bank, service account cart/);
    await expect.poll(() => sa.logs.join('\n'), { timeout: 10_000 }).toMatch(/claims namespace shop, service account admin/);
    expect([...ns.configs, ...sa.configs]).toEqual([]);
  });

  it('mTLS: the workload certificate presented authenticates the proxy (no valid token needed), as istiod takes a client certificate first', async () => {
    const p = proxy({ rootsPem: roots(), serverName: 'istiod.istio-system.svc', token: () => 'not.a.token', certificate: cellWith(await workloadCert('cart')) });
    await expect.poll(() => p.configs.length, { timeout: 10_000 }).toBeGreaterThan(0);
  });

  it('mTLS: a certificate naming another service account than the node claims: PERMISSION_DENIED', async () => {
    const p = proxy({ rootsPem: roots(), serverName: 'istiod.istio-system.svc', token, certificate: cellWith(await workloadCert('admin')) });
    await expect.poll(() => p.logs.join('\n'), { timeout: 10_000 }).toMatch(/xDS refused: the caller authenticated \(certificate or token\) as namespace shop, service account admin; .* claims namespace shop, service account cart/);
    expect(p.configs).toEqual([]);
  });

  it('mTLS: a certificate of a foreign CA authenticates nothing; the token then decides', async () => {
    const foreign = await testMeshCa();
    const bad = proxy({ rootsPem: roots(), serverName: 'istiod.istio-system.svc', token: () => 'not.a.token', certificate: cellWith(await workloadCert('cart', foreign)) });
    await expect.poll(() => bad.logs.join('\n'), { timeout: 10_000 }).toMatch(/xDS refused: token refused/);
    expect(bad.configs).toEqual([]);
    const good = proxy({ rootsPem: roots(), serverName: 'istiod.istio-system.svc', token, certificate: cellWith(await workloadCert('cart', foreign)) }, ca.port, { namespace: 'shop', serviceAccount: 'cart' });
    await expect.poll(() => good.configs.length, { timeout: 10_000 }).toBeGreaterThan(0);
  });

  it('a certificate issued while connected: the stream reopens presenting it, and the config keeps coming over it', async () => {
    let valid = true;
    const cell = new WorkloadCertificateCell();
    const p = proxy({ rootsPem: roots(), serverName: 'istiod.istio-system.svc', token: () => (valid ? token() : 'not.a.token'), certificate: cell });
    await expect.poll(() => p.configs.length, { timeout: 10_000 }).toBeGreaterThan(0);
    // From now on only the certificate can authenticate the proxy.
    valid = false;
    cell.set(await workloadCert('cart'));
    await expect.poll(() => p.logs.join('\n'), { timeout: 5_000 }).toContain('info: xDS: a new workload certificate; reopening the stream to present it');
    const before = p.configs.length;
    writeFileSync(join(dir, 'mesh.yaml'), MESH.replace('127.0.0.2', '127.0.0.3'));
    cp.requestReload();
    await expect.poll(() => p.configs.length, { timeout: 10_000 }).toBeGreaterThan(before);
    expect(JSON.stringify(p.configs.at(-1)!.mesh)).toContain('127.0.0.3');
    expect(p.logs.filter((l) => l.startsWith('warn'))).toEqual([]);
  });

  it('plaintext to the TLS port: no config', async () => {
    const p = proxy(undefined);
    await expect.poll(() => p.logs.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(p.configs).toEqual([]);
  });
});

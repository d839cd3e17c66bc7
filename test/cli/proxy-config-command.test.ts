// `wasmesh proxy-config secret` against a real proxy runtime holding a certificate from a real CA
// over the CSR API: istioctl's table (default / ROOTCA) whose serials and dates openssl agrees with,
// `-o json` (the proxy's /certs), a proxy without a certificate, and each usage error.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../host/cli/main.js';
import { proxyConfigCommand, renderSecretTable, secretRows } from '../../host/cli/proxy-config-command.js';
import { CaServer } from '../../host/identity/ca-server.js';
import { CertificateAuthority } from '../../host/identity/certificate-authority.js';
import { spiffeId } from '../../host/identity/spiffe-id.js';
import { openTokenKey } from '../../host/identity/token-key.js';
import { signToken } from '../../host/identity/workload-token.js';
import { startProxyRuntime, type ProxyRuntime } from '../../host/runtime/proxy-runtime.js';
import { CaWorkloadCertificates } from '../../host/tls/ca-workload-certificates.js';
import type { WorkloadCertificate } from '../../host/tls/workload-certificate.js';
import { fakeIo } from '../helpers/fake-io.js';
import { meshYaml } from '../helpers/mesh-yaml.js';
import { openssl } from '../helpers/openssl.js';
import { closedPort } from '../helpers/ports.js';

const LOOPBACK = { host: '127.0.0.1', port: 0 };
let dir = '';
let server: CaServer;
let certs: CaWorkloadCertificates;
let proxy: ProxyRuntime;
let bare: ProxyRuntime;
let held: WorkloadCertificate;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-proxy-config-'));
  const ca = await CertificateAuthority.open({ dir: join(dir, 'ca'), trustDomain: 'cluster.local' });
  server = new CaServer({ ca, tokenKeys: [openTokenKey(join(dir, 'ca'))] });
  await server.listen('127.0.0.1', 0);
  certs = new CaWorkloadCertificates({
    address: `127.0.0.1:${server.port}`,
    rootsPem: readFileSync(join(dir, 'ca', 'root-cert.pem'), 'utf8'),
    token: () => signToken(openTokenKey(join(dir, 'ca')), { namespace: 'shop', serviceAccount: 'cart', ttlMs: 60_000 }),
    identity: spiffeId('shop', 'cart'),
    ttlMs: 3_600_000,
  });
  held = await certs.start();
  writeFileSync(join(dir, 'mesh.yaml'), meshYaml(1, 'hello'));
  proxy = await startProxyRuntime({ sources: [join(dir, 'mesh.yaml')], listen: LOOPBACK, admin: LOOPBACK, workloadCertificates: certs, log: () => {} });
  bare = await startProxyRuntime({ sources: [join(dir, 'mesh.yaml')], listen: LOOPBACK, admin: LOOPBACK, log: () => {} });
});

afterAll(async () => {
  await proxy?.close();
  await bare?.close();
  certs?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** openssl's serial (as a decimal string) and dates (RFC 3339) of a PEM file. */
function opensslView(pem: string): { serial: string; notBefore: string; notAfter: string } {
  writeFileSync(join(dir, 'c.pem'), pem);
  const out = openssl(['x509', '-in', 'c.pem', '-noout', '-serial', '-startdate', '-enddate'], dir);
  const get = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(out)![1]!.trim();
  const iso = (t: string) => new Date(t).toISOString().replace('.000Z', 'Z');
  return { serial: BigInt(`0x${get('serial')}`).toString(10), notBefore: iso(get('notBefore')), notAfter: iso(get('notAfter')) };
}

describe('wasmesh proxy-config secret', () => {
  it('istioctl\'s table for a proxy holding a CA-issued certificate; openssl agrees on serials and dates', async () => {
    const io = fakeIo();
    expect(await main(['proxy-config', 'secret', `127.0.0.1:${proxy.adminPort}`], io)).toBe(0);
    const lines = io.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^RESOURCE NAME\s+TYPE\s+STATUS\s+VALID CERT\s+SERIAL NUMBER\s+NOT AFTER\s+NOT BEFORE$/);
    const leaf = opensslView(held.certChainPem);
    const root = opensslView(held.rootsPem);
    expect(lines[1]!.split(/\s{2,}/)).toEqual(['default', 'Cert Chain', 'ACTIVE', 'true', leaf.serial, leaf.notAfter, leaf.notBefore]);
    expect(lines[2]!.split(/\s{2,}/)).toEqual(['ROOTCA', 'CA', 'ACTIVE', 'true', root.serial, root.notAfter, root.notBefore]);
    expect(io.stderr).toBe('');
  });

  it('-o json: the proxy\'s /certs as it is (Envoy\'s shape)', async () => {
    const io = fakeIo();
    expect(await proxyConfigCommand(['secret', '-o', 'json', `127.0.0.1:${proxy.adminPort}`], io)).toBe(0);
    const json = JSON.parse(io.stdout);
    const direct = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/certs`)).json();
    expect(json).toEqual(direct);
    expect(json.certificates[0].cert_chain[0].subject_alt_names).toEqual([{ uri: 'spiffe://cluster.local/ns/shop/sa/cart' }]);
    expect(BigInt(`0x${json.certificates[0].cert_chain[0].serial_number}`).toString(10)).toBe(opensslView(held.certChainPem).serial);
  });

  it('/config_dump holds the certificate as Envoy dumps SDS secrets: chain and roots inline, the private key redacted; -o yaml', async () => {
    const dump = (await (await fetch(`http://127.0.0.1:${proxy.adminPort}/config_dump?resource=dynamic_active_secrets`)).json()) as { configs: Array<Record<string, any>> };
    expect(dump.configs.map((c) => [c['@type'], c.name, c.secret['@type']])).toEqual([
      ['type.googleapis.com/envoy.admin.v3.SecretsConfigDump.DynamicSecret', 'default', 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret'],
      ['type.googleapis.com/envoy.admin.v3.SecretsConfigDump.DynamicSecret', 'ROOTCA', 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret'],
    ]);
    const b64 = (x: string) => Buffer.from(x, 'base64').toString();
    expect(b64(dump.configs[0]!.secret.tls_certificate.certificate_chain.inline_bytes)).toBe(held.certChainPem);
    expect(b64(dump.configs[0]!.secret.tls_certificate.private_key.inline_bytes)).toBe('[redacted]');
    expect(JSON.stringify(dump)).not.toContain(Buffer.from(held.keyPem).toString('base64').slice(0, 40));
    expect(b64(dump.configs[1]!.secret.validation_context.trusted_ca.inline_bytes)).toBe(held.rootsPem);
    const io = fakeIo();
    expect(await proxyConfigCommand(['secret', '-o', 'yaml', `127.0.0.1:${proxy.adminPort}`], io)).toBe(0);
    expect(io.stdout).toMatch(/^certificates:\n  - ca_cert:\n/);
  });

  it('a proxy without a workload certificate: the header only, and why on stderr', async () => {
    const io = fakeIo();
    expect(await proxyConfigCommand(['secret', `127.0.0.1:${bare.adminPort}`], io)).toBe(0);
    expect(io.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(io.stderr).toMatch(/holds no workload certificate \(no identity configured, not yet issued, or expired\)/);
    expect(await (await fetch(`http://127.0.0.1:${bare.adminPort}/certs`)).json()).toEqual({ certificates: [] });
  });

  it('nothing listening: exit 1 naming the address', async () => {
    const port = await closedPort();
    const io = fakeIo();
    expect(await proxyConfigCommand(['secret', `127.0.0.1:${port}`], io)).toBe(1);
    expect(io.stderr).toContain(`wasmesh proxy-config: cannot read the proxy's certificates at 127.0.0.1:${port}/certs:`);
  });

  it('usage errors exit 2 naming what is wrong', async () => {
    const run = async (argv: string[]) => {
      const io = fakeIo();
      expect(await main(['proxy-config', ...argv], io)).toBe(2);
      return io.stderr;
    };
    expect(await run([])).toMatch(/a kind is required: listeners, routes, clusters, endpoints, secret, bootstrap/);
    expect(await run(['clustr', '127.0.0.1:15000'])).toMatch(/unknown kind "clustr"; known: listeners, routes, clusters, endpoints, secret, bootstrap/);
    expect(await run(['secret'])).toMatch(/secret: the proxy's admin address is required/);
    expect(await run(['secret', 'nohost'])).toMatch(/secret <admin host:port>/);
    expect(await run(['secret', '127.0.0.1:0'])).toMatch(/the admin port cannot be 0/);
    expect(await run(['secret', '127.0.0.1:15000', 'more'])).toMatch(/unexpected argument "more"/);
    expect(await run(['secret', '127.0.0.1:15000', '-o', 'xml'])).toMatch(/-o: expected short, json or yaml, got "xml"/);
    expect(await run(['bootstrap', '127.0.0.1:15000', '-o', 'short'])).toMatch(/-o: expected json or yaml, got "short"/);
    expect(await run(['secret', '127.0.0.1:15000', '--port', '80'])).toMatch(/secret: --port does not apply/);
    expect(await run(['routes', '127.0.0.1:15000', '--fqdn', 'x'])).toMatch(/routes: --fqdn does not apply \(it takes --name, --verbose\)/);
    expect(await run(['clusters', '127.0.0.1:15000', '--port', '0'])).toMatch(/--port: expected a port 1-65535, got "0"/);
    expect(await run(['listeners', '127.0.0.1:15000', '--verbose=maybe'])).toMatch(/--verbose: expected true or false, got "maybe"/);
    expect(await run(['listeners', '127.0.0.1:15000', '-f', 'x.json'])).toMatch(/give the proxy's admin address or --file, not both/);
    expect(await run(['secret', '127.0.0.1:15000', '--bogus'])).toMatch(/unknown flag --bogus/);
  });

  it('renders a row per root and marks an expired certificate as not valid', () => {
    const d = (serial: string, from: string, to: string) => ({ path: '<inline>', serial_number: serial, subject_alt_names: [], days_until_expiration: '0', valid_from: from, expiration_time: to });
    const rows = secretRows({ certificates: [{ cert_chain: [d('ff', '2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z')], ca_cert: [d('0a', '2026-01-01T00:00:00Z', '2036-01-01T00:00:00Z'), d('0b', '2026-01-01T00:00:00Z', '2036-01-01T00:00:00Z')] }] }, new Date('2026-06-01T00:00:00Z'));
    expect(rows.map((r) => [r.resourceName, r.validCert, r.serialNumber])).toEqual([['default', false, '255'], ['ROOTCA', true, '10'], ['ROOTCA', true, '11']]);
    expect(renderSecretTable(rows).split('\n')[1]).toMatch(/^default\s+Cert Chain\s+ACTIVE\s+false\s+255\s+2026-01-02T00:00:00Z\s+2026-01-01T00:00:00Z$/);
  });
});

// The proxy's identity flags: none → no identity; --token-file with its CA flags → a certificate
// from the CA for spiffe://<td>/ns/<--namespace>/sa/<--service-account>; --cert-dir → mounted
// files; each mistake a usage error naming its flag; both commands take them; the sources start.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../../host/cli/args.js';
import { identityFromFlags, xdsTlsFromFlags, startWorkloadCertificates, describeIdentity, type OwnedCertificateSource } from '../../host/cli/identity-flags.js';
import { PROXY_SPEC } from '../../host/cli/proxy-command.js';
import { SIDECAR_SPEC } from '../../host/cli/sidecar-command.js';
import { spiffeId } from '../../host/identity/spiffe-id.js';
import { testMeshCa, type TestMeshCa } from '../helpers/mesh-ca.js';

const CMD = 'wasmesh proxy';
let mesh: TestMeshCa;
let dir: string;
let token: string;
let root: string;
beforeAll(async () => {
  mesh = await testMeshCa();
  dir = mkdtempSync(join(tmpdir(), 'wasmesh-idflags-'));
  token = join(dir, 'cart.token');
  writeFileSync(token, 'header.payload.signature\n');
  root = join(mesh.dir, 'root-cert.pem');
});
const cleanup: Array<() => unknown> = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

const usage = (values: Record<string, string>): string => {
  try {
    identityFromFlags(CMD, values);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
};

describe('identityFromFlags', () => {
  it('no identity flags: none', () => {
    expect(identityFromFlags(CMD, { namespace: 'shop' })).toBeNull();
  });

  it('--token-file with --ca-root: the CA at 127.0.0.1:15012 for spiffe://cluster.local/ns/<--namespace>/sa/default, 24 h', () => {
    expect(identityFromFlags(CMD, { 'token-file': token, 'ca-root': root }, {})).toEqual({
      kind: 'ca', tokenFile: token, address: '127.0.0.1:15012', rootsPem: readFileSync(root, 'utf8'), identity: spiffeId('default', 'default'), ttlMs: 86_400_000,
    });
    const c = identityFromFlags(CMD, { 'token-file': token, 'ca-root': root, namespace: 'shop', 'service-account': 'cart', 'ca-address': 'ca.example:9443', 'trust-domain': 'example.org', 'cert-ttl': '90s' });
    expect(c).toMatchObject({ kind: 'ca', address: 'ca.example:9443', identity: spiffeId('shop', 'cart', 'example.org'), ttlMs: 90_000 });
    expect(describeIdentity(c!)).toBe('workload certificate for spiffe://example.org/ns/shop/sa/cart from the CA at ca.example:9443');
  });

  it('without --namespace / --service-account: POD_NAMESPACE and SERVICE_ACCOUNT, as the xDS node takes them, else default', () => {
    const values = { 'token-file': token, 'ca-root': root };
    expect(identityFromFlags(CMD, values, { POD_NAMESPACE: 'shop', SERVICE_ACCOUNT: 'cart' })).toMatchObject({ identity: spiffeId('shop', 'cart') });
    expect(identityFromFlags(CMD, { ...values, namespace: 'bank', 'service-account': 'teller' }, { POD_NAMESPACE: 'shop', SERVICE_ACCOUNT: 'cart' })).toMatchObject({ identity: spiffeId('bank', 'teller') });
    expect(identityFromFlags(CMD, values, {})).toMatchObject({ identity: spiffeId('default', 'default') });
  });

  it('--cert-dir: mounted files', () => {
    const c = identityFromFlags(CMD, { 'cert-dir': '/etc/certs' });
    expect(c).toEqual({ kind: 'mounted', dir: '/etc/certs' });
    expect(describeIdentity(c!)).toBe('workload certificate from /etc/certs');
  });

  it('each mistake is a usage error naming its flag', () => {
    expect(usage({ 'token-file': token })).toMatch(/--ca-root <root-cert.pem> is required with --token-file/);
    expect(usage({ 'token-file': token, 'ca-root': root, 'cert-dir': '/etc/certs' })).toMatch(/--token-file and --cert-dir exclude each other/);
    for (const f of ['ca-root', 'ca-address', 'trust-domain', 'cert-ttl', 'service-account']) {
      expect(usage({ [f]: 'x' })).toContain(`--${f} goes with --token-file`);
      expect(usage({ 'cert-dir': '/etc/certs', [f]: 'x' })).toContain(`--${f} goes with --token-file`);
    }
    expect(usage({ 'token-file': join(dir, 'none'), 'ca-root': root })).toMatch(/--token-file: cannot read .*none: ENOENT/);
    const empty = join(dir, 'empty.token');
    writeFileSync(empty, ' \n');
    expect(usage({ 'token-file': empty, 'ca-root': root })).toMatch(/--token-file: .*empty.token is empty/);
    expect(usage({ 'token-file': token, 'ca-root': join(dir, 'none.pem') })).toMatch(/--ca-root: cannot read .*none.pem: ENOENT/);
    expect(usage({ 'token-file': token, 'ca-root': token })).toMatch(/--ca-root: .*cart.token holds no PEM certificate/);
    const broken = join(dir, 'broken.pem');
    writeFileSync(broken, `${readFileSync(root, 'utf8')}-----BEGIN CERTIFICATE-----\nbm9wZQ==\n-----END CERTIFICATE-----\n`);
    expect(usage({ 'token-file': token, 'ca-root': broken })).toMatch(/--ca-root: certificate 2 of .*broken.pem does not parse/);
    const ok = { 'token-file': token, 'ca-root': root };
    expect(usage({ ...ok, 'ca-address': 'nohost' })).toMatch(/--ca-address/);
    expect(usage({ ...ok, 'ca-address': '127.0.0.1:0' })).toMatch(/--ca-address: the CA's port cannot be 0/);
    expect(usage({ ...ok, 'trust-domain': 'Bad.Domain' })).toMatch(/--trust-domain: the trust domain "Bad.Domain"/);
    expect(usage({ ...ok, 'cert-ttl': 'soon' })).toMatch(/--cert-ttl: "soon" is not a valid duration/);
    expect(usage({ ...ok, 'cert-ttl': '500ms' })).toMatch(/--cert-ttl: from 1s to 90 days/);
    expect(usage({ ...ok, 'cert-ttl': '2161h' })).toMatch(/--cert-ttl: from 1s to 90 days/);
    expect(usage({ ...ok, 'service-account': 'Cart_1' })).toMatch(/--namespace default \/ --service-account Cart_1: invalid workload identity/);
    expect(usage({ ...ok, namespace: 'Shop' })).toMatch(/--namespace Shop \/ --service-account default: invalid workload identity/);
  });

  it('wasmesh proxy and wasmesh sidecar both take the flags', () => {
    for (const spec of [PROXY_SPEC, SIDECAR_SPEC]) {
      const { values } = parseArgs(spec, ['--token-file', token, '--ca-root', root, '--ca-address', '10.0.0.1:15012', '--trust-domain', 'td.example', '--cert-ttl', '1h', '--service-account', 'cart', '--namespace', 'shop']);
      expect(identityFromFlags(spec.command, values)).toMatchObject({ kind: 'ca', address: '10.0.0.1:15012', identity: spiffeId('shop', 'cart', 'td.example'), ttlMs: 3_600_000 });
      expect(identityFromFlags(spec.command, parseArgs(spec, ['--cert-dir', dir]).values)).toEqual({ kind: 'mounted', dir });
    }
  });
});

describe('xdsTlsFromFlags', () => {
  it('--xds-tls with --xds and --token-file: the CA root, istiod.istio-system.svc, the token file read at each use', () => {
    const values = { 'token-file': token, 'ca-root': root, 'xds-tls': true };
    const tls = xdsTlsFromFlags(CMD, values, identityFromFlags(CMD, values), true)!;
    expect(tls.rootsPem).toBe(readFileSync(root, 'utf8'));
    expect(tls.serverName).toBe('istiod.istio-system.svc');
    expect(tls.token()).toBe('header.payload.signature\n');
    expect(xdsTlsFromFlags(CMD, { 'token-file': token, 'ca-root': root }, identityFromFlags(CMD, { 'token-file': token, 'ca-root': root }), true)).toBeNull();
  });

  it('each mistake is a usage error naming the flag', () => {
    const values = { 'token-file': token, 'ca-root': root, 'xds-tls': true };
    expect(() => xdsTlsFromFlags(CMD, values, identityFromFlags(CMD, values), false)).toThrow(/--xds-tls goes with --xds <host:port>/);
    expect(() => xdsTlsFromFlags(CMD, { 'cert-dir': dir, 'xds-tls': true }, { kind: 'mounted', dir }, true)).toThrow(/--xds-tls needs --token-file and --ca-root/);
    // Without --token-file the flag is stray, as every CA flag.
    expect(() => identityFromFlags(CMD, { 'xds-tls': true })).toThrow(/--xds-tls goes with --token-file/);
  });
});

describe('startWorkloadCertificates', () => {
  it('--cert-dir: the files read at once; files that do not fit fail with the file named', async () => {
    const certs = mkdtempSync(join(tmpdir(), 'wasmesh-idflags-certs-'));
    const svid = await mesh.svid('shop', 'cart');
    writeFileSync(join(certs, 'cert-chain.pem'), svid.certChainPem);
    writeFileSync(join(certs, 'key.pem'), svid.keyPem);
    writeFileSync(join(certs, 'root-cert.pem'), mesh.rootsPem);
    const source: OwnedCertificateSource = await startWorkloadCertificates({ kind: 'mounted', dir: certs }, () => {});
    cleanup.push(() => source.close());
    expect(source.current()?.identity).toBe('spiffe://cluster.local/ns/shop/sa/cart');
    writeFileSync(join(certs, 'key.pem'), (await mesh.svid('shop', 'cart')).keyPem);
    await expect(startWorkloadCertificates({ kind: 'mounted', dir: certs }, () => {})).rejects.toThrow(/key.pem: the key is not the one certified .*WORKLOAD_CERT_INVALID/);
  });

  it('--token-file: asks the CA in the background; nothing held while it is away', async () => {
    const logs: string[] = [];
    const c = identityFromFlags(CMD, { 'token-file': token, 'ca-root': root, 'ca-address': '127.0.0.1:1', namespace: 'shop', 'service-account': 'cart' })!;
    const source = await startWorkloadCertificates(c, (level, m) => logs.push(`${level}: ${m}`));
    cleanup.push(() => source.close());
    expect(source.current()).toBeNull();
    await expect.poll(() => logs.join('\n'), { timeout: 5_000 }).toMatch(/warn: certificate request failed \(attempt 1, retrying in \d+ ms\)/);
    expect(logs[0]).toBe('info: workload certificate: asking the CA at 127.0.0.1:1 for spiffe://cluster.local/ns/shop/sa/cart');
  });
});

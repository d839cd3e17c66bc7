// The SDS server over a Unix socket with a grpc-js client speaking StreamSecrets: `default` and
// `ROOTCA` as Istio's agent serves them, ACK and NACK, a rotation pushed, a secret that does not
// exist (yet) left unanswered, a cancelled stream cleaned up, and what the socket path may be.
import { mkdtempSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../host/xds/envoy-protos.js';
import { SdsServer } from '../../host/xds/sds-server.js';
import { sdsSecrets, type SecretMaterial } from '../../host/xds/sds-secrets.js';
import { testMeshCa, type TestMeshCa } from '../helpers/mesh-ca.js';
import { fetchSecrets, NODE, SdsStream, secretsOf, text } from '../helpers/sds-test-client.js';


let mesh: TestMeshCa;
let first: SecretMaterial;
let second: SecretMaterial;
beforeAll(async () => {
  mesh = await testMeshCa();
  const material = async (): Promise<SecretMaterial> => {
    const s = await mesh.svid('shop', 'cart');
    return { certChainPem: s.certChainPem, keyPem: s.keyPem, rootsPem: [mesh.rootsPem] };
  };
  first = await material();
  second = await material();
});

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function started(secrets: SecretMaterial | null): Promise<{ server: SdsServer; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-sds-'));
  const path = join(dir, 'var/run/secrets/workload-spiffe-uds/socket');
  const server = new SdsServer();
  if (secrets) server.setSecrets(sdsSecrets(secrets));
  await server.listen(path);
  cleanup.push(() => server.close());
  return { server, path };
}

function stream(path: string): SdsStream {
  const s = new SdsStream(path);
  cleanup.push(() => s.cancel());
  return s;
}

describe('SdsServer', () => {
  it('serves default (chain + key) and ROOTCA (trust bundle) over the Unix socket', async () => {
    const { path } = await started(first);
    const s = stream(path);
    s.send({ node: NODE, resource_names: ['default'] });
    const res = await s.next();
    expect(res.type_url).toBe(TYPE_URL.secret);
    const [def] = secretsOf(res);
    expect(def!.name).toBe('default');
    const tls = def!.tls_certificate as { certificate_chain: { inline_bytes: string }; private_key: { inline_bytes: string } };
    expect(text(tls.certificate_chain.inline_bytes)).toBe(first.certChainPem);
    expect(text(tls.private_key.inline_bytes)).toBe(first.keyPem);

    const r = stream(path);
    r.send({ node: NODE, resource_names: ['ROOTCA'] });
    const [root] = secretsOf(await r.next());
    expect(root!.name).toBe('ROOTCA');
    expect(text((root!.validation_context as { trusted_ca: { inline_bytes: string } }).trusted_ca.inline_bytes)).toBe(mesh.rootsPem);
  });

  it('records an ACK, and a NACK without sending the refused version again', async () => {
    const { server, path } = await started(first);
    const s = stream(path);
    s.send({ node: NODE, resource_names: ['default', 'ROOTCA'] });
    const res = await s.next();
    expect(secretsOf(res).map((x) => x.name).sort()).toEqual(['ROOTCA', 'default']);
    s.send({ resource_names: ['default', 'ROOTCA'], version_info: res.version_info, response_nonce: res.nonce });
    await expect.poll(() => server.proxies()[0]?.types.get(TYPE_URL.secret)?.ackedVersion).toBe(res.version_info);
    server.setSecrets(sdsSecrets(second));
    const pushed = await s.next();
    expect(secretsOf(pushed).map((x) => x.name)).toEqual(['default']);
    s.send({ resource_names: ['default', 'ROOTCA'], version_info: res.version_info, response_nonce: pushed.nonce, error_detail: { code: 3, message: 'bad key' } });
    await expect.poll(() => server.proxies()[0]?.types.get(TYPE_URL.secret)?.nack?.message).toBe('bad key');
    expect(server.proxies()[0]!.types.get(TYPE_URL.secret)!.ackedVersion).toBe(res.version_info);
    expect(await s.quiet()).toBe(true);
  });

  it('pushes the new default on rotation, and nothing on a stream for ROOTCA when the bundle is unchanged', async () => {
    const { server, path } = await started(first);
    const d = stream(path);
    const r = stream(path);
    d.send({ node: NODE, resource_names: ['default'] });
    r.send({ node: NODE, resource_names: ['ROOTCA'] });
    const dres = await d.next();
    const rres = await r.next();
    d.send({ resource_names: ['default'], version_info: dres.version_info, response_nonce: dres.nonce });
    r.send({ resource_names: ['ROOTCA'], version_info: rres.version_info, response_nonce: rres.nonce });
    server.setSecrets(sdsSecrets(second));
    const [def] = secretsOf(await d.next());
    expect(text((def!.tls_certificate as { certificate_chain: { inline_bytes: string } }).certificate_chain.inline_bytes)).toBe(second.certChainPem);
    expect(await r.quiet()).toBe(true);
  });

  it('does not answer a secret that does not exist (Envoy waits), nor any before the first certificate, then pushes it', async () => {
    const { server, path } = await started(null);
    const u = stream(path);
    u.send({ node: NODE, resource_names: ['file-cert:/etc/certs/cert.pem~/etc/certs/key.pem'] });
    const d = stream(path);
    d.send({ node: NODE, resource_names: ['default'] });
    expect(await d.quiet()).toBe(true);
    server.setSecrets(sdsSecrets(first));
    expect(secretsOf(await d.next()).map((x) => x.name)).toEqual(['default']);
    expect(await u.quiet()).toBe(true);
  });

  it('refuses a request for another type and cleans up a cancelled stream', async () => {
    const { server, path } = await started(first);
    const s = stream(path);
    s.send({ node: NODE, resource_names: ['default'] });
    await s.next();
    expect(server.proxies()).toHaveLength(1);
    s.cancel();
    await expect.poll(() => server.proxies()).toHaveLength(0);
    const c = stream(path);
    c.send({ node: NODE, type_url: TYPE_URL.cluster });
    await expect.poll(() => c.error?.code).toBe(3); // INVALID_ARGUMENT
    expect(c.error!.details).toMatch(/unserved type_url/);
    const n = stream(path);
    n.send({ node: { id: 'envoy-1' }, resource_names: ['default'] });
    await expect.poll(() => n.error?.code).toBe(3);
    expect(n.error!.details).toMatch(/node id "envoy-1" is not/);
    await expect.poll(() => server.proxies()).toHaveLength(0);
  });

  it('FetchSecrets answers once with the secrets that exist; none existing is NOT_FOUND; a bad node INVALID_ARGUMENT', async () => {
    const { server, path } = await started(null);
    const before = await fetchSecrets(path, { node: NODE, resource_names: ['default'] });
    expect(before.error?.code).toBe(5); // NOT_FOUND: nothing issued yet
    server.setSecrets(sdsSecrets(first));
    const both = await fetchSecrets(path, { node: NODE, resource_names: ['default', 'ROOTCA', 'other'] });
    expect(both.error).toBeNull();
    expect(secretsOf(both.res!).map((x) => x.name)).toEqual(['default', 'ROOTCA']);
    expect((await fetchSecrets(path, { node: NODE, resource_names: ['other'] })).error?.details).toMatch(/none of \["other"\] exists/);
    expect((await fetchSecrets(path, { node: { id: 'x' }, resource_names: ['default'] })).error?.code).toBe(3);
    expect((await fetchSecrets(path, { node: NODE, type_url: TYPE_URL.cluster, resource_names: ['default'] })).error?.code).toBe(3);
    // Nothing stays behind: a fetch opens no stream.
    expect(server.proxies()).toHaveLength(0);
  });

  it('removes a stale socket, refuses a file that is not one, and a path too long for a socket', async () => {
    const { server, path } = await started(first);
    // Only the owner and its group may connect (and so read the key).
    expect(statSync(path).mode & 0o777).toBe(0o660);
    expect(statSync(dirname(path)).mode & 0o777).toBe(0o750);
    await server.close();
    // A socket left behind by a killed agent: removed and bound again.
    const again = new SdsServer();
    await again.listen(path);
    cleanup.push(() => again.close());
    await again.close();
    expect(existsSync(path)).toBe(false);
    writeFileSync(path, 'not a socket');
    await expect(new SdsServer().listen(path)).rejects.toThrow(/something other than a socket/);
    expect(existsSync(path)).toBe(true);
    await expect(new SdsServer().listen(`/tmp/${'x'.repeat(120)}/socket`)).rejects.toThrow(/more than a Unix socket takes/);
  });
});

// Istio's two SDS secrets from a certificate in hand: what each carries, versions that change only
// with their bytes, and a bundle with no root refused.
import { describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../host/xds/envoy-protos.js';
import { sdsSecrets, SDS_DEFAULT, SDS_ROOTCA } from '../../host/xds/sds-secrets.js';
import { testMeshCa } from '../helpers/mesh-ca.js';
import { secretsOf, text } from '../helpers/sds-test-client.js';

describe('sdsSecrets', () => {
  it('default holds the chain and key, ROOTCA the bundle; a new certificate changes default\'s version only', async () => {
    const mesh = await testMeshCa();
    const a = await mesh.svid('shop', 'cart');
    const b = await mesh.svid('shop', 'cart');
    const s1 = sdsSecrets({ certChainPem: a.certChainPem, keyPem: a.keyPem, rootsPem: [mesh.rootsPem] });
    const s2 = sdsSecrets({ certChainPem: b.certChainPem, keyPem: b.keyPem, rootsPem: [mesh.rootsPem] });
    expect(s1.wildcard).toBe(false);
    expect([...s1.resources.keys()]).toEqual([SDS_DEFAULT, SDS_ROOTCA]);
    const [def, root] = secretsOf({ resources: [...s1.resources.values()].map((r) => r.body) });
    expect(s1.resources.get(SDS_DEFAULT)!.body.type_url).toBe(TYPE_URL.secret);
    expect(text((def!.tls_certificate as { private_key: { inline_bytes: string } }).private_key.inline_bytes)).toBe(a.keyPem);
    expect(text((root!.validation_context as { trusted_ca: { inline_bytes: string } }).trusted_ca.inline_bytes)).toBe(mesh.rootsPem);
    expect(s2.version).not.toBe(s1.version);
    expect(s2.resources.get(SDS_DEFAULT)!.version).not.toBe(s1.resources.get(SDS_DEFAULT)!.version);
    expect(s2.resources.get(SDS_ROOTCA)!.version).toBe(s1.resources.get(SDS_ROOTCA)!.version);
    expect(sdsSecrets({ certChainPem: a.certChainPem, keyPem: a.keyPem, rootsPem: [mesh.rootsPem] }).version).toBe(s1.version);
  });

  it('a trust bundle with no root is refused', () => {
    expect(() => sdsSecrets({ certChainPem: 'x', keyPem: 'y', rootsPem: [] })).toThrow(/holds no root/);
  });
});

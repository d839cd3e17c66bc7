// /certs in Envoy's shape from a CA-issued workload certificate (a plug-in intermediate, so the
// chain has two certificates): serials, SANs and dates as openssl reads them from the same PEMs.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certsJson } from '../../host/admin/certs-json.js';
import { testMeshCa } from '../helpers/mesh-ca.js';
import { makePluginCa, openssl } from '../helpers/openssl.js';

/** serial (hex, any case), notBefore and notAfter of a PEM, as openssl prints them. */
function opensslView(pem: string): { serial: string; from: string; to: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wasmesh-certs-json-'));
  writeFileSync(join(dir, 'c.pem'), pem);
  const out = openssl(['x509', '-in', 'c.pem', '-noout', '-serial', '-startdate', '-enddate'], dir);
  const get = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(out)![1]!.trim();
  const iso = (t: string) => new Date(t).toISOString().replace('.000Z', 'Z');
  return { serial: get('serial').toLowerCase(), from: iso(get('notBefore')), to: iso(get('notAfter')) };
}

const blocks = (t: string) => t.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)!;

describe('certsJson', () => {
  it('no certificate: { certificates: [] }', () => {
    expect(certsJson(null)).toEqual({ certificates: [] });
  });

  it('ca_cert (each root) and cert_chain (leaf, intermediate) with what openssl reads from them', async () => {
    const caDir = mkdtempSync(join(tmpdir(), 'wasmesh-certs-json-ca-'));
    makePluginCa(caDir, 'ec');
    const mesh = await testMeshCa('cluster.local', caDir);
    const svid = await mesh.svid('shop', 'cart', { ttlMs: 3 * 86_400_000 });
    const now = new Date();
    const json = certsJson({ identity: 'spiffe://cluster.local/ns/shop/sa/cart', certChainPem: svid.certChainPem, keyPem: svid.keyPem, rootsPem: mesh.rootsPem, notAfter: new Date(svid.leaf.validTo) }, now);
    expect(json.certificates).toHaveLength(1);
    const { ca_cert, cert_chain } = json.certificates[0]!;
    expect(cert_chain).toHaveLength(2);
    expect(ca_cert).toHaveLength(1);
    const pems = [...blocks(svid.certChainPem), ...blocks(mesh.rootsPem)];
    [...cert_chain, ...ca_cert].forEach((d, i) => {
      const o = opensslView(pems[i]!);
      expect(d.serial_number.replace(/^0+/, '')).toBe(o.serial.replace(/^0+/, ''));
      expect(d.valid_from).toBe(o.from);
      expect(d.expiration_time).toBe(o.to);
      expect(d.path).toBe('<inline>');
      expect(d.serial_number).toBe(d.serial_number.toLowerCase());
    });
    expect(cert_chain[0]!.subject_alt_names).toEqual([{ uri: 'spiffe://cluster.local/ns/shop/sa/cart' }]);
    // 3 days minus the time the test took: 2 whole days left.
    expect(cert_chain[0]!.days_until_expiration).toBe('2');
    expect(certsJson({ identity: '', certChainPem: svid.certChainPem, keyPem: '', rootsPem: mesh.rootsPem, notAfter: now }, new Date(Date.parse(svid.leaf.validTo) + 86_400_000))
      .certificates[0]!.cert_chain[0]!.days_until_expiration).toBe('0');
  });
});

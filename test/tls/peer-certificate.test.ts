import { describe, it, expect } from 'vitest';
import { createHash, X509Certificate } from 'node:crypto';
import { certificateHash, spiffeIdOf, subjectAltNames } from '../../host/tls/peer-certificate.js';
import { leaf } from '../helpers/test-certs.js';

describe('peer certificate reading', () => {
  it('parses Node\'s subjectaltname text, quoted entries included', () => {
    expect(subjectAltNames({ subjectaltname: 'DNS:a.svc, URI:spiffe://cluster.local/ns/a/sa/b, IP Address:10.0.0.1, DNS:b.svc' }))
      .toEqual({ uris: ['spiffe://cluster.local/ns/a/sa/b'], dns: ['a.svc', 'b.svc'] });
    expect(subjectAltNames({ subjectaltname: 'URI:"spiffe://x/a,b", DNS:c' })).toEqual({ uris: ['spiffe://x/a,b'], dns: ['c'] });
    expect(subjectAltNames(null)).toEqual({ uris: [], dns: [] });
  });
  it('finds the SPIFFE ID among URI SANs and hashes the DER bytes', () => {
    expect(spiffeIdOf({ subjectaltname: 'URI:https://x, URI:spiffe://td/ns/n/sa/s' })).toBe('spiffe://td/ns/n/sa/s');
    expect(spiffeIdOf({ subjectaltname: 'DNS:x' })).toBeNull();
    const cert = new X509Certificate(leaf({ ns: 'n', sa: 's' }).certPem);
    expect(spiffeIdOf({ subjectaltname: cert.subjectAltName })).toBe('spiffe://cluster.local/ns/n/sa/s');
    expect(certificateHash(cert)).toBe(createHash('sha256').update(cert.raw).digest('hex'));
  });
});

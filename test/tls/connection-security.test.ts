import { describe, it, expect } from 'vitest';
import { createHash, X509Certificate } from 'node:crypto';
import { ownIdentity, xfccElement } from '../../host/tls/connection-security.js';
import { leaf, meshRoot, spiffeId } from '../helpers/test-certs.js';

describe('connection security', () => {
  it('reads the listener\'s own SPIFFE ID from its certificate file', () => {
    expect(ownIdentity(leaf({ ns: 'a', sa: 'b' }).certPem)).toBe(spiffeId('a', 'b'));
    expect(ownIdentity(meshRoot().certPem)).toBeNull();
  });
  it('writes the XFCC element as Envoy does under Istio: By, Hash, Subject, URI, then DNS each', () => {
    const c = new X509Certificate(leaf({ ns: 'shop', sa: 'web', dns: ['web.shop', 'w2'] }).certPem);
    const hash = createHash('sha256').update(c.raw).digest('hex');
    expect(xfccElement('spiffe://cluster.local/ns/mesh/sa/in', { raw: c.raw, subjectaltname: c.subjectAltName })).toBe(
      `By=spiffe://cluster.local/ns/mesh/sa/in;Hash=${hash};Subject="";URI=${spiffeId('shop', 'web')};DNS=web.shop;DNS=w2`);
    // A subject is written RFC 2253 style (least significant first).
    const root = new X509Certificate(meshRoot().certPem);
    expect(xfccElement(null, { raw: root.raw, subjectaltname: undefined })).toMatch(/^Hash=[0-9a-f]{64};Subject="CN=mesh root,O=mesh";URI=$/);
  });
});

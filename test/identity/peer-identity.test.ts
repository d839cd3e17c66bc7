// A peer's SPIFFE identity from its certificate, over a real mTLS handshake between two workload
// certificates of one CA: exactly one URI SAN, of the trust domain, among the expected identities.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { IdentityError } from '../../host/identity/identity-error.js';
import { expectPeerIdentity, spiffeIdOfCertificate } from '../../host/identity/peer-identity.js';
import { spiffeId } from '../../host/identity/spiffe-id.js';
import { testMeshCa } from '../helpers/mesh-ca.js';

describe('peer identity', () => {
  it('each side of an mTLS handshake reads the other\'s SPIFFE ID', async () => {
    const mesh = await testMeshCa();
    const server = await mesh.svid('shop', 'cart');
    const client = await mesh.svid('web', 'frontend');
    const tls = createServer({ key: server.keyPem, cert: server.certChainPem, ca: mesh.rootsPem, requestCert: true, rejectUnauthorized: true });
    const seenByServer = new Promise<X509Certificate>((resolve) => tls.on('secureConnection', (s: TLSSocket) => (resolve(s.getPeerX509Certificate()!), s.end())));
    tls.listen(0, '127.0.0.1');
    await once(tls, 'listening');
    try {
      const sock = connect({ host: '127.0.0.1', port: (tls.address() as AddressInfo).port, key: client.keyPem, cert: client.certChainPem, ca: mesh.rootsPem,
        // Mesh peers are checked by SPIFFE ID, not host name.
        checkServerIdentity: () => undefined });
      await once(sock, 'secureConnect');
      expect(expectPeerIdentity(sock.getPeerX509Certificate()!, 'cluster.local', [spiffeId('shop', 'cart')])).toEqual(spiffeId('shop', 'cart'));
      expect(spiffeIdOfCertificate(await seenByServer, 'cluster.local')).toEqual(spiffeId('web', 'frontend'));
      sock.destroy();
    } finally {
      tls.close();
    }
  });

  it('refuses an unexpected identity, another trust domain, and a certificate without exactly one SPIFFE URI', async () => {
    const mesh = await testMeshCa();
    const cart = (await mesh.svid('shop', 'cart')).leaf;
    const refuse = (f: () => unknown, why: RegExp) => expect(f).toThrow(expect.objectContaining({ constructor: IdentityError, message: expect.stringMatching(why) }));
    refuse(() => expectPeerIdentity(cart, 'cluster.local', [spiffeId('shop', 'admin')]), /peer spiffe:\/\/cluster.local\/ns\/shop\/sa\/cart is not an expected identity \(spiffe:\/\/cluster.local\/ns\/shop\/sa\/admin\)/);
    refuse(() => spiffeIdOfCertificate(cart, 'example.org'), /is not of the trust domain example.org/);
    expect(expectPeerIdentity(cart, 'cluster.local', [])).toEqual(spiffeId('shop', 'cart'));
    // The CA's serving certificate has DNS and IP names besides its URI: still one SPIFFE ID.
    const serving = await mesh.ca.issueServing(['istiod.istio-system.svc', '127.0.0.1'], spiffeId('istio-system', 'istiod'));
    expect(spiffeIdOfCertificate(new X509Certificate(serving.certChainPem)).serviceAccount).toBe('istiod');
    // A root has no URI at all.
    refuse(() => spiffeIdOfCertificate(new X509Certificate(mesh.rootsPem)), /has 0 URI names \(none\)/);
  });
});

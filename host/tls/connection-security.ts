// What a downstream connection's TLS established, read once at the end of its handshake and
// carried by every request on it (the access log's connection_security_policy, authorization
// later): whether the peer was authenticated by a certificate from the trust bundle (mutual
// TLS), its SPIFFE ID, and the x-forwarded-client-cert element the proxy adds for it, as
// Envoy writes it under Istio (By, Hash, Subject, URI, DNS).
import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate } from 'node:tls';
import { certificateHash, subjectAltNames } from './peer-certificate.js';

export interface ConnectionSecurity {
  /** TLS with a verified client certificate (Istio's connection_security_policy mutual_tls). */
  readonly mutualTls: boolean;
  /** TLS at all (false: plaintext on a PERMISSIVE port). */
  readonly tls: boolean;
  /** The client certificate's SPIFFE ID (its spiffe:// URI SAN), or null. */
  readonly peerSpiffeId: string | null;
  /** SHA-256 of the client certificate (hex), or null. */
  readonly peerCertificateHash: string | null;
  /** Negotiated TLS version (`TLSv1.3`) and ALPN protocol, or null. */
  readonly tlsVersion: string | null;
  readonly alpn: string | null;
  /** The SNI the client sent, or null. */
  readonly sni: string | null;
  /** The x-forwarded-client-cert element for this connection (mutual TLS only), else null. */
  readonly xfcc: string | null;
  /** XFCC as SANITIZE_SET (Istio's gateway): what came in is dropped, `xfcc` set; else APPEND_FORWARD. */
  readonly xfccSanitize?: boolean;
  /** A gateway server's hosts: a request on this connection must name one (else 404 NR). */
  readonly serverHosts?: readonly string[];
}

/** A plaintext connection on a port that also terminates TLS. */
export const PLAINTEXT: ConnectionSecurity = Object.freeze({
  mutualTls: false, tls: false, peerSpiffeId: null, peerCertificateHash: null, tlsVersion: null, alpn: null, sni: null, xfcc: null,
});

/** The URI SAN of the listener's own certificate file contents (XFCC's By), or null. */
export function ownIdentity(certificatePem: Buffer): string | null {
  const uris = subjectAltNames({ subjectaltname: new X509Certificate(certificatePem).subjectAltName ?? '' }).uris;
  return uris.find((u) => u.startsWith('spiffe://')) ?? uris[0] ?? null;
}

/** RFC 2253 text of a subject as X509Certificate gives it (one `K=V` per line, most significant first; undefined when empty). */
function rfc2253(subject: string | undefined): string {
  return subject === undefined || subject === '' ? '' : subject.split('\n').reverse().join(',');
}

/** XFCC quotes a value holding `,`, `;`, `=` or `"` (and escapes `"`). */
function quoted(value: string): string {
  return /[,;="]/.test(value) ? `"${value.replace(/"/g, '\\"')}"` : value;
}

/**
 * The XFCC element Envoy adds for a client certificate with Istio's settings (subject, URI and
 * DNS on): `By=<own>;Hash=<sha256>;Subject="<rfc2253>";URI=<spiffe>` then `;DNS=<name>` each.
 */
export function xfccElement(own: string | null, peer: Pick<DetailedPeerCertificate, 'raw' | 'subjectaltname'>): string {
  const sans = subjectAltNames(peer);
  const parts: string[] = [];
  if (own !== null) parts.push(`By=${quoted(own)}`);
  parts.push(`Hash=${certificateHash(peer)}`);
  parts.push(`Subject="${rfc2253(new X509Certificate(peer.raw).subject).replace(/"/g, '\\"')}"`);
  parts.push(`URI=${quoted(sans.uris[0] ?? '')}`);
  for (const d of sans.dns) parts.push(`DNS=${quoted(d)}`);
  return parts.join(';');
}


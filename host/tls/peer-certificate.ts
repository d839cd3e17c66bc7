// What the proxy reads from a peer's certificate: its subjectAltName entries (the SPIFFE ID is
// the URI SAN that starts with spiffe://), and the SHA-256 of its DER bytes (XFCC's Hash).
import { createHash } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';

export interface SubjectAltNames {
  readonly uris: readonly string[];
  readonly dns: readonly string[];
}

const NONE: SubjectAltNames = { uris: [], dns: [] };

/**
 * Parses Node's `subjectaltname` text (`DNS:a, URI:spiffe://…, IP Address:…`). Node quotes an
 * entry holding a comma or quote as a JSON string (`URI:"a,b"`), which is unquoted here.
 */
export function subjectAltNames(cert: Pick<PeerCertificate, 'subjectaltname'> | null | undefined): SubjectAltNames {
  const text = cert?.subjectaltname;
  if (!text) return NONE;
  const uris: string[] = [];
  const dns: string[] = [];
  for (const m of text.matchAll(/(DNS|URI|IP Address|email|DirName|othername|Registered ID):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g)) {
    const value = m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!;
    if (m[1] === 'URI') uris.push(value);
    else if (m[1] === 'DNS') dns.push(value);
  }
  return { uris, dns };
}

/** The certificate's SPIFFE ID (its first spiffe:// URI SAN), or null. */
export function spiffeIdOf(cert: Pick<PeerCertificate, 'subjectaltname'> | null | undefined): string | null {
  return subjectAltNames(cert).uris.find((u) => u.startsWith('spiffe://')) ?? null;
}

/** Lower-case hex SHA-256 of the certificate's DER encoding. */
export function certificateHash(cert: { readonly raw: Uint8Array }): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

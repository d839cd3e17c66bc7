// The admin API's /certs in Envoy's shape (admin.v3.Certificates): for the workload certificate in
// use, `ca_cert` (each root of the trust bundle) and `cert_chain` (leaf, then intermediates), each
// with its serial number, SANs, validity and days until expiration; `{ "certificates": [] }` when the
// proxy holds none. Read from the PEMs themselves, so it shows what TLS presents, whatever the source.
import { X509Certificate } from 'node:crypto';
import type { WorkloadCertificate } from '../tls/workload-certificate.js';

/** Envoy's SubjectAlternateName: one of uri, dns, ip_address. */
export type SubjectAltName = { uri: string } | { dns: string } | { ip_address: string };

/** Envoy's CertificateDetails (the fields wasmesh fills). */
export interface CertificateDetails {
  /** `<inline>`: the certificate is held in memory, as Envoy says of inline or SDS certificates. */
  readonly path: string;
  /** Lowercase hex, as Envoy prints it. */
  readonly serial_number: string;
  readonly subject_alt_names: SubjectAltName[];
  /** uint64 in proto JSON: a string, whole days left (0 once expired). */
  readonly days_until_expiration: string;
  /** RFC 3339, whole seconds. */
  readonly valid_from: string;
  readonly expiration_time: string;
}

export interface CertsJson {
  readonly certificates: Array<{ readonly ca_cert: CertificateDetails[]; readonly cert_chain: CertificateDetails[] }>;
}

const DAY_MS = 86_400_000;

function pemBlocks(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** `2026-12-05T12:00:00Z`: Envoy's Timestamp JSON (no fraction for whole seconds). */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, 'Z');
}

/** Node's `URI:a, DNS:b, IP Address:c` as Envoy's list. Other kinds (email, …) are left out, as Envoy does. */
function subjectAltNames(cert: X509Certificate): SubjectAltName[] {
  const out: SubjectAltName[] = [];
  for (const part of (cert.subjectAltName ?? '').split(', ')) {
    const colon = part.indexOf(':');
    if (colon < 0) continue;
    const kind = part.slice(0, colon);
    const value = part.slice(colon + 1);
    if (kind === 'URI') out.push({ uri: value });
    else if (kind === 'DNS') out.push({ dns: value });
    else if (kind === 'IP Address') out.push({ ip_address: value });
  }
  return out;
}

export function certificateDetails(pem: string, now: Date): CertificateDetails {
  const cert = new X509Certificate(pem);
  const notAfter = new Date(cert.validTo);
  return {
    path: '<inline>',
    serial_number: cert.serialNumber.toLowerCase(),
    subject_alt_names: subjectAltNames(cert),
    days_until_expiration: String(Math.max(0, Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS))),
    valid_from: rfc3339(new Date(cert.validFrom)),
    expiration_time: rfc3339(notAfter),
  };
}

/** /certs for the certificate in use (null: none held). */
export function certsJson(cert: WorkloadCertificate | null, now = new Date()): CertsJson {
  if (cert === null) return { certificates: [] };
  return {
    certificates: [
      {
        ca_cert: pemBlocks(cert.rootsPem).map((p) => certificateDetails(p, now)),
        cert_chain: pemBlocks(cert.certChainPem).map((p) => certificateDetails(p, now)),
      },
    ],
  };
}

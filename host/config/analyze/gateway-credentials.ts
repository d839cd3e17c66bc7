// Istio's gateway.SecretAnalyzer: a Gateway server's tls.credentialName must name a TLS secret in
// the namespace of the Gateway's workload (the first Pod its selector matches) — IST0101
// "credentialName" — holding a certificate that parses and is valid now — else IST0161
// InvalidGatewayCredential. Secrets are Kubernetes Secrets in the files (their base64 `data`
// with `cert`/`key` or `tls.crt`/`tls.key`, as Istio's ExtractCertInfo reads them) and, with
// `--credentials-dir`, wasmesh's own layout `<dir>/<name>/tls.crt` and `tls.key` (which has no
// namespace). A selector matching no Pod is IST0101 "selector", as the port analyzer reports it.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { GatewaySpec } from '../istio-schemas.js';
import type { AnalysisInput, AnalysisResource } from './analysis-input.js';
import { ofKind } from './analysis-input.js';
import { firstSelectorKey, selectorMatches, selectorString } from './label-selector.js';
import { message, MESSAGES, type AnalysisMessage } from './message.js';
import { gatewayFullName } from './virtual-service-gateways.js';

export interface CredentialSource {
  /** wasmesh's `--credentials-dir`, when given. */
  credentialsDir?: string;
  /** The time certificates must be valid at. */
  now?: Date;
}

const isFile = (path: string): boolean => existsSync(path) && statSync(path).isFile();

/** The certificate PEM of a credential, null when there is none (absent), or '' when it has no certificate. */
function certificateOf(secret: AnalysisResource | undefined, name: string, dir: string | undefined): string | null {
  if (secret !== undefined) {
    const data = ((secret.spec as { data?: Record<string, unknown> }).data ?? {}) as Record<string, unknown>;
    const pick = (cert: string, key: string): string | null =>
      typeof data[cert] === 'string' && data[cert] !== '' && typeof data[key] === 'string' && data[key] !== '' ? Buffer.from(data[cert] as string, 'base64').toString('utf8') : null;
    return pick('cert', 'key') ?? pick('tls.crt', 'tls.key') ?? '';
  }
  if (dir !== undefined && !name.includes('/') && !name.includes('..')) {
    const crt = join(dir, name, 'tls.crt');
    if (isFile(crt) && isFile(join(dir, name, 'tls.key'))) return readFileSync(crt, 'utf8');
  }
  return null;
}

/** Istio's ValidateCertificate: the first PEM block parses as a certificate valid at `now`. */
export function certificateValid(pem: string, now: Date): boolean {
  const block = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(pem);
  if (block === null) return false;
  try {
    const cert = new X509Certificate(block[0]);
    return now.getTime() >= Date.parse(cert.validFrom) && now.getTime() <= Date.parse(cert.validTo);
  } catch {
    return false;
  }
}

export function gatewayCredentialMessages(input: AnalysisInput, source: CredentialSource = {}): AnalysisMessage[] {
  const pods = ofKind(input, 'Pod');
  const secrets = new Map(ofKind(input, 'Secret').map((s) => [`${s.namespace}/${s.name}`, s]));
  const now = source.now ?? new Date();
  const out: AnalysisMessage[] = [];
  for (const r of ofKind(input, 'Gateway')) {
    const gw = r.spec as GatewaySpec;
    const selector = gw.selector ?? {};
    const pod = pods.find((p) => selectorMatches(selector, p.labels));
    if (pod === undefined) {
      const printed = selectorString(selector);
      out.push(message(MESSAGES.ReferencedResourceNotFound, r.origin, r.fieldLine(['spec', 'selector', firstSelectorKey(printed)]), 'selector', printed));
      continue;
    }
    gw.servers.forEach((server, i) => {
      const cn = server.tls?.credentialName;
      if (!cn) return;
      const line = r.fieldLine(['spec', 'servers', i, 'tls', 'credentialName']);
      const pem = certificateOf(secrets.get(gatewayFullName(pod.namespace, cn)), cn, source.credentialsDir);
      if (pem === null) out.push(message(MESSAGES.ReferencedResourceNotFound, r.origin, line, 'credentialName', cn));
      else if (!certificateValid(pem, now)) out.push(message(MESSAGES.InvalidGatewayCredential, r.origin, line, r.name, pod.namespace));
    });
  }
  return out;
}

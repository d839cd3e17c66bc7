// A workload's identity as Istio names it: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>.
// Parsed strictly (the SPIFFE ID spec's character rules, Kubernetes' name rules for the namespace and
// the service account), because the CA signs exactly what this accepts and peers authorize on it.
import { IdentityError } from './identity-error.js';

/** Istio's default trust domain. */
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

export interface SpiffeId {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

const SCHEME = 'spiffe://';
/** The SPIFFE spec: a URI of at most 2048 bytes; a trust domain of at most 255. */
const MAX_ID_LENGTH = 2048;
const MAX_TRUST_DOMAIN_LENGTH = 255;
/** SPIFFE trust domain characters: lowercase letters, digits, dot, dash, underscore. */
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
/** A Kubernetes namespace: an RFC 1123 label. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A Kubernetes service account name: an RFC 1123 subdomain (labels joined by dots), ≤ 253. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Throws with the offending text quoted and the character offset where it goes wrong. */
function refuse(text: string, at: number, why: string): never {
  const shown = text.length > 120 ? `${text.slice(0, 117)}...` : text;
  throw new IdentityError('spiffe_id_invalid', `"${shown}" is not a SPIFFE ID: ${why} (at offset ${at}; expected spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>)`);
}

/** The reason a trust domain is not valid, or null. Shared by the parser and the constructor. */
export function trustDomainProblem(td: string): string | null {
  if (td === '') return 'the trust domain is empty';
  if (td.length > MAX_TRUST_DOMAIN_LENGTH) return `the trust domain is longer than ${MAX_TRUST_DOMAIN_LENGTH} characters`;
  if (!TRUST_DOMAIN.test(td)) {
    const bad = [...td].find((c) => !TRUST_DOMAIN.test(c))!;
    return `the trust domain "${td}" holds "${bad}" (only lowercase letters, digits, ".", "-", "_"; no port, user or uppercase)`;
  }
  return null;
}

function namespaceProblem(ns: string): string | null {
  if (ns === '') return 'the namespace is empty';
  if (ns.length > 63) return `the namespace "${ns}" is longer than 63 characters`;
  if (!DNS1123_LABEL.test(ns)) return `the namespace "${ns}" is not a Kubernetes name (lowercase letters, digits and "-", starting and ending with a letter or digit)`;
  return null;
}

function serviceAccountProblem(sa: string): string | null {
  if (sa === '') return 'the service account is empty';
  if (sa.length > 253) return `the service account "${sa}" is longer than 253 characters`;
  if (!DNS1123_SUBDOMAIN.test(sa)) return `the service account "${sa}" is not a Kubernetes name (lowercase letters, digits, "-" and ".")`;
  return null;
}

/** A SpiffeId from its parts, each checked; throws IdentityError (spiffe_id_invalid). */
export function spiffeId(namespace: string, serviceAccount: string, trustDomain: string = DEFAULT_TRUST_DOMAIN): SpiffeId {
  const problem = trustDomainProblem(trustDomain) ?? namespaceProblem(namespace) ?? serviceAccountProblem(serviceAccount);
  if (problem !== null) throw new IdentityError('spiffe_id_invalid', `invalid workload identity: ${problem}`);
  return { trustDomain, namespace, serviceAccount };
}

/** Parses `spiffe://td/ns/<ns>/sa/<sa>`; throws IdentityError (spiffe_id_invalid) saying where. */
export function parseSpiffeId(text: string): SpiffeId {
  if (text.length > MAX_ID_LENGTH) refuse(text, MAX_ID_LENGTH, `longer than ${MAX_ID_LENGTH} characters`);
  // The scheme is case-sensitive in SPIFFE IDs: "SPIFFE://" is refused, not folded.
  if (!text.startsWith(SCHEME)) refuse(text, 0, 'it does not start with "spiffe://"');
  const slash = text.indexOf('/', SCHEME.length);
  const td = slash === -1 ? text.slice(SCHEME.length) : text.slice(SCHEME.length, slash);
  const tdProblem = trustDomainProblem(td);
  if (tdProblem !== null) refuse(text, SCHEME.length, tdProblem);
  if (slash === -1) refuse(text, text.length, 'no path after the trust domain');
  const path = text.slice(slash);
  for (const c of ['?', '#', '%']) {
    const i = text.indexOf(c);
    if (i !== -1) refuse(text, i, `"${c}" is not allowed (no query, fragment or percent-encoding)`);
  }
  const segments = path.slice(1).split('/');
  // Offsets of each segment, for the error location.
  let at = slash + 1;
  const offsets = segments.map((s) => {
    const o = at;
    at += s.length + 1;
    return o;
  });
  if (segments.length !== 4 || segments[0] !== 'ns' || segments[2] !== 'sa') {
    // Point at the first segment that is wrong: "ns", then "sa", then anything past the account.
    const wrong = segments[0] !== 'ns' ? 0 : segments.length < 3 ? segments.length : segments[2] !== 'sa' ? 2 : 4;
    refuse(text, offsets[wrong] ?? text.length, `the path "${path}" is not /ns/<namespace>/sa/<service-account>`);
  }
  const nsProblem = namespaceProblem(segments[1]!);
  if (nsProblem !== null) refuse(text, offsets[1]!, nsProblem);
  const saProblem = serviceAccountProblem(segments[3]!);
  if (saProblem !== null) refuse(text, offsets[3]!, saProblem);
  return { trustDomain: td, namespace: segments[1]!, serviceAccount: segments[3]! };
}

/** `spiffe://<td>/ns/<ns>/sa/<sa>`. */
export function formatSpiffeId(id: SpiffeId): string {
  return `${SCHEME}${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

export function sameSpiffeId(a: SpiffeId, b: SpiffeId): boolean {
  return a.trustDomain === b.trustDomain && a.namespace === b.namespace && a.serviceAccount === b.serviceAccount;
}

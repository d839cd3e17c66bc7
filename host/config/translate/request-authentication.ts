// RequestAuthentication (security.istio.io v1/v1beta1) → the jwtRules one proxy enforces
// (host/model/jwt-rules.ts). Every RequestAuthentication loaded is validated, whichever proxy
// this is (the files are shared by the mesh's proxies); the rules kept are those of the
// resources that select this proxy, as Istio scopes them: a policy in the root namespace without
// selector applies mesh-wide, one in a namespace to that namespace's workloads, a selector to the
// workloads whose labels it matches, a targetRef (kind Gateway) to that gateway's proxy.
import { createPublicKey } from 'node:crypto';
import type { ConfigIssue } from '../config-error.js';
import { issueAt, warningAt } from '../issue-location.js';
import type { SourcedResource } from '../read-resource.js';
import type { RequestAuthenticationSpec } from '../security-schemas.js';
import type { PathSegment } from '../yaml-source.js';
import { parseDuration } from '../../common/duration.js';
import { DEFAULT_JWKS_TIMEOUT_MS, DEFAULT_JWT_HEADERS, DEFAULT_JWT_PARAMS, type JwtRule } from '../../model/jwt-rules.js';

/** The proxy a set of rules is resolved for. */
export interface JwtProxy {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Gateway mode: the Gateway's `namespace/name`; undefined for a sidecar. */
  readonly gateway?: string;
  readonly rootNamespace: string;
}

type JwtRuleSpec = NonNullable<RequestAuthenticationSpec['jwtRules']>[number];

// RFC 7230 token characters: a header name Envoy would accept.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The jwtRules in effect for `proxy`, in load order; issues for every invalid rule of any resource. */
export function requestAuthenticationRules(resources: readonly SourcedResource[], proxy: JwtProxy, issues: ConfigIssue[], warnings: string[]): JwtRule[] {
  const out: JwtRule[] = [];
  for (const r of resources) {
    if (r.resource.kind !== 'RequestAuthentication') continue;
    const spec = r.resource.spec as RequestAuthenticationSpec;
    const before = issues.length;
    const rules = (spec.jwtRules ?? []).map((rule, i) => validRule(rule, r, ['spec', 'jwtRules', i], issues));
    const targetRefs = [...(spec.targetRef !== undefined ? [spec.targetRef] : []), ...(spec.targetRefs ?? [])];
    if (spec.selector !== undefined && targetRefs.length > 0) {
      issues.push(issueAt(r.ref, 'invalid_value', ['spec', spec.targetRef !== undefined ? 'targetRef' : 'targetRefs'], 'selector and targetRef(s) are exclusive (as Istio validates)'));
    }
    targetRefs.forEach((ref, i) => {
      const path: PathSegment[] = spec.targetRef !== undefined && i === 0 ? ['spec', 'targetRef'] : ['spec', 'targetRefs', spec.targetRef !== undefined ? i - 1 : i];
      if (ref.kind !== 'Gateway') warnings.push(warningAt(r.ref, [...path, 'kind'], `targetRef kind ${ref.kind}: only Gateway targets select a wasmesh proxy (its --gateway); this reference selects none`));
      if (ref.namespace !== undefined && ref.namespace !== r.resource.namespace) issues.push(issueAt(r.ref, 'invalid_value', [...path, 'namespace'], 'a targetRef must name a resource in the policy\'s own namespace (as Istio validates)'));
    });
    if (issues.length !== before) continue;
    if (!selects(r, spec, targetRefs, proxy)) continue;
    for (const rule of rules) if (rule !== null) out.push(rule);
  }
  return out;
}

function selects(r: SourcedResource, spec: RequestAuthenticationSpec, targetRefs: ReadonlyArray<{ kind: string; name: string }>, proxy: JwtProxy): boolean {
  const ns = r.resource.namespace;
  if (targetRefs.length > 0) {
    if (proxy.gateway === undefined) return false;
    return targetRefs.some((t) => t.kind === 'Gateway' && `${ns}/${t.name}` === proxy.gateway);
  }
  if (ns !== proxy.rootNamespace && ns !== proxy.namespace) return false;
  const match = spec.selector?.matchLabels;
  if (match === undefined) return true;
  // Istio: a selector in the root namespace selects workloads of every namespace.
  return Object.entries(match).every(([k, v]) => proxy.labels[k] === v);
}

function validRule(rule: JwtRuleSpec, r: SourcedResource, path: PathSegment[], issues: ConfigIssue[]): JwtRule | null {
  const before = issues.length;
  const bad = (field: PathSegment[], reason: string, code: 'invalid_value' | 'missing_field' | 'invalid_duration' = 'invalid_value'): void => {
    issues.push(issueAt(r.ref, code, [...path, ...field], reason));
  };
  const issuer = rule.issuer ?? '';
  if (issuer === '') bad(['issuer'], 'a jwtRule needs an issuer (the `iss` its tokens carry)', 'missing_field');
  (rule.audiences ?? []).forEach((a, i) => {
    if (a === '') bad(['audiences', i], 'an audience must not be empty');
  });
  let jwksUri: string | null = null;
  if (rule.jwks === undefined && rule.jwksUri !== undefined) {
    let url: URL | null = null;
    try {
      url = new URL(rule.jwksUri);
    } catch {
      bad(['jwksUri'], `"${rule.jwksUri}" is not a URL`);
    }
    if (url !== null && url.protocol !== 'http:' && url.protocol !== 'https:') bad(['jwksUri'], `scheme ${url.protocol.slice(0, -1)}: the key set is fetched over http or https`);
    else if (url !== null) jwksUri = url.href;
  }
  let jwks: string | null = null;
  if (rule.jwks !== undefined) {
    const reason = jwksProblem(rule.jwks);
    if (reason !== null) bad(['jwks'], `bad JWKS: ${reason}`);
    else jwks = rule.jwks;
  }
  if (rule.jwks === undefined && rule.jwksUri === undefined) {
    bad([], 'neither jwksUri nor jwks: OpenID discovery of the key set from the issuer is not supported, name jwksUri', 'missing_field');
  }
  (rule.fromHeaders ?? []).forEach((h, i) => {
    if (!HEADER_NAME.test(h.name)) bad(['fromHeaders', i, 'name'], `"${h.name}" is not a header name`);
  });
  (rule.fromParams ?? []).forEach((p, i) => {
    if (p === '') bad(['fromParams', i], 'a query parameter name must not be empty');
  });
  (rule.fromCookies ?? []).forEach((c, i) => {
    if (!HEADER_NAME.test(c)) bad(['fromCookies', i], `"${c}" is not a cookie name`);
  });
  if (rule.outputPayloadToHeader !== undefined && !HEADER_NAME.test(rule.outputPayloadToHeader)) bad(['outputPayloadToHeader'], `"${rule.outputPayloadToHeader}" is not a header name`);
  (rule.outputClaimToHeaders ?? []).forEach((c, i) => {
    if (!HEADER_NAME.test(c.header)) bad(['outputClaimToHeaders', i, 'header'], `"${c.header}" is not a header name`);
    if (c.claim === '') bad(['outputClaimToHeaders', i, 'claim'], 'the claim name must not be empty');
  });
  let timeoutMs = DEFAULT_JWKS_TIMEOUT_MS;
  if (rule.timeout !== undefined) {
    const d = parseDuration(rule.timeout);
    if (!d.ok) bad(['timeout'], d.reason, 'invalid_duration');
    else if (d.ms <= 0) bad(['timeout'], 'the JWKS fetch timeout must be above 0');
    else timeoutMs = d.ms;
  }
  if (issues.length !== before) return null;
  const headers = (rule.fromHeaders ?? []).map((h) => ({ name: h.name.toLowerCase(), prefix: h.prefix ?? '' }));
  const params = rule.fromParams ?? [];
  const cookies = rule.fromCookies ?? [];
  const noLocation = headers.length === 0 && params.length === 0 && cookies.length === 0;
  return {
    source: `${r.resource.namespace}/${r.resource.name}`,
    issuer,
    audiences: rule.audiences ?? [],
    jwksUri,
    jwks,
    fromHeaders: noLocation ? DEFAULT_JWT_HEADERS : headers,
    fromParams: noLocation ? DEFAULT_JWT_PARAMS : params,
    fromCookies: cookies,
    outputPayloadToHeader: rule.outputPayloadToHeader?.toLowerCase() ?? null,
    outputClaimToHeaders: (rule.outputClaimToHeaders ?? []).map((c) => ({ header: c.header.toLowerCase(), claim: c.claim })),
    forwardOriginalToken: rule.forwardOriginalToken === true,
    timeoutMs,
  };
}

/**
 * Why an inline JWKS cannot verify anything, or null: JSON with a `keys` array whose every key
 * is a public key node's crypto imports (the same import jose makes when verifying; synchronous
 * here because loading is), or an oct key with its secret. An asymmetric private key is refused.
 */
export function jwksProblem(text: string): string | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { keys?: unknown }).keys)) return 'no "keys" array';
  const keys = (doc as { keys: unknown[] }).keys;
  if (keys.length === 0) return '"keys" is empty';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as Record<string, unknown>;
    if (typeof k !== 'object' || k === null) return `keys[${i}] is not an object`;
    // Envoy verifies HS256/384/512 with oct keys: accepted, with their secret.
    if (k.kty === 'oct') {
      if (typeof k.k !== 'string' || k.k === '') return `keys[${i}] (kty oct) has no "k"`;
      continue;
    }
    if ('d' in k) return `keys[${i}] is a private key`;
    try {
      createPublicKey({ key: k as never, format: 'jwk' });
    } catch (err) {
      return `keys[${i}] (kty ${String(k.kty)}) does not import: ${(err as Error).message}`;
    }
  }
  return null;
}

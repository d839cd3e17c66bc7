// A straightforward TypeScript evaluator of the authorization model (host/model/authorization.ts),
// written from Istio's documented semantics without the core's table or tricks, for the
// differential test against assembly/authz (test/core/authz/differential.test.ts).
import type { AuthzAttribute, AuthzField, AuthzPolicy, AuthzRule, AuthzValue } from '../../host/model/authorization.js';
import type { AuthzRequest } from '../../host/core/authz/authz-table.js';
import { ipBytes } from '../../host/common/ip-bytes.js';

export interface ReferenceResult {
  denied: boolean;
  /** The deciding policy (DENY matched, ALLOW matched), -1 when none. */
  policy: number;
  rule: number;
  custom: number;
  /** 0 no dry-run policy, 1 shadow allowed, 2 shadow denied. */
  shadow: 0 | 1 | 2;
  shadowPolicy: number;
  audit: number;
}

const PCHAR = "[A-Za-z0-9\\-._~%!$&'()+,;:@=]";

function templateRegex(t: string): RegExp {
  let re = '';
  for (let i = 0; i < t.length; ) {
    if (t.startsWith('{**}', i)) {
      re += `(?:${PCHAR}|/)*`;
      i += 4;
    } else if (t.startsWith('{*}', i)) {
      re += `${PCHAR}+`;
      i += 3;
    } else {
      re += t[i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i++;
    }
  }
  return new RegExp(`^${re}$`, 's');
}

function namespaceOf(principal: string): string | null {
  const m = /\/ns\/([^/]*)\//.exec(principal);
  return m ? m[1]! : null;
}

function claim(claims: Readonly<Record<string, unknown>>, path: readonly string[]): string[] {
  let v: unknown = claims;
  for (const k of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return [];
    v = (v as Record<string, unknown>)[k];
  }
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

/** The attribute's values for the request (none when absent). */
function valuesOf(r: AuthzRequest, attr: AuthzAttribute, key: readonly string[] | undefined): Array<string | number | Uint8Array> {
  const auth = r.auth ?? null;
  const opt = (s: string | null | undefined): string[] => (s === null || s === undefined ? [] : [s]);
  const ip = (s: string | null | undefined): Uint8Array[] => {
    const b = s ? ipBytes(s) : null;
    return b ? [b] : [];
  };
  switch (attr) {
    case 'source.principal': return opt(r.principal);
    case 'source.namespace': return r.principal ? opt(namespaceOf(r.principal)) : [];
    case 'source.ip': return ip(r.sourceIp);
    case 'remote.ip': return ip(r.remoteIp);
    case 'destination.ip': return ip(r.destinationIp);
    case 'destination.port': return r.destinationPort === null || r.destinationPort === undefined || r.destinationPort < 0 ? [] : [r.destinationPort];
    case 'connection.sni': return opt(r.sni);
    case 'request.auth.principal': return auth ? [auth.principal] : [];
    case 'request.auth.audiences': return auth ? [...auth.audiences] : [];
    case 'request.auth.presenter': return auth && auth.presenter !== '' ? [auth.presenter] : [];
    case 'request.auth.claims': return auth ? claim(auth.claims, key!) : [];
    case 'request.headers': return (r.headers ?? []).filter(([n]) => n === key![0]!.toLowerCase()).map(([, v]) => v);
    case 'request.host': return [r.authority];
    case 'request.method': return [r.method];
    case 'request.path': {
      const q = r.path.search(/[?#]/);
      return [q < 0 ? r.path : r.path.slice(0, q)];
    }
  }
}

function bytesOf(s: string): string {
  return Buffer.from(s, 'utf8').toString('latin1');
}

function valueMatches(attr: AuthzAttribute, actual: string | number | Uint8Array, v: AuthzValue): boolean {
  if (v.kind === 'port') return actual === v.port;
  if (v.kind === 'cidr') {
    if (!(actual instanceof Uint8Array)) return false;
    let net = ipBytes(v.address)!;
    let bits = v.prefixLength;
    if (net.length === 4 && v.address.includes(':')) {
      if (bits < 96) net = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...net]);
      else bits -= 96;
    }
    if (net.length !== actual.length) return false;
    for (let i = 0; i < bits; i++) {
      const m = 0x80 >> (i & 7);
      if ((net[i >> 3]! & m) !== (actual[i >> 3]! & m)) return false;
    }
    return true;
  }
  if (typeof actual !== 'string') return false;
  // Compared as bytes (UTF-8 of the value; request fields are bytes already).
  const fold = attr === 'request.host';
  const a = fold ? actual.replace(/[A-Z]/g, (c) => c.toLowerCase()) : actual;
  const val = (s: string): string => bytesOf(fold ? s.replace(/[A-Z]/g, (c) => c.toLowerCase()) : s);
  const isView = attr === 'request.host' || attr === 'request.headers' || attr === 'request.method' || attr === 'request.path';
  const ab = isView ? a : bytesOf(a);
  switch (v.kind) {
    case 'exact': return ab === val(v.value);
    case 'prefix': return ab.startsWith(val(v.value));
    case 'suffix': return ab.endsWith(val(v.value));
    case 'presence': return attr === 'request.headers' || attr === 'request.host' ? true : ab.length > 0;
    case 'template': return templateRegex(bytesOf(v.value)).test(ab);
  }
}

function fieldHolds(r: AuthzRequest, f: AuthzField): boolean {
  const actual = valuesOf(r, f.attribute, f.key);
  const any = (vs: readonly AuthzValue[]): boolean => actual.some((a) => vs.some((v) => valueMatches(f.attribute, a, v)));
  if (f.values.length > 0 && !any(f.values)) return false;
  if (f.notValues.length > 0 && any(f.notValues)) return false;
  return true;
}

function ruleHolds(r: AuthzRequest, rule: AuthzRule): boolean {
  const clause = (c: readonly AuthzField[]): boolean => c.every((f) => fieldHolds(r, f));
  return (rule.from.length === 0 || rule.from.some(clause)) && (rule.to.length === 0 || rule.to.some(clause)) && rule.when.every((f) => fieldHolds(r, f));
}

/** Istio's evaluation: CUSTOM, DENY, ALLOW; dry-run and AUDIT apart. */
export function referenceEvaluate(policies: readonly AuthzPolicy[], r: AuthzRequest): ReferenceResult {
  const first = (pred: (p: AuthzPolicy) => boolean): { policy: number; rule: number; present: boolean } => {
    let present = false;
    for (let i = 0; i < policies.length; i++) {
      const p = policies[i]!;
      if (!pred(p)) continue;
      present = true;
      const rule = p.rules.findIndex((x) => ruleHolds(r, x));
      if (rule >= 0) return { policy: i, rule, present };
    }
    return { policy: -1, rule: -1, present };
  };
  const custom = first((p) => p.action === 'CUSTOM' && !p.dryRun);
  const deny = first((p) => p.action === 'DENY' && !p.dryRun);
  let denied: boolean;
  let policy: number;
  let rule: number;
  if (deny.policy >= 0) [denied, policy, rule] = [true, deny.policy, deny.rule];
  else {
    const allow = first((p) => p.action === 'ALLOW' && !p.dryRun);
    [denied, policy, rule] = [allow.policy < 0 && allow.present, allow.policy, allow.rule];
  }
  const sdeny = first((p) => p.action === 'DENY' && p.dryRun);
  let shadow: 0 | 1 | 2;
  let shadowPolicy: number;
  if (sdeny.policy >= 0) [shadow, shadowPolicy] = [2, sdeny.policy];
  else {
    const sallow = first((p) => p.action === 'ALLOW' && p.dryRun);
    shadow = !sdeny.present && !sallow.present ? 0 : sallow.policy < 0 && sallow.present ? 2 : 1;
    shadowPolicy = sallow.policy;
  }
  const audit = first((p) => p.action === 'AUDIT').policy;
  return { denied, policy, rule, custom: custom.policy, shadow, shadowPolicy, audit };
}

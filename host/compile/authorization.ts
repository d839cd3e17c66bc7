// Compiles one proxy's AuthorizationPolicies (host/model/authorization.ts) into the core's
// binary authorization table. The format is documented once, atop assembly/authz/table.ts;
// the constants below mirror it. Pure: model in, bytes out, no Wasm; bad input throws
// AuthzCompileError naming the policy and the field.
import type { AuthzAction, AuthzAttribute, AuthzField, AuthzPolicy, AuthzValue } from '../model/authorization.js';
import { ipBytes } from '../common/ip-bytes.js';
import { asciiLower } from './route-table.js';

// ── Format mirror (assembly/authz/table.ts) ────────────────────────────────────────────
export const AZ_MAGIC = 0x5a414d57;
export const AZ_FORMAT = 1;
export const AZ_HEADER_SIZE = 104;
export const AH = {
  MAGIC: 0, FORMAT: 4, LENGTH: 8, POLICY_COUNT: 12, POLICIES: 16, RULE_COUNT: 20, RULES: 24,
  CLAUSE_COUNT: 28, CLAUSES: 32, FIELD_COUNT: 36, FIELDS: 40, VALUE_COUNT: 44, VALUES: 48,
  POOL: 52, POOL_LEN: 56, ATTR_MASK: 60, CLAIM_COUNT: 64, ORDER: 68, GROUPS: 72,
} as const;
/** Evaluation groups (assembly/authz/table.ts): CUSTOM, DENY, ALLOW, DENY dry-run, ALLOW dry-run, AUDIT. */
export function policyGroup(p: { action: AuthzAction; dryRun: boolean }): number | null {
  if (p.action === 'AUDIT') return 5;
  if (p.action === 'CUSTOM') return p.dryRun ? null : 0;
  if (p.action === 'DENY') return p.dryRun ? 3 : 1;
  return p.dryRun ? 4 : 2;
}
/**
 * What an RBAC filter over these policies is, as Istio builds it: `enforcing` when some ALLOW or
 * DENY policy is not dry-run (rbac.allowed/denied counted), `auditing` when some policy is AUDIT.
 */
export function rbacFilterKinds(policies: ReadonlyArray<{ readonly action: AuthzAction; readonly dryRun: boolean }>): { enforcing: boolean; auditing: boolean } {
  return {
    enforcing: policies.some((p) => !p.dryRun && (p.action === 'ALLOW' || p.action === 'DENY')),
    auditing: policies.some((p) => p.action === 'AUDIT'),
  };
}
export const POLICY_SIZE = 16;
export const RULE_SIZE = 24;
export const CLAUSE_SIZE = 8;
export const FIELD_SIZE = 24;
export const VALUE_SIZE = 16;
export const DRY_RUN = 0x100;

export const ACTION: Record<AuthzAction, number> = { ALLOW: 0, DENY: 1, AUDIT: 2, CUSTOM: 3 };

/** Attribute codes (assembly/authz/table.ts Attr; also the attribute region's keys). */
export const ATTR: Record<AuthzAttribute, number> = {
  'source.principal': 0,
  'source.namespace': 1,
  'source.ip': 2,
  'remote.ip': 3,
  'request.auth.principal': 4,
  'request.auth.audiences': 5,
  'request.auth.presenter': 6,
  'request.auth.claims': 7,
  'request.headers': 8,
  'request.host': 9,
  'request.method': 10,
  'request.path': 11,
  'destination.ip': 12,
  'destination.port': 13,
  'connection.sni': 14,
};

export const KIND: Record<AuthzValue['kind'], number> = { exact: 0, prefix: 1, suffix: 2, presence: 3, template: 4, cidr: 5, port: 6 };

export type AuthzCompileErrorCode =
  /** A value kind the attribute does not take (a CIDR for a path, a template for a header). */
  | 'unsupported_value'
  /** A path template that is not Istio's (`{*}` a whole segment, `{**}` only last). */
  | 'invalid_template'
  /** A CIDR whose address or prefix length is not one. */
  | 'invalid_cidr'
  /** A port outside 0..65535. */
  | 'invalid_port'
  /** request.headers without a header name, request.auth.claims without a claim path. */
  | 'missing_key'
  /** A string or table above the format's u32 limits. */
  | 'table_too_large';

export class AuthzCompileError extends Error {
  readonly code: AuthzCompileErrorCode;
  /** The policy (`namespace/name`). */
  readonly policy: string;
  /** Where in it: `rules[0].to[1].paths[2]`-like. */
  readonly field: string;
  constructor(code: AuthzCompileErrorCode, policy: string, field: string, reason: string) {
    super(`AuthorizationPolicy ${policy}: ${field}: ${reason} (${code})`);
    this.name = 'AuthzCompileError';
    this.code = code;
    this.policy = policy;
    this.field = field;
  }
}

/** The table and what the host needs beside it to fill the attribute region. */
export interface CompiledAuthorization {
  readonly bytes: Uint8Array;
  /** Bit `1 << ATTR[a]` for every attribute some field reads. */
  readonly attrMask: number;
  /** The request.auth.claims paths the table reads, by claim index. */
  readonly claimPaths: ReadonlyArray<readonly string[]>;
  /** Each policy's name and action, by table index (the model's order). */
  readonly policies: ReadonlyArray<{ readonly name: string; readonly action: AuthzAction; readonly dryRun: boolean; readonly provider: string | null }>;
}

const encoder = new TextEncoder();

/** Istio's template literal: RFC 3986 pchars (the bytes Envoy's `{*}` matches). */
const PCHARS = /^[a-zA-Z0-9\-._~%!$&'()+,;:@=]*$/;

/**
 * Istio's path template: `/`-separated segments, each `{*}`, `{**}` (only the last) or a literal
 * of pchars; null when valid, else why not.
 */
function checkTemplate(t: string): string | null {
  if (!t.startsWith('/')) return 'must start with `/`';
  const segs = t.slice(1).split('/');
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    if (s === '{*}') continue;
    if (s === '{**}') {
      if (i !== segs.length - 1) return '`{**}` must be the last segment';
      continue;
    }
    if (s.includes('{') || s.includes('}')) return `segment ${JSON.stringify(s)}: \`{*}\` and \`{**}\` must be whole segments, and no other \`{…}\` is an operator`;
    if (!PCHARS.test(s)) return `segment ${JSON.stringify(s)} holds a character that is not an RFC 3986 pchar`;
  }
  return null;
}

const ADDRESS_ATTRS = new Set<AuthzAttribute>(['source.ip', 'remote.ip', 'destination.ip']);

/** Compiles `policies` (in the model's order) into the core's table. */
export function compileAuthorization(policies: readonly AuthzPolicy[]): CompiledAuthorization {
  const pool: Uint8Array[] = [];
  const poolIndex = new Map<string, [number, number]>();
  let poolLen = 0;
  const addBytes = (key: string, bytes: Uint8Array): [number, number] => {
    const known = poolIndex.get(key);
    if (known) return known;
    const span: [number, number] = [poolLen, bytes.length];
    poolIndex.set(key, span);
    pool.push(bytes);
    poolLen += bytes.length;
    return span;
  };
  const addString = (s: string): [number, number] => addBytes('s' + s, encoder.encode(s));

  const policyRecs: number[] = [];
  const ruleRecs: number[] = [];
  const clauseRecs: number[] = [];
  const fieldRecs: number[] = []; // attrWord, keyOff (pool-relative or claim), keyLen, firstValue, valueCount, notCount, isHeader
  const valueRecs: number[] = []; // kind, off (pool-relative), len, aux, hasString
  const claimIndex = new Map<string, number>();
  const claimPaths: string[][] = [];
  let attrMask = 0;

  const value = (p: AuthzPolicy, where: string, attr: AuthzAttribute, v: AuthzValue): void => {
    const bad = (code: AuthzCompileErrorCode, why: string): never => {
      throw new AuthzCompileError(code, p.name, where, why);
    };
    const isAddress = ADDRESS_ATTRS.has(attr);
    if (isAddress !== (v.kind === 'cidr')) bad('unsupported_value', isAddress ? `${attr} takes address blocks only, not a ${v.kind} value` : `a CIDR applies to source.ip, remote.ip and destination.ip, not ${attr}`);
    if ((attr === 'destination.port') !== (v.kind === 'port')) bad('unsupported_value', attr === 'destination.port' ? `${attr} takes ports only, not a ${v.kind} value` : `a port applies to destination.port only, not ${attr}`);
    if (v.kind === 'template' && attr !== 'request.path') bad('unsupported_value', `a path template applies to request.path only, not ${attr}`);
    switch (v.kind) {
      case 'exact':
      case 'prefix':
      case 'suffix': {
        const s = attr === 'request.host' ? asciiLower(v.value) : v.value;
        const [off, len] = addString(s);
        valueRecs.push(KIND[v.kind], off, len, 0, 1);
        return;
      }
      case 'presence':
        valueRecs.push(KIND.presence, 0, 0, 0, 1);
        return;
      case 'template': {
        const why = checkTemplate(v.value);
        if (why !== null) bad('invalid_template', `path template ${JSON.stringify(v.value)} ${why}`);
        const [off, len] = addString(v.value);
        valueRecs.push(KIND.template, off, len, 0, 1);
        return;
      }
      case 'cidr': {
        let bytes = ipBytes(v.address);
        let prefix = v.prefixLength;
        if (bytes === null) return bad('invalid_cidr', `${JSON.stringify(v.address)} is not an IP address`);
        // An IPv4-mapped IPv6 block is read as the IPv4 block it maps (ipBytes wrote 4 bytes).
        if (bytes.length === 4 && v.address.includes(':')) {
          if (prefix < 96) bytes = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...bytes]);
          else prefix -= 96;
        }
        if (!Number.isInteger(prefix) || prefix < 0 || prefix > bytes.length * 8) bad('invalid_cidr', `prefix length ${v.prefixLength} is outside 0..${bytes.length * 8} for ${v.address}`);
        const [off, len] = addBytes('a' + Array.from(bytes).join('.'), bytes);
        valueRecs.push(KIND.cidr, off, len, prefix, 1);
        return;
      }
      case 'port':
        if (!Number.isInteger(v.port) || v.port < 0 || v.port > 65535) bad('invalid_port', `port ${v.port} is outside 0..65535`);
        valueRecs.push(KIND.port, 0, 0, v.port, 0);
        return;
    }
  };

  const field = (p: AuthzPolicy, where: string, f: AuthzField): void => {
    const code = ATTR[f.attribute];
    if (code === undefined) throw new AuthzCompileError('unsupported_value', p.name, where, `unknown attribute ${JSON.stringify(f.attribute)}`);
    attrMask |= 1 << code;
    let word = code;
    let keyOff = 0;
    let keyLen = 0;
    let keyInPool = 0;
    if (f.attribute === 'request.headers') {
      const name = f.key?.[0];
      if (name === undefined || name === '' || f.key!.length !== 1) throw new AuthzCompileError('missing_key', p.name, where, 'request.headers needs one header name');
      [keyOff, keyLen] = addString(asciiLower(name));
      keyInPool = 1;
    } else if (f.attribute === 'request.auth.claims') {
      const path = f.key ?? [];
      if (path.length === 0 || path.some((k) => k === '')) throw new AuthzCompileError('missing_key', p.name, where, 'request.auth.claims needs a claim name');
      const k = JSON.stringify(path);
      let i = claimIndex.get(k);
      if (i === undefined) {
        i = claimPaths.length;
        claimIndex.set(k, i);
        claimPaths.push([...path]);
      }
      word |= i << 8;
    }
    const first = valueRecs.length / 5;
    f.values.forEach((v, i) => value(p, `${where}.values[${i}]`, f.attribute, v));
    f.notValues.forEach((v, i) => value(p, `${where}.notValues[${i}]`, f.attribute, v));
    fieldRecs.push(word, keyOff, keyLen, first, f.values.length, f.notValues.length, keyInPool);
  };

  policies.forEach((p, pi) => {
    policyRecs.push(ACTION[p.action] | (p.dryRun ? DRY_RUN : 0), ruleRecs.length / 6, p.rules.length);
    p.rules.forEach((r, ri) => {
      const at = `rules[${ri}]`;
      const firstFrom = clauseRecs.length / 2;
      const clause = (c: readonly AuthzField[], where: string): void => {
        const first = fieldRecs.length / 7;
        c.forEach((f, fi) => field(p, `${where}[${fi}]`, f));
        clauseRecs.push(first, c.length);
      };
      r.from.forEach((c, ci) => clause(c, `${at}.from[${ci}]`));
      r.to.forEach((c, ci) => clause(c, `${at}.to[${ci}]`));
      const firstWhen = fieldRecs.length / 7;
      r.when.forEach((f, fi) => field(p, `${at}.when[${fi}]`, f));
      ruleRecs.push(firstFrom, r.from.length, firstFrom + r.from.length, r.to.length, firstWhen, r.when.length);
    });
    void pi;
  });

  // Evaluation groups, each in model order (a dry-run CUSTOM policy is in none).
  const groups: number[][] = [[], [], [], [], [], []];
  policies.forEach((p, i) => {
    const g = policyGroup(p);
    if (g !== null) groups[g]!.push(i);
  });
  const order = groups.flat();
  // Layout: header, policies, order, rules, clauses, fields, values, pool.
  const policyCount = policyRecs.length / 3;
  const ruleCount = ruleRecs.length / 6;
  const clauseCount = clauseRecs.length / 2;
  const fieldCount = fieldRecs.length / 7;
  const valueCount = valueRecs.length / 5;
  const policiesOff = AZ_HEADER_SIZE;
  const orderOff = policiesOff + policyCount * POLICY_SIZE;
  const rulesOff = orderOff + order.length * 4;
  const clausesOff = rulesOff + ruleCount * RULE_SIZE;
  const fieldsOff = clausesOff + clauseCount * CLAUSE_SIZE;
  const valuesOff = fieldsOff + fieldCount * FIELD_SIZE;
  const poolOff = valuesOff + valueCount * VALUE_SIZE;
  const total = (poolOff + poolLen + 3) & ~3;
  if (total > 0x7fffffff) throw new AuthzCompileError('table_too_large', policies[0]?.name ?? '-', '-', `the table would take ${total} bytes`);
  const bytes = new Uint8Array(total);
  const dv = new DataView(bytes.buffer);
  const u32 = (off: number, v: number): void => dv.setUint32(off, v >>> 0, true);
  u32(AH.MAGIC, AZ_MAGIC);
  u32(AH.FORMAT, AZ_FORMAT);
  u32(AH.LENGTH, total);
  u32(AH.POLICY_COUNT, policyCount);
  u32(AH.POLICIES, policiesOff);
  u32(AH.RULE_COUNT, ruleCount);
  u32(AH.RULES, rulesOff);
  u32(AH.CLAUSE_COUNT, clauseCount);
  u32(AH.CLAUSES, clausesOff);
  u32(AH.FIELD_COUNT, fieldCount);
  u32(AH.FIELDS, fieldsOff);
  u32(AH.VALUE_COUNT, valueCount);
  u32(AH.VALUES, valuesOff);
  u32(AH.POOL, poolOff);
  u32(AH.POOL_LEN, poolLen);
  u32(AH.ATTR_MASK, attrMask);
  u32(AH.CLAIM_COUNT, claimPaths.length);
  u32(AH.ORDER, orderOff);
  let bound = 0;
  for (let g = 0; g <= groups.length; g++) {
    u32(AH.GROUPS + g * 4, bound);
    if (g < groups.length) bound += groups[g]!.length;
  }
  order.forEach((p, i) => u32(orderOff + i * 4, p));
  for (let i = 0; i < policyCount; i++) {
    const o = policiesOff + i * POLICY_SIZE;
    u32(o, policyRecs[i * 3]!);
    u32(o + 4, policyRecs[i * 3 + 1]!);
    u32(o + 8, policyRecs[i * 3 + 2]!);
  }
  for (let i = 0; i < ruleRecs.length; i++) u32(rulesOff + i * 4, ruleRecs[i]!);
  for (let i = 0; i < clauseRecs.length; i++) u32(clausesOff + i * 4, clauseRecs[i]!);
  for (let i = 0; i < fieldCount; i++) {
    const o = fieldsOff + i * FIELD_SIZE;
    const r = i * 7;
    const inPool = fieldRecs[r + 6] === 1;
    u32(o, fieldRecs[r]!);
    u32(o + 4, inPool ? poolOff + fieldRecs[r + 1]! : 0);
    u32(o + 8, fieldRecs[r + 2]!);
    u32(o + 12, fieldRecs[r + 3]!);
    u32(o + 16, fieldRecs[r + 4]!);
    u32(o + 20, fieldRecs[r + 5]!);
  }
  for (let i = 0; i < valueCount; i++) {
    const o = valuesOff + i * VALUE_SIZE;
    const r = i * 5;
    bytes[o] = valueRecs[r]!;
    // Strings point into the pool; a port's (and presence's) span is the pool's start, empty.
    u32(o + 4, poolOff + (valueRecs[r + 4] === 1 ? valueRecs[r + 1]! : 0));
    u32(o + 8, valueRecs[r + 2]!);
    u32(o + 12, valueRecs[r + 3]!);
  }
  let at = poolOff;
  for (const chunk of pool) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return {
    bytes,
    attrMask,
    claimPaths,
    policies: policies.map((p) => ({ name: p.name, action: p.action, dryRun: p.dryRun, provider: p.provider })),
  };
}

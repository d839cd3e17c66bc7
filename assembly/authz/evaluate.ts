// Istio's evaluation of one proxy's AuthorizationPolicies for one request: CUSTOM first (which
// policy, hence which provider, the host must ask), then DENY (any match denies), then ALLOW
// (no ALLOW policy: allowed; ALLOW policies and none matched: denied); AUDIT and dry-run
// policies apart, as Envoy's shadow rules. Writes the outcome into a result region and
// allocates nothing.
//
// A connection (Envoy's RBAC *network* filter, a TCP connection with no HTTP request) is the
// same evaluation over the same table with the HTTP-only attributes (request.auth.*,
// request.headers, hosts, methods, paths) unavailable. Istio's builder (pilot/pkg/security/
// authz/model: rule.checkError) decides what a field over them means there: in an ALLOW policy
// the rule holding it never matches (a smaller allow), in every other action (DENY, AUDIT,
// CUSTOM) the field is dropped, so the rule matches more (fail closed). In Istio an ALLOW rule
// is skipped as a whole when any of its sources, operations or conditions holds such a field
// (Generate fails for the rule), not just the clause holding it. The type parameter says
// which mode is evaluated (ForRequest or ForConnection, below).
import { RV_PATH_PTR, RV_PATH_LEN } from '../abi';
import { pathLength } from '../route/condition';
import { fieldHolds } from './match';
import {
  AH_POLICIES, AH_RULES, AH_CLAUSES, AH_FIELDS, AH_ORDER, AH_GROUPS, POLICY_SIZE,
  PO_FIRST_RULE, PO_RULE_COUNT, RULE_SIZE, RU_FIRST_FROM, RU_FROM_COUNT, RU_FIRST_TO,
  RU_TO_COUNT, RU_FIRST_WHEN, RU_WHEN_COUNT, CLAUSE_SIZE, CL_FIRST_FIELD, CL_FIELD_COUNT,
  FIELD_SIZE, FI_ATTR, Attr, G_CUSTOM, G_DENY, G_ALLOW, G_DENY_DRY, G_ALLOW_DRY, G_AUDIT, at, rec,
} from './table';

// Result region (i32 each), at the address the host passes:
export const RS_DECISION: u32 = 0; // 0 allowed, 1 denied
export const RS_POLICY: u32 = 4; // the deciding policy (DENY matched, ALLOW matched) or -1
export const RS_RULE: u32 = 8; // its matching rule, or -1
export const RS_CUSTOM_POLICY: u32 = 12; // the first CUSTOM policy that matched, or -1
export const RS_CUSTOM_RULE: u32 = 16;
export const RS_SHADOW: u32 = 20; // 0 no dry-run policy, 1 shadow allowed, 2 shadow denied
export const RS_SHADOW_POLICY: u32 = 24; // the dry-run policy that decided the shadow result, or -1
export const RS_SHADOW_RULE: u32 = 28;
export const RS_AUDIT_POLICY: u32 = 32; // the first AUDIT policy that matched, or -1
export const RS_AUDIT_RULE: u32 = 36;
export const RS_SIZE: u32 = 40;

/** Bits of authz_evaluate's return value (the same facts as the result region). */
export const EV_DENIED: u32 = 1;
export const EV_CUSTOM: u32 = 2;
export const EV_SHADOW_ALLOWED: u32 = 4;
export const EV_SHADOW_DENIED: u32 = 8;
export const EV_AUDIT: u32 = 16;

/**
 * The evaluation's mode, as a type parameter: each mode is compiled on its own, so a request's
 * evaluation carries no test of the mode (the connection's checks are folded away at compile
 * time). A connection skips, in ALLOW groups, every rule holding an HTTP-only field, and drops
 * such a field elsewhere.
 */
export type ForRequest = u8;
export type ForConnection = u16;

@inline function isConnection<M>(): bool {
  return sizeof<M>() == 2;
}

/** The attributes a connection does not have (bit `1 << Attr`): request.auth.*, headers, host, method, path. */
const HTTP_ONLY: u32 = (1 << Attr.AuthPrincipal) | (1 << Attr.AuthAudiences) | (1 << Attr.AuthPresenter) | (1 << Attr.AuthClaims)
  | (1 << Attr.RequestHeaders) | (1 << Attr.RequestHost) | (1 << Attr.RequestMethod) | (1 << Attr.RequestPath);

/** Every field from `first` holds (AND)? */
function allFields<M>(t: usize, first: u32, n: u32, rv: usize, attrs: usize, pathLen: usize): bool {
  let f = rec(t, AH_FIELDS, first, FIELD_SIZE);
  for (let i: u32 = 0; i < n; i++, f += <usize>FIELD_SIZE) {
    // A connection: an HTTP-only field is dropped (ALLOW rules holding one never get here).
    if (isConnection<M>() && isHttpOnly(f)) continue;
    if (!fieldHolds(t, f, rv, attrs, pathLen)) return false;
  }
  return true;
}

@inline function isHttpOnly(f: usize): bool {
  return ((HTTP_ONLY >> (load<u32>(f + FI_ATTR) & 0xff)) & 1) != 0;
}

/** Does some field of the `n` fields from `first` read an HTTP-only attribute? */
function fieldsReadHttp(t: usize, first: u32, n: u32): bool {
  let f = rec(t, AH_FIELDS, first, FIELD_SIZE);
  for (let i: u32 = 0; i < n; i++, f += <usize>FIELD_SIZE) if (isHttpOnly(f)) return true;
  return false;
}

/** Does some field of the `n` clauses from `first` read an HTTP-only attribute? */
function clausesReadHttp(t: usize, first: u32, n: u32): bool {
  let c = rec(t, AH_CLAUSES, first, CLAUSE_SIZE);
  for (let i: u32 = 0; i < n; i++, c += <usize>CLAUSE_SIZE) {
    if (fieldsReadHttp(t, load<u32>(c + CL_FIRST_FIELD), load<u32>(c + CL_FIELD_COUNT))) return true;
  }
  return false;
}

/** Does rule `r` read an HTTP-only attribute in its sources, operations or conditions? */
function ruleReadsHttp(t: usize, r: usize): bool {
  return clausesReadHttp(t, load<u32>(r + RU_FIRST_FROM), load<u32>(r + RU_FROM_COUNT))
    || clausesReadHttp(t, load<u32>(r + RU_FIRST_TO), load<u32>(r + RU_TO_COUNT))
    || fieldsReadHttp(t, load<u32>(r + RU_FIRST_WHEN), load<u32>(r + RU_WHEN_COUNT));
}

/** No clause, or any of the `n` clauses from `first` holding (OR of ANDs)? */
function anyClause<M>(t: usize, first: u32, n: u32, rv: usize, attrs: usize, pathLen: usize): bool {
  if (n == 0) return true;
  let c = rec(t, AH_CLAUSES, first, CLAUSE_SIZE);
  for (let i: u32 = 0; i < n; i++, c += <usize>CLAUSE_SIZE) {
    if (allFields<M>(t, load<u32>(c + CL_FIRST_FIELD), load<u32>(c + CL_FIELD_COUNT), rv, attrs, pathLen)) return true;
  }
  return false;
}

/**
 * The index (within the policy) of the first rule of policy `p` that matches, or -1;
 * `skipHttp` (a connection's ALLOW groups): rules holding an HTTP-only field never match.
 */
function matchingRule<M>(t: usize, p: usize, rv: usize, attrs: usize, pathLen: usize, skipHttp: bool): i32 {
  const n = load<u32>(p + PO_RULE_COUNT);
  let r = rec(t, AH_RULES, load<u32>(p + PO_FIRST_RULE), RULE_SIZE);
  for (let i: u32 = 0; i < n; i++, r += <usize>RULE_SIZE) {
    if (isConnection<M>() && skipHttp && ruleReadsHttp(t, r)) continue;
    if (anyClause<M>(t, load<u32>(r + RU_FIRST_FROM), load<u32>(r + RU_FROM_COUNT), rv, attrs, pathLen)
      && anyClause<M>(t, load<u32>(r + RU_FIRST_TO), load<u32>(r + RU_TO_COUNT), rv, attrs, pathLen)
      && allFields<M>(t, load<u32>(r + RU_FIRST_WHEN), load<u32>(r + RU_WHEN_COUNT), rv, attrs, pathLen)) return <i32>i;
  }
  return -1;
}

@inline function put(res: usize, off: u32, v: i32): void {
  store<i32>(res + <usize>off, v);
}

/**
 * First policy of group `g` (table.ts: CUSTOM, DENY, ALLOW, their dry-run, AUDIT) that
 * matches, in model order: (its index + 1) in the low half, its rule written at `ruleOff`;
 * 0 when none. The high half is 1 when the group has any policy. No allocation.
 */
function firstMatch<M>(t: usize, g: u32, rv: usize, attrs: usize, pathLen: usize, res: usize, ruleOff: u32): i64 {
  const skipHttp = isConnection<M>() && (g == G_ALLOW || g == G_ALLOW_DRY);
  const start = at(t, AH_GROUPS + g * 4);
  const end = at(t, AH_GROUPS + (g + 1) * 4);
  const present: i64 = end > start ? 1 : 0;
  let o = t + <usize>at(t, AH_ORDER) + <usize>start * 4;
  for (let i = start; i < end; i++, o += 4) {
    const index = load<u32>(o);
    const rule = matchingRule<M>(t, rec(t, AH_POLICIES, index, POLICY_SIZE), rv, attrs, pathLen, skipHttp);
    if (rule >= 0) {
      put(res, ruleOff, rule);
      return (<i64>index + 1) | (present << 32);
    }
  }
  put(res, ruleOff, -1);
  return present << 32;
}

/**
 * Evaluates table `t` (accepted by checkTable) for the request in the view at `rv` and the
 * attribute region at `attrs`; fills the result region at `res` and returns its EV_* bits.
 * `M`: ForRequest, or ForConnection for a TCP connection (no request: `rv` is not read;
 * HTTP-only fields as Istio builds them for its RBAC network filter, above).
 */
export function evaluate<M>(t: usize, rv: usize, attrs: usize, res: usize): u32 {
  const pathLen: usize = isConnection<M>() ? 0 : pathLength(<usize>load<u32>(rv + RV_PATH_PTR), <usize>load<u32>(rv + RV_PATH_LEN));
  let bits: u32 = 0;
  // CUSTOM (never dry-run: Istio's dry-run is for ALLOW and DENY).
  const custom = firstMatch<M>(t, G_CUSTOM, rv, attrs, pathLen, res, RS_CUSTOM_RULE);
  put(res, RS_CUSTOM_POLICY, <i32>(custom & 0xffffffff) - 1);
  if ((custom & 0xffffffff) != 0) bits |= EV_CUSTOM;
  // DENY, then ALLOW.
  const deny = firstMatch<M>(t, G_DENY, rv, attrs, pathLen, res, RS_RULE);
  if ((deny & 0xffffffff) != 0) {
    put(res, RS_DECISION, 1);
    put(res, RS_POLICY, <i32>(deny & 0xffffffff) - 1);
    bits |= EV_DENIED;
  } else {
    const allow = firstMatch<M>(t, G_ALLOW, rv, attrs, pathLen, res, RS_RULE);
    const matched = <i32>(allow & 0xffffffff) - 1;
    const denied = matched < 0 && (allow >> 32) != 0;
    put(res, RS_DECISION, denied ? 1 : 0);
    put(res, RS_POLICY, matched);
    if (denied) bits |= EV_DENIED;
  }
  // Shadow: the dry-run DENY and ALLOW policies, as if they were the only ones.
  const sdeny = firstMatch<M>(t, G_DENY_DRY, rv, attrs, pathLen, res, RS_SHADOW_RULE);
  if ((sdeny & 0xffffffff) != 0) {
    put(res, RS_SHADOW, 2);
    put(res, RS_SHADOW_POLICY, <i32>(sdeny & 0xffffffff) - 1);
    bits |= EV_SHADOW_DENIED;
  } else {
    const sallow = firstMatch<M>(t, G_ALLOW_DRY, rv, attrs, pathLen, res, RS_SHADOW_RULE);
    const matched = <i32>(sallow & 0xffffffff) - 1;
    const any = (sdeny >> 32) != 0 || (sallow >> 32) != 0;
    const denied = matched < 0 && (sallow >> 32) != 0;
    put(res, RS_SHADOW, !any ? 0 : denied ? 2 : 1);
    put(res, RS_SHADOW_POLICY, matched);
    if (any) bits |= denied ? EV_SHADOW_DENIED : EV_SHADOW_ALLOWED;
  }
  // AUDIT (dry-run or not: a policy that only logs).
  const audit = firstMatch<M>(t, G_AUDIT, rv, attrs, pathLen, res, RS_AUDIT_RULE);
  put(res, RS_AUDIT_POLICY, <i32>(audit & 0xffffffff) - 1);
  if ((audit & 0xffffffff) != 0) bits |= EV_AUDIT;
  return bits;
}

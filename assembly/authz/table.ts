// The binary authorization table: its format (documented once, here; mirrored by
// host/compile/authorization.ts) and the load-time check that makes every later read
// in-bounds, so the evaluator trusts the table and never traps on a bad one.
//
// ── Format, version 1 ───────────────────────────────────────────────────────────────────
// One position-independent blob, written by the host compiler and copied into linear memory
// at an address `t` (from `alloc`). All integers are little-endian u32; every *Off is a byte
// offset from `t`, 4-byte aligned. The table holds one proxy's AuthorizationPolicies in the
// model's order (host/model/authorization.ts); a policy's index here is its index there.
//
// Header (HEADER_SIZE = 104 bytes):
//    0 magic 0x5A414D57 ("WMAZ")   4 format version (1)   8 byteLength of the blob
//   12 policyCount  16 policiesOff   20 ruleCount   24 rulesOff
//   28 clauseCount  32 clausesOff    36 fieldCount  40 fieldsOff
//   44 valueCount   48 valuesOff     52 poolOff     56 poolLen
//   60 attrMask: bit `1 << Attr.X` set when some field reads attribute X (the host writes only
//      those into the attribute region: an attribute no policy reads costs nothing)
//   64 claimCount: distinct request.auth.claims paths (the host resolves them by index)
//   68 orderOff: u32 policy indexes in evaluation groups (below), each group in model order
//   72 group bounds, 7 × u32: group g's entries are order[bound[g] .. bound[g+1]); groups:
//      0 CUSTOM, 1 DENY, 2 ALLOW, 3 DENY dry-run, 4 ALLOW dry-run, 5 AUDIT (dry-run or not);
//      a dry-run CUSTOM policy is in no group (never evaluated). bound[0] = 0.
//  100 0
// The groups let each pass of the evaluation visit only its own policies (a request denied by
// the first DENY policy of 1,000 costs no scan of the other 999).
//
// Records (sizes in bytes):
//   policy (16)  u32 action | dryRun << 8, firstRule, ruleCount, 0
//                action: Action below; ruleCount 0 = the policy matches nothing (Istio)
//   rule   (24)  firstFrom, fromCount, firstTo, toCount (clause indexes), firstWhen, whenCount
//                (field indexes). from/to: any clause (OR), none = any; when: every field (AND)
//   clause  (8)  firstField, fieldCount                   every field (AND)
//   field  (24)  u32 attr | claim << 8, keyOff, keyLen, firstValue, valueCount, notCount
//                matches when valueCount is 0 or some attribute value matches one of the
//                values, and no attribute value matches one of the notCount values that follow
//                them (Istio's values / notValues). request.headers: key = the lower-case
//                header name (pool); request.auth.claims: `claim` = the claim path's index
//                (< claimCount), key empty; others: no key, claim 0.
//   value  (16)  u8 kind, 3 × 0, off, len, aux
//                Exact/Prefix/Suffix: (off, len) the string in the pool; for request.host it
//                is lower-case (hosts match case-insensitively: CVE-2021-39155).
//                Presence: len 0; request.headers and request.host: the header is present;
//                others: a non-empty value (Istio's `*`, regex `.+`).
//                Template: (off, len) the template text: literal bytes, `{*}` (one segment:
//                one or more pchars, no `/`) followed by `/` or the end, `{**}` (the rest:
//                pchars and `/`, possibly none) only at the end, as Envoy's uri_template.
//                Cidr: (off, len) 4 (IPv4) or 16 (IPv6) address bytes, aux the prefix length.
//                Port: aux the port (0..65535), len 0.
//   pool         string bytes.
//
// Which kinds an attribute takes (others: Unsupported): the address attributes (source.ip,
// remote.ip, destination.ip) Cidr only; destination.port Port only; request.path also
// Template; every other attribute Exact, Prefix, Suffix, Presence.
//
// ── Invariants checkTable enforces ────────────────────────────────────────────────────────
//   P1 Partitions in order: policies partition the rules; walking the rules in order, each
//      rule's from clauses then its to clauses take the next clauses, and each of those
//      clauses then the rule's when list take the next fields; fields partition the values
//      (values then notValues). So each record is visited at most once per evaluation pass.
//   K1 Known actions, attributes and value kinds, per attribute as above; padding 0.
//   S1 Every string inside the pool; header names and host values without upper case.
//   T1 Templates well formed (see above), so matching never backtracks.
//   G1 The order section is a u32 array of bound[6] entries inside the table; bounds ascend;
//      each entry names a policy of its group's action and dry-run flag, no policy twice, and
//      every policy but the dry-run CUSTOM ones is listed.
//   C1 Cidr addresses of 4 or 16 bytes with prefix ≤ 32 or ≤ 128; ports ≤ 65535;
//      claim indexes < claimCount; attrMask equals the attributes the fields read.

export const AZ_MAGIC: u32 = 0x5a414d57;
export const AZ_FORMAT: u32 = 1;
export const AZ_HEADER_SIZE: u32 = 104;

export const AH_MAGIC: u32 = 0;
export const AH_FORMAT: u32 = 4;
export const AH_LENGTH: u32 = 8;
export const AH_POLICY_COUNT: u32 = 12;
export const AH_POLICIES: u32 = 16;
export const AH_RULE_COUNT: u32 = 20;
export const AH_RULES: u32 = 24;
export const AH_CLAUSE_COUNT: u32 = 28;
export const AH_CLAUSES: u32 = 32;
export const AH_FIELD_COUNT: u32 = 36;
export const AH_FIELDS: u32 = 40;
export const AH_VALUE_COUNT: u32 = 44;
export const AH_VALUES: u32 = 48;
export const AH_POOL: u32 = 52;
export const AH_POOL_LEN: u32 = 56;
export const AH_ATTR_MASK: u32 = 60;
export const AH_CLAIM_COUNT: u32 = 64;
export const AH_ORDER: u32 = 68;
export const AH_GROUPS: u32 = 72;
export const GROUP_COUNT: u32 = 6;
export const G_CUSTOM: u32 = 0;
export const G_DENY: u32 = 1;
export const G_ALLOW: u32 = 2;
export const G_DENY_DRY: u32 = 3;
export const G_ALLOW_DRY: u32 = 4;
export const G_AUDIT: u32 = 5;

export const POLICY_SIZE: u32 = 16;
export const PO_ACTION: u32 = 0;
export const PO_FIRST_RULE: u32 = 4;
export const PO_RULE_COUNT: u32 = 8;
export const DRY_RUN: u32 = 0x100;

export const RULE_SIZE: u32 = 24;
export const RU_FIRST_FROM: u32 = 0;
export const RU_FROM_COUNT: u32 = 4;
export const RU_FIRST_TO: u32 = 8;
export const RU_TO_COUNT: u32 = 12;
export const RU_FIRST_WHEN: u32 = 16;
export const RU_WHEN_COUNT: u32 = 20;

export const CLAUSE_SIZE: u32 = 8;
export const CL_FIRST_FIELD: u32 = 0;
export const CL_FIELD_COUNT: u32 = 4;

export const FIELD_SIZE: u32 = 24;
export const FI_ATTR: u32 = 0;
export const FI_KEY_OFF: u32 = 4;
export const FI_KEY_LEN: u32 = 8;
export const FI_FIRST_VALUE: u32 = 12;
export const FI_VALUE_COUNT: u32 = 16;
export const FI_NOT_COUNT: u32 = 20;

export const VALUE_SIZE: u32 = 16;
export const VA_KIND: u32 = 0;
export const VA_OFF: u32 = 4;
export const VA_LEN: u32 = 8;
export const VA_AUX: u32 = 12;

/** Policy actions (values are part of the format). */
export const enum Action { Allow = 0, Deny = 1, Audit = 2, Custom = 3 }

/** The attributes a field reads (values are part of the format and of the attribute region). */
export const enum Attr {
  SourcePrincipal = 0,
  SourceNamespace = 1,
  SourceIp = 2,
  RemoteIp = 3,
  AuthPrincipal = 4,
  AuthAudiences = 5,
  AuthPresenter = 6,
  AuthClaims = 7,
  RequestHeaders = 8,
  RequestHost = 9,
  RequestMethod = 10,
  RequestPath = 11,
  DestinationIp = 12,
  DestinationPort = 13,
  ConnectionSni = 14,
}
export const ATTR_COUNT: u32 = 15;

/** Value kinds (values are part of the format). */
export const enum Kind { Exact = 0, Prefix = 1, Suffix = 2, Presence = 3, Template = 4, Cidr = 5, Port = 6 }

/** Statuses of authz_table_check (negative, as the routing statuses); mirrored by host/core/authz. */
export const enum AuthzStatus {
  Ok = 0,
  BadLength = -1,
  BadMagic = -2,
  BadFormat = -3,
  Corrupt = -4,
  Unsupported = -5,
}

@inline export function at(t: usize, off: u32): u32 {
  return load<u32>(t + <usize>off);
}

/** Absolute address of record `index` of the section whose offset is in header field `h`. */
@inline export function rec(t: usize, h: u32, index: u32, size: u32): usize {
  return t + <usize>load<u32>(t + <usize>h) + <usize>index * <usize>size;
}

function sectionOk(t: usize, len: u32, offField: u32, countField: u32, size: u32): bool {
  const off = <u64>at(t, offField);
  if ((off & 3) != 0 || off < <u64>AZ_HEADER_SIZE) return false;
  return off + <u64>at(t, countField) * <u64>size <= <u64>len;
}

function spanOk(t: usize, off: u32, n: u32): bool {
  const poolOff = <u64>at(t, AH_POOL);
  return <u64>off >= poolOff && <u64>off + <u64>n <= poolOff + <u64>at(t, AH_POOL_LEN);
}

function hasUpper(t: usize, off: u32, n: u32): bool {
  for (let i: u32 = 0; i < n; i++) {
    if (<u32>load<u8>(t + <usize>off + <usize>i) - 0x41 < 26) return true;
  }
  return false;
}

const BRACE_OPEN: u32 = 0x7b;
const BRACE_CLOSE: u32 = 0x7d;
const STAR: u32 = 0x2a;
const SLASH: u32 = 0x2f;

/**
 * T1: a template is literal bytes with `{*}` followed by `/` or the end, and at most one `{**}`,
 * at the end; any other `{` or `}` is refused. Literal bytes never hold `{` or `}`.
 */
function templateOk(p: usize, n: u32): bool {
  let i: u32 = 0;
  while (i < n) {
    const b = <u32>load<u8>(p + <usize>i);
    if (b == BRACE_CLOSE) return false;
    if (b != BRACE_OPEN) {
      i++;
      continue;
    }
    if (i + 3 <= n && <u32>load<u8>(p + <usize>i + 1) == STAR && <u32>load<u8>(p + <usize>i + 2) == BRACE_CLOSE) {
      i += 3;
      if (i < n && <u32>load<u8>(p + <usize>i) != SLASH) return false;
      continue;
    }
    if (i + 4 == n && <u32>load<u8>(p + <usize>i + 1) == STAR && <u32>load<u8>(p + <usize>i + 2) == STAR && <u32>load<u8>(p + <usize>i + 3) == BRACE_CLOSE) return true;
    return false;
  }
  return true;
}

function isAddressAttr(a: u32): bool {
  return a == Attr.SourceIp || a == Attr.RemoteIp || a == Attr.DestinationIp;
}

/** K1, S1, T1, C1 for one value of a field reading attribute `attr`. */
function valueOk(t: usize, v: usize, attr: u32): i32 {
  const kind = <u32>load<u8>(v + VA_KIND);
  if (load<u8>(v + 1) != 0 || load<u16>(v + 2) != 0) return AuthzStatus.Corrupt;
  const off = load<u32>(v + VA_OFF);
  const n = load<u32>(v + VA_LEN);
  const aux = load<u32>(v + VA_AUX);
  if (!spanOk(t, off, n)) return AuthzStatus.Corrupt;
  if (isAddressAttr(attr)) {
    if (kind != Kind.Cidr) return AuthzStatus.Unsupported;
    if (n == 4 ? aux > 32 : n == 16 ? aux > 128 : true) return AuthzStatus.Corrupt;
    return AuthzStatus.Ok;
  }
  if (attr == Attr.DestinationPort) {
    if (kind != Kind.Port) return AuthzStatus.Unsupported;
    if (n != 0 || aux > 65535) return AuthzStatus.Corrupt;
    return AuthzStatus.Ok;
  }
  switch (kind) {
    case Kind.Exact:
    case Kind.Prefix:
    case Kind.Suffix:
      if (aux != 0) return AuthzStatus.Corrupt;
      if (attr == Attr.RequestHost && hasUpper(t, off, n)) return AuthzStatus.Corrupt;
      return AuthzStatus.Ok;
    case Kind.Presence:
      return n == 0 && aux == 0 ? AuthzStatus.Ok : AuthzStatus.Corrupt;
    case Kind.Template:
      if (attr != Attr.RequestPath) return AuthzStatus.Unsupported;
      return aux == 0 && templateOk(t + <usize>off, n) ? AuthzStatus.Ok : AuthzStatus.Corrupt;
    default:
      return AuthzStatus.Unsupported;
  }
}

/**
 * Checks field `i` (the next one of the partition: `next` points at the next unvisited value)
 * and returns the new next value index, or a negative status.
 */
function fieldOk(t: usize, i: u32, nextValue: u32, mask: usize): i64 {
  const f = rec(t, AH_FIELDS, i, FIELD_SIZE);
  const word = load<u32>(f + FI_ATTR);
  const attr = word & 0xff;
  const claim = word >> 8;
  if (attr >= ATTR_COUNT) return AuthzStatus.Unsupported;
  const keyOff = load<u32>(f + FI_KEY_OFF);
  const keyLen = load<u32>(f + FI_KEY_LEN);
  if (attr == Attr.AuthClaims) {
    if (claim >= at(t, AH_CLAIM_COUNT) || keyOff != 0 || keyLen != 0) return AuthzStatus.Corrupt;
  } else if (claim != 0) return AuthzStatus.Corrupt;
  if (attr == Attr.RequestHeaders) {
    if (keyLen == 0 || !spanOk(t, keyOff, keyLen) || hasUpper(t, keyOff, keyLen)) return AuthzStatus.Corrupt;
  } else if (attr != Attr.AuthClaims && (keyOff != 0 || keyLen != 0)) return AuthzStatus.Corrupt;
  store<u32>(mask, load<u32>(mask) | ((<u32>1) << attr));
  const first = load<u32>(f + FI_FIRST_VALUE);
  const n = <u64>load<u32>(f + FI_VALUE_COUNT) + <u64>load<u32>(f + FI_NOT_COUNT);
  if (first != nextValue || <u64>first + n > <u64>at(t, AH_VALUE_COUNT)) return AuthzStatus.Corrupt;
  for (let k: u32 = 0; <u64>k < n; k++) {
    const s = valueOk(t, rec(t, AH_VALUES, first + k, VALUE_SIZE), attr);
    if (s != AuthzStatus.Ok) return s;
  }
  return <i64>first + <i64>n;
}

/**
 * Checks the authorization table of `len` bytes at `t` before any evaluation may use it.
 * Returns AuthzStatus.Ok or the first problem found. Never traps for any bytes inside
 * [t, t+len); linear time in the table's size (template and string checks included).
 */
export function checkTable(t: usize, len: u32): i32 {
  if (len < AZ_HEADER_SIZE) return AuthzStatus.BadLength;
  if (at(t, AH_MAGIC) != AZ_MAGIC) return AuthzStatus.BadMagic;
  if (at(t, AH_FORMAT) != AZ_FORMAT) return AuthzStatus.BadFormat;
  if (at(t, AH_LENGTH) != len) return AuthzStatus.BadLength;
  if (at(t, 100) != 0) return AuthzStatus.Corrupt;
  if (!sectionOk(t, len, AH_POLICIES, AH_POLICY_COUNT, POLICY_SIZE)) return AuthzStatus.Corrupt;
  if (!sectionOk(t, len, AH_RULES, AH_RULE_COUNT, RULE_SIZE)) return AuthzStatus.Corrupt;
  if (!sectionOk(t, len, AH_CLAUSES, AH_CLAUSE_COUNT, CLAUSE_SIZE)) return AuthzStatus.Corrupt;
  if (!sectionOk(t, len, AH_FIELDS, AH_FIELD_COUNT, FIELD_SIZE)) return AuthzStatus.Corrupt;
  if (!sectionOk(t, len, AH_VALUES, AH_VALUE_COUNT, VALUE_SIZE)) return AuthzStatus.Corrupt;
  const poolOff = <u64>at(t, AH_POOL);
  if (poolOff < <u64>AZ_HEADER_SIZE || poolOff + <u64>at(t, AH_POOL_LEN) > <u64>len) return AuthzStatus.Corrupt;

  const policyCount = at(t, AH_POLICY_COUNT);
  const ruleCount = at(t, AH_RULE_COUNT);
  const clauseCount = at(t, AH_CLAUSE_COUNT);
  const fieldCount = at(t, AH_FIELD_COUNT);
  // P1: policies partition the rules.
  let nextRule: u64 = 0;
  for (let i: u32 = 0; i < policyCount; i++) {
    const p = rec(t, AH_POLICIES, i, POLICY_SIZE);
    const word = load<u32>(p + PO_ACTION);
    if ((word & ~(<u32>0x1ff)) != 0 || load<u32>(p + 12) != 0) return AuthzStatus.Corrupt;
    if ((word & 0xff) > <u32>Action.Custom) return AuthzStatus.Unsupported;
    const n = load<u32>(p + PO_RULE_COUNT);
    if (<u64>load<u32>(p + PO_FIRST_RULE) != nextRule || nextRule + <u64>n > <u64>ruleCount) return AuthzStatus.Corrupt;
    nextRule += <u64>n;
  }
  if (nextRule != <u64>ruleCount) return AuthzStatus.Corrupt;
  // P1: rules take clauses (from, then to) and fields (their clauses', then when) in order.
  const mask = heap.alloc(4);
  store<u32>(mask, 0);
  let nextClause: u64 = 0;
  let nextField: u64 = 0;
  let nextValue: u32 = 0;
  let status: i32 = AuthzStatus.Ok;
  for (let i: u32 = 0; status == AuthzStatus.Ok && i < ruleCount; i++) {
    const r = rec(t, AH_RULES, i, RULE_SIZE);
    const fromCount = <u64>load<u32>(r + RU_FROM_COUNT);
    const toCount = <u64>load<u32>(r + RU_TO_COUNT);
    if (<u64>load<u32>(r + RU_FIRST_FROM) != nextClause || <u64>load<u32>(r + RU_FIRST_TO) != nextClause + fromCount
      || nextClause + fromCount + toCount > <u64>clauseCount) {
      status = AuthzStatus.Corrupt;
      break;
    }
    const clauses = fromCount + toCount;
    for (let k: u64 = 0; status == AuthzStatus.Ok && k < clauses; k++) {
      const c = rec(t, AH_CLAUSES, <u32>(nextClause + k), CLAUSE_SIZE);
      const n = <u64>load<u32>(c + CL_FIELD_COUNT);
      if (<u64>load<u32>(c + CL_FIRST_FIELD) != nextField || nextField + n > <u64>fieldCount) {
        status = AuthzStatus.Corrupt;
        break;
      }
      for (let j: u64 = 0; j < n; j++) {
        const r2 = fieldOk(t, <u32>(nextField + j), nextValue, mask);
        if (r2 < 0) {
          status = <i32>r2;
          break;
        }
        nextValue = <u32>r2;
      }
      nextField += n;
    }
    if (status != AuthzStatus.Ok) break;
    nextClause += clauses;
    const whenCount = <u64>load<u32>(r + RU_WHEN_COUNT);
    if (<u64>load<u32>(r + RU_FIRST_WHEN) != nextField || nextField + whenCount > <u64>fieldCount) {
      status = AuthzStatus.Corrupt;
      break;
    }
    for (let j: u64 = 0; j < whenCount; j++) {
      const r2 = fieldOk(t, <u32>(nextField + j), nextValue, mask);
      if (r2 < 0) {
        status = <i32>r2;
        break;
      }
      nextValue = <u32>r2;
    }
    nextField += whenCount;
  }
  const seen = load<u32>(mask);
  heap.free(mask);
  if (status != AuthzStatus.Ok) return status;
  if (nextClause != <u64>clauseCount || nextField != <u64>fieldCount || nextValue != at(t, AH_VALUE_COUNT)) return AuthzStatus.Corrupt;
  if (seen != at(t, AH_ATTR_MASK)) return AuthzStatus.Corrupt;
  return groupsOk(t, len) ? AuthzStatus.Ok : AuthzStatus.Corrupt;
}

/** The group a policy record belongs to, or GROUP_COUNT for a dry-run CUSTOM policy (none). */
function groupOf(word: u32): u32 {
  const action = word & 0xff;
  const dry = (word & DRY_RUN) != 0;
  if (action == Action.Audit) return G_AUDIT;
  if (action == Action.Custom) return dry ? GROUP_COUNT : G_CUSTOM;
  if (action == Action.Deny) return dry ? G_DENY_DRY : G_DENY;
  return dry ? G_ALLOW_DRY : G_ALLOW;
}

/** G1 (see the top of this file). */
function groupsOk(t: usize, len: u32): bool {
  const policyCount = at(t, AH_POLICY_COUNT);
  if (at(t, AH_GROUPS) != 0) return false;
  for (let g: u32 = 0; g < GROUP_COUNT; g++) {
    if (at(t, AH_GROUPS + g * 4) > at(t, AH_GROUPS + (g + 1) * 4)) return false;
  }
  const listed = at(t, AH_GROUPS + GROUP_COUNT * 4);
  if (listed > policyCount) return false;
  const off = <u64>at(t, AH_ORDER);
  if ((off & 3) != 0 || off < <u64>AZ_HEADER_SIZE || off + <u64>listed * 4 > <u64>len) return false;
  const bytes = (<usize>policyCount + 7) >> 3;
  const seen = heap.alloc(bytes == 0 ? 1 : bytes);
  memory.fill(seen, 0, bytes);
  let ok = true;
  let g: u32 = 0;
  for (let i: u32 = 0; ok && i < listed; i++) {
    while (i >= at(t, AH_GROUPS + (g + 1) * 4)) g++;
    const p = load<u32>(t + <usize>off + <usize>i * 4);
    if (p >= policyCount) {
      ok = false;
      break;
    }
    const bit = seen + <usize>(p >> 3);
    const m = <u8>((<u32>1) << (p & 7));
    if ((load<u8>(bit) & m) != 0 || groupOf(load<u32>(rec(t, AH_POLICIES, p, POLICY_SIZE) + PO_ACTION)) != g) ok = false;
    store<u8>(bit, load<u8>(bit) | m);
  }
  // Every policy listed but the dry-run CUSTOM ones.
  for (let p: u32 = 0; ok && p < policyCount; p++) {
    const listedHere = (load<u8>(seen + <usize>(p >> 3)) & <u8>((<u32>1) << (p & 7))) != 0;
    if (listedHere != (groupOf(load<u32>(rec(t, AH_POLICIES, p, POLICY_SIZE) + PO_ACTION)) < GROUP_COUNT)) ok = false;
  }
  heap.free(seen);
  return ok;
}

// The values of an AuthorizationPolicy, one string at a time, as Istio reads them: string forms
// (exact, `prefix*`, `*suffix`, `*`), paths with templates (`{*}`, `{**}`, Istio's
// CheckValidPathTemplate rules), address blocks (netip's ParseAddr/ParsePrefix: an address or a
// CIDR, nothing else), ports (0-65535, decimal) and the bracketed keys of `when`
// (`request.headers[x-user]`, `request.auth.claims[a][b]`). Each returns the model's value or
// the reason it is invalid; the caller locates the reason (translate/authorization.ts).
import { isIPv4, isIPv6 } from 'node:net';
import type { AuthzValue } from '../../model/authorization.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

/**
 * Istio's string matcher (security/authz/matcher StringMatcher): `*` any non-empty value,
 * `*abc` a suffix, `abc*` a prefix, anything else exactly — a `*` elsewhere is a literal
 * character (Istio does not refuse it; callers warn).
 */
export function stringValue(raw: string): AuthzValue {
  if (raw === '*') return { kind: 'presence' };
  if (raw.startsWith('*')) return { kind: 'suffix', value: raw.slice(1) };
  if (raw.endsWith('*')) return { kind: 'prefix', value: raw.slice(0, -1) };
  return { kind: 'exact', value: raw };
}

/** A `*` that is neither the whole value, nor its first or last character: matched literally. */
export function hasInnerWildcard(raw: string): boolean {
  if (raw === '*') return false;
  const inner = raw.startsWith('*') ? raw.slice(1) : raw.endsWith('*') ? raw.slice(0, -1) : raw;
  return inner.includes('*');
}

export const MATCH_ONE_TEMPLATE = '{*}';
export const MATCH_ANY_TEMPLATE = '{**}';
/** Istio's validLiteral: the characters a path-template segment may hold besides the operators. */
const VALID_LITERAL = /^[a-zA-Z0-9\-._~%!$&'()+,;:@=]+$/;

export function containsPathTemplate(path: string): boolean {
  return path.includes(MATCH_ONE_TEMPLATE) || path.includes(MATCH_ANY_TEMPLATE);
}

/**
 * A `paths`/`notPaths` value. With `{*}` or `{**}` a template (each operator a whole segment,
 * `{**}` only last, the other segments valid literals); otherwise a string form. As Istio, a
 * `{` or `}` outside an operator is refused whether or not the path is a template.
 */
export function pathValue(raw: string): Parsed<AuthzValue> {
  const template = containsPathTemplate(raw);
  let foundAny = false;
  // Istio trims the slashes at both ends, then splits: `/a//b` has an empty segment.
  const trimmed = raw.replace(/^\/+|\/+$/g, '');
  for (const glob of trimmed.split('/')) {
    if (glob === MATCH_ONE_TEMPLATE && !foundAny) continue;
    if (glob === MATCH_ANY_TEMPLATE && !foundAny) {
      foundAny = true;
      continue;
    }
    if ((glob === MATCH_ANY_TEMPLATE || glob === MATCH_ONE_TEMPLATE) && foundAny) return bad(`path template ${JSON.stringify(raw)}: {**} must be the last operator`);
    if (/[{}]/.test(glob)) return bad(`path ${JSON.stringify(raw)} has "{" or "}" outside a path template operator ({*} or {**}, each a whole segment)`);
    if (template && !VALID_LITERAL.test(glob)) return bad(`path template ${JSON.stringify(raw)}: segment ${JSON.stringify(glob)} is not a valid literal (letters, digits and -._~%!$&'()+,;:@=)`);
  }
  return ok(template ? { kind: 'template', value: raw } : stringValue(raw));
}

/**
 * An address or a CIDR block (ipBlocks, remoteIpBlocks, source.ip, remote.ip, destination.ip):
 * an address is its own /32 or /128. Written as Go's netip reads them: no zone, no leading
 * zeros in the prefix length, the length within the family's bits. The address is kept as
 * written (Envoy's CidrRange masks it; so does the core).
 */
export function cidrValue(raw: string): Parsed<AuthzValue> {
  const slash = raw.indexOf('/');
  const address = slash < 0 ? raw : raw.slice(0, slash);
  const family = isIPv4(address) ? 4 : isIPv6(address) && !address.includes('%') ? 6 : 0;
  if (family === 0) return bad(`${JSON.stringify(raw)} is not an IP address or CIDR block (such as 10.0.0.0/8 or 2001:db8::/32)`);
  const bits = family === 4 ? 32 : 128;
  if (slash < 0) return ok({ kind: 'cidr', address, prefixLength: bits });
  const length = raw.slice(slash + 1);
  if (!/^(0|[1-9]\d*)$/.test(length) || Number(length) > bits) return bad(`${JSON.stringify(raw)}: the prefix length must be 0-${bits} (decimal, no leading zeros)`);
  return ok({ kind: 'cidr', address, prefixLength: Number(length) });
}

/** A port (ports, notPorts, destination.port): Istio's ParseUint, 0-65535. */
export function portValue(raw: string): Parsed<AuthzValue> {
  if (!/^\d+$/.test(raw) || Number(raw) > 65_535) return bad(`${JSON.stringify(raw)} is not a port (0-65535)`);
  return ok({ kind: 'port', port: Number(raw) });
}

/** `[name]` → name (Istio's extractNameInBrackets). */
function nameInBrackets(s: string): string | null {
  if (!s.startsWith('[') || !s.endsWith(']') || s.length < 3) return null;
  return s.slice(1, -1);
}

/** `request.headers[Name]` after the attribute: the header name, lower-cased (names compare case-insensitively; Istio checks only the brackets). */
export function headerKey(rest: string): Parsed<string[]> {
  const name = nameInBrackets(rest);
  if (name === null) return bad('expected request.headers[<header name>]');
  return ok([name.toLowerCase()]);
}

/**
 * `request.auth.claims[a][b]` after the attribute: the nested claim path, as Istio's
 * extractNameInNestedBrackets reads it (`[a.b]` is the one claim `a.b`; a key that is not a
 * sequence of brackets falls back to one bracketed name).
 */
export function claimKey(rest: string): Parsed<string[]> {
  const claims: string[] = [];
  const endBracket = (begin: number): number => {
    if (begin >= rest.length || rest[begin] !== '[') return -1;
    for (let i = begin + 1; i < rest.length; i++) {
      if (rest[i] === '[') return -1;
      if (rest[i] === ']') return i;
    }
    return -1;
  };
  for (let begin = 0; begin < rest.length; ) {
    const end = endBracket(begin);
    if (end === -1) {
      const one = nameInBrackets(rest);
      return one === null ? bad('expected request.auth.claims[<claim>] or nested request.auth.claims[<claim>][<claim>]…') : ok([one]);
    }
    claims.push(rest.slice(begin + 1, end));
    begin = end + 1;
  }
  if (claims.length === 0 || claims.some((c) => c === '')) return bad('expected request.auth.claims[<claim>] with non-empty claim names');
  return ok(claims);
}

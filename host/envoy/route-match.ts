// One wasmesh match block (Istio HTTPMatchRequest, resolved) as an Envoy RouteMatch, the way
// Istio's Pilot writes it: uri as path/prefix/safe_regex, method, authority and scheme as
// pseudo-header matchers, headers and queryParams as their matchers. The port condition, which
// Istio expresses by building one route table per listener port, becomes an `:authority`
// matcher here, because the translation has one listener (see portMatcher).
import type { HeaderMatch, QueryParamMatch, RouteMatch, StringMatch } from '../model/mesh.js';
import type { Obj } from './istio-resources.js';
import { JWT_FILTER_NAME, JWT_PAYLOAD_KEY } from './rbac-policy.js';

/** Envoy's StringMatcher for a wasmesh string match (RE2 regexes pass as they are: both use RE2). */
export function envoyStringMatch(s: StringMatch): Obj {
  if (s.kind === 'exact') return { exact: s.value };
  if (s.kind === 'prefix') return { prefix: s.value };
  return { safe_regex: { regex: s.value } };
}

function envoyHeaderMatch(h: HeaderMatch): Obj {
  const out: Obj = { name: h.name };
  if (h.match === null) out.present_match = true;
  else out.string_match = envoyStringMatch(h.match);
  if (h.invert) out.invert_match = true;
  return out;
}

/**
 * A JWT claim condition as Istio's translateMetadataMatch writes it: a metadata matcher on the
 * jwt_authn payload at the claim's path (MetadataMatcherForJWTClaims, extended form: a string
 * claim, or one element of a list claim), inverted for withoutHeaders.
 */
function claimMetadataMatch(h: HeaderMatch): Obj {
  const value = { string_match: envoyStringMatch(h.match!) };
  const out: Obj = {
    filter: JWT_FILTER_NAME,
    path: [JWT_PAYLOAD_KEY, ...h.claim!].map((key) => ({ key })),
    value: { or_match: { value_matchers: [{ list_match: { one_of: value } }, value] } },
  };
  if (h.invert) out.invert = true;
  return out;
}

function envoyQueryParamMatch(q: QueryParamMatch): Obj {
  // Istio: an empty match means "present"; Envoy, like wasmesh, compares the raw (undecoded) value.
  return q.match === null ? { name: q.name, present_match: true } : { name: q.name, string_match: envoyStringMatch(q.match) };
}

/**
 * wasmesh's port condition as an `:authority` matcher. wasmesh compares the port the request
 * addressed: the authority's port, else the listener's. So on the listener's own port an
 * authority without a port also holds; on any other port only `host:<port>` does. The host
 * part is a bracketed IPv6 literal or a name without ':' (RE2, full match).
 */
export function portMatcher(port: number, listenerPort: number): Obj {
  const host = '(?:\\[[^\\]]*\\]|[^:\\[\\]]*)';
  const regex = port === listenerPort ? `${host}(?::${port})?` : `${host}:${port}`;
  return { name: ':authority', string_match: { safe_regex: { regex } } };
}

/** The Envoy RouteMatch of one match block; `listenerPort` decides what a port condition means. */
export function envoyRouteMatch(m: RouteMatch | null, listenerPort: number): Obj {
  if (m === null) return { prefix: '/' };
  const out: Obj = {};
  if (m.uri === null) out.prefix = '/';
  else if (m.uri.kind === 'exact') out.path = m.uri.value;
  else if (m.uri.kind === 'prefix') out.prefix = m.uri.value;
  // Envoy's case_sensitive does not reach safe_regex; wasmesh's matcher ignores ignoreUriCase
  // there too (a regex folds case with (?i)), so both run the regex as written.
  else out.safe_regex = { regex: m.uri.value };
  if (m.ignoreUriCase && m.uri !== null && m.uri.kind !== 'regex') out.case_sensitive = false;

  // Istio's order: method, authority and scheme as pseudo-headers, then the request headers.
  const headers: Obj[] = [];
  if (m.method) headers.push({ name: ':method', string_match: envoyStringMatch(m.method) });
  if (m.authority) headers.push({ name: ':authority', string_match: envoyStringMatch(m.authority) });
  if (m.scheme) headers.push({ name: ':scheme', string_match: envoyStringMatch(m.scheme) });
  if (m.port !== null && m.port !== undefined) headers.push(portMatcher(m.port, listenerPort));
  for (const h of m.headers) if (h.claim === undefined) headers.push(envoyHeaderMatch(h));
  if (headers.length > 0) out.headers = headers;
  const claims = m.headers.filter((h) => h.claim !== undefined);
  if (claims.length > 0) out.dynamic_metadata = claims.map(claimMetadataMatch);
  if (m.queryParams && m.queryParams.length > 0) out.query_parameters = m.queryParams.map(envoyQueryParamMatch);
  return out;
}

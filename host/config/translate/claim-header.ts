// Istio's JWT claim routing header names (`@request.auth.claims.<a>.<b>`, or `[a][b]`): a
// VirtualService header match under such a name is a condition on the request's verified JWT
// claim, not on a header (https://istio.io/latest/docs/tasks/security/authentication/jwt-route/).
// The prefix is recognised case-insensitively and the claim names are kept as written, as Istio's
// ToRoutingClaim does; a name that starts with the prefix but names no claim is refused (Istio
// would fall back to a header match on a name no request can carry).

/** The prefix, lower-case. */
export const CLAIM_HEADER_PREFIX = '@request.auth.claims';

/** Not a claim name: 'header'; a claim path; or why the claim name is malformed. */
export type ClaimHeader = { kind: 'header' } | { kind: 'claim'; path: string[] } | { kind: 'bad'; reason: string };

const HEADER: ClaimHeader = { kind: 'header' };

/** Reads a VirtualService header-match name as Istio's routing claim. */
export function claimHeader(name: string): ClaimHeader {
  if (!name.toLowerCase().startsWith(CLAIM_HEADER_PREFIX)) return HEADER;
  const rest = name.slice(CLAIM_HEADER_PREFIX.length);
  let path: string[] | null = null;
  if (rest.startsWith('.') && rest.length > 1) path = rest.slice(1).split('.');
  else if (rest.startsWith('[') && rest.endsWith(']') && rest.length > 2) path = rest.slice(1, -1).split('][');
  if (path === null || path.some((c) => c === '')) {
    return { kind: 'bad', reason: `expected ${CLAIM_HEADER_PREFIX}.<claim>[.<nested claim>…] or ${CLAIM_HEADER_PREFIX}[<claim>][<nested claim>]…, with non-empty claim names` };
  }
  return { kind: 'claim', path };
}

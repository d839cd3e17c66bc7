// JWT claim routing on the data path: the verified token's claims (stream.requestAuth, set by
// the JWT filter, a listener filter that runs before routing) are added to the request view
// under the synthetic names the route table's claim conditions read (host/compile/
// claim-conditions.ts), for the route match only. As Envoy's metadata matcher on the jwt_authn
// payload that Istio generates: a string claim is one value, a list claim one value per string
// element (the core's header condition holds when ANY occurrence does, Istio's list one_of),
// and anything else (number, boolean, object, missing) gives none, so it matches no value and
// a withoutHeaders claim condition holds. Without a verified token nothing is added.
import type { ClaimCondition } from '../compile/claim-conditions.js';
import type { RequestView } from '../core/request-view.js';
import type { RequestAuth } from '../model/request-auth.js';

/**
 * Adds the values of `conditions`' claims from `auth` to `view`; false when the view has no room
 * left for them (the caller refuses the request: a claim left out could wrongly satisfy a
 * withoutHeaders condition).
 */
export function addClaimFields(view: RequestView, conditions: readonly ClaimCondition[], auth: RequestAuth): boolean {
  for (let i = 0; i < conditions.length; i++) {
    const c = conditions[i]!;
    const value = claimAt(auth.claims, c.path);
    if (typeof value === 'string') {
      if (view.header(c.name, viewBytes(value)) !== null) return false;
    } else if (Array.isArray(value)) {
      for (const v of value) if (typeof v === 'string' && view.header(c.name, viewBytes(v)) !== null) return false;
    }
  }
  return true;
}

function claimAt(claims: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
  let at: unknown = claims;
  for (const key of path) {
    if (at === null || typeof at !== 'object' || Array.isArray(at) || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/**
 * The view takes a string of characters up to U+00FF as one byte each (the wire's latin1), while
 * the table holds a claim condition's value as UTF-8: a non-ASCII claim is given as its UTF-8
 * bytes so both sides compare the same bytes.
 */
function viewBytes(s: string): string {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'utf8').toString('latin1');
  return s;
}

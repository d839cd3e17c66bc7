// JWT claim conditions (Istio's `@request.auth.claims.<a>.<b>` header matches) in the route
// table: the core matches headers only, so a claim condition is a header condition on a
// synthetic name no request can carry ('@' is not a token character, RFC 9110 §5.6.2, and the
// codec refuses it), and the data path adds the verified claim's values under that name to the
// request view just for the match (host/http/claim-view.ts). The name encodes the claim path in
// lower-case hex, because the table keeps header names lower-case and claim names are
// case-sensitive.
import type { MeshConfig } from '../model/mesh.js';

/** What every synthetic claim name starts with. */
export const CLAIM_NAME_PREFIX = '@claim.';

/** The synthetic header name of claim path `path`. */
export function claimConditionName(path: readonly string[]): string {
  return CLAIM_NAME_PREFIX + Buffer.from(JSON.stringify(path), 'utf8').toString('hex');
}

/** One claim path a table reads, with its synthetic name. */
export interface ClaimCondition {
  readonly name: string;
  readonly path: readonly string[];
}

/** The distinct claim paths `mesh`'s routes match on (empty: no claim routing, no cost). */
export function claimConditions(mesh: MeshConfig): readonly ClaimCondition[] {
  const out = new Map<string, ClaimCondition>();
  for (const vh of mesh.virtualHosts) {
    for (const route of vh.routes) {
      for (const m of route.matches) {
        for (const h of m.headers) {
          if (h.claim === undefined) continue;
          const name = claimConditionName(h.claim);
          if (!out.has(name)) out.set(name, { name, path: h.claim });
        }
      }
    }
  }
  return [...out.values()];
}

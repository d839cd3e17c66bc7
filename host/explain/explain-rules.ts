// The rules of one virtual host walked in order for one request, each asked of the core
// (RouteExplainer: the matcher's own condition evaluation) until one matches, as Istio's first
// matching http rule wins; each rule that did not match gets, per match block, its first failing
// condition in words (route-conditions.ts).
import type { MeshConfig } from '../model/mesh.js';
import type { RouteExplainer } from '../core/route/route-explain.js';
import { routeConditions, type ExplainRequestView } from './route-conditions.js';

export interface ConditionVerdict {
  readonly field: string;
  readonly requires: string;
  readonly why: string;
}

export interface BlockVerdict {
  /** Index into the rule's `match` list (-1: the block standing for "no scheme this listener serves"). */
  readonly match: number;
  readonly holds: boolean;
  /** The first condition that fails, when the block does not hold. */
  readonly failed: ConditionVerdict | null;
}

export interface RuleMatchVerdict {
  /** Flattened route index (the route table's). */
  readonly index: number;
  /** `<namespace>/<virtualservice>/<rule name or index>`. */
  readonly name: string;
  readonly matched: boolean;
  /** Empty when the rule has no match (it matches every request). */
  readonly blocks: readonly BlockVerdict[];
  /** Match blocks decided at load time (a scheme the listener does not serve). */
  readonly ruledOut: ReadonlyArray<{ readonly match: number; readonly why: string }>;
}

/** The flattened index of virtual host `vh`'s first route (mesh.ts's index contract). */
export function firstRouteOf(mesh: MeshConfig, vh: number): number {
  let first = 0;
  for (let i = 0; i < vh; i++) first += mesh.virtualHosts[i]!.routes.length;
  return first;
}

/**
 * Walks virtual host `vh`'s rules for the request already written into the explainer's view,
 * stopping at the first that matches. `chosen` is its flattened index, or -1.
 * @throws Error when the table's blocks and the described conditions disagree in shape.
 */
export function walkRules(x: RouteExplainer, mesh: MeshConfig, vh: number, view: ExplainRequestView): { rules: RuleMatchVerdict[]; chosen: number } {
  const vhost = mesh.virtualHosts[vh]!;
  const first = firstRouteOf(mesh, vh);
  const rules: RuleMatchVerdict[] = [];
  let chosen = -1;
  for (let i = 0; i < vhost.routes.length && chosen < 0; i++) {
    const route = vhost.routes[i]!;
    const index = first + i;
    const verdict = x.route(index);
    const described = routeConditions(route);
    if (described.blocks.length !== verdict.conditionCounts.length || described.blocks.some((b, k) => b.conditions.length !== verdict.conditionCounts[k])) {
      throw new Error(`explain: route ${route.name}: the compiled table holds ${verdict.conditionCounts.join('+')} conditions per block, the explanation ${described.blocks.map((b) => b.conditions.length).join('+')}`);
    }
    const blocks = described.blocks.map((b, k): BlockVerdict => {
      const f = verdict.firstFailing[k]!;
      const cond = f >= 0 ? b.conditions[f]! : null;
      return { match: b.match, holds: f < 0, failed: cond === null ? null : { field: cond.field, requires: cond.requires, why: cond.why(view) } };
    });
    if (verdict.holds) chosen = index;
    rules.push({ index, name: route.name, matched: verdict.holds, blocks, ruledOut: described.ruledOut });
  }
  return { rules, chosen };
}

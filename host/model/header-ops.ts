// Merging Istio's header operations across levels (route, then destination; Istio applies them
// in that order), so that the data path encodes one edit list per route destination.
import type { HeaderOps } from './mesh.js';

/**
 * Merges header ops in application order (Istio applies route-level, then destination-level
 * ops; a later set of the same name wins; removes and adds accumulate).
 */
export function mergeOps(...layers: HeaderOps[]): HeaderOps {
  const set = new Map<string, string>();
  const remove: string[] = [];
  const add: Array<[string, string]> = [];
  for (const l of layers) {
    for (const n of l.remove) remove.push(n.toLowerCase());
    for (const [n, v] of l.set) set.set(n.toLowerCase(), v);
    for (const [n, v] of l.add) add.push([n.toLowerCase(), v]);
  }
  return { remove, set: [...set], add };
}

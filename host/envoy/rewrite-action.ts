// Istio's HTTPRewrite as the RouteAction fields Pilot sets: `uri` → prefix_rewrite (Envoy swaps
// the matched prefix, or the whole path for path and regex matches, as wasmesh does),
// `uriRegexRewrite` → regex_rewrite (RE2 pattern; Envoy's substitution syntax is RE2's `\1`,
// the one Istio's API uses, so it passes unchanged), `authority` → host_rewrite_literal.
import type { Rewrite } from '../model/mesh.js';
import type { Obj } from './istio-resources.js';

export function envoyRewrite(rw: Rewrite): Obj {
  const out: Obj = {};
  if (rw.uri) out.prefix_rewrite = rw.uri;
  if (rw.uriRegex) out.regex_rewrite = { pattern: { regex: rw.uriRegex.match }, substitution: rw.uriRegex.rewrite };
  if (rw.authority) out.host_rewrite_literal = rw.authority;
  return out;
}

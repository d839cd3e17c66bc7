// Test helper: model values as host/config emits them, so a test states only what it is about.
import type { RouteMatch } from '../../host/model/mesh.js';

/** A match block with every field at its "no condition" value, overridden by `fields`. */
export function block(fields: Partial<RouteMatch> = {}): RouteMatch {
  return { uri: null, ignoreUriCase: false, headers: [], method: null, authority: null, scheme: null, queryParams: [], port: null, ...fields };
}

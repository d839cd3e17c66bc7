// Walking the Envoy config host/envoy builds (plain objects typed Record<string, unknown>: Envoy's
// schema is not modelled in TypeScript) by a dotted path, `static_resources.clusters.1`, with a
// clear failure naming the path when a step is missing or of the wrong kind, instead of a cast.
export type JsonObject = Record<string, unknown>;

/** The value at `path` (dot-separated keys; array indices as numbers); throws when a step is missing. */
export function jsonAt(root: unknown, path: string): unknown {
  let at: unknown = root;
  let walked = '';
  for (const step of path.split('.')) {
    walked = walked === '' ? step : `${walked}.${step}`;
    if (Array.isArray(at)) at = at[Number(step)];
    else if (at !== null && typeof at === 'object') at = (at as JsonObject)[step];
    else throw new Error(`envoy json: ${walked}: the parent is ${JSON.stringify(at)}, not an object or a list`);
    if (at === undefined) throw new Error(`envoy json: ${walked} is missing`);
  }
  return at;
}

/** The list of objects at `path`; throws when it is not a list of objects. */
export function jsonList(root: unknown, path: string): JsonObject[] {
  const v = jsonAt(root, path);
  if (!Array.isArray(v) || v.some((e) => e === null || typeof e !== 'object' || Array.isArray(e))) {
    throw new Error(`envoy json: ${path} is not a list of objects: ${JSON.stringify(v)?.slice(0, 200)}`);
  }
  return v as JsonObject[];
}

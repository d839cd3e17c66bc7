// An RFC 6902 JSON Patch that turns one JSON value into another: what an admission webhook
// returns (`patchType: JSONPatch`). Objects are diffed key by key (`add`, `remove`, `replace` at
// RFC 6901 pointers, `~` and `/` escaped); a list that changed is replaced whole — the API server
// applies it the same way, and injection changes the container lists as a whole anyway (Istio's
// jsonpatch.CreatePatch diffs lists element-wise; the patched pod is the same).

export type JsonPatchOp =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** RFC 6901: `~` → `~0`, `/` → `~1`. */
export function pointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The operations that make `from` equal to `to` (both plain JSON: objects, lists, scalars). */
export function createJsonPatch(from: unknown, to: unknown, path = ''): JsonPatchOp[] {
  if (isObject(from) && isObject(to)) {
    const ops: JsonPatchOp[] = [];
    for (const key of Object.keys(from)) {
      if (!Object.hasOwn(to, key)) ops.push({ op: 'remove', path: `${path}/${pointerToken(key)}` });
    }
    for (const [key, value] of Object.entries(to)) {
      const at = `${path}/${pointerToken(key)}`;
      if (!Object.hasOwn(from, key)) ops.push({ op: 'add', path: at, value });
      else ops.push(...createJsonPatch(from[key], value, at));
    }
    return ops;
  }
  if (jsonEqual(from, to)) return [];
  // The root itself cannot be `replace`d at "" by every client; the pod is always an object.
  return [{ op: 'replace', path, value: to }];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

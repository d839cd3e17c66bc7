// A small RFC 6902 applier for tests (add, remove, replace, with RFC 6901 pointers and `-` for
// appending): applies a webhook's patch the way the API server would, so a test compares the
// patched object with what it expects. Independent of host/kube/json-patch.ts, which only creates.

export function applyJsonPatch(doc: unknown, ops: readonly { op: string; path: string; value?: unknown }[]): unknown {
  let root = structuredClone(doc);
  for (const op of ops) {
    const tokens = op.path === '' ? [] : op.path.split('/').slice(1).map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
    if (tokens.length === 0) {
      if (op.op === 'remove') throw new Error('cannot remove the root');
      root = structuredClone(op.value);
      continue;
    }
    let parent: any = root;
    for (const t of tokens.slice(0, -1)) {
      const next = Array.isArray(parent) ? parent[Number(t)] : parent?.[t];
      if (next === undefined || next === null || typeof next !== 'object') throw new Error(`${op.op} ${op.path}: ${t} does not exist`);
      parent = next;
    }
    const last = tokens[tokens.length - 1]!;
    if (Array.isArray(parent)) {
      const i = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(i) || i < 0 || i > parent.length || (op.op !== 'add' && i >= parent.length)) throw new Error(`${op.op} ${op.path}: index out of range`);
      if (op.op === 'add') parent.splice(i, 0, structuredClone(op.value));
      else if (op.op === 'remove') parent.splice(i, 1);
      else if (op.op === 'replace') parent[i] = structuredClone(op.value);
      else throw new Error(`unsupported op ${op.op}`);
    } else {
      if (op.op !== 'add' && !Object.hasOwn(parent, last)) throw new Error(`${op.op} ${op.path}: no such member`);
      if (op.op === 'remove') delete parent[last];
      else if (op.op === 'add' || op.op === 'replace') parent[last] = structuredClone(op.value);
      else throw new Error(`unsupported op ${op.op}`);
    }
  }
  return root;
}

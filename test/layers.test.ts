// Keeps the configuration, model and core layers importing downward only, by reading the
// imports of host/ (type-only imports count: a type cycle is still a cycle of concepts):
//   config (reading, checks, translate/) → compile → core (bindings) → model → common.
// host/model holds the types everyone shares and imports only host/common; host/core is
// bindings only (no Istio, no compile step); host/compile never reads Istio; nothing in these
// folders reaches the data path; and no import cycle runs through any of them.
import { describe, it, expect } from 'vitest';
import { cyclesThrough, importGraph } from './helpers/import-graph.js';

const GRAPH = importGraph('host');
const LAYERS = ['host/config/', 'host/compile/', 'host/core/', 'host/model/', 'host/common/'];

/** The folder under host/ of a repository path (`host/config/translate/x.ts` → `config`). */
const folderOf = (path: string): string => path.split('/')[1]!;

/** `file → target` for every import from files under `from` to a folder outside `allowed`. */
function importsOutside(from: string, allowed: readonly string[]): string[] {
  return [...GRAPH].filter(([f]) => f.startsWith(from)).flatMap(([f, imports]) =>
    imports.filter((i) => !allowed.includes(folderOf(i.target))).map((i) => `${f} → ${i.target}`));
}

describe('layers', () => {
  it('reads the import graph (the checks below have something to check)', () => {
    const targets = (f: string) => GRAPH.get(f)!.map((i) => i.target);
    expect(targets('host/model/mesh.ts')).toContain('host/model/retry-policy.ts');
    expect(targets('host/compile/retry-policies.ts')).toContain('host/core/upstream/retry.ts');
    expect(targets('host/config/load-config.ts')).toContain('host/config/translate/resolve-mesh.ts');
  });

  it('host/model imports only host/model and host/common', () => {
    expect(importsOutside('host/model/', ['model', 'common'])).toEqual([]);
  });

  it('host/core (bindings) imports only host/core, host/model and host/common: no Istio translation, no compile step', () => {
    expect(importsOutside('host/core/', ['core', 'model', 'common'])).toEqual([]);
  });

  it('host/compile never reads Istio (no host/config) nor reaches the data path', () => {
    expect(importsOutside('host/compile/', ['compile', 'core', 'model', 'common'])).toEqual([]);
  });

  it('host/config imports no binding and nothing of the data path (only compile for regex checks, model, common)', () => {
    expect(importsOutside('host/config/', ['config', 'compile', 'model', 'common'])).toEqual([]);
  });

  it('host/config reaches compile only through the regex compiler (translation validates regexes, it compiles no table)', () => {
    const uses = [...GRAPH].filter(([f]) => f.startsWith('host/config/')).flatMap(([f, imports]) =>
      imports.filter((i) => i.target.startsWith('host/compile/') && !i.target.startsWith('host/compile/regex/')).map((i) => `${f} → ${i.target}`));
    expect(uses).toEqual([]);
  });

  it('no import cycle runs through host/config, host/compile, host/core, host/model or host/common', () => {
    expect(cyclesThrough(GRAPH, LAYERS)).toEqual([]);
  });

  it('nor between these folders: each imports only folders below it', () => {
    const folders = LAYERS.map((l) => folderOf(l));
    const edges = new Set<string>();
    for (const [f, imports] of GRAPH) {
      const from = folderOf(f);
      if (!folders.includes(from)) continue;
      for (const i of imports) if (folderOf(i.target) !== from && folders.includes(folderOf(i.target))) edges.add(`${from} → ${folderOf(i.target)}`);
    }
    // LAYERS lists the folders top-down: an edge is fine when it points further down the list.
    const upward = [...edges].filter((e) => {
      const [from, to] = e.split(' → ') as [string, string];
      return folders.indexOf(to) < folders.indexOf(from);
    });
    expect(upward).toEqual([]);
  });
});

// Keeps the upstream seams honest by reading the imports of host/: the router knows connection
// pools and transports only through their interfaces (type imports of conn-pool.ts and
// upstream-head.ts, never http1/ or transport/), the seam files import no implementation, and
// no import cycle runs through host/upstream.
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface Import {
  /** Repository-relative path of the imported .ts file. */
  target: string;
  /** `import type …`, or every named binding marked `type` (erased at compile time). */
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** The relative imports and re-exports of one file, resolved to repository paths. */
function importsOf(file: string): Import[] {
  const sf = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.ES2022, false);
  const out: Import[] = [];
  for (const st of sf.statements) {
    let spec: ts.Expression | undefined;
    let typeOnly = false;
    if (ts.isImportDeclaration(st)) {
      spec = st.moduleSpecifier;
      const clause = st.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : null;
      typeOnly = clause !== undefined && (clause.isTypeOnly || (clause.name === undefined && named !== null && named.length > 0 && named.every((e) => e.isTypeOnly)));
    } else if (ts.isExportDeclaration(st) && st.moduleSpecifier) {
      spec = st.moduleSpecifier;
      typeOnly = st.isTypeOnly;
    }
    if (!spec || !ts.isStringLiteral(spec) || !spec.text.startsWith('.')) continue;
    out.push({ target: relative(ROOT, resolve(ROOT, dirname(file), spec.text.replace(/\.js$/, '.ts'))), typeOnly });
  }
  return out;
}

const HOST = sourceFiles('host');
const GRAPH = new Map(HOST.map((f) => [f, importsOf(f)]));

/** Every import cycle (as a path a → … → a) through a file under `dir`. */
function cyclesThrough(dir: string): string[] {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const { target } of GRAPH.get(f) ?? []) {
      if (!GRAPH.has(target)) continue;
      if (state.get(target) === 'open') {
        const cycle = [...stack.slice(stack.indexOf(target)), target];
        if (cycle.some((x) => x.startsWith(dir))) cycles.push(cycle.join(' → '));
      } else if (!state.has(target)) visit(target);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of HOST) if (!state.has(f)) visit(f);
  return cycles;
}

describe('upstream seams', () => {
  it('reads the import graph (the checks below have something to check)', () => {
    expect(GRAPH.get('host/router/router-filter.ts')!.map((i) => i.target)).toContain('host/upstream/conn-pool/conn-pool.ts');
    expect(GRAPH.get('host/upstream/cluster-pool.ts')!.map((i) => i.target)).toContain('host/upstream/conn-pool/http1/http1-conn-pool.ts');
  });

  it('nothing under host/router imports an HTTP/1 pool or a transport socket', () => {
    const leaks = HOST.filter((f) => f.startsWith('host/router/')).flatMap((f) =>
      GRAPH.get(f)!
        .filter((i) => i.target.startsWith('host/upstream/conn-pool/http1/') || i.target.startsWith('host/upstream/transport/'))
        .map((i) => `${f} → ${i.target}`));
    expect(leaks).toEqual([]);
  });

  it('host/router takes only types from host/upstream', () => {
    const values = HOST.filter((f) => f.startsWith('host/router/')).flatMap((f) =>
      GRAPH.get(f)!.filter((i) => i.target.startsWith('host/upstream/') && !i.typeOnly).map((i) => `${f} → ${i.target}`));
    expect(values).toEqual([]);
  });

  it('the seam files import no implementation', () => {
    for (const seam of ['host/upstream/conn-pool/conn-pool.ts', 'host/upstream/transport/transport-socket.ts', 'host/upstream/upstream-head.ts']) {
      const targets = GRAPH.get(seam)!.map((i) => i.target);
      expect(targets.filter((t) => t.includes('/http1/') || t.endsWith('/raw.ts') || t.endsWith('cluster-pool.ts')), seam).toEqual([]);
    }
  });

  it('no import cycle runs through host/upstream (the pool talks to its cluster through Http1PoolCluster)', () => {
    expect(cyclesThrough('host/upstream/')).toEqual([]);
  });
});

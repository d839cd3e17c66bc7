// The import graph of host/, read with TypeScript's parser (not run), for the tests that keep its
// structure honest (test/architecture/layers.test.ts, test/upstream/seams.test.ts): every
// relative import and re-export, `import()` calls, and worker scripts named by
// `new URL('./x.js', import.meta.url)`, each resolved to the repository path of its .ts file.
// Type-only imports count: a type cycle is still a cycle of concepts.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface Import {
  /** Repository-relative path of the imported .ts file. */
  target: string;
  /** `import type …`, or every named binding marked `type` (erased at compile time). */
  typeOnly: boolean;
  /** `static`: import/export … from; `dynamic`: import(); `worker`: new URL(…, import.meta.url). */
  kind: 'static' | 'dynamic' | 'worker';
}

/** Repository-relative paths of the .ts files under `dir` (declaration files left out), sorted. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .sort();
}

/** The relative imports of one file, resolved to repository paths. */
export function importsOf(file: string): Import[] {
  const sf = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: Import[] = [];
  const add = (spec: ts.Expression | undefined, typeOnly: boolean, kind: Import['kind']): void => {
    if (!spec || !ts.isStringLiteralLike(spec) || !spec.text.startsWith('.')) return;
    out.push({ target: relative(ROOT, resolve(ROOT, dirname(file), spec.text.replace(/\.js$/, '.ts'))), typeOnly, kind });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const named = clause?.namedBindings && ts.isNamedImports(clause.namedBindings) ? clause.namedBindings.elements : null;
      add(node.moduleSpecifier, clause !== undefined && (clause.isTypeOnly || (clause.name === undefined && named !== null && named.length > 0 && named.every((e) => e.isTypeOnly))), 'static');
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly, 'static');
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false, 'dynamic');
    } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'URL' && node.arguments?.length === 2 && node.arguments[1]!.getText(sf) === 'import.meta.url') {
      add(node.arguments[0], false, 'worker');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Every file under `dir` with its imports. */
export function importGraph(dir = 'host'): Map<string, Import[]> {
  return new Map(sourceFiles(dir).map((f) => [f, importsOf(f)]));
}

/** Every import cycle (as a path a → … → a) through a file whose path starts with one of `prefixes`. */
export function cyclesThrough(graph: ReadonlyMap<string, readonly Import[]>, prefixes: readonly string[]): string[] {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const { target } of graph.get(f) ?? []) {
      if (!graph.has(target)) continue;
      if (state.get(target) === 'open') {
        const cycle = [...stack.slice(stack.indexOf(target)), target];
        if (cycle.some((x) => prefixes.some((p) => x.startsWith(p)))) cycles.push(cycle.join(' → '));
      } else if (!state.has(target)) visit(target);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return cycles;
}

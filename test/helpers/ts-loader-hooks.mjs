// Node module hooks for wasm-deadline-worker.mjs: a test file and what it imports are
// TypeScript that imports `./x.js` meaning `./x.ts` (as vitest resolves it); these hooks map
// such specifiers to the .ts file and strip the types with TypeScript's transpileModule (no
// type check, as vitest). `vitest` itself resolves to vitest-worker-stub.mjs (real `expect`,
// no-op describe/test), because the worker runs one property, not the file's suite.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const STUB = new URL('./vitest-worker-stub.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === 'vitest' && context.parentURL !== STUB) return { url: STUB, shortCircuit: true };
  if (specifier.endsWith('.js') && /^(\.{1,2}\/|\/|file:)/.test(specifier) && context.parentURL?.startsWith('file:')) {
    const js = new URL(specifier, context.parentURL);
    if (!existsSync(fileURLToPath(js))) {
      const tsUrl = new URL(js.href.slice(0, -3) + '.ts');
      if (existsSync(fileURLToPath(tsUrl))) return { url: tsUrl.href, shortCircuit: true };
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const fileName = fileURLToPath(url);
  const out = ts.transpileModule(readFileSync(fileName, 'utf8'), {
    fileName,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, inlineSourceMap: true, inlineSources: true },
  });
  return { format: 'module', source: out.outputText, shortCircuit: true };
}

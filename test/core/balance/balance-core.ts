// A Core that carries the balance exports. Until assembly/index.ts re-exports
// assembly/balance/index.ts, build/core.wasm lacks them: then compile the core with the
// balance barrel as a second entry into build/core-balance.wasm, rebuilt when the balance
// sources change (other areas' edits do not affect these tests, and may be mid-way).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Core, coreModule, packageRoot } from '../../../host/core/wasm.js';

let module: WebAssembly.Module | undefined;

function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((n) => newest(join(path, n))));
}

export function balanceModule(): WebAssembly.Module {
  if (module) return module;
  const main = coreModule();
  if (WebAssembly.Module.exports(main).some((e) => e.name === 'hash_lb_check')) return (module = main);
  const root = packageRoot();
  const out = join(root, 'build', 'core-balance.wasm');
  const sources = Math.max(newest(join(root, 'assembly', 'balance')), newest(join(root, 'assembly', 'abi.ts')));
  if (!existsSync(out) || statSync(out).mtimeMs < sources) {
    execFileSync(join(root, 'node_modules', '.bin', 'asc'), ['assembly/index.ts', 'assembly/balance/index.ts', '--target', 'release', '-o', out, '-t', join(root, 'build', 'core-balance.wat')], { cwd: root, stdio: 'pipe' });
  }
  return (module = new WebAssembly.Module(readFileSync(out)));
}

export function balanceCore(): Core {
  return new Core(balanceModule());
}

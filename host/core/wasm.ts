// Loads the AssemblyScript core (build/core.wasm) and owns its linear memory: the only place
// in host/ besides the other files of host/core/ that touches Wasm memory.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { instantiateSync } from '@assemblyscript/loader';

/** The raw exports of core.wasm. Numbers only; see assembly/abi.ts for layouts. */
export interface CoreExports {
  memory: WebAssembly.Memory;
  alloc(size: number): number;
  free(ptr: number): void;
  req_view(): number;
  abi_layout(which: number): number;
  // Other areas add their exports here (codec, route); each binding file narrows the type.
  [name: string]: unknown;
}

/** Finds the package root (the folder holding asconfig.json) from this file's location. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'asconfig.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('wasmesh: cannot find the package root (asconfig.json) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/**
 * A compiled entry script for a worker or child process: `sibling` (next to the running module,
 * when that is the compiled one) or its copy under dist/ (when the host runs from TypeScript
 * sources, as in tests); null when neither exists (not built).
 */
export function compiledEntry(sibling: URL, distPath: string): string | null {
  const here = fileURLToPath(sibling);
  if (existsSync(here)) return here;
  const built = join(packageRoot(), 'dist', distPath);
  return existsSync(built) ? built : null;
}

let compiled: WebAssembly.Module | undefined;

/** Compiles core.wasm once per process; each Core instance (one per worker) instantiates it. */
export function coreModule(): WebAssembly.Module {
  if (compiled) return compiled;
  const path = process.env.WASMESH_CORE_WASM ?? join(packageRoot(), 'build', 'core.wasm');
  if (!existsSync(path)) throw new Error(`wasmesh: ${path} is missing; run \`npm run build\` first`);
  compiled = new WebAssembly.Module(readFileSync(path));
  return compiled;
}

/** One instance of the core, with cached views of its memory that follow memory growth. */
export class Core {
  readonly exports: CoreExports;
  #buffer: ArrayBuffer;
  #u8: Uint8Array;
  #u32: Uint32Array;
  #dv: DataView;

  constructor(module: WebAssembly.Module = coreModule()) {
    const instance = instantiateSync<Record<string, unknown>>(module, {
      env: {
        abort(_msg: number, _file: number, line: number, column: number) {
          throw new Error(`wasmesh core aborted at ${line}:${column}`);
        },
      },
    });
    this.exports = instance.exports as unknown as CoreExports;
    this.#buffer = this.exports.memory.buffer;
    this.#u8 = new Uint8Array(this.#buffer);
    this.#u32 = new Uint32Array(this.#buffer);
    this.#dv = new DataView(this.#buffer);
  }

  #refresh(): void {
    // Growing Wasm memory detaches the old ArrayBuffer (its byteLength drops to 0), so a
    // length check replaces a `memory.buffer` getter call on every access (13 % of the
    // parser benchmark's time went to that getter).
    if (this.#buffer.byteLength !== 0) return;
    const buf = this.exports.memory.buffer;
    this.#buffer = buf;
    this.#u8 = new Uint8Array(buf);
    this.#u32 = new Uint32Array(buf);
    this.#dv = new DataView(buf);
  }

  /** A byte view of the whole memory; call again after anything that may grow memory. */
  get u8(): Uint8Array {
    this.#refresh();
    return this.#u8;
  }

  /** A u32 view of the whole memory (index = address >>> 2). */
  get u32(): Uint32Array {
    this.#refresh();
    return this.#u32;
  }

  get view(): DataView {
    this.#refresh();
    return this.#dv;
  }
}

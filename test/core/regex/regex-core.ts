// Test binding of the core's regex exports (regex_check, regex_match): copies a program and
// subjects into linear memory and returns what the core says. Tests only: the data path
// reaches regex programs through the route table.
import { Core } from '../../../host/core/wasm.js';
import type { CoreExports } from '../../../host/core/wasm.js';

interface RegexExports extends CoreExports {
  regex_check(prog: number, len: number): number;
  regex_match(prog: number, subject: number, subjectLen: number): number;
}

const encoder = new TextEncoder();

export class RegexCore {
  readonly core: Core;
  readonly #x: RegexExports;
  #scratch = 0;
  #scratchLen = 0;

  constructor(core: Core = new Core()) {
    this.core = core;
    this.#x = core.exports as RegexExports;
    if (typeof this.#x.regex_match !== 'function') throw new Error('core.wasm has no regex_match export: rebuild (npm run build:wasm)');
  }

  /** Copies `program` in; returns [address, regex_check status]. The caller frees the address. */
  load(program: Uint8Array): [number, number] {
    const ptr = this.#x.alloc(Math.max(program.length, 1));
    this.core.u8.set(program, ptr);
    return [ptr, this.#x.regex_check(ptr, program.length)];
  }

  free(ptr: number): void {
    this.#x.free(ptr);
  }

  /** regex_match of the program at `ptr` over `subject` (a string is UTF-8 encoded). */
  match(ptr: number, subject: string | Uint8Array): number {
    const bytes = typeof subject === 'string' ? encoder.encode(subject) : subject;
    if (bytes.length > this.#scratchLen) {
      if (this.#scratch !== 0) this.#x.free(this.#scratch);
      this.#scratchLen = Math.max(bytes.length, 256);
      this.#scratch = this.#x.alloc(this.#scratchLen);
    }
    this.core.u8.set(bytes, this.#scratch);
    return this.#x.regex_match(ptr, this.#scratch, bytes.length);
  }

  /** Loads, checks (must be Ok), matches every subject, frees. */
  matchAll(program: Uint8Array, subjects: Array<string | Uint8Array>): number[] {
    const [ptr, status] = this.load(program);
    try {
      if (status !== 0) throw new Error(`regex_check refused a compiled program: ${status}`);
      return subjects.map((s) => this.match(ptr, s));
    } finally {
      this.free(ptr);
    }
  }
}

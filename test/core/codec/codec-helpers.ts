// Shared helpers for the codec suites: one Core per test file, byte/latin1 conversions and
// the split-read oracle (every prefix is incomplete or gives the whole input's answer).
import { Core } from '../../../host/core/wasm.js';

let core: Core | undefined;

/** One core instance for the whole test file (instantiating per test costs time, not truth). */
export function testCore(): Core {
  return (core ??= new Core());
}

export function bytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

export function text(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

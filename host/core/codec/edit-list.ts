// Header edit lists in the core's memory (assembly/codec/edit-list.ts): a route's HeaderOps
// encoded once per config version, applied in order by the head writer and the response head
// filter, several per call.
import type { Core } from '../wasm.js';
import type { HeaderOps } from '../../model/mesh.js';
import { codecExports, type CodecExports, EL_ENTRIES, EL_ENTRY, MAX_EDIT_LISTS, WA_EDIT_COUNT, WA_EDITS } from './codec-layout.js';

/** What an entry does (assembly/codec/edit-list.ts `EditOp`). */
const EDIT_REMOVE = 0;
const EDIT_SET = 1;
const EDIT_ADD = 2;

const encoder = new TextEncoder();

/** The UTF-8 bytes of a configured header name or value (ASCII in practice). */
function headerBytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/**
 * A compiled header edit list (a route's HeaderOps) in Wasm memory, encoded once at config
 * compile time. Order follows Envoy: removes first, then sets, then adds; names are
 * lower-cased (header names are case-insensitive).
 */
export class EditList {
  readonly ptr: number;
  readonly #e: CodecExports;
  readonly count: number;

  constructor(core: Core, ops: HeaderOps) {
    this.#e = codecExports(core);
    const entries: Array<[number, Uint8Array, Uint8Array]> = [];
    for (const name of ops.remove) entries.push([EDIT_REMOVE, headerBytes(name.toLowerCase()), new Uint8Array(0)]);
    for (const [name, value] of ops.set) entries.push([EDIT_SET, headerBytes(name.toLowerCase()), headerBytes(value)]);
    for (const [name, value] of ops.add) entries.push([EDIT_ADD, headerBytes(name.toLowerCase()), headerBytes(value)]);
    let bytes = 0;
    for (const [, n, v] of entries) bytes += n.length + v.length;
    const table = EL_ENTRIES + entries.length * EL_ENTRY;
    this.ptr = this.#e.alloc(table + bytes);
    this.count = entries.length;
    const u8 = core.u8;
    const dv = core.view;
    dv.setUint32(this.ptr, entries.length, true);
    let cursor = this.ptr + table;
    entries.forEach(([op, name, value], k) => {
      const at = this.ptr + EL_ENTRIES + k * EL_ENTRY;
      dv.setUint32(at, op, true);
      dv.setUint32(at + 4, cursor, true);
      dv.setUint32(at + 8, name.length, true);
      u8.set(name, cursor);
      cursor += name.length;
      dv.setUint32(at + 12, cursor, true);
      dv.setUint32(at + 16, value.length, true);
      u8.set(value, cursor);
      cursor += value.length;
    });
  }

  /** Releases the list (after the config version that uses it is retired). */
  dispose(): void {
    this.#e.free(this.ptr);
  }
}

/** Compiles a HeaderOps into an edit list handle (see EditList). */
export function encodeEdits(core: Core, ops: HeaderOps): EditList {
  return new EditList(core, ops);
}

/** Writes the edit list handles of one call into a writer's or filter's args struct. */
export function putEditLists(dv: DataView, args: number, edits: readonly EditList[]): void {
  if (edits.length > MAX_EDIT_LISTS) throw new RangeError(`wasmesh: at most ${MAX_EDIT_LISTS} edit lists per head, got ${edits.length}`);
  dv.setUint32(args + WA_EDIT_COUNT, edits.length, true);
  for (let i = 0; i < edits.length; i++) dv.setUint32(args + WA_EDITS + i * 4, edits[i].ptr, true);
}

// The HPACK regions shared per core (host/core/h2/hpack-scratch.ts): decoders and encoders on one
// core keep their own dynamic tables (made on first use) while sharing the list, byte area and
// output regions, so interleaving many connections' blocks gives exactly what separate cores give;
// any decode on the core moves every decoder's generation (a list read later is known stale).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Core } from '../../../host/core/wasm.js';
import { HpackDecoder, HpackEncoder, type HeaderField } from '../../../host/core/h2/hpack.js';
import { hpackScratch } from '../../../host/core/h2/hpack-scratch.js';
import { H2_OK } from '../../../host/core/h2/h2-status.js';

const field = fc.tuple(fc.constantFrom('x-a', 'x-b', 'cookie', ':path', 'user-agent'), fc.stringMatching(/^[ -~]{0,40}$/)).map(([n, v]) => [n, v] as HeaderField);
const block = fc.array(field, { minLength: 1, maxLength: 8 });

describe('HPACK regions shared per core', () => {
  it('one scratch per core: every decoder on it fills the same list', () => {
    const core = new Core();
    const other = new Core();
    expect(hpackScratch(core)).toBe(hpackScratch(core));
    expect(hpackScratch(core)).not.toBe(hpackScratch(other));
    const a = new HpackDecoder(core);
    const b = new HpackDecoder(core);
    expect(a.listPtr).toBe(b.listPtr);
  });

  it('dynamic tables are made on first use: none for a decoder or encoder that never ran (its limit still reported)', () => {
    const core = new Core();
    const e = core.exports as unknown as Record<string, (...a: number[]) => number>;
    const made: number[] = [];
    const tableNew = e.hpack_table_new!;
    e.hpack_table_new = (cap) => { made.push(cap); return tableNew(cap); };
    const d = new HpackDecoder(core, { tableSize: 1024 });
    const enc = new HpackEncoder(core, { tableSize: 2048 });
    expect(made).toEqual([]);
    expect(d.table).toEqual({ count: 0, size: 0, limit: 1024 });
    expect(enc.table).toEqual({ count: 0, size: 0, limit: 2048 });
    expect(d.decode(enc.encode([['x-a', '1']]))).toBe(H2_OK);
    expect(made.sort()).toEqual([1024, 2048]);
    expect(d.headers()).toEqual([['x-a', '1']]);
    d.dispose();
    enc.dispose();
  });

  it('any decode on the core moves every decoder\'s generation', () => {
    const core = new Core();
    const a = new HpackDecoder(core);
    const b = new HpackDecoder(core);
    const enc = new HpackEncoder(core, { indexing: false });
    const bytes = enc.encode([['x-a', '1']]);
    expect(a.decode(bytes)).toBe(H2_OK);
    const g = a.generation;
    expect(b.decode(bytes)).toBe(H2_OK);
    expect(a.generation).not.toBe(g);
  });

  it('interleaved connections on one core encode and decode exactly as each on its own core (each keeps its own table)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), block), { minLength: 1, maxLength: 30 }), (steps) => {
      const shared = new Core();
      const pairs = [0, 1, 2].map(() => ({ enc: new HpackEncoder(shared), dec: new HpackDecoder(shared) }));
      const alone = [0, 1, 2].map(() => { const c = new Core(); return { enc: new HpackEncoder(c), dec: new HpackDecoder(c) }; });
      for (const [i, fields] of steps) {
        const bytes = pairs[i]!.enc.encode(fields);
        expect(bytes).toEqual(alone[i]!.enc.encode(fields));
        expect(pairs[i]!.dec.decode(bytes)).toBe(H2_OK);
        expect(alone[i]!.dec.decode(bytes)).toBe(H2_OK);
        expect(pairs[i]!.dec.headers()).toEqual(fields.map(([n, v]) => [n, v]));
        expect(pairs[i]!.dec.table).toEqual(alone[i]!.dec.table);
      }
    }), { numRuns: 15 });
  });
});

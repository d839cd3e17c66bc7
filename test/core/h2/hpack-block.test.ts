// A header block given field by field (HpackEncoder beginBlock / addField / endBlock), as the
// core listener sends a response head: strings and views into Wasm memory alike, names
// lower-cased, a block larger than the encoder's first region, the field limit, and the table
// in step with a decoder over a series of blocks.
import { describe, test, expect } from 'vitest';
import { Core } from '../../../host/core/wasm.js';
import { HpackDecoder, HpackEncoder } from '../../../host/core/h2/hpack.js';
import { H2_OK } from '../../../host/core/h2/h2-status.js';
import { MAX_FIELDS } from '../../../host/core/h2/h2-layout.js';

const core = new Core();

/** `text` written into Wasm memory (an allocation of the core's), as a view: what the response filter hands out. */
function wasmView(text: string): Uint8Array {
  const e = core.exports as unknown as { alloc(n: number): number };
  const at = e.alloc(text.length);
  core.u8.set(Buffer.from(text, 'latin1'), at);
  return core.u8.subarray(at, at + text.length);
}

describe('HpackEncoder block by field', () => {
  test('strings, JS buffers and Wasm views; names lower-cased, values as given', () => {
    const enc = new HpackEncoder(core);
    const dec = new HpackDecoder(core);
    enc.beginBlock();
    expect(enc.addField(':status', '200')).toBe(true);
    enc.addField(wasmView('Content-Type'), wasmView('Text/Plain'));
    enc.addField(Buffer.from('X-Buf'), Buffer.from('b'));
    enc.addField('Set-Cookie', 'a=1');
    expect(dec.decode(enc.endBlock())).toBe(H2_OK);
    expect(dec.headers()).toEqual([[':status', '200'], ['content-type', 'Text/Plain'], ['x-buf', 'b'], ['set-cookie', 'a=1']]);
  });

  test('a block past the first region (values of 10 KiB from Wasm memory), then a series in step with the decoder', () => {
    const enc = new HpackEncoder(core);
    const dec = new HpackDecoder(core, { maxListSize: 1 << 20 });
    const big = 'v'.repeat(10_000);
    for (let round = 0; round < 3; round++) {
      enc.beginBlock();
      enc.addField(':status', '200');
      for (let i = 0; i < 4; i++) enc.addField(wasmView(`x-big-${i}`), wasmView(`${big}${round}`));
      enc.addField('x-round', String(round));
      expect(dec.decode(enc.endBlock())).toBe(H2_OK);
      expect(dec.headers()).toEqual([[':status', '200'], ...Array.from({ length: 4 }, (_, i): [string, string] => [`x-big-${i}`, `${big}${round}`]), ['x-round', String(round)]]);
      expect(dec.table).toEqual(enc.table);
    }
  });

  test('at most MAX_FIELDS fields: the next is refused; a new block starts empty', () => {
    const enc = new HpackEncoder(core);
    const dec = new HpackDecoder(core, { maxHeaders: MAX_FIELDS });
    enc.beginBlock();
    for (let i = 0; i < MAX_FIELDS; i++) expect(enc.addField(`f${i}`, 'x')).toBe(true);
    expect(enc.addField('one-more', 'x')).toBe(false);
    expect(dec.decode(enc.endBlock())).toBe(H2_OK);
    expect(dec.count).toBe(MAX_FIELDS);
    enc.beginBlock();
    enc.addField(':status', '204');
    expect(dec.decode(enc.endBlock())).toBe(H2_OK);
    expect(dec.headers()).toEqual([[':status', '204']]);
  });

  test('a block begun and dropped (never ended) leaves the table untouched', () => {
    const enc = new HpackEncoder(core);
    const dec = new HpackDecoder(core);
    enc.beginBlock();
    enc.addField('x-dropped', '1');
    enc.beginBlock();
    enc.addField('x-sent', '2');
    expect(dec.decode(enc.endBlock())).toBe(H2_OK);
    expect(dec.headers()).toEqual([['x-sent', '2']]);
    expect(enc.table).toEqual(dec.table);
  });

  test('addFieldSpan: spans of Wasm memory (read by address, across the region\'s growth) and of a JS buffer', () => {
    const enc = new HpackEncoder(core);
    const dec = new HpackDecoder(core, { maxListSize: 1 << 20 });
    const big = 'w'.repeat(70_000);
    const name = wasmView('X-Span');
    const value = wasmView(big);
    const at = (v: Uint8Array): number => v.byteOffset;
    enc.beginBlock();
    enc.addField(':status', '200');
    // A 70 KB value copied into the encoder's region: past its first size, memory may grow.
    expect(enc.addFieldSpan(core.u8, at(name), at(name) + name.length, at(value), at(value) + value.length)).toBe(true);
    // The same addresses again, through the current view.
    expect(enc.addFieldSpan(core.u8, at(name), at(name) + name.length, at(value), at(value) + 3)).toBe(true);
    const js = Buffer.from('..X-Js:abc..', 'latin1');
    expect(enc.addFieldSpan(js, 2, 6, 7, 10)).toBe(true);
    expect(dec.decode(enc.endBlock())).toBe(H2_OK);
    expect(dec.headers()).toEqual([[':status', '200'], ['x-span', big], ['x-span', 'www'], ['x-js', 'abc']]);
  });
});

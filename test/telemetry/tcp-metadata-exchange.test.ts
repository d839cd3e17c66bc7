// Istio's TCP metadata exchange bytes (host/telemetry/tcp-metadata-exchange.ts) against the format
// of istio/proxy source/extensions/filters/network/metadata_exchange: metadata_exchange.cc
// (constructProxyHeaderData: magic then the Any's length, big-endian; writeNodeMetadata: an Any of
// type.googleapis.com/google.protobuf.Struct holding `x-envoy-peer-metadata` and
// `x-envoy-peer-metadata-id`), metadata_exchange_initial_header.h (magic 0x3D230467) and
// metadata_exchange_test.cc (ConstructProxyHeaderData, the application bytes after the exchange
// left for the next filter). The fixture below is laid out by hand in protobuf's wire format, as
// C++'s SerializeAsString writes it, field by field — not with protobufjs, so the decoder is
// checked against bytes it did not make.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { decodeExchange, encodeExchange, EXCHANGE_MAGIC, ExchangeReader, STRUCT_TYPE_URL } from '../../host/telemetry/tcp-metadata-exchange.js';
import { workloadMetadata } from '../../host/model/workload-metadata.js';

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');
const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

// Struct { fields { key: "x-envoy-peer-metadata", value: Value { struct_value: Struct { fields {
//   key: "NAMESPACE", value: Value { string_value: "default" } } } } }
//   fields { key: "x-envoy-peer-metadata-id", value: Value { string_value: "n1" } } }
const namespaceValue = Buffer.concat([hex('1a 07'), ascii('default')]); // Value.string_value (3), 9 bytes
const namespaceEntry = Buffer.concat([hex('0a 09'), ascii('NAMESPACE'), hex('12 09'), namespaceValue]); // map entry, 22 bytes
const node = Buffer.concat([hex('0a 16'), namespaceEntry]); // Struct.fields (1), 24 bytes
const nodeValue = Buffer.concat([hex('2a 18'), node]); // Value.struct_value (5), 26 bytes
const metadataEntry = Buffer.concat([hex('0a 15'), ascii('x-envoy-peer-metadata'), hex('12 1a'), nodeValue]); // 51 bytes
const idEntry = Buffer.concat([hex('0a 18'), ascii('x-envoy-peer-metadata-id'), hex('12 04 1a 02'), ascii('n1')]); // 32 bytes
const struct = Buffer.concat([hex('0a 33'), metadataEntry, hex('0a 20'), idEntry]); // 87 bytes
const any = Buffer.concat([hex('0a 2a'), ascii(STRUCT_TYPE_URL), hex('12 57'), struct]); // Any.type_url (1), Any.value (2): 133 bytes
const FIXTURE = Buffer.concat([hex('3d 23 04 67 00 00 00 85'), any]);

const cart = workloadMetadata({ name: 'cart', namespace: 'shop', labels: { app: 'cart', version: 'v2' }, nodeId: 'sidecar~10.1.0.7~cart-5d8.shop~shop.svc.cluster.local' });

describe('the exchange bytes', () => {
  test('the fixture laid out from Istio\'s source decodes: the peer\'s namespace and node id, the application bytes after it handed back', () => {
    expect(any.length).toBe(0x85);
    const r = new ExchangeReader(1024).push(Buffer.concat([FIXTURE, ascii('world')]));
    expect(r.kind).toBe('done');
    if (r.kind !== 'done') return;
    expect(r.peer.id).toBe('n1');
    expect(r.peer.labels.namespace).toBe('default');
    expect(r.peer.labels.workload).toBe('unknown');
    expect(r.rest.toString()).toBe('world');
  });

  test('ours: magic and length big-endian, then an Any of a Struct that names this workload and its node id', () => {
    const b = encodeExchange(cart);
    expect(b.readUInt32BE(0)).toBe(0x3d230467);
    expect(EXCHANGE_MAGIC).toBe(1025705063);
    expect(b.readUInt32BE(4)).toBe(b.length - 8);
    // Any.type_url first, as C++ writes it.
    expect(b.subarray(8, 10)).toEqual(hex('0a 2a'));
    expect(b.subarray(10, 10 + 42).toString()).toBe(STRUCT_TYPE_URL);
    const peer = decodeExchange(b.subarray(8));
    expect(peer).toEqual({ id: cart.nodeId, labels: { workload: 'cart', namespace: 'shop', app: 'cart', version: 'v2', canonicalService: 'cart', canonicalRevision: 'v2', cluster: 'Kubernetes' } });
  });

  test('a stream not starting with the magic (a peer without the exchange) is application data, told at its first differing byte', () => {
    const r = new ExchangeReader(1024).push(hex('16 03 01 00 ff 00 00 00'));
    expect(r).toMatchObject({ kind: 'absent', rest: hex('16 03 01 00 ff 00 00 00') });
    if (r.kind === 'absent') expect(r.detail).toMatch(/starts with 0x16030100/);
    // One byte is enough to tell (a client-first command is never held for 8 bytes).
    expect(new ExchangeReader(1024).push(ascii('P'))).toMatchObject({ kind: 'absent', rest: ascii('P') });
    // A prefix of the magic waits; the byte that differs hands back all of it.
    const reader = new ExchangeReader(1024);
    expect(reader.push(hex('3d 23')).kind).toBe('need_more');
    expect(reader.magicRead).toBe(false);
    expect(reader.push(hex('05 aa'))).toMatchObject({ kind: 'absent', rest: hex('3d 23 05 aa') });
  });

  test('the held bytes: what a stream that ended inside the magic had sent', () => {
    const reader = new ExchangeReader(1024);
    reader.push(hex('3d'));
    expect(reader.held()).toEqual(hex('3d'));
    reader.push(hex('23 04 67 00'));
    expect(reader.magicRead).toBe(true);
  });

  test('a length over the limit is refused from the header, before the bytes come', () => {
    const r = new ExchangeReader(100).push(hex('3d 23 04 67 00 00 00 65'));
    expect(r).toMatchObject({ kind: 'error', error: 'too_large' });
    if (r.kind === 'error') expect(r.detail).toBe('metadata of 101 bytes, over the limit of 100');
    expect(new ExchangeReader(0x85).push(FIXTURE).kind).toBe('done');
  });

  test('bytes that are no Any, or an Any of another type, are refused with why', () => {
    const bad = new ExchangeReader(1024).push(Buffer.concat([hex('3d 23 04 67 00 00 00 03'), hex('ff ff ff')]));
    expect(bad).toMatchObject({ kind: 'error', error: 'header_not_found' });
    if (bad.kind === 'error') expect(bad.detail).toMatch(/not a serialized google.protobuf.Any/);
    const other = Buffer.concat([hex('0a 05'), ascii('x/foo')]);
    const r = new ExchangeReader(1024).push(Buffer.concat([hex('3d 23 04 67 00 00 00 07'), other]));
    expect(r).toMatchObject({ kind: 'error', error: 'header_not_found', detail: "an Any of type 'x/foo', expected 'type.googleapis.com/google.protobuf.Struct'" });
  });

  test('an Any of a Struct without the metadata key names an unknown peer (as Istio leaves it unset)', () => {
    const r = decodeExchange(Buffer.concat([hex('0a 2a'), ascii(STRUCT_TYPE_URL)]));
    expect(r).toMatchObject({ id: null, labels: { workload: 'unknown', namespace: 'unknown' } });
  });

  test('property: however the stream is cut into chunks, the same peer and the same rest', () => {
    const stream = Buffer.concat([encodeExchange(cart), ascii('payload')]);
    fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 12 }), (cuts) => {
      const at = [...new Set(cuts)].sort((a, b) => a - b);
      const reader = new ExchangeReader(4096);
      let prev = 0;
      let result = null;
      const rest: Buffer[] = [];
      for (const c of [...at, stream.length]) {
        const chunk = stream.subarray(prev, c);
        prev = c;
        if (chunk.length === 0) continue;
        if (result !== null) {
          rest.push(chunk);
          continue;
        }
        const r = reader.push(chunk);
        if (r.kind === 'error') return false;
        if (r.kind === 'done') {
          result = r.peer;
          rest.push(r.rest);
        }
      }
      return result !== null && result.id === cart.nodeId && Buffer.concat(rest).toString() === 'payload';
    }));
  });

  test('property: a stream without the exchange comes back whole as application data, however it is cut', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 8 }), (bytes, cuts) => {
      const stream = Buffer.from(bytes);
      if (stream.length >= 4 && stream.readUInt32BE(0) === EXCHANGE_MAGIC) return true;
      const reader = new ExchangeReader(4096);
      const out: Buffer[] = [];
      let settled = false;
      let prev = 0;
      for (const c of [...[...new Set(cuts)].filter((x) => x < stream.length).sort((a, b) => a - b), stream.length]) {
        const chunk = stream.subarray(prev, c);
        prev = c;
        if (chunk.length === 0) continue;
        if (settled) { out.push(chunk); continue; }
        const r = reader.push(chunk);
        if (r.kind === 'done' || r.kind === 'error') return false;
        if (r.kind === 'absent') { settled = true; out.push(r.rest); }
      }
      // Ended inside a prefix of the magic: the held bytes are the data.
      if (!settled) out.push(reader.held());
      return Buffer.concat(out).equals(stream);
    }));
  });

  test('property: arbitrary bytes after a valid magic never throw: done, need_more or a named error', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (body) => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(EXCHANGE_MAGIC, 0);
      head.writeUInt32BE(body.length, 4);
      const r = new ExchangeReader(1024).push(Buffer.concat([head, body]));
      return r.kind === 'done' || (r.kind === 'error' && r.error === 'header_not_found');
    }));
  });
});

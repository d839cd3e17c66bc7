// Istio's TCP metadata exchange (istio/proxy source/extensions/filters/network/metadata_exchange):
// on a mesh mTLS connection whose ALPN is `istio-peer-exchange`, each side first writes an
// initial header — a magic number and a length, both 32-bit big-endian — then that many bytes of
// a serialized google.protobuf.Any whose type is google.protobuf.Struct, holding
// `x-envoy-peer-metadata` (the node metadata Struct, as the HTTP exchange's header carries it) and
// `x-envoy-peer-metadata-id` (the node id). The peer reads it off the head of the stream before
// any application byte. The Any and the Struct are encoded and decoded by protobufjs from
// google/protobuf/any.proto and struct.proto, never by hand; only the 8-byte header is framing.
import protobuf from 'protobufjs';
import type { WorkloadMetadata } from '../model/workload-metadata.js';
import { PEER_METADATA, PEER_METADATA_ID, peerLabelsOf, peerMetadataFields, peerMetadataOf, type PeerValue } from './peer-metadata.js';
import type { WorkloadLabels } from './istio-labels.js';

/** The ALPN under which Istio's clients and servers run the exchange on TCP (Istio's client offers it, then `istio`). */
export const PEER_EXCHANGE_ALPN = 'istio-peer-exchange';
/** What Istio's client offers for TCP inside mesh mTLS (cluster ALPN for a TCP service). */
export const ISTIO_MUTUAL_TCP_ALPN: readonly string[] = [PEER_EXCHANGE_ALPN, 'istio'];
/** MetadataExchangeInitialHeader::magic_number (0x3D230467, decimal 1025705063). */
export const EXCHANGE_MAGIC = 0x3d230467;
/** The initial header: magic, then the Any's size, each a big-endian uint32. */
export const EXCHANGE_HEADER_BYTES = 8;
/** The Any's type URL for a Struct. */
export const STRUCT_TYPE_URL = 'type.googleapis.com/google.protobuf.Struct';

const root = protobuf.Root.fromJSON(protobuf.common.get('google/protobuf/struct.proto')!);
root.addJSON(protobuf.common.get('google/protobuf/any.proto')!.nested!);
const STRUCT = root.lookupType('google.protobuf.Struct');
const ANY = root.lookupType('google.protobuf.Any');

/** This workload's exchange bytes: initial header and Any (computed once per proxy). */
export function encodeExchange(w: WorkloadMetadata): Buffer {
  const fields: Record<string, PeerValue> = { [PEER_METADATA]: { structValue: { fields: peerMetadataFields(w) } } };
  if (w.nodeId !== '') fields[PEER_METADATA_ID] = { stringValue: w.nodeId };
  const value = STRUCT.encode(STRUCT.fromObject({ fields })).finish();
  const any = ANY.encode(ANY.create({ type_url: STRUCT_TYPE_URL, value })).finish();
  const out = Buffer.allocUnsafe(EXCHANGE_HEADER_BYTES + any.byteLength);
  out.writeUInt32BE(EXCHANGE_MAGIC, 0);
  out.writeUInt32BE(any.byteLength, 4);
  out.set(any, EXCHANGE_HEADER_BYTES);
  return out;
}

/** The peer as its exchange named it. */
export interface ExchangedPeer {
  /** The peer's istio_* labels (from its node metadata; `unknown` fields where it had none). */
  readonly labels: WorkloadLabels;
  /** Its node id, or null. */
  readonly id: string | null;
}

/**
 * Why a peer's exchange was refused, with Istio's stat names where its filter has one:
 * `initial_header_not_found` (the magic is wrong: the peer runs no exchange), `header_not_found`
 * (the bytes are no Any of a Struct), `too_large` (wasmesh's bound on the Any's size).
 */
export type ExchangeError = 'initial_header_not_found' | 'header_not_found' | 'too_large';

export type ExchangeRead =
  | { readonly kind: 'need_more' }
  | { readonly kind: 'done'; readonly peer: ExchangedPeer; readonly rest: Buffer }
  | { readonly kind: 'error'; readonly error: ExchangeError; readonly detail: string };

const NEED_MORE: ExchangeRead = Object.freeze({ kind: 'need_more' });

/** Reads one peer's exchange off the head of a stream, chunk by chunk; what follows it is handed back. */
export class ExchangeReader {
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #have = 0;
  #size = -1;

  /** `maxBytes`: the largest Any taken (a larger size in the header is refused before it is read). */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  push(chunk: Buffer): ExchangeRead {
    this.#chunks.push(chunk);
    this.#have += chunk.length;
    if (this.#size < 0) {
      if (this.#have < EXCHANGE_HEADER_BYTES) return NEED_MORE;
      const head = this.#joined();
      const magic = head.readUInt32BE(0);
      if (magic !== EXCHANGE_MAGIC) return { kind: 'error', error: 'initial_header_not_found', detail: `magic 0x${magic.toString(16).padStart(8, '0')}, expected 0x${EXCHANGE_MAGIC.toString(16)} (the peer runs no TCP metadata exchange)` };
      const size = head.readUInt32BE(4);
      if (size > this.#maxBytes) return { kind: 'error', error: 'too_large', detail: `metadata of ${size} bytes, over the limit of ${this.#maxBytes}` };
      this.#size = size;
    }
    const end = EXCHANGE_HEADER_BYTES + this.#size;
    if (this.#have < end) return NEED_MORE;
    const all = this.#joined();
    this.#chunks = [];
    const peer = decodeExchange(all.subarray(EXCHANGE_HEADER_BYTES, end));
    if (typeof peer === 'string') return { kind: 'error', error: 'header_not_found', detail: peer };
    return { kind: 'done', peer, rest: all.subarray(end) };
  }

  #joined(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks)];
    return this.#chunks[0]!;
  }
}

/** The peer named by an exchange's Any, or why it names none. */
export function decodeExchange(bytes: Uint8Array): ExchangedPeer | string {
  let fields: Record<string, PeerValue>;
  try {
    const any = ANY.toObject(ANY.decode(bytes), { bytes: Buffer }) as { type_url?: string; value?: Buffer };
    if (any.type_url !== STRUCT_TYPE_URL) return `an Any of type '${any.type_url ?? ''}', expected '${STRUCT_TYPE_URL}'`;
    fields = (STRUCT.toObject(STRUCT.decode(any.value ?? Buffer.alloc(0))) as { fields?: Record<string, PeerValue> }).fields ?? {};
  } catch (err) {
    return `not a serialized google.protobuf.Any of a Struct: ${(err as Error).message}`;
  }
  const node = fields[PEER_METADATA]?.structValue?.fields ?? {};
  const id = fields[PEER_METADATA_ID]?.stringValue;
  return { labels: peerLabelsOf(peerMetadataOf(node)), id: typeof id === 'string' && id !== '' ? id : null };
}

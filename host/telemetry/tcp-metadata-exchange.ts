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
 * `header_not_found` (the magic is there but the bytes are no Any of a Struct), `too_large`
 * (wasmesh's bound on the Any's size).
 */
export type ExchangeError = 'header_not_found' | 'too_large';

/**
 * One step of reading the head of a stream: more bytes needed; the peer's exchange read (`rest`:
 * the application bytes after it); `absent`: the stream does not start with the magic — the peer
 * sends no exchange (Istio's `initial_header_not_found`), every byte so far is application data
 * (`rest`); or a refused exchange.
 */
export type ExchangeRead =
  | { readonly kind: 'need_more' }
  | { readonly kind: 'done'; readonly peer: ExchangedPeer; readonly rest: Buffer }
  | { readonly kind: 'absent'; readonly rest: Buffer; readonly detail: string }
  | { readonly kind: 'error'; readonly error: ExchangeError; readonly detail: string };

const NEED_MORE: ExchangeRead = Object.freeze({ kind: 'need_more' });

const MAGIC_BYTES = Buffer.from([EXCHANGE_MAGIC >>> 24, (EXCHANGE_MAGIC >>> 16) & 0xff, (EXCHANGE_MAGIC >>> 8) & 0xff, EXCHANGE_MAGIC & 0xff]);

/**
 * Reads one peer's exchange off the head of a stream, chunk by chunk, however the reads split it;
 * what follows it is handed back. A stream whose first bytes already differ from the magic is
 * `absent` at once (no waiting for 8 bytes: a peer that runs no exchange is never held up).
 */
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
    const before = this.#have;
    this.#chunks.push(chunk);
    this.#have += chunk.length;
    if (this.#size < 0) {
      // The magic's bytes this chunk brings, checked as they come.
      for (let i = before; i < MAGIC_BYTES.length && i < this.#have; i++) {
        if (chunk[i - before] !== MAGIC_BYTES[i]) {
          const rest = this.#joined();
          this.#chunks = [];
          return { kind: 'absent', rest, detail: `the stream starts with 0x${rest.subarray(0, 4).toString('hex')}, not the magic 0x${EXCHANGE_MAGIC.toString(16)} (the peer sends no TCP metadata exchange)` };
        }
      }
      if (this.#have < EXCHANGE_HEADER_BYTES) return NEED_MORE;
      const head = this.#joined();
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

  /** The bytes held so far (a stream that ended inside the magic: they were application data). */
  held(): Buffer {
    return this.#chunks.length === 0 ? Buffer.alloc(0) : this.#joined();
  }

  /** Whether the magic has been read whole (the bytes held are an exchange, not application data). */
  get magicRead(): boolean {
    return this.#have >= MAGIC_BYTES.length;
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

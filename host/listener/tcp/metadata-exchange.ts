// Istio's TCP metadata exchange on one connection (the istio.metadata_exchange network filter's
// part, host/telemetry/tcp-metadata-exchange.ts for the bytes), without waiting for the peer: this
// side's exchange is written at once, and the peer's is taken off the first bytes the byte proxy
// reads from the socket, whenever they come and however the reads split them, before they go
// on (the byte proxy runs from the start; only the header bytes are held back). It is a stage of
// the session's reading (tcp-proxy-session.ts hands each chunk it reads from that side to take(),
// and its end to ended()), not a hook into the socket. So a peer that writes its exchange only in
// front of its first application bytes — a proxy-wasm filter in stock Envoy
// (filters/stats/tcp-exchange.ts), which can put bytes on the wire only in front of data flowing
// anyway — is never waited for, whichever side speaks first.
//
// What the first bytes say settles the exchange once: the peer's exchange (its workload), none
// (the stream does not start with the magic: the peer sends no exchange, Istio's
// `initial_header_not_found`; the bytes are application data, the peer is named by its
// certificate; so is a stream that ends before its first byte), the stream's end within the
// exchange (`closed`), or a refused exchange — the magic followed by no Any of a Struct, or a size
// over the limit. On the last two the reader closes the connection: the peer agreed to the
// exchange, so what it sent is no application byte (Istio's filter would pass it on).
import type { ByteStream } from './byte-stream.js';
import { ExchangeReader, type ExchangeError, type ExchangedPeer, type ExchangeRead } from '../../telemetry/tcp-metadata-exchange.js';

export interface MetadataExchangeOptions {
  /** The largest peer metadata taken, in bytes (limits.maxPeerMetadataBytes). */
  readonly maxBytes: number;
}

export type MetadataExchangeOutcome =
  | { readonly kind: 'done'; readonly peer: ExchangedPeer }
  | { readonly kind: 'absent'; readonly detail: string }
  | { readonly kind: 'closed'; readonly detail: string }
  | { readonly kind: 'error'; readonly error: ExchangeError; readonly detail: string };

/**
 * One connection's exchange: settled once, by the first bytes the peer sends (or its end). The
 * reader of the peer's side runs every chunk through take() until settled, and its end through ended().
 */
export class PeerExchange {
  #outcome: MetadataExchangeOutcome | null = null;
  #waiters: ((outcome: MetadataExchangeOutcome) => void)[] = [];
  readonly #reader: ExchangeReader;

  constructor(opts: MetadataExchangeOptions) {
    this.#reader = new ExchangeReader(opts.maxBytes);
  }

  /** What settled it; null while the peer's first bytes are still to come. */
  get outcome(): MetadataExchangeOutcome | null {
    return this.#outcome;
  }

  /** The peer the exchange named, or null (none yet, none sent, or refused). */
  get peer(): ExchangedPeer | null {
    return this.#outcome?.kind === 'done' ? this.#outcome.peer : null;
  }

  /** The peer's side must be closed: its exchange was refused or cut short (what it sent is no application byte). */
  get refused(): boolean {
    const k = this.#outcome?.kind;
    return k === 'error' || k === 'closed';
  }

  /** Calls `cb` when settled (at once if it is). */
  whenSettled(cb: (outcome: MetadataExchangeOutcome) => void): void {
    if (this.#outcome !== null) cb(this.#outcome);
    else this.#waiters.push(cb);
  }

  settle(outcome: MetadataExchangeOutcome): void {
    if (this.#outcome !== null) return;
    this.#outcome = outcome;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const cb of waiters) cb(outcome);
  }

  /**
   * A chunk read from the peer, before anyone else sees it (only while unsettled): the
   * application bytes in it to hand on, or null (none yet: held as part of the header; or the
   * exchange was refused — then `refused`, and the reader closes the connection).
   */
  take(chunk: Buffer): Buffer | null {
    const r: ExchangeRead = this.#reader.push(chunk);
    switch (r.kind) {
      case 'need_more': return null;
      case 'done': this.settle({ kind: 'done', peer: r.peer }); return r.rest.length > 0 ? r.rest : null;
      case 'absent': this.settle({ kind: 'absent', detail: r.detail }); return r.rest;
      case 'error': this.settle({ kind: 'error', error: r.error, detail: r.detail }); return null;
    }
  }

  /**
   * The peer's stream ended while unsettled: settles, and returns the bytes held that were
   * application data (a stream that ended within the first 4 bytes, short of the magic), else
   * null; cut short within the exchange, it is `closed` (`refused`: the connection is closed).
   */
  ended(): Buffer | null {
    if (this.#outcome !== null) return null;
    const held = this.#reader.held();
    if (!this.#reader.magicRead && held.length > 0) {
      this.settle({ kind: 'absent', detail: 'the stream ended within the first 4 bytes (no TCP metadata exchange)' });
      return held;
    }
    if (held.length === 0) {
      this.settle({ kind: 'absent', detail: 'the stream ended before its first byte (no TCP metadata exchange)' });
      return null;
    }
    this.settle({ kind: 'closed', detail: `the peer closed within its metadata exchange (${held.length} bytes of it)` });
    return null;
  }
}

/**
 * Writes `ours` to `socket` at once and returns the exchange whose take() the byte proxy runs the
 * socket's reads through (TcpSessionOptions.downstreamExchange / upstreamExchange).
 */
export function startMetadataExchange(socket: Pick<ByteStream, 'write'>, ours: Buffer, opts: MetadataExchangeOptions): PeerExchange {
  socket.write(ours);
  return new PeerExchange(opts);
}
